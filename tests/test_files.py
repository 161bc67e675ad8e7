"""The atomic writer: no partial file, no litter, long names, links, FIFOs, and SIGKILLs."""

import os
import random
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

import numpynn as nn
from numpynn import _files
from numpynn._files import NotARegularFileError, atomic_write, open_regular

posix_only = pytest.mark.skipif(os.name != "posix", reason="FIFOs, links and signals: POSIX")


def litter(folder):
    return sorted(name for name in os.listdir(folder) if _files.MARK in name)


@pytest.mark.parametrize("error", [ValueError("half-way"), KeyboardInterrupt()])
def test_an_error_while_writing_keeps_the_old_file_and_leaves_no_temporary(tmp_path, error):
    path = tmp_path / "m.bin"
    path.write_bytes(b"old")
    with pytest.raises(type(error)), atomic_write(path) as f:
        f.write(b"new, but not finished")
        raise error
    assert path.read_bytes() == b"old"
    assert os.listdir(tmp_path) == ["m.bin"]


def test_an_error_in_the_rename_leaves_no_temporary(tmp_path):
    target = tmp_path / "a-folder"
    with pytest.raises(IsADirectoryError), atomic_write(target) as f:
        f.write(b"x")
        target.mkdir()  # appears after the check: the rename itself fails
    with pytest.raises(NotARegularFileError, match="a-folder is a folder, not a regular file"):
        with atomic_write(target) as f:
            f.write(b"x")
    assert os.listdir(tmp_path) == ["a-folder"]


def test_temporary_names_are_recognisable_and_hidden(tmp_path):
    seen = []
    with atomic_write(tmp_path / "model.npz") as f:
        seen = litter(tmp_path)
        f.write(b"x")
    assert len(seen) == 1
    assert seen[0].startswith(".model.npz.numpynn-tmp-")
    assert seen[0].split("-")[-2] == str(os.getpid())
    assert litter(tmp_path) == []


@pytest.mark.parametrize("length", [250, 255])
def test_the_longest_legal_names_can_be_written(tmp_path, length):
    name = "m" * (length - 4) + ".npz"
    model = nn.Sequential(nn.Linear(2, 2))
    nn.save_model(model, tmp_path / name)
    nn.save_model(model, tmp_path / name)  # and replaced
    assert os.listdir(tmp_path) == [name]
    assert nn.load_model(tmp_path / name).num_parameters() == 6


def test_long_names_in_multibyte_characters(tmp_path):
    name = "é" * 125 + ".txt"  # 254 bytes in UTF-8
    with atomic_write(tmp_path / name, "w", encoding="utf-8") as f:
        f.write("ok")
    assert os.listdir(tmp_path) == [name]


def test_a_temporary_name_fits_the_limit_and_keeps_the_target_recognisable():
    name = _files.temporary_name("/tmp", "x" * 255)
    assert len(name.encode()) <= 255
    assert name.startswith(".xxx") and _files._TEMPORARY.match(name)


def write_temporary(folder, pid, host=None, age=0.0, name="m.npz"):
    path = folder / f".{name}{_files.MARK}{host or _files._host()}-{pid}-0123abcd"
    path.write_bytes(b"partial")
    if age:
        os.utime(path, (time.time() - age, time.time() - age))
    return path


def dead_pid():
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


@posix_only
def test_a_later_save_clears_the_temporaries_of_dead_writers(tmp_path):
    dead = write_temporary(tmp_path, dead_pid(), name="other.npz")
    with atomic_write(tmp_path / "m.npz") as f:
        f.write(b"x")
    assert not dead.exists()
    assert litter(tmp_path) == []


@posix_only
def test_a_folder_unchanged_since_the_last_save_is_not_listed_again(tmp_path):
    """The clean-up lists the folder only when it can find something: the planted temporary
    below is invisible to a save while the folder's modification time reads as this process
    left it (so the save did not list the folder), and is removed once the folder changed."""
    with atomic_write(tmp_path / "m.npz") as f:
        f.write(b"x")
    left = os.stat(tmp_path)
    dead = write_temporary(tmp_path, dead_pid(), name="other.npz")
    os.utime(tmp_path, ns=(left.st_atime_ns, left.st_mtime_ns))  # as if nothing had changed
    with atomic_write(tmp_path / "m.npz") as f:
        f.write(b"y")
    assert dead.exists()  # not listed: the folder read as this process had left it
    (tmp_path / "notes.txt").write_bytes(b"a change in the folder")
    with atomic_write(tmp_path / "m.npz") as f:
        f.write(b"z")
    assert not dead.exists() and litter(tmp_path) == []


