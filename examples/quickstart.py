"""PyTorch-style quick start: an MLP learns two interleaved spirals with an explicit loop.

python examples/quickstart.py
"""

import numpy as np

import numpynn as nn


def two_spirals(n_per_class=500, seed=0):
    rng = np.random.default_rng(seed)
    t = np.sqrt(rng.uniform(0.05, 1, n_per_class)) * 3 * np.pi
    arm = np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / (3 * np.pi)
    x = np.concatenate([arm, -arm]) + rng.normal(0, 0.015, (2 * n_per_class, 2))
    return x.astype(np.float32), np.repeat([0, 1], n_per_class)


def main(epochs: int = 60) -> float:
    nn.manual_seed(0)
    x, y = two_spirals()
    model = nn.Sequential(
        nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2)
    )
    loss_fn = nn.CrossEntropyLoss()
    opt = nn.optim.Adam(model.parameters(), lr=0.01)
    rng = np.random.default_rng(0)
    for epoch in range(1, epochs + 1):
        order = rng.permutation(len(x))
        for start in range(0, len(x), 64):
            idx = order[start : start + 64]
            loss = loss_fn(model(x[idx]), y[idx])
            opt.zero_grad()
            model.backward(loss_fn.backward())
            opt.step()
        if epoch % 20 == 0:
            accuracy = np.mean(model(x).argmax(axis=1) == y)
            print(f"epoch {epoch:3d}  loss {loss:.4f}  accuracy {accuracy:.3f}")
    return accuracy


if __name__ == "__main__":
    main()
