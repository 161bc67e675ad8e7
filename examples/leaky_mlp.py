"""Example 4: a 784-256-128-10 LeakyReLU/softmax network, batches of 256, 5 epochs, with
the loss and accuracy printed after each epoch (Keras's fit with verbose=2).

    python examples/leaky_mlp.py                          # Fashion-MNIST
    python examples/leaky_mlp.py --dataset mnist
"""

import argparse

import numpynn as nn


def main(dataset="fashion-mnist", epochs=5, limit=None):
    loader = nn.data.load_mnist if dataset == "mnist" else nn.data.load_fashion_mnist
    (x_train, y_train), (x_test, y_test) = loader()
    nn.manual_seed(0)
    model = nn.Sequential(
        nn.Input(shape=(784,)),
        nn.Dense(256, activation="leaky_relu"),
        nn.Dense(128, activation="leaky_relu"),
        nn.Dense(10, activation="softmax"),
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    model.fit(
        x_train[:limit],
        y_train[:limit],
        batch_size=256,
        epochs=epochs,
        validation_data=(x_test, y_test),
        verbose=2,
    )
    return model.evaluate(x_test, y_test, verbose=0)[1]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dataset", choices=("fashion-mnist", "mnist"), default="fashion-mnist")
    parser.add_argument("--epochs", type=int, default=5)
    args = parser.parse_args()
    main(args.dataset, args.epochs)
