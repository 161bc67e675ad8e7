"""``numpynn report RUN``: rebuild a run folder's ``report.html`` and print its path."""

from __future__ import annotations

import pathlib
import sys

from numpynn.report import write_report


def run(args) -> int:
    if not pathlib.Path(args.run).is_dir():
        raise FileNotFoundError(f"no run folder at {args.run}")
    path = write_report(args.run)
    print(f"report: {path}")
    if args.open:
        import webbrowser

        if not webbrowser.open(path.resolve().as_uri()):
            print("numpynn report: no browser to open it with", file=sys.stderr)
    return 0


def register(commands) -> None:
    r = commands.add_parser(
        "report",
        help="rebuild a run's report.html",
        description="Rebuild report.html in a run folder of numpynn train (one page, images "
        "inline, nothing fetched) and print its path.",
    )
    r.add_argument("run", type=pathlib.Path, help="a run folder such as runs/<date>-<time>")
    r.add_argument("--open", action="store_true", help="open it in the default browser")
    r.set_defaults(command=run, parser=r)
