"""The run folder: unique even for runs started in the same second."""

import datetime
import pathlib
import subprocess
import sys
import threading

from numpynn.cli import runs


def test_run_folders_are_unique_even_when_started_in_the_same_second(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    started = datetime.datetime(2026, 11, 29, 3, 4, 5)
    folders = []

    def make():
        folders.append(runs.run_folder(None, started))

    threads = [threading.Thread(target=make) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    names = sorted(p.name for p in folders)
    assert len(set(names)) == 8 and all(p.is_absolute() and p.is_dir() for p in folders)
    assert names[0] == "20261129-030405" and "20261129-030405-8" in names
    assert runs.run_folder(tmp_path / "given") == tmp_path / "given"  # --out is used as given
    assert runs.run_folder(tmp_path / "given") == tmp_path / "given"


def test_two_runs_in_the_same_second_keep_both_models(tmp_path):
    args = [sys.executable, "-m", "numpynn", "train", "--dataset", "iris", "--epochs", "1"]
    runs = [subprocess.Popen([*args, "--quiet"], cwd=tmp_path, stdout=subprocess.PIPE, text=True)]
    runs.append(
        subprocess.Popen([*args, "--quiet"], cwd=tmp_path, stdout=subprocess.PIPE, text=True)
    )
    outputs = [run.communicate(timeout=300)[0] for run in runs]
    folders = {
        line.split(": ", 1)[1] for out in outputs for line in out.splitlines() if "folder" in line
    }
    assert len(folders) == 2 and all((pathlib.Path(f) / "model.npz").exists() for f in folders)
