"""Saved models as the commands load them: crafted metadata is an error naming the file."""

import pytest

import numpynn as nn
from cli.tools import run_main

METADATA_CASES = [
    ({"columns": "abc"}, "metadata 'columns' is 'abc'; expected a list of column names"),
    ({"dropped": [1]}, "metadata 'dropped' is [1]; expected a list of column names"),
    ([1, 2], "the metadata has the wrong type: [1, 2]"),  # load_model's own check
    ({"image_shape": "abc"}, "metadata 'image_shape' is 'abc'; expected [height, width]"),
    ({"image_shape": [2, -2]}, "metadata 'image_shape' is [2, -2]"),
    ({"features": -1}, "metadata 'features' is -1; expected a whole number >= 1"),
    ({"features": True}, "metadata 'features' is True"),
    ({"class_names": 5}, "metadata 'class_names' is 5; expected a list of names"),
    ({"class_names": ["a", 3]}, "metadata 'class_names' is ['a', 3]"),
    ({"class_names": ["just one"]}, "the model has 2 outputs but its metadata names 1 classes"),
    ({"model": "rnn"}, "metadata 'model' is 'rnn'; expected mlp, cnn or lstm"),
    ({"model": "cnn"}, "metadata says cnn but gives no image_shape"),
    ({"model": "lstm"}, "metadata says lstm but gives no image_shape"),
    ({"image_shape": [3, 3]}, "metadata image_shape [3, 3] and features 4 differ"),
    ({"seed": "x"}, "metadata 'seed' is 'x'; expected a whole number >= 0"),
    ({"dataset": "../etc"}, "metadata 'dataset' is '../etc'; expected one of digits"),
    ({"csv": 3}, "metadata 'csv' is 3; expected a path"),
    ({"target": ["a"]}, "metadata 'target' is ['a']; expected a column name"),
]


@pytest.mark.parametrize(("change", "message"), METADATA_CASES)
def test_crafted_metadata_is_an_error_naming_the_file(csv_model, tmp_path, capsys, change, message):
    model = nn.load_model(csv_model[1])
    metadata = change if isinstance(change, list) else {**model.metadata, **change}
    nn.io.save_model(model, tmp_path / "m.npz", metadata=metadata)
    (tmp_path / "s.csv").write_text("1,2,3,4\n")
    for command in (
        ["predict", tmp_path / "m.npz", tmp_path / "s.csv"],
        ["evaluate", tmp_path / "m.npz"],
    ):
        code, out, err = run_main(command, capsys)
        assert code == 1 and "m.npz: " in err and message in err and out == "", err