@posix_only
def test_temporaries_of_live_writers_and_other_hosts_stay_until_they_are_old(tmp_path):
    with subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"]) as sleeper:
        try:
            alive = write_temporary(tmp_path, sleeper.pid)
            mine = write_temporary(tmp_path, os.getpid(), name="n.npz")
            elsewhere = write_temporary(tmp_path, dead_pid(), host="beef")
            if _files._host() == "beef":
                pytest.skip("this host's tag happens to be the one used for 'elsewhere'")
            similar = tmp_path / "m.npz.numpynn-tmp-notes.txt"  # not ours: no leading dot
            similar.write_bytes(b"keep")
            with atomic_write(tmp_path / "m.npz") as f:
                f.write(b"x")
            assert alive.exists() and mine.exists() and elsewhere.exists() and similar.exists()
            old = write_temporary(tmp_path, sleeper.pid, age=_files.STALE_AFTER + 60, name="o")
            with atomic_write(tmp_path / "m.npz") as f:
                f.write(b"y")
            assert not old.exists() and alive.exists()
        finally:
            sleeper.kill()


@posix_only
def test_fifos_are_refused_for_writing_and_reading_without_blocking(tmp_path):
    fifo = tmp_path / "pipe.npz"
    os.mkfifo(fifo)
    model = nn.Sequential(nn.Linear(2, 2))
    with pytest.raises(NotARegularFileError, match=r"pipe.npz is a FIFO \(named pipe\)"):
        nn.save_model(model, fifo)
    with pytest.raises(nn.io.ModelFileError, match="pipe.npz is a FIFO"):
        nn.load_model(fifo)
    with pytest.raises(NotARegularFileError, match="FIFO"):
        open_regular(fifo)
    with pytest.raises(NotARegularFileError, match="character device"):
        open_regular("/dev/null")
    assert sorted(os.listdir(tmp_path)) == ["pipe.npz"]


@posix_only
@pytest.mark.parametrize("relative", [True, False])
def test_saving_over_a_symbolic_link_replaces_its_target_and_keeps_the_link(tmp_path, relative):
    (tmp_path / "store").mkdir()
    real = tmp_path / "store" / "model.npz"
    link, chain = tmp_path / "latest.npz", tmp_path / "current.npz"
    nn.save_model(nn.Sequential(nn.Linear(2, 2)), real)
    link.symlink_to("store/model.npz" if relative else real)
    chain.symlink_to(link)
    new = nn.Sequential(nn.Linear(2, 3))
    nn.save_model(new, chain)
    assert chain.is_symlink() and link.is_symlink() and not real.is_symlink()
    assert nn.load_model(real).num_parameters() == new.num_parameters()
    assert litter(tmp_path) == litter(tmp_path / "store") == []


@posix_only
def test_a_dangling_link_is_followed_to_create_its_target(tmp_path):
    link = tmp_path / "link.txt"
    link.symlink_to(tmp_path / "made.txt")
    with atomic_write(link, "w") as f:
        f.write("ok")
    assert link.is_symlink() and (tmp_path / "made.txt").read_text() == "ok"


@posix_only
def test_the_old_files_permissions_are_kept(tmp_path):
    path = tmp_path / "m.bin"
    path.write_bytes(b"old")
    path.chmod(0o640)
    with atomic_write(path) as f:
        f.write(b"new")
    assert path.stat().st_mode & 0o777 == 0o640


SAVER = """
import sys, numpy as np, numpynn as nn
path = sys.argv[1]
models = []
for seed in (1, 2):
    nn.manual_seed(seed)
    models.append(nn.Sequential(nn.Linear(600, 800), nn.ReLU(), nn.Linear(800, 600)))
print("ready", flush=True)
i = 0
while True:
    nn.save_model(models[i % 2], path)
    i += 1
"""


@posix_only
def test_sigkill_during_save_never_damages_the_file_and_leaves_no_litter(tmp_path):
    path = tmp_path / "m.npz"
    expected = []
    for seed in (1, 2):
        nn.manual_seed(seed)
        model = nn.Sequential(nn.Linear(600, 800), nn.ReLU(), nn.Linear(800, 600))
        expected.append(model.state_dict())
    nn.save_model(model, path)  # the old file (3.8 MB)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), "OPENBLAS_NUM_THREADS": "1"}
    chooser = random.Random(0)
    litter_seen = 0
    for _ in range(20):
        with subprocess.Popen(
            [sys.executable, "-c", SAVER, str(path)], stdout=subprocess.PIPE, env=env
        ) as saver:
            assert saver.stdout.readline() == b"ready\n"
            time.sleep(chooser.uniform(0.0, 0.15))
            saver.send_signal(signal.SIGKILL)
            saver.wait()
        litter_seen += len(litter(tmp_path))
        state = nn.load_model(path).state_dict()
        assert any(all(np.array_equal(state[k], e[k]) for k in e) for e in expected), (
            "the model file holds neither of the saved models"
        )
    nn.save_model(model, path)
    assert litter(tmp_path) == []
    assert os.listdir(tmp_path) == ["m.npz"]
    print(f"temporary files left by the 20 kills before the next save: {litter_seen}")
