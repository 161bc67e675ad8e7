"""Example 3: a 784-64-10 He-initialised ReLU/softmax network trained by full-batch
gradient descent (every step sees the whole training set) for 500 iterations at lr 0.1;
saves the loss and accuracy curves as a PNG (needs matplotlib).

    python examples/full_batch.py                        # Fashion-MNIST, 500 iterations
    python examples/full_batch.py --iterations 100 --out curves.png
"""

import argparse
import time

import numpynn as nn


def main(dataset="fashion-mnist", iterations=500, out="full_batch.png", limit=None, every=10):
    loader = nn.data.load_mnist if dataset == "mnist" else nn.data.load_fashion_mnist
    (x_train, y_train), (x_test, y_test) = loader()
    x_train, y_train = x_train[:limit], y_train[:limit]
    nn.manual_seed(0)
    model = nn.Sequential(
        nn.Dense(64, activation="relu", kernel_initializer="he_normal", input_dim=784),
        nn.Dense(10, activation="softmax", kernel_initializer="he_normal"),
    )
    model.compile(
        optimizer=nn.optim.SGD(model.parameters(), lr=0.1),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    curves = {"loss": [], "accuracy": [], "val_loss": [], "val_accuracy": []}
    start = time.perf_counter()
    for step in range(1, iterations + 1):
        loss, accuracy = model.train_on_batch(x_train, y_train)  # one step on all samples
        if step % every == 0 or step == iterations:
            val_loss, val_accuracy = model.evaluate(x_test, y_test, batch_size=10_000, verbose=0)
            for key, value in zip(curves, (loss, accuracy, val_loss, val_accuracy)):
                curves[key].append(value)
            print(
                f"iteration {step}: loss {loss:.4f}  accuracy {accuracy:.4f}  "
                f"test accuracy {val_accuracy:.4f}"
            )
    print(f"{iterations} iterations in {time.perf_counter() - start:.1f} s")
    if out:
        nn.plot.plot_history(
            curves, out, title="full-batch gradient descent", xlabel="iteration", step=every
        )
        print(f"wrote {out}")
    return curves


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=("fashion-mnist", "mnist"), default="fashion-mnist")
    parser.add_argument("--iterations", type=int, default=500)
    parser.add_argument("--out", default="full_batch.png")
    args = parser.parse_args()
    main(args.dataset, args.iterations, args.out)
