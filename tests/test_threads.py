"""set_num_threads reaches NumPy's BLAS; "auto" follows the machine's load; every path split
over threads equals its one-thread oracle and repeats itself bit for bit."""

import os
import subprocess
import sys
import time

import numpy as np
import pytest
from helpers import assert_close

import numpynn as nn
from numpynn import _threads
from numpynn._threads import auto_threads
from numpynn.layers import _windows, activation, linear, pooling, recurrent

threadpoolctl = pytest.importorskip("threadpoolctl")


def blas_threads():
    return {i["num_threads"] for i in threadpoolctl.threadpool_info() if i["user_api"] == "blas"}


def test_set_num_threads_sets_the_blas_threads():
    """numpynn's threads replace BLAS's: at any count BLAS runs one thread."""
    before, count = threadpoolctl.threadpool_info(), _threads.get_num_threads()
    try:
        assert nn.set_num_threads(1) == 1
        assert blas_threads() == {1}
        assert nn.set_num_threads(3) == 3
        assert blas_threads() == {1} and _threads.get_num_threads() == 3
    finally:
        nn.set_num_threads(count)
        threadpoolctl.threadpool_limits(
            max(i["num_threads"] for i in before if i["user_api"] == "blas"), user_api="blas"
        )


def test_without_a_call_nothing_is_split_and_blas_keeps_its_threads(monkeypatch):
    with threadpoolctl.threadpool_limits(2, user_api="blas"):
        monkeypatch.setattr(_threads, "_threads", None)  # as in a fresh process
        layer = nn.Conv2d(8, 16, 3, padding=1)
        layer(np.zeros((128, 8, 14, 14), np.float32))  # 29M multiply-adds: split if asked
        assert _threads.get_num_threads() == 1 and len(layer.parts) == 1
        assert blas_threads() == {2}


@pytest.mark.parametrize(
    "cores, load, expected", [(2, 0.0, 2), (2, 0.99, 2), (2, 1.2, 1), (8, 6.5, 8), (8, 7.5, 1)]
)
def test_auto_uses_every_core_only_when_one_is_idle(cores, load, expected):
    assert auto_threads(cores, load) == expected


@pytest.mark.parametrize("bad", [0, -1, 1.5, "two", True])
def test_a_bad_count_is_a_clear_error(bad):
    with pytest.raises(ValueError, match="set_num_threads: expected a positive int or 'auto'"):
        nn.set_num_threads(bad)


def test_import_does_not_load_threadpoolctl():
    code = "import sys, numpynn; print('threadpoolctl' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


# --- the split over threads: every parallel path against its one-thread oracle -----------------

THRESHOLDS = [  # every split threshold, set to 0 to force the split
    (_windows, "CONV_SPLIT_FROM"),
    (pooling, "POOL_SPLIT_FROM"),
    (activation, "ELEMENTWISE_SPLIT_FROM"),
    (recurrent, "RECURRENT_SPLIT_FROM"),
    (linear, "LINEAR_SPLIT_FROM"),
]


@pytest.fixture
def split_at(monkeypatch):
    """``split_at(n)``: n threads from now on, and every split taken whatever the size; the
    thread count before is restored after the test."""
    before = _threads.get_num_threads()
    for module, name in THRESHOLDS:
        monkeypatch.setattr(module, name, 0)
    yield nn.set_num_threads
    nn.set_num_threads(before)


def run_layer(make, x, grad_seed=1, **options):
    """Output, input gradient and parameter gradients of a fresh seeded layer (for a
    recurrent layer: also its final state, and the gradient of its initial state)."""
    nn.manual_seed(0)
    layer = make().to(x.dtype)
    out = layer(x, **options)
    out, state = out if isinstance(out, tuple) else (out, None)
    grad = np.random.default_rng(grad_seed).standard_normal(out.shape).astype(x.dtype)
    dx = layer.backward(grad)
    dx, d_state = dx if isinstance(dx, tuple) else (dx, None)
    results = {"output": out, "dx": dx}
    for name, value in (("final state", state), ("initial state grad", d_state)):
        for i, array in enumerate(value if isinstance(value, tuple) else (value,)):
            if array is not None:
                results[f"{name} {i}"] = array
    return {**results, **{f"{n}.grad": p.grad.copy() for n, p in layer.named_parameters()}}


def assert_split_equals_plain(make, x, split_at, threads=2):
    """The layer at ``threads`` against itself at one thread (the plain path, the oracle),
    to float32 rounding: each part computes its rows by the same formula, but BLAS picks
    its kernel, and so the order of its sums, by the size of a product (a part's is
    smaller), and parameter gradients are summed per part, then over the parts (rtol 1e-5
    for sums of about 10 to 1,000 float32 products, atol 1e-5 for entries near 0)."""
    split_at(1)
    plain = run_layer(make, x)
    split_at(threads)
    split = run_layer(make, x)
    for name in plain:
        assert_close(split[name], plain[name], 1e-5, 1e-5, f"{name} at {threads} threads")


