"""The judging core: principles, the RewardAnything prompt (protocol), reading scores (scoring)."""
