"""numpynn report."""

import json
import os

from cli.tools import numpynn, run_main


def write_metrics(run, **extra):
    metrics = {"dataset": "toy", "test_accuracy": 0.5, "confusion_matrix": [[1, 1], [0, 0]]}
    (run / "metrics.json").write_text(json.dumps({**metrics, **extra}))


def test_report_rebuilds_the_page_and_prints_its_path(trained, tmp_path, capsys):
    run = trained / "run"
    (run / "report.html").unlink()
    code, out, err = run_main(["report", run], capsys)
    assert (
        code == 0 and out == f"report: {run / 'report.html'}\n" and (run / "report.html").exists()
    )
    code, _, err = run_main(["report", tmp_path], capsys)
    assert code == 1 and "no metrics.json in" in err
    code, _, err = run_main(["report", tmp_path / "absent"], capsys)
    assert code == 1 and "no run folder at" in err


def test_open_hands_the_file_to_the_browser_named_by_BROWSER(tmp_path):
    write_metrics(tmp_path)
    opener = tmp_path / "open.sh"  # a stand-in browser: records the address it is given
    opener.write_text(f'#!/bin/sh\necho "$1" > {tmp_path / "opened.txt"}\n')
    opener.chmod(0o755)
    env = {**os.environ, "BROWSER": f"{opener} %s"}
    result = numpynn("report", tmp_path, "--open", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr
    opened = (tmp_path / "opened.txt").read_text().strip()
    assert opened == (tmp_path / "report.html").resolve().as_uri()
