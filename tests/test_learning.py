"""Learning tests: the whole engine trains. These add to the oracles, never replace them."""

import numpy as np

import numpynn as nn


def train(model, loss_fn, x, y, optimizer, epochs, batch_size=None, seed=0):
    rng = np.random.default_rng(seed)
    n = len(x)
    batch_size = batch_size or n
    for _ in range(epochs):
        order = rng.permutation(n)
        for start in range(0, n, batch_size):
            idx = order[start : start + batch_size]
            loss_fn(model(x[idx]), y[idx])
            optimizer.zero_grad()
            model.backward(loss_fn.backward())
            optimizer.step()
    return model


def two_spirals(n_per_class=300, noise=0.15, seed=0):
    rng = np.random.default_rng(seed)
    t = np.sqrt(rng.uniform(0.05, 1, n_per_class)) * 3 * np.pi
    arm = np.stack([t * np.cos(t), t * np.sin(t)], axis=1) / (3 * np.pi)
    x = np.concatenate([arm, -arm]) + rng.normal(0, noise / (3 * np.pi), (2 * n_per_class, 2))
    y = np.repeat([0, 1], n_per_class)
    return x.astype(np.float32), y


def test_xor_with_a_2_4_1_network():
    x = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float32)
    y = np.array([[0], [1], [1], [0]], dtype=np.float32)
    nn.manual_seed(3)
    model = nn.Sequential(nn.Linear(2, 4), nn.Tanh(), nn.Linear(4, 1), nn.Sigmoid())
    train(model, nn.MSELoss(), x, y, nn.optim.SGD(model.parameters(), lr=0.5, momentum=0.9), 1000)
    np.testing.assert_array_equal(model(x) > 0.5, y > 0.5)


def test_mlp_separates_two_spirals():
    x, y = two_spirals()
    nn.manual_seed(0)
    model = nn.Sequential(
        nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 2)
    )
    train(model, nn.CrossEntropyLoss(), x, y, nn.optim.Adam(model.parameters(), lr=0.01), 300, 64)
    accuracy = np.mean(model(x).argmax(axis=1) == y)
    assert accuracy >= 0.97, f"two-spirals training accuracy {accuracy:.3f}"


def run_seeded(seed):
    x, y = two_spirals(50)
    nn.manual_seed(seed)
    model = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Dropout(0.2), nn.Linear(16, 2))
    train(model, nn.CrossEntropyLoss(), x, y, nn.optim.Adam(model.parameters(), lr=0.01), 5, 16)
    return model.state_dict()


def test_same_seed_same_weights_bit_for_bit():
    first, second, other = run_seeded(7), run_seeded(7), run_seeded(8)
    for name in first:
        np.testing.assert_array_equal(first[name], second[name], err_msg=name)
    assert any(not np.array_equal(first[k], other[k]) for k in first)


def test_a_float32_step_creates_only_float32():
    """TESTING.md #16: no float64 creeps into a float32 model."""
    x, y = two_spirals(20)
    model = nn.Sequential(
        nn.Linear(2, 8), nn.GELU(), nn.Dropout(0.1), nn.Linear(8, 2), nn.LogSoftmax()
    )
    opt = nn.optim.Adam(model.parameters(), lr=0.01, weight_decay=0.01)
    loss_fn = nn.NLLLoss()
    out = model(x)
    loss_fn(out, y)
    grad = model.backward(loss_fn.backward())
    opt.step()
    assert out.dtype == np.float32 and grad.dtype == np.float32
    for p in model.parameters():
        assert p.data.dtype == p.grad.dtype == np.float32
        assert all(
            v.dtype == np.float32 for v in opt.state[p].values() if isinstance(v, np.ndarray)
        )
