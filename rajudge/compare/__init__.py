"""rajudge compare: judge systems (models, prompts, checkpoints) against each other, not items."""
