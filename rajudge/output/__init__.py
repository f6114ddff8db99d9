"""Results out and read back: the record schema (schema), the one check of a record read back
(parse) and what compare counts of it (judged), result files and resume (files), tables and
leaderboards (render, leaderboard), CI gates (gate), training pairs (pairs), SVG (svg).

The schema imports no Rich, so the run and the server reach it without the rendering.
"""
