"""The reward server: HTTP around one Judge (server), the reference API's shapes (api), and
what keeps it bounded (limits)."""