CONVS = {
    "conv-channels-first": (lambda: nn.Conv2d(3, 4, 3, padding=1), (7, 3, 9, 8)),
    "conv-channels-last-groups-stride": (
        lambda: nn.Conv2d(8, 16, 3, stride=2, padding=1, groups=2),
        (6, 8, 9, 8),
    ),
    "conv-dilated-no-bias": (lambda: nn.Conv2d(8, 16, 3, dilation=2, bias=False), (5, 8, 9, 9)),
    "conv1d": (lambda: nn.Conv1d(4, 6, 5, stride=2, padding="same"), (9, 4, 20)),
}


SPLIT = {
    **CONVS,
    "maxpool": (lambda: nn.MaxPool2d(2), (6, 3, 8, 8)),
    "maxpool-overlapping-padded": (lambda: nn.MaxPool2d(3, 2, 1), (7, 16, 9, 8)),
    "maxpool1d": (lambda: nn.MaxPool1d(3, 2), (5, 4, 11)),
    "avgpool": (lambda: nn.AvgPool2d(2, 1), (6, 3, 7, 8)),
    "relu": (lambda: nn.ReLU(), (9, 5, 4)),
    "linear": (lambda: nn.Linear(6, 5), (9, 6)),
    "linear-sequence-no-bias": (lambda: nn.Linear(6, 5, bias=False), (5, 3, 6)),
    "lstm": (lambda: nn.LSTM(3, 5, batch_first=True), (7, 4, 3)),
    "gru-bidirectional": (lambda: nn.GRU(3, 4, bidirectional=True), (4, 6, 3)),
    "rnn-two-layers": (lambda: nn.RNN(3, 4, num_layers=2, nonlinearity="relu"), (4, 5, 3)),
}
RECURRENT = {"lstm", "gru-bidirectional", "rnn-two-layers"}


def channels_last(x):
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


@pytest.mark.parametrize("threads", [2, 3])
@pytest.mark.parametrize("case", SPLIT)
def test_split_equals_one_thread(case, threads, split_at):
    make, shape = SPLIT[case]
    x = np.random.default_rng(0).standard_normal(shape, dtype=np.float32)
    assert_split_equals_plain(make, x, split_at, threads)
    if x.ndim == 4 and case not in RECURRENT:  # a convolution's output: channels-last memory
        assert_split_equals_plain(make, channels_last(x), split_at, threads)


@pytest.mark.parametrize("case", SPLIT)
def test_every_case_is_split_forward_and_backward(case, split_at, monkeypatch):
    """The tests above compare something: the split runs, two parts a pass."""
    make, shape = SPLIT[case]
    parts_run, run_part = [], _threads._run_part
    monkeypatch.setattr(_threads, "_run_part", lambda *a: parts_run.append(1) or run_part(*a))
    split_at(2)
    run_layer(make, np.random.default_rng(0).standard_normal(shape, dtype=np.float32))
    layers = 2 if case == "rnn-two-layers" else 1
    directions = 2 if case == "gru-bidirectional" else 1
    passes = 3 if case.startswith("linear") else 2  # Linear: y; dW and db; dx
    assert len(parts_run) == 2 * passes * layers * directions


@pytest.mark.parametrize("threads", [2, 3])
def test_recurrent_split_with_lengths_equals_one_thread(threads, split_at):
    """Sequences of different lengths: each part takes its rows of the mask."""
    x = np.random.default_rng(0).standard_normal((7, 5, 3), dtype=np.float32)
    lengths = np.array([5, 1, 3, 4, 2, 5, 1])
    split_at(1)
    make = lambda: nn.LSTM(3, 4, batch_first=True, bidirectional=True)  # noqa: E731
    plain = run_layer(make, x, lengths=lengths)
    split_at(threads)
    split = run_layer(make, x, lengths=lengths)
    for name in plain:
        assert_close(split[name], plain[name], 1e-5, 1e-5, f"{name} at {threads} threads")


@pytest.mark.parametrize("case", SPLIT)
def test_split_repeats_itself_bit_for_bit(case, split_at):
    make, shape = SPLIT[case]
    x = np.random.default_rng(0).standard_normal(shape, dtype=np.float32)
    split_at(2)
    first, second = run_layer(make, x), run_layer(make, x)
    for name in first:
        assert_close(second[name], first[name], 0, 0, f"{name}, second run")


@pytest.mark.parametrize(
    "make",
    [lambda: nn.Conv2d(8, 16, 3, padding=1, groups=2), lambda: nn.MaxPool2d(3, 2, 1)],
    ids=["conv", "maxpool"],
)
def test_gradcheck_with_the_split(make, split_at):
    split_at(2)
    x = np.random.default_rng(0).normal(size=(4, 8, 6, 5))
    nn.gradcheck(make().to(np.float64), x)


