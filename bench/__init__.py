"""Throughput benchmark: rajudge against the reference package, a naive loop and the floor.

`make bench` (or `.venv/bin/python -m bench`) runs every contender on every workload, each in
its own process, and writes bench/results/<timestamp>.json and bench/RESULTS.md. Modules the
reference worker imports stay stdlib-only: it runs in bench/.venv-ref, without rajudge.
"""
