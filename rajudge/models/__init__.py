"""Model files: which GGUF judges (catalog), their headers (gguf, tied), downloads (pull)."""
