"""``python -m numpynn``: the command line (see ``numpynn.cli``)."""

from numpynn.cli import run

run()
