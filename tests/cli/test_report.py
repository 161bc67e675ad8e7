"""numpynn report: on a run folder, and on one whose metrics.json is missing or edited."""

import json
import os
import shutil

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

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


def report_of(run, capsys):
    """`numpynn report run`: (exit code, stdout, stderr), checked to be at most one line of
    error and never a traceback or an unforeseen failure."""
    code, out, err = run_main(["report", run], capsys)
    assert code in (0, 1) and len(err.splitlines()) <= 1, err
    assert "Traceback" not in err and "unexpected" not in err, err
    return code, out, err


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "metrics.json is not readable JSON"),
        (b"{'test_accuracy': 1}", "metrics.json is not readable JSON"),
        (b'{"test_accuracy": 0.5', "metrics.json is not readable JSON"),
        (b"\xff\xfe{}", "metrics.json is not readable JSON"),
        (b"[" * 100_000 + b"]" * 100_000, "metrics.json is not readable JSON"),
        (b"[1, 2]", "metrics.json holds a JSON list, not an object"),
        (b"null", "metrics.json holds"),
    ],
)
def test_an_unreadable_metrics_json_is_one_line_naming_it(tmp_path, capsys, content, message):
    (tmp_path / "metrics.json").write_bytes(content)
    code, out, err = report_of(tmp_path, capsys)
    assert code == 1 and message in err and out == "", err
    assert not (tmp_path / "report.html").exists()


EDITS = [
    ("test_accuracy", "abc", "'test_accuracy' should be a number from 0 to 1"),
    ("test_accuracy", 1e300, "'test_accuracy' should be a number from 0 to 1"),
    ("confusion_matrix", [[1, 2], [3]], "'confusion_matrix' should be a square table of counts"),
    ("confusion_matrix", [[10**15, 0], [0, 1]], "'confusion_matrix' should be a square table"),
    ("confusion_matrix", [[-1, 2], [3, 4]], "'confusion_matrix' should be a square table"),
    ("timings", {"train": "slow"}, "'timings' should be an object of seconds"),
    ("command", 5, "'command' should be the command as text"),
    ("class_names", 5, "'class_names' should be a list of at most 1000 names"),
    ("epochs", {"a": 1}, "'epochs' should be a whole number"),
]


@pytest.mark.parametrize(("key", "value", "problem"), EDITS)
def test_a_hand_edited_value_is_named_on_the_page(trained, tmp_path, capsys, key, value, problem):
    run = tmp_path / "run"
    shutil.copytree(trained / "run", run)  # with its model, plots and mistakes
    results = json.loads((run / "metrics.json").read_text())
    (run / "metrics.json").write_text(json.dumps({**results, key: value}))
    code, out, err = report_of(run, capsys)
    assert code == 0 and out == f"report: {run / 'report.html'}\n", err
    assert problem in (run / "report.html").read_text().replace("&#x27;", "'")


def test_each_missing_key_leaves_a_page_that_says_what_is_missing(trained, tmp_path, capsys):
    results = json.loads((trained / "run" / "metrics.json").read_text())
    for key in results:
        run = tmp_path / key
        shutil.copytree(trained / "run", run)
        (run / "metrics.json").write_text(
            json.dumps({k: v for k, v in results.items() if k != key})
        )
        code, _, err = report_of(run, capsys)
        assert code == 0 and (run / "report.html").is_file(), (key, err)
    (run / "metrics.json").write_text("{}")
    code, _, err = report_of(run, capsys)
    assert code == 0 and "Not recorded in this run" in (run / "report.html").read_text(), err


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)
KEYS = ["dataset", "class_names", "test_accuracy", "test_samples", "epochs", "history"]
KEYS += ["confusion_matrix", "command", "settings", "split", "timings", "versions", "finished"]


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(values=st.dictionaries(st.sampled_from(KEYS), JSON, max_size=6))
def test_any_json_values_make_a_page_or_one_line(tmp_path, capsys, values):
    (tmp_path / "metrics.json").write_text(json.dumps(values))
    code, _, err = report_of(tmp_path, capsys)
    assert code == 0, err  # every value of every kind: the page names what it cannot use
