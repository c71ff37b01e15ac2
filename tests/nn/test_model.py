"""Model files: round trip, and a one-line error for every kind of bad file."""

import io
import stat
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


def _npz(path, **arrays):
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    path.write_bytes(buffer.getvalue())
    return path


def test_a_header_claiming_a_huge_array_is_refused_before_reading(tmp_path):
    # a tiny file whose header claims 745 GiB: refused from the header alone
    path = tmp_path / "bomb.npz"
    buffer = io.BytesIO()
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(
        header, {"descr": "<f8", "fortran_order": False, "shape": (10**6, 10**5)}
    )
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("w1.npy", b"\x93NUMPY\x01\x00" + header.getvalue()[8:])
    path.write_bytes(buffer.getvalue())
    with pytest.raises(ModelFileError, match=r"would take 800,000,000,000 bytes"):
        load_model(path)


def test_settings_must_be_an_object_and_the_version_an_integer(tmp_path):
    base = {"sizes": np.array([2, 1]), "w1": np.zeros((2, 1)), "b1": np.zeros(1)}
    listed = np.frombuffer(b"[1, 2]", dtype=np.uint8)
    path = _npz(tmp_path / "a.npz", format_version=np.array(1), settings=listed, **base)
    with pytest.raises(ModelFileError, match="'settings' must be a JSON object, got list"):
        load_model(path)
    fine = np.frombuffer(b"{}", dtype=np.uint8)
    path = _npz(tmp_path / "b.npz", format_version=np.array(1.5), settings=fine, **base)
    with pytest.raises(ModelFileError, match=r"format version 1\.5, expected 1"):
        load_model(path)
    nested = np.frombuffer(b"[" * 100_000 + b"]" * 100_000, dtype=np.uint8)
    path = _npz(tmp_path / "c.npz", format_version=np.array(1), settings=nested, **base)
    with pytest.raises(ModelFileError, match="not UTF-8 JSON"):
        load_model(path)


def test_sizes_are_checked_against_the_arrays_before_a_network_is_made(tmp_path, monkeypatch):
    import nn.model as model

    made = []
    monkeypatch.setattr(model, "Network", lambda *a, **k: made.append(a) or pytest.fail("made"))
    fine = np.frombuffer(b"{}", dtype=np.uint8)
    path = _npz(tmp_path / "big.npz", format_version=np.array(1), settings=fine,
                sizes=np.array([784, 10**8, 10]), w1=np.zeros((2, 1)), b1=np.zeros(1))  # fmt: skip
    with pytest.raises(ModelFileError, match=r"'w1' is float64 \(2, 1\), expected float"):
        load_model(path)
    assert not made


def test_overwriting_keeps_the_files_mode(tmp_path):
    network = Network([3, 2], np.random.default_rng(0))
    path = tmp_path / "private.npz"
    save_model(path, network)
    path.chmod(0o600)
    save_model(path, network)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not list(tmp_path.glob(".*.tmp"))
