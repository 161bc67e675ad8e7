"""Example 1: a network of Linear, ReLU and Sigmoid layers trained with an explicit loop on
28x28 images, first with mean squared error on one-hot targets, then with cross-entropy;
SGD with L2 regularisation (weight decay), batches of 100. Prints the test accuracy after
each epoch and the confusion matrix at the end.

    python examples/explicit_loop.py                      # Fashion-MNIST, 5 epochs each
    python examples/explicit_loop.py --dataset mnist      # where the MNIST files are
"""

import argparse
import time

import numpy as np

import numpynn as nn


def load(dataset, limit=None):
    loader = nn.data.load_mnist if dataset == "mnist" else nn.data.load_fashion_mnist
    (x_train, y_train), (x_test, y_test) = loader()
    return x_train[:limit], y_train[:limit], x_test, y_test


def train(loss_name, x_train, y_train, x_test, y_test, epochs):
    nn.manual_seed(0)
    layers = [nn.Linear(784, 128), nn.ReLU(), nn.Linear(128, 64), nn.Sigmoid(), nn.Linear(64, 10)]
    if loss_name == "mse":
        layers.append(nn.Sigmoid())  # outputs in (0, 1), compared with one-hot rows
    model = nn.Sequential(layers)
    loss_fn = nn.MSELoss() if loss_name == "mse" else nn.CrossEntropyLoss()
    targets = nn.data.one_hot(y_train, 10) if loss_name == "mse" else y_train
    lr = 1.0 if loss_name == "mse" else 0.1  # MSE's gradients are much smaller
    opt = nn.optim.SGD(model.parameters(), lr=lr, momentum=0.9, weight_decay=1e-4)  # L2
    batches = nn.data.DataLoader(x_train, targets, batch_size=100, shuffle=True, seed=0)
    for epoch in range(1, epochs + 1):
        start, total = time.perf_counter(), 0.0
        model.train()
        for xb, yb in batches:
            total += loss_fn(model(xb), yb) * len(xb)
            opt.zero_grad()
            model.backward(loss_fn.backward())
            opt.step()
        model.eval()
        predicted = model(x_test).argmax(axis=1)
        accuracy = np.mean(predicted == y_test)
        print(
            f"{loss_name:13s} epoch {epoch}: loss {total / len(x_train):.4f}  "
            f"test accuracy {accuracy:.4f}  ({time.perf_counter() - start:.1f} s)"
        )
    return accuracy, nn.metrics.confusion_matrix(y_test, predicted, 10)


def main(dataset="fashion-mnist", epochs=5, limit=None):
    x_train, y_train, x_test, y_test = load(dataset, limit)
    results = {}
    for loss_name in ("mse", "cross-entropy"):
        results[loss_name], matrix = train(loss_name, x_train, y_train, x_test, y_test, epochs)
    print("confusion matrix (rows: true class, columns: predicted), cross-entropy model:")
    print(matrix)
    return results


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=("fashion-mnist", "mnist"), default="fashion-mnist")
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()
    main(args.dataset, args.epochs)
