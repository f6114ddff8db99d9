"""Results out: the record schema (schema), result files and resume (files), tables (render).

The schema imports no Rich, so the run and the server reach it without the rendering.
"""
