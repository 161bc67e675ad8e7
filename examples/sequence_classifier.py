"""Fashion-MNIST read row by row: an LSTM(128) over the 28 rows of 28 pixels, a linear head
on its last state; Adam (lr 2e-3, cosine decay to 0), batches of 128, 5 epochs. Prints the
test accuracy and the seconds of each epoch; ``--torch`` trains the same model in PyTorch
too (the same initial weights, optimizer, schedule and batches) and prints both.

    python examples/sequence_classifier.py              # numpynn only
    python examples/sequence_classifier.py --torch      # and PyTorch beside it
"""

import argparse
import time

import numpy as np

import numpynn as nn


def batches(x, y, batch_size, epochs):
    """The same shuffled batches for both libraries, epoch after epoch."""
    loader = nn.data.DataLoader(x, y, batch_size, shuffle=True, seed=0)
    for _ in range(epochs):
        yield loader


def train_numpynn(model, data, epochs, lr, steps_per_epoch):
    loss_fn = nn.CrossEntropyLoss()
    opt = nn.optim.Adam(model.parameters(), lr=lr)
    schedule = nn.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * steps_per_epoch)
    (x_train, y_train), (x_test, y_test) = data
    for epoch, loader in enumerate(batches(x_train, y_train, 128, epochs), 1):
        start, total = time.perf_counter(), 0.0
        for xb, yb in loader:
            total += loss_fn(model(xb), yb) * len(xb)
            opt.zero_grad()
            model.backward_params(loss_fn.backward())  # images need no gradient
            opt.step()
            schedule.step()
        seconds = time.perf_counter() - start
        predicted = np.concatenate(
            [model(x_test[i : i + 1000]).argmax(1) for i in range(0, len(x_test), 1000)]
        )
        accuracy = float(np.mean(predicted == y_test))
        print(f"numpynn epoch {epoch}: loss {total / len(x_train):.4f}  "
              f"test accuracy {accuracy:.4f}  ({seconds:.1f} s)")  # fmt: skip
        yield accuracy, seconds


def torch_twin(torch, model):
    """The same network in PyTorch, starting from ``model``'s weights."""

    class RowLSTM(torch.nn.Module):
        def __init__(self, rows, hidden, classes):
            super().__init__()
            self.lstm = torch.nn.LSTM(rows, hidden, batch_first=True)
            self.head = torch.nn.Linear(hidden, classes)

        def forward(self, x):
            return self.head(self.lstm(x.reshape(len(x), 28, 28))[0][:, -1])

    lstm, head = model[1], model[2]
    twin = RowLSTM(lstm.input_size, lstm.hidden_size, head.out_features)
    state = {f"lstm.{k}": v for k, v in lstm.state_dict().items()}
    state.update({f"head.{k}": v for k, v in head.state_dict().items()})
    twin.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()})
    return twin


def train_torch(torch, twin, data, epochs, lr, steps_per_epoch):
    loss_fn = torch.nn.CrossEntropyLoss()
    opt = torch.optim.Adam(twin.parameters(), lr=lr)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs * steps_per_epoch)
    (x_train, y_train), (x_test, y_test) = data
    for epoch, loader in enumerate(batches(x_train, y_train, 128, epochs), 1):
        start = time.perf_counter()
        for xb, yb in loader:
            loss = loss_fn(twin(torch.from_numpy(xb)), torch.from_numpy(yb))
            opt.zero_grad()
            loss.backward()
            opt.step()
            schedule.step()
        seconds = time.perf_counter() - start
        with torch.no_grad():
            predicted = twin(torch.from_numpy(x_test)).argmax(1).numpy()
        accuracy = float(np.mean(predicted == y_test))
        print(f"PyTorch epoch {epoch}: test accuracy {accuracy:.4f}  ({seconds:.1f} s)")
        yield accuracy, seconds


def main(epochs=5, limit=None, compare_torch=False, lr=2e-3):
    (x_train, y_train), test = nn.data.load_fashion_mnist()
    data = ((x_train[:limit], y_train[:limit]), test)
    steps = -(-len(data[0][0]) // 128)
    nn.manual_seed(0)
    model = nn.keras.row_lstm_classifier((28, 28), classes=10, units=128, seed=0)
    results = {}
    if compare_torch:
        import torch

        torch.set_num_threads(1)  # as NumPy's BLAS in this example's runs (OPENBLAS_NUM_THREADS)
        twin = torch_twin(torch, model)  # before numpynn trains: the same initial weights
        results["PyTorch"] = list(train_torch(torch, twin, data, epochs, lr, steps))
    results["numpynn"] = list(train_numpynn(model, data, epochs, lr, steps))
    for name, runs in results.items():
        seconds = np.mean([s for _, s in runs])
        print(f"{name}: test accuracy {runs[-1][0]:.4f} after {epochs} epochs, "
              f"{seconds:.1f} s per epoch")  # fmt: skip
    return {name: runs[-1][0] for name, runs in results.items()}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=5)
    parser.add_argument("--torch", action="store_true", help="train the PyTorch twin too")
    args = parser.parse_args()
    main(epochs=args.epochs, compare_torch=args.torch)
