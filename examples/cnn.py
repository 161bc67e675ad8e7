"""A small CNN on Fashion-MNIST: two convolution blocks (Conv2d, BatchNorm, ReLU, max-pool)
and a dense head; Adam with a cosine learning-rate decay, batches of 128, 5 epochs; prints
the test accuracy and the training time of each epoch.

    python examples/cnn.py                        # Fashion-MNIST (or --dataset mnist)
"""

import argparse
import time

import numpy as np

import numpynn as nn


def build() -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(1, 32, 3, padding=1), nn.BatchNorm2d(32), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(32, 64, 3, padding=1), nn.BatchNorm2d(64), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(64 * 7 * 7, 128), nn.ReLU(), nn.Dropout(0.3), nn.Linear(128, 10),
    )  # fmt: skip


def main(dataset="fashion-mnist", epochs=5, limit=None, batch_size=128):
    loader = nn.data.load_mnist if dataset == "mnist" else nn.data.load_fashion_mnist
    (x_train, y_train), (x_test, y_test) = loader(flat=False)
    x_train, y_train = x_train[:limit], y_train[:limit]
    nn.manual_seed(0)
    model = build()
    loss_fn = nn.CrossEntropyLoss()
    opt = nn.optim.Adam(model.parameters(), lr=2e-3)
    batches = nn.data.DataLoader(x_train, y_train, batch_size, shuffle=True, seed=0)
    # the learning rate falls from 2e-3 to 0 along a cosine, a little every step
    schedule = nn.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * len(batches))
    accuracy = 0.0
    for epoch in range(1, epochs + 1):
        start, total = time.perf_counter(), 0.0
        model.train()
        for xb, yb in batches:
            total += loss_fn(model(xb), yb) * len(xb)
            opt.zero_grad()
            model.backward(loss_fn.backward())
            opt.step()
            schedule.step()
        seconds = time.perf_counter() - start
        model.eval()
        predicted = np.concatenate(
            [model(x_test[i : i + 1000]).argmax(1) for i in range(0, len(x_test), 1000)]
        )
        accuracy = float(np.mean(predicted == y_test))
        print(f"epoch {epoch}: loss {total / len(x_train):.4f}  test accuracy {accuracy:.4f}  "
              f"({seconds:.1f} s training)")  # fmt: skip
    return accuracy


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=("fashion-mnist", "mnist"), default="fashion-mnist")
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()
    main(args.dataset, args.epochs)
