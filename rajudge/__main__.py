"""`python -m rajudge`: the same command as `rajudge`."""

from rajudge.cli import main

main()
