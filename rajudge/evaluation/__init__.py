"""Measuring a judge against labelled data (`rajudge eval`): the run, its metrics, its chart."""
