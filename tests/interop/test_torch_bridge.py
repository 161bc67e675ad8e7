"""PyTorch models into numpynn: from_torch per layer family, weights into any architecture."""

from collections import OrderedDict

import numpy as np
import pytest

import numpynn as nn

pytestmark = pytest.mark.torch


def families(t):
    """One PyTorch model per layer family, with the input shape it takes."""
    return {
        "linear-activations": (
            t.nn.Sequential(
                t.nn.Linear(6, 8),
                t.nn.ReLU(),
                t.nn.Linear(8, 8),
                t.nn.LeakyReLU(0.1),
                t.nn.Linear(8, 8, bias=False),
                t.nn.ELU(0.5),
                t.nn.Linear(8, 8),
                t.nn.GELU(approximate="tanh"),
                t.nn.Linear(8, 8),
                t.nn.GELU(),
                t.nn.SiLU(),
                t.nn.Softplus(beta=2.0, threshold=3.0),
                t.nn.Sigmoid(),
                t.nn.Tanh(),
                t.nn.Identity(),
                t.nn.Dropout(0.3),
                t.nn.Linear(8, 4),
                t.nn.LogSoftmax(dim=1),
            ),
            (6,),
        ),
        "conv2d-pools-batchnorm": (
            t.nn.Sequential(
                t.nn.Conv2d(3, 4, 3, stride=2, padding=1),
                t.nn.BatchNorm2d(4),
                t.nn.ReLU(),
                t.nn.Conv2d(4, 4, 3, padding="same", dilation=2, groups=2, bias=False),
                t.nn.MaxPool2d(3, stride=2, padding=1),
                t.nn.Dropout2d(0.2),
                t.nn.Conv2d(4, 6, (3, 2), padding=(1, 0)),
                t.nn.AvgPool2d(2, stride=1, padding=1),
                t.nn.AdaptiveAvgPool2d(1),
                t.nn.Flatten(),
                t.nn.Linear(6, 3),
                t.nn.Softmax(dim=-1),
            ),
            (3, 9, 8),
        ),
        "conv1d-batchnorm1d": (
            t.nn.Sequential(
                t.nn.Conv1d(2, 4, 3, stride=2, padding=1),
                t.nn.BatchNorm1d(4),
                t.nn.Tanh(),
                t.nn.MaxPool1d(2),
                t.nn.Flatten(),
                t.nn.BatchNorm1d(12),
                t.nn.Linear(12, 2),
            ),
            (2, 11),
        ),
        "layernorm-unflatten-nested": (
            t.nn.Sequential(
                OrderedDict(
                    fc=t.nn.Linear(6, 12),
                    norm=t.nn.LayerNorm(12),
                    shape=t.nn.Unflatten(1, (3, 4)),
                    inner=t.nn.Sequential(t.nn.LayerNorm((3, 4), eps=1e-3), t.nn.Flatten()),
                    out=t.nn.Linear(12, 2),
                )
            ),
            (6,),
        ),
    }


def randomised(t, twin):
    """Non-default weights and running statistics, so a mix-up cannot go unnoticed."""
    with t.no_grad():
        for p in twin.parameters():
            p.uniform_(-0.8, 0.8)
        for name, b in twin.named_buffers():
            if name.endswith("running_mean"):
                b.uniform_(-0.5, 0.5)
            elif name.endswith("running_var"):
                b.uniform_(0.5, 2.0)
    return twin


@pytest.mark.parametrize(
    "family",
    [
        "linear-activations",
        "conv2d-pools-batchnorm",
        "conv1d-batchnorm1d",
        "layernorm-unflatten-nested",
    ],
)
def test_from_torch_gives_the_same_outputs(torch, family):
    torch.manual_seed(0)
    twin, shape = families(torch)[family]
    randomised(torch, twin).eval()
    model = nn.from_torch(twin)
    assert isinstance(model, nn.Sequential) and not model.training
    x = np.random.default_rng(0).standard_normal((5, *shape)).astype(np.float32)
    with torch.no_grad():
        expected = twin(torch.from_numpy(x)).numpy()
    out = model(x)
    assert out.dtype == np.float32
    # float32, several layers deep: both libraries round differently (about 1e-6 relative)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-5)


