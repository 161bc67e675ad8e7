"""Rerun the examples and write the README's examples table from what they print.

    python tools/example_figures.py                  # every example; prints the table
    python tools/example_figures.py --write          # ... and puts it in README.md
    python tools/example_figures.py --only leaky_mlp cnn --write   # rerun some rows

Each example runs as ``python examples/NAME.py`` in a temporary folder, with this tree's
``src`` first on the path. A row's "result" cell is built from the example's own output
(the numbers are parsed, never typed in); the "what" cells live here. ``--only`` keeps the
other rows of the table as they are in README.md. Fashion-MNIST must be on the machine
(Debian's ``dataset-fashion-mnist``): the examples do not download it.
"""

from __future__ import annotations

import argparse
import os
import pathlib
import re
import statistics
import subprocess
import sys
import tempfile

ROOT = pathlib.Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
HEADER = "| example | what | result |\n|---|---|---|\n"


def _numbers(pattern: str, text: str) -> list[float]:
    found = [float(m) for m in re.findall(pattern, text)]
    if not found:
        raise ValueError(f"no match for {pattern!r} in the output:\n{text}")
    return found


def _seconds(values) -> str:
    low, high = min(values), max(values)
    return f"{low:.1f} s" if f"{low:.1f}" == f"{high:.1f}" else f"{low:.1f} to {high:.1f} s"


def _epochs(count: int) -> str:
    return f"{count} epoch" + ("s" if count != 1 else "")


def explicit_loop(out: str) -> str:
    mse = _numbers(r"mse\s+epoch \d+: .*test accuracy ([\d.]+)", out)
    entropy = _numbers(r"cross-entropy epoch \d+: .*test accuracy ([\d.]+)", out)
    times = _numbers(r"epoch \d+: .*\(([\d.]+) s\)", out)
    return f"MSE {mse[-1]:.4f}, cross-entropy {entropy[-1]:.4f}; {_seconds(times)} per epoch"


def keras_iris(out: str) -> str:
    splits = _numbers(r"Iris split \d+: test accuracy ([\d.]+)", out)
    times = _numbers(r"Iris split \d+: .*\(([\d.]+) s\)", out)
    xor = _numbers(r"\d\d -> ([\d.]+)", out)
    return (
        f"Iris {', '.join(f'{a:.3f}' for a in splits)} (mean {statistics.mean(splits):.3f}), "
        f"{_seconds(times)} per split; XOR outputs {', '.join(f'{v:.3f}' for v in xor)}"
    )


def full_batch(out: str) -> str:
    accuracy = _numbers(r"iteration \d+: .*test accuracy ([\d.]+)", out)[-1]
    loss = _numbers(r"iteration \d+: loss ([\d.]+)", out)[-1]
    iterations = _numbers(r"(\d+) iterations in", out)[-1]
    seconds = _numbers(r"iterations in ([\d.]+) s", out)[-1]
    return (
        f"{accuracy:.4f} after {iterations:.0f} iterations (training loss {loss:.3f}); "
        f"{seconds:.0f} s, {seconds / iterations:.2f} s per step over all 60,000 images"
    )


def cnn(out: str) -> str:
    accuracies = _numbers(r"epoch \d+: .*test accuracy ([\d.]+)", out)
    times = _numbers(r"\(([\d.]+) s training\)", out)
    before = ", ".join(f"{a:.4f}" for a in accuracies[:-1])
    return (
        f"{accuracies[-1]:.4f} after {_epochs(len(accuracies))}"
        + (f" ({before} before)" if before else "")
        + f"; {_seconds(times)} of training per epoch"
    )


def leaky_mlp(out: str) -> str:
    accuracy = _numbers(r"val_accuracy: ([\d.]+)", out)
    times = _numbers(r"Epoch \d+/\d+ - ([\d.]+)s", out)
    return f"{accuracy[-1]:.4f} after {_epochs(len(accuracy))}; {_seconds(times)} per epoch"


# name -> (what the example does, the function that reads its output)
EXAMPLES = {
    "explicit_loop": (
        "Linear/ReLU/Sigmoid layers, explicit loop, SGD with L2 (weight decay 1e-4), batch "
        "100, 5 epochs with MSE on one-hot targets, then 5 with cross-entropy; confusion matrix",
        explicit_loop,
    ),
    "keras_iris": (
        "functional model, tanh/ReLU/softmax by name, categorical cross-entropy, lr 0.01, "
        "500 epochs, 70/30 splits with seeds 0-4; then XOR with MSE",
        keras_iris,
    ),
    "full_batch": (
        "784-64-10 He-initialised ReLU/softmax, full-batch gradient descent, 500 iterations "
        "at lr 0.1, curves saved as PNG",
        full_batch,
    ),
    "cnn": (
        "two blocks of Conv2d(3x3)-BatchNorm-ReLU-MaxPool (32 and 64 channels), then "
        "Linear(3136->128)-ReLU-Dropout-Linear; Adam from lr 2e-3 with a cosine decay, "
        "batch 128, 5 epochs",
        cnn,
    ),
    "leaky_mlp": (
        "784-256-128-10 LeakyReLU/softmax, Adam, batch 256, 5 epochs, loss and accuracy per epoch",
        leaky_mlp,
    ),
}


def run(name: str) -> str:
    """The example's standard output; its error output passes through."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"))
    with tempfile.TemporaryDirectory() as folder:  # full_batch.py writes its PNG here
        result = subprocess.run(
            [sys.executable, str(ROOT / "examples" / f"{name}.py")],
            cwd=folder,
            env=env,
            stdout=subprocess.PIPE,
            text=True,
            check=True,
        )
    return result.stdout


def current_rows(readme: str) -> dict[str, str]:
    """The README table's rows by example name."""
    rows = {}
    for line in readme[readme.index(HEADER) + len(HEADER) :].splitlines():
        if not line.startswith("| `"):
            break
        rows[line.split("`")[1].removesuffix(".py")] = line
    return rows


def table(results: dict[str, str], old_rows: dict[str, str]) -> str:
    """The table with the rerun rows rewritten; rows of examples this script does not run
    (or did not rerun) are kept as they are, in their order."""
    names = list(old_rows) + [name for name in EXAMPLES if name not in old_rows]
    lines = [HEADER.rstrip("\n")]
    for name in names:
        if name in results:
            lines.append(f"| `{name}.py` | {EXAMPLES[name][0]} | {results[name]} |")
        else:
            lines.append(old_rows[name])
    return "\n".join(lines) + "\n"


def replace_table(readme: str, new_table: str) -> str:
    start = readme.index(HEADER)
    end = start + len(HEADER)
    while readme.startswith("| `", end):
        end = readme.index("\n", end) + 1
    return readme[:start] + new_table + readme[end:]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=list(EXAMPLES), help="rerun these only")
    parser.add_argument("--write", action="store_true", help="rewrite the table in README.md")
    args = parser.parse_args(argv)
    results = {}
    for name in args.only or EXAMPLES:
        output = run(name)
        print(output, end="", flush=True)
        results[name] = EXAMPLES[name][1](output)
    readme = README.read_text()
    new_table = table(results, current_rows(readme))
    print(new_table, end="")
    if args.write:
        README.write_text(replace_table(readme, new_table))
        print(f"wrote the table into {README}")


if __name__ == "__main__":
    main()