def test_lstm_gradcheck_with_the_split(split_at):
    split_at(2)
    layer = nn.LSTM(2, 3, bidirectional=True, batch_first=True, seed=1).to(np.float64)

    class Output:
        def __call__(self, x):
            return layer(x)[0]

        def backward(self, grad):
            return layer.backward(grad)[0]

        named_parameters, to = layer.named_parameters, layer.to

    x = np.random.default_rng(0).normal(size=(4, 3, 2))
    nn.gradcheck(Output(), x, eps=1e-6, atol=1e-7, rtol=1e-5)


def test_the_oracle_catches_a_part_dropped_or_counted_twice(split_at, monkeypatch):
    """Planted bugs (TESTING.md, issue 26): a split whose sum over the parts drops the last
    part, or whose parts overlap by one row, must fail the equality with the plain path."""
    make, shape = CONVS["conv-channels-last-groups-stride"]
    x = np.random.default_rng(0).standard_normal(shape, dtype=np.float32)
    drop_last = lambda values: _threads.sum_in_order(values[:-1] or values)  # noqa: E731
    monkeypatch.setattr(_windows, "sum_in_order", drop_last)
    with pytest.raises(AssertionError, match="grad at 2 threads"):
        assert_split_equals_plain(make, x, split_at)
    monkeypatch.undo()
    for module, name in THRESHOLDS:
        monkeypatch.setattr(module, name, 0)

    def overlapping(n, work=0, min_work=0):
        parts = _threads.batch_parts(n, work, min_work)
        return [slice(p.start, min(p.stop + 1, n)) for p in parts]  # one row twice

    monkeypatch.setattr(_windows, "batch_parts", overlapping)
    with pytest.raises(AssertionError, match="at 2 threads"):
        assert_split_equals_plain(make, x, split_at)


def test_batch_parts_cover_the_batch_once_in_order():
    from numpynn._threads import batch_parts

    try:
        nn.set_num_threads(3)
        for n in (6, 7, 8, 100):
            parts = batch_parts(n)
            assert [p.start for p in parts] == [0] + [p.stop for p in parts[:-1]]
            assert parts[-1].stop == n and len(parts) == 3
            assert max(p.stop - p.start for p in parts) - min(p.stop - p.start for p in parts) <= 1
        assert batch_parts(5) == [slice(0, 3), slice(3, 5)]  # 2 rows a part at least
        assert batch_parts(3) == [slice(0, 3)]
        assert batch_parts(100, work=10, min_work=11) == [slice(0, 100)]
    finally:
        nn.set_num_threads(2)


def test_a_part_that_fails_raises_in_the_caller_after_every_part_ended(split_at):
    from numpynn._threads import split_batch

    split_at(2)
    ended = []

    def part(rows):
        if rows.start == 0:
            raise ValueError("part 0 failed")
        ended.append(rows)

    with pytest.raises(ValueError, match="part 0 failed"):
        split_batch(part, 10)
    assert ended == [slice(5, 10)]


def small_cnn():
    return nn.Sequential(
        nn.Conv2d(1, 8, 3, padding=1), nn.BatchNorm2d(8), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(16 * 3 * 3, 10),
    )  # fmt: skip


def fit_weights(x, y):
    nn.manual_seed(0)
    model = small_cnn()
    # SGD: Adam would scale the conv bias's gradient, rounding noise under BatchNorm, to a step
    model.compile(optimizer="sgd", loss=nn.CrossEntropyLoss())
    model.fit(x, y, batch_size=16, epochs=2, verbose=0, seed=0)
    return model.state_dict()


def test_a_seeded_fit_at_two_threads_repeats_itself_exactly(split_at):
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((64, 1, 12, 12), dtype=np.float32), rng.integers(0, 10, 64)
    split_at(2)
    first, second = fit_weights(x, y), fit_weights(x, y)
    split_at(1)
    plain = fit_weights(x, y)
    for name in first:
        assert_close(second[name], first[name], 0, 0, f"{name}, second fit")
        # float32 rounding of the split sums, grown over 8 SGD steps
        assert_close(first[name], plain[name], 1e-3, 1e-4, f"{name}, against one thread")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_splits_with_a_pool_of_its_own(split_at):
    """The pool's threads do not survive a fork: a child using the parent's pool would wait
    for ever on its first split."""
    split_at(2)
    assert len(_threads.split_batch(lambda rows: rows, 10)) == 2  # the parent's pool exists
    pid = os.fork()
    if pid == 0:  # the child: exit 0 only if its split ran
        code = 1
        try:
            code = 0 if len(_threads.split_batch(lambda rows: rows, 10)) == 2 else 1
        finally:
            os._exit(code)
    deadline = time.monotonic() + 30
    while (done := os.waitpid(pid, os.WNOHANG))[0] == 0:
        if time.monotonic() > deadline:
            os.kill(pid, 9)
            os.waitpid(pid, 0)
            pytest.fail("the forked child's split never finished")
        time.sleep(0.05)
    assert os.waitstatus_to_exitcode(done[1]) == 0