def test_from_torch_keeps_float64_and_training_mode(torch):
    twin = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4)).double()
    model = nn.from_torch(twin)
    assert model.training and model[0].weight.dtype == np.float64
    x = np.random.default_rng(1).standard_normal((6, 3))
    expected = twin(torch.from_numpy(x)).detach().numpy()  # batch statistics, both sides
    np.testing.assert_allclose(model(x), expected, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model[1].running_var, twin[1].running_var.numpy(), rtol=1e-10)


def test_from_torch_names_what_it_cannot_convert(torch):
    with pytest.raises(TypeError, match=r"no counterpart of PReLU \(at '1'\)"):
        nn.from_torch(torch.nn.Sequential(torch.nn.Linear(2, 2), torch.nn.PReLU()))
    with pytest.raises(TypeError, match=r"MaxPool2d \(at '0'\): ceil_mode"):
        nn.from_torch(torch.nn.Sequential(torch.nn.MaxPool2d(2, ceil_mode=True)))
    with pytest.raises(TypeError, match="Conv2d.*padding_mode='reflect'"):
        nn.from_torch(torch.nn.Conv2d(1, 1, 3, padding=1, padding_mode="reflect"))


def test_keras_model_takes_a_pytorch_sequentials_weights(torch):
    torch.manual_seed(1)
    twin = randomised(
        torch,
        torch.nn.Sequential(
            torch.nn.Conv2d(1, 3, 3, padding=1),
            torch.nn.ReLU(),
            torch.nn.BatchNorm2d(3, eps=1e-3),
            torch.nn.Flatten(),
            torch.nn.Linear(48, 8),
            torch.nn.Tanh(),
            torch.nn.Linear(8, 3),
            torch.nn.Softmax(dim=1),
        ),
    ).eval()
    inputs = nn.Input(shape=(1, 4, 4))
    h = nn.Conv2D(3, 3, padding="same", activation="relu")(inputs)
    h = nn.Flatten()(nn.BatchNormalization()(h))
    h = nn.Dense(8, activation="tanh")(h)
    model = nn.Model(inputs, nn.Dense(3, activation="softmax")(h))
    with pytest.raises(ValueError, match="missing: conv2d_1.weight"):
        model.load_state_dict(twin.state_dict())  # the names differ: by name it cannot load
    nn.load_torch_state_dict(model, twin)
    x = np.random.default_rng(2).standard_normal((7, 1, 4, 4)).astype(np.float32)
    with torch.no_grad():
        expected = twin(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(model.eval()(x), expected, rtol=1e-5, atol=1e-6)


def test_load_torch_state_dict_shows_the_first_mismatch(torch):
    model = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 3))
    before = [p.data.copy() for p in model.parameters()]
    wrong = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.Linear(8, 2)).state_dict()
    with pytest.raises(
        ValueError,
        match=r"layer 1 with weights \(2: Linear\(8 -> 3\)\): weight has shape \(3, 8\), "
        r"the state dict's '1.weight' has \(2, 8\)",
    ):
        nn.load_torch_state_dict(model, wrong)
    assert all(np.array_equal(a, p.data) for a, p in zip(before, model.parameters()))

    with pytest.raises(ValueError, match="the state dict has 3 layers with weights, the model 2"):
        extra = torch.nn.Sequential(
            torch.nn.Linear(4, 8), torch.nn.Linear(8, 3), torch.nn.Linear(3, 3)
        )
        nn.load_torch_state_dict(model, extra.state_dict())
    with pytest.raises(ValueError, match=r"holds \['weight', 'bias'\]; the state dict's '1'"):
        nn.load_torch_state_dict(
            model, torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8))
        )


def test_load_torch_state_dict_needs_a_built_model():
    state = {"0.weight": np.zeros((2, 3), np.float32), "0.bias": np.zeros(2, np.float32)}
    with pytest.raises(RuntimeError, match="call the model once first"):
        nn.load_torch_state_dict(nn.Sequential(nn.Linear(None, 2)), state)
    model = nn.Sequential(nn.Linear(3, 2))
    nn.load_torch_state_dict(model, state)  # NumPy arrays do as well as tensors
    assert not model[0].weight.data.any()
