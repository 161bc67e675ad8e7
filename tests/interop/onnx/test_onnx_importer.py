"""``load`` as a whole: an operator outside the table is named with its node, and the
table's operators are the list that errors and the documentation give."""

import pathlib
import re

import pytest
from onnx_helpers import torch_export

import numpynn as nn
from numpynn.onnx import _table


@pytest.mark.torch
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_operator_outside_the_subset_names_op_and_node(torch, tmp_path):
    module = torch.nn.Sequential(torch.nn.Linear(3, 3), torch.nn.PReLU())
    torch_export(torch, module, (3,), tmp_path / "prelu.onnx")
    with pytest.raises(
        ValueError, match=r"operator PRelu \(node '/1/PRelu'\) has no numpynn layer"
    ) as error:
        nn.onnx.load(tmp_path / "prelu.onnx")
    assert nn.onnx.LOADABLE in str(error.value)


def test_loadable_list_is_the_table():
    assert set(_table.IMPORTERS) <= set(re.findall(r"\w+", nn.onnx.LOADABLE))
    page = pathlib.Path(__file__).parents[3] / "docs" / "api" / "interop.md"
    assert nn.onnx.LOADABLE in page.read_text().replace("\n", " ")
