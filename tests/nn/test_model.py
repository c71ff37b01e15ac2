"""Model files: round trip, and a one-line error for every kind of bad file."""

import io
import zipfile

import numpy as np
import pytest

from nn.model import FORMAT_VERSION, ModelFileError, load_model, save_model
from nn.network import Network


@pytest.fixture
def network():
    return Network([6, 4, 3], np.random.default_rng(1), activation="tanh", cost="log-likelihood")


def test_round_trip_keeps_parameters_names_and_settings(tmp_path, network):
    path = tmp_path / "models" / "net.npz"
    save_model(path, network, {"eta": 0.1, "array": "32x32"})
    loaded, settings = load_model(path)
    assert loaded.sizes == [6, 4, 3] and loaded.activation == "tanh"
    assert loaded.cost_name == "log-likelihood"
    assert settings["eta"] == 0.1 and settings["array"] == "32x32"
    for ours, theirs in zip(network.weights + network.biases, loaded.weights + loaded.biases,
                            strict=True):  # fmt: skip
        assert np.array_equal(ours, theirs)
    x = np.random.default_rng(2).standard_normal((5, 6))
    assert np.array_equal(network.predict(x), loaded.predict(x))
    assert [p.name for p in path.parent.iterdir()] == ["net.npz"]  # no temporary file left


def rewrite(path, **changes):
    with np.load(path, allow_pickle=False) as npz:
        arrays = {name: npz[name] for name in npz.files}
    for name, value in changes.items():
        if value is None:
            del arrays[name]
        else:
            arrays[name] = value
    np.savez(path, **arrays)


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"format_version": np.array(FORMAT_VERSION + 1)}, "format version 2, expected 1"),
        ({"w2": None}, "missing array 'w2'"),
        ({"sizes": None}, "missing array 'sizes'"),
        ({"w1": np.zeros((6, 5))}, r"'w1' is float64 \(6, 5\), expected float \(6, 4\)"),
        ({"b2": np.array([1.0, np.nan, 0.0])}, "'b2' holds non-finite values"),
        ({"sizes": np.array([6])}, "'sizes' must be at least two positive integers"),
        (
            {"settings": np.frombuffer(b'{"activation": "gelu"}', dtype=np.uint8)},
            "unknown activation 'gelu'; valid: sigmoid, tanh, relu",
        ),
        ({"settings": np.frombuffer(b"\xff\xfe", dtype=np.uint8)}, "not UTF-8 JSON"),
        ({"w1": np.array([object()] * 24, dtype=object).reshape(6, 4)}, "not a model file"),
    ],
)
def test_bad_files_are_refused_with_the_reason(tmp_path, network, changes, message):
    path = tmp_path / "net.npz"
    save_model(path, network)
    rewrite(path, **changes)
    with pytest.raises(ModelFileError, match=message):
        load_model(path)


def test_missing_truncated_and_foreign_files(tmp_path, network):
    with pytest.raises(ModelFileError, match="no such file"):
        load_model(tmp_path / "absent.npz")
    path = tmp_path / "net.npz"
    save_model(path, network)
    path.write_bytes(path.read_bytes()[:100])
    with pytest.raises(ModelFileError, match="not a model file"):
        load_model(path)
    other = tmp_path / "other.npz"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "hello")
    other.write_bytes(buffer.getvalue())
    with pytest.raises(ModelFileError, match="missing array 'format_version'"):
        load_model(other)
