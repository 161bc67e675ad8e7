"""Example 2: the Keras-style workflow. A functional model with activations by name
(tanh, ReLU, softmax) learns Iris from a 70/30 split with categorical cross-entropy and
lr 0.01 for 500 epochs, over 5 random splits; then the 4-row XOR truth table with MSE.

    python examples/keras_iris.py
"""

import time

import numpy as np

import numpynn as nn


def iris_split(seed, epochs):
    x, y, class_names = nn.data.load_iris()
    x_train, x_test, y_train, y_test = nn.data.train_test_split(
        x, y, test_size=0.3, stratify=y, seed=seed
    )
    nn.manual_seed(seed)
    inputs = nn.Input(shape=(4,))
    scaled = nn.Normalization()
    scaled.adapt(x_train)  # the training set's mean and variance, kept in the model
    h = nn.Dense(8, activation="tanh")(scaled(inputs))
    h = nn.Dense(8, activation="relu")(h)
    outputs = nn.Dense(3, activation="softmax")(h)
    model = nn.Model(inputs, outputs)
    model.compile(
        optimizer=nn.optim.Adam(model.parameters(), lr=0.01),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
    )
    model.fit(x_train, nn.data.one_hot(y_train, 3), epochs=epochs, batch_size=32, verbose=0)
    return model.evaluate(x_test, nn.data.one_hot(y_test, 3), verbose=0)[1]


def xor(epochs):
    nn.manual_seed(1)
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    y = np.array([[0], [1], [1], [0]], dtype=np.float32)
    inputs = nn.Input(shape=(2,))
    outputs = nn.Dense(1, activation="sigmoid")(nn.Dense(4, activation="tanh")(inputs))
    model = nn.Model(inputs, outputs)
    model.compile(optimizer=nn.optim.SGD(model.parameters(), lr=0.5, momentum=0.9), loss="mse")
    model.fit(x, y, epochs=epochs, batch_size=4, verbose=0)
    return model.predict(x)


def main(epochs=500, splits=5, xor_epochs=500):
    accuracies = []
    for seed in range(splits):
        start = time.perf_counter()
        accuracies.append(iris_split(seed, epochs))
        print(
            f"Iris split {seed}: test accuracy {accuracies[-1]:.4f} "
            f"({time.perf_counter() - start:.1f} s)"
        )
    print(f"mean {np.mean(accuracies):.4f}")
    outputs = xor(xor_epochs)
    print(
        "XOR:",
        " ".join(
            f"{a}{b} -> {o:.3f}"
            for (a, b), o in zip([(0, 0), (0, 1), (1, 0), (1, 1)], outputs[:, 0])
        ),
    )
    return accuracies, outputs


if __name__ == "__main__":
    main()
