"""Sequence-layer speed: numpynn against PyTorch, one training step each, alternating.

Workloads (issue 14's targets): ``lstm``, LSTM(28 -> 128) over 28 steps, batch 128, a linear
head on the last state, softmax cross-entropy, SGD step (Fashion-MNIST read row by row);
``transformer``, TransformerEncoderLayer(d_model 64, 4 heads, feed-forward 256, dropout 0)
over 16 steps, batch 64, a linear head on the mean, the same loss and step; ``embedding``,
Embedding(10,000 x 64) forward and backward of 4,096 indices. The same weights and data for
both libraries; each repetition runs ``--steps`` steps of each library in turn, in one
process; the table gives the median milliseconds per step and the ratio numpynn / PyTorch.

    python benchmarks/sequence.py                    # 5 repetitions of 20 steps
    python benchmarks/sequence.py --only lstm --reps 3
"""

from __future__ import annotations

import argparse

import numpy as np
from common import alternating_times, blas_threads, median, torch_or_none

import numpynn as nn

WORKLOADS = ("lstm", "transformer", "embedding")


class LastStep(nn.Module):
    """The classifier of the benchmark: an LSTM's last hidden state, then a Linear."""

    def __init__(self, lstm, head):
        self.lstm, self.head = lstm, head

    def forward(self, x):
        out, _ = self.lstm(x)
        self.out_shape = out.shape
        return self.head(out[:, -1])

    def backward_params(self, grad):
        grad_out = np.zeros(self.out_shape, grad.dtype)
        grad_out[:, -1] = self.head.backward(grad)
        self.lstm.backward_params(grad_out)


class MeanHead(nn.Module):
    """An encoder, the mean over the sequence, then a Linear."""

    def __init__(self, encoder, head):
        self.encoder, self.head = encoder, head

    def forward(self, x):
        h = self.encoder(x)
        self.steps = h.shape[1]
        return self.head(h.mean(axis=1))

    def backward_params(self, grad):
        grad_h = self.head.backward(grad)[:, None, :] / self.steps
        self.encoder.backward_params(np.repeat(grad_h, self.steps, axis=1))


def torch_twin(torch, kind, model):
    t = torch.nn

    class Twin(t.Module):
        def __init__(self):
            super().__init__()
            if kind == "lstm":
                self.lstm = t.LSTM(28, 128, batch_first=True)
            else:
                self.encoder = t.TransformerEncoderLayer(64, 4, 256, 0.0, batch_first=True)
            self.head = t.Linear(128 if kind == "lstm" else 64, 10)

        def forward(self, x):
            if kind == "lstm":
                return self.head(self.lstm(x)[0][:, -1])
            return self.head(self.encoder(x).mean(dim=1))

    twin = Twin()
    twin.load_state_dict(
        {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in model.state_dict().items()}
    )
    return twin


def training_runners(kind, steps, torch):
    rng = np.random.default_rng(0)
    nn.manual_seed(0)
    if kind == "lstm":
        model = LastStep(nn.LSTM(28, 128, batch_first=True), nn.Linear(128, 10))
        x = rng.random((steps, 128, 28, 28), dtype=np.float32)
    else:
        layer = nn.TransformerEncoderLayer(64, 4, 256, dropout=0.0, batch_first=True)
        model = MeanHead(layer, nn.Linear(64, 10))
        x = rng.standard_normal((steps, 64, 16, 64), dtype=np.float32)
    y = rng.integers(0, 10, x.shape[:2])
    loss_fn, opt = nn.CrossEntropyLoss(), nn.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def numpynn_run():
        for xb, yb in zip(x, y):
            loss_fn(model(xb), yb)
            opt.zero_grad()
            model.backward_params(loss_fn.backward())
            opt.step()

    runners = {"numpynn": numpynn_run}
    if torch is not None:
        twin = torch_twin(torch, kind, model)
        t_loss, t_opt = (
            torch.nn.CrossEntropyLoss(),
            torch.optim.SGD(twin.parameters(), lr=0.01, momentum=0.9),
        )
        tx, ty = torch.from_numpy(x), torch.from_numpy(y)

        def torch_run():
            for xb, yb in zip(tx, ty):
                loss = t_loss(twin(xb), yb)
                t_opt.zero_grad()
                loss.backward()
                t_opt.step()

        runners["PyTorch"] = torch_run
    return runners


def embedding_runners(steps, torch):
    rng = np.random.default_rng(0)
    layer = nn.Embedding(10_000, 64)
    indices = rng.integers(0, 10_000, (steps, 4096))
    grads = rng.standard_normal((steps, 4096, 64), dtype=np.float32)

    def numpynn_run():
        for idx, g in zip(indices, grads):
            layer.zero_grad()
            layer(idx)
            layer.backward(g)

    runners = {"numpynn": numpynn_run}
    if torch is not None:
        twin = torch.nn.Embedding(10_000, 64)
        ti, tg = torch.from_numpy(indices), torch.from_numpy(grads)

        def torch_run():
            for idx, g in zip(ti, tg):
                twin.zero_grad()
                twin(idx).backward(g)

        runners["PyTorch"] = torch_run
    return runners


def run(kind: str, reps: int, steps: int, threads: int) -> dict:
    torch = torch_or_none(threads)
    if kind == "embedding":
        runners = embedding_runners(steps, torch)
    else:
        runners = training_runners(kind, steps, torch)
    times = alternating_times(runners, reps)
    ms = {name: 1000 * median(t) / steps for name, t in times.items()}
    return {"workload": kind, "ms_per_step": ms, "ratio": ms["numpynn"] / ms.get("PyTorch", np.nan)}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=5)
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--only", default=",".join(WORKLOADS))
    args = parser.parse_args(argv)
    threads = blas_threads()
    print(f"BLAS threads: {threads}; median ms per step over {args.reps} repetitions")
    results = []
    for kind in args.only.split(","):
        result = run(kind, args.reps, args.steps, threads)
        ms = result["ms_per_step"]
        peer = f"PyTorch {ms['PyTorch']:8.2f} ms" if "PyTorch" in ms else "PyTorch skipped"
        print(f"{kind:12s} numpynn {ms['numpynn']:8.2f} ms  {peer}  ratio {result['ratio']:.2f}")
        results.append(result)
    return results


if __name__ == "__main__":
    main()
