"""`python -m flomation` is the `flomation` command (used to start child processes with the
same interpreter)."""

from flomation.cli import main

main()
