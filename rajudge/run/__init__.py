"""The run core: items scheduled through a backend (schedule), judgments kept across runs
(cache), results written to an output with --resume and Ctrl-C handled (core)."""
