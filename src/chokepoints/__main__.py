"""``python -m chokepoints``: the command line, as the ``chokepoints`` script runs it."""

from chokepoints.cli import main

if __name__ == "__main__":
    main()
