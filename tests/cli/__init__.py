"""The command line's tests, one module per module of numpynn.cli."""
