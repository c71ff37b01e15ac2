"""Workload files: the Gemm record, the MLP GEMM lists, loading, saving and error messages."""

import dataclasses
import os
import stat
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from systolic.workloads import (
    MAX_DIM,
    Gemm,
    WorkloadError,
    forward_gemms,
    load_workload,
    mlp_gemms,
    save_workload,
)

SCALE_SIM_GEMM = "Layer Name, M, N, K,\nTest 1, 256, 128, 256,\n"


def write(tmp_path: Path, name: str, text: str | bytes) -> Path:
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8", newline="")
    return path


def load_error(path: Path) -> str:
    """The message of the WorkloadError that loading ``path`` raises; it must be one line."""
    with pytest.raises(WorkloadError) as info:
        load_workload(path)
    message = str(info.value)
    assert "\n" not in message
    return message


# --- Gemm -------------------------------------------------------------------------------------


def test_gemm_holds_its_shape_and_counts_macs():
    gemm = Gemm("fc1", m=10, k=784, n=30)
    assert (gemm.name, gemm.m, gemm.k, gemm.n) == ("fc1", 10, 784, 30)
    assert gemm.macs == 10 * 784 * 30
    assert dataclasses.replace(gemm, k=2).macs == 600
    with pytest.raises(dataclasses.FrozenInstanceError):
        gemm.m = 3


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"name": ""}, "name must be a non-empty printable name without surrounding whitespace"),
        ({"name": " fc1"}, "got ' fc1'"),
        ({"name": "two\nlines"}, r"got 'two\\nlines'"),
        ({"name": "tab\tbed"}, r"got 'tab\\tbed'"),
        ({"name": 3}, "name must be a non-empty printable name .* got 3"),
        ({"m": 0}, "m must be a positive integer, got 0"),
        ({"k": -3}, "k must be a positive integer, got -3"),
        ({"n": 2.0}, "n must be a positive integer, got 2.0"),
        ({"m": True}, "m must be a positive integer, got True"),
    ],
)
def test_bad_gemm_raises_and_shows_the_bad_value(kwargs, message):
    with pytest.raises(ValueError, match=message):
        Gemm(**{"name": "fc1", "m": 1, "k": 1, "n": 1, **kwargs})


# --- MLP GEMMs --------------------------------------------------------------------------------


def test_mlp_gemms_of_784_30_10_worked_out_by_hand():
    assert mlp_gemms([784, 30, 10], batch=10) == [
        Gemm("layer1.forward", m=10, k=784, n=30),  # (B, 784) @ (784, 30)
        Gemm("layer2.forward", m=10, k=30, n=10),  # (B, 30) @ (30, 10)
        Gemm("layer2.gradient", m=30, k=10, n=10),  # a1.T (30, B) @ delta2 (B, 10)
        Gemm("layer2.backward", m=10, k=10, n=30),  # delta2 (B, 10) @ w2.T (10, 30)
        Gemm("layer1.gradient", m=784, k=10, n=30),  # x.T (784, B) @ delta1 (B, 30)
    ]
    assert forward_gemms([784, 30, 10], batch=10) == mlp_gemms([784, 30, 10], batch=10)[:2]


def _training_step_shapes(sizes, batch):
    """Operand shapes of every matmul of one backpropagation step, written out plainly."""
    shapes = []

    def matmul(a, b):
        shapes.append((a.shape, b.shape))
        return a @ b

    weights = [np.ones((n_in, n_out)) for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=True)]
    acts = [np.ones((batch, sizes[0]))]
    for w in weights:
        acts.append(np.tanh(matmul(acts[-1], w)))  # (B, n_in) @ (n_in, n_out)
    delta = acts[-1] - 1.0
    for layer in range(len(weights) - 1, -1, -1):
        matmul(acts[layer].T, delta)  # (n_in, B) @ (B, n_out): the weight gradient
        if layer > 0:
            delta = matmul(delta, weights[layer].T)  # (B, n_out) @ (n_out, n_in)
    return shapes


@pytest.mark.parametrize(
    "sizes, batch", [([784, 30, 10], 10), ([3, 5], 1), ([7, 6, 5, 4, 3], 2), ([1, 1, 1], 9)]
)
def test_mlp_gemms_match_the_matmuls_of_a_training_step(sizes, batch):
    gemms = mlp_gemms(sizes, batch)
    assert [((g.m, g.k), (g.k, g.n)) for g in gemms] == _training_step_shapes(sizes, batch)
    layers = len(sizes) - 1
    assert len(gemms) == 3 * layers - 1
    assert len({g.name for g in gemms}) == len(gemms)
    assert gemms[:layers] == forward_gemms(sizes, batch)


@pytest.mark.parametrize(
    "sizes, batch, message",
    [
        ([784], 10, r"sizes must hold at least two layer sizes, got \[784\]"),
        ([], 10, r"at least two layer sizes, got \[\]"),
        ([784, 0, 10], 10, r"sizes\[1\] must be a positive integer, got 0"),
        ([784, 2.5], 10, r"sizes\[1\] must be a positive integer, got 2.5"),
        ([True, 3], 10, r"sizes\[0\] must be a positive integer, got True"),
        ([784, 10], 0, "batch must be a positive integer, got 0"),
        ([784, 10], -1, "batch must be a positive integer, got -1"),
    ],
)
@pytest.mark.parametrize("function", [mlp_gemms, forward_gemms])
def test_bad_network_raises_and_shows_the_bad_value(function, sizes, batch, message):
    with pytest.raises(ValueError, match=message):
        function(sizes, batch)


# --- loading CSV ------------------------------------------------------------------------------


def test_scale_sim_gemm_topology_maps_m_n_k_by_name(tmp_path):
    path = write(tmp_path, "test_mnk_input.csv", SCALE_SIM_GEMM)
    assert load_workload(path) == [Gemm("Test 1", m=256, k=256, n=128)]


@pytest.mark.parametrize(
    "text",
    [
        "Layer,M,N,K\nQKT,1024,1024,64\nQKTV,1024,64,1024\n",  # SCALE-Sim, no trailing commas
        "LAYER NAME , m , n , k ,\r\nQKT , 1024 , 1024 , 64 ,\r\n\r\nQKTV, 1024, 64, 1024,",
        "\ufeffLayer Name,K,M,N\n\nQKT,64,1024,1024\n  \nQKTV,1024,1024,64\n\n",
        "name,m,k,n\nQKT,1024,64,1024\nQKTV,1024,1024,64\n",
        " n , name, k , m\n1024, QKT, 64, 1024\n64, QKTV, 1024, 1024\n",
        'Name,M,K,N,,\n"QKT",1024,64,1024,,\nQKTV,1024,1024,64\n',
    ],
)
def test_csv_headers_are_matched_by_name_in_any_order_and_case(tmp_path, text):
    path = write(tmp_path, "gpt2.csv", text)
    assert load_workload(path) == [Gemm("QKT", 1024, 64, 1024), Gemm("QKTV", 1024, 1024, 64)]


def test_suffix_case_and_path_types_are_accepted(tmp_path):
    path = write(tmp_path, "LAYERS.CSV", SCALE_SIM_GEMM)
    assert load_workload(str(path)) == load_workload(path) == [Gemm("Test 1", 256, 256, 128)]


MOBILENET_LINES = (
    "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, Num Filter, "
    "Strides,\n\nConv1, 224, 224, 3, 3, 3, 32, 2,\nConv2_dw, 112, 112, 3, 3, 1, 1, 1,#dw\n"
    "Conv11,28,28,1,1,256,256,1\n\tConv14_dw_0,14,14,3,3,1,1,1,\n"
    "Block_DP, 9, 7, 3, 3, 4, 2, 2, 1,\n"
)


def test_scale_sim_conv_topologies_read_as_conv_layers(tmp_path):
    # lines as in SCALE-Sim's own mobilnet_paper.csv: comments after the last comma, a row
    # without the trailing comma, a tab before the name; and a depthwise (DP) row with a
    # column stride after the row stride
    layers = load_workload(write(tmp_path, "mobilenet.csv", MOBILENET_LINES))
    assert [layer.name for layer in layers] == [
        "Conv1", "Conv2_dw", "Conv11", "Conv14_dw_0", "Block_DP"
    ]  # fmt: skip
    first = layers[0]
    assert (first.height, first.width, first.kh, first.kw, first.channels, first.filters) == (
        224, 224, 3, 3, 3, 32,
    )  # fmt: skip
    assert (first.stride_h, first.stride_w, first.depthwise) == (2, 2, False)
    dp = layers[-1]
    assert dp.depthwise and (dp.stride_h, dp.stride_w) == (2, 1)
    shape = dp.shape  # 4 channels, each with 2 filters of its own
    assert (shape.groups, shape.c_out, shape.out_h, shape.out_w) == (4, 8, 4, 5)
    assert dp.macs == 4 * (4 * 5) * 9 * 2


@pytest.mark.parametrize(
    "row, message",
    [
        (
            "c1, 5, 5, 3, 3, 2, 4, 0,",
            "line 2, field 'strides': expected a positive integer, got '0'",
        ),
        ("c1, 5, 5, 3, x, 2, 4, 1,", "line 2, field 'filter width': expected a positive integer"),
        (
            "c1, 2, 5, 3, 3, 2, 4, 1,",
            "line 2: the filter height 3 is larger than the IFMAP height 2",
        ),
        ("c1, 5, 5, 3, 3, 2, 4,", "line 2: expected 8 cells, got 7"),
        ("c1, 5, 5, 3, 3, 2, 4, 1, 1, 1", "line 2: expected 8 cells, got 10"),
        ("c1, 5, 5, 3, 3, -2, 4, 1,", "line 2, field 'channels': expected a positive integer"),
    ],
)
def test_bad_conv_topologies_name_the_file_line_and_field(tmp_path, row, message):
    header = (
        "Layer name, IFMAP Height, IFMAP Width, Filter Height, Filter Width, Channels, "
        "Num Filter, Strides,\n"
    )
    path = write(tmp_path, "conv.csv", header + row + "\n")
    assert load_error(path).startswith(f"{path}, {message}")


NAME_RULE = "a non-empty printable name without surrounding whitespace"
EXPECTED_COLUMNS = "; expected the columns name, m, k, n (or Layer Name, M, N, K)"


@pytest.mark.parametrize(
    "text, message",
    [
        ("", ": empty file; expected a header such as 'name,m,k,n'"),
        ("\n  \n\n", ": empty file; expected a header such as 'name,m,k,n'"),
        ("name,m,k,n\n", ": no layers in the file"),
        ("Layer Name, M, N, K,\n\n", ": no layers in the file"),
        ("name,m,k\nfc1,1,2\n", ", line 1: missing column 'n'" + EXPECTED_COLUMNS),
        ("\nLayer, M, K,\n", ", line 2: missing column 'n'" + EXPECTED_COLUMNS),
        ("m,k,n\n1,2,3\n", ", line 1: missing column 'name'" + EXPECTED_COLUMNS),
        ("name,m,k,n,bias\n", ", line 1: unknown column 'bias'" + EXPECTED_COLUMNS),
        ("fc1,1,2,3\n", ", line 1: unknown column 'fc1'" + EXPECTED_COLUMNS),
        ("name,m,,k,n\n", ", line 1: column 3 has no name" + EXPECTED_COLUMNS),
        ("name,m,M,k,n\n", ", line 1: column 'm' appears twice" + EXPECTED_COLUMNS),
        ("layer,name,m,k,n\n", ", line 1: column 'name' appears twice" + EXPECTED_COLUMNS),
        ("name,m,k,n\nfc1,1,2\n", ", line 2: expected 4 cells, got 3"),
        ("name,m,k,n\nfc1\n", ", line 2: expected 4 cells, got 1"),
        ("name,m,k,n\nfc1,1,2,3,4\n", ", line 2: expected 4 cells, got 5"),
        ("name,m,k,n\nfc1,1,2,3,,5\n", ", line 2: expected 4 cells, got 6"),
        ("name,m,k,n\n ,1,2,3\n", f", line 2, field 'name': expected {NAME_RULE}, got ''"),
        (
            'name,m,k,n\n"a\tb",1,2,3\n',
            f", line 2, field 'name': expected {NAME_RULE}, got 'a\\tb'",
        ),
        (
            'name,m,k,n\n"two\nlines",1,2,3\n',
            f", line 3, field 'name': expected {NAME_RULE}, got 'two\\nlines'",
        ),
    ],
)
def test_bad_csv_structure_names_file_and_line(tmp_path, text, message):
    path = write(tmp_path, "layers.csv", text)
    assert load_error(path) == f"{path}{message}"


@pytest.mark.parametrize("cell", ["12.5", "abc", "", "0", "-3", "+3", "1e3", "0x10"])
def test_bad_size_names_file_line_and_field(tmp_path, cell):
    text = f"name,m,k,n\nfc1,1,2,3\n\nfc2,4,{cell},6\n"
    path = write(tmp_path, "layers.csv", text)
    assert load_error(path) == (
        f"{path}, line 4, field 'k': expected a positive integer, got {cell!r}"
    )


def test_scale_sim_row_missing_its_last_value_names_the_field(tmp_path):
    # the trailing comma leaves an empty K cell rather than a short row
    path = write(tmp_path, "layers.csv", "Layer Name, M, N, K,\nTest 1, 256, 128,\n")
    assert load_error(path) == f"{path}, line 2, field 'k': expected a positive integer, got ''"


def test_duplicate_names_name_both_lines(tmp_path):
    path = write(tmp_path, "layers.csv", "name,m,k,n\nfc1,1,2,3\nfc2,1,2,3\nfc1,4,5,6\n")
    assert load_error(path) == (
        f"{path}, line 4, field 'name': duplicate name 'fc1', already used at line 2"
    )


def test_invalid_utf8_names_the_line(tmp_path):
    path = write(tmp_path, "layers.csv", b"name,m,k,n\nfc1,1,2,3\nf\xffc,1,2,3\n")
    assert load_error(path) == f"{path}, line 3: not valid UTF-8 (byte 0xff)"


def test_csv_parser_errors_become_workload_errors(tmp_path):
    path = write(tmp_path, "layers.csv", "name,m,k,n\n" + "x" * 200_000 + ",1,2,3\n")
    assert load_error(path).startswith(f"{path}, line 2: not valid CSV: field larger than")


# --- loading JSON -----------------------------------------------------------------------------


def test_json_list_of_objects_loads(tmp_path):
    text = (
        '[{"name": "fc1", "m": 10, "k": 784, "n": 30},\n'
        ' {"n": 10, "k": 30, "m": 10, "name": "fc2"}]'
    )
    path = write(tmp_path, "mlp.JSON", text)
    assert load_workload(path) == [Gemm("fc1", 10, 784, 30), Gemm("fc2", 10, 30, 10)]


GOOD = '{"name": "fc1", "m": 1, "k": 2, "n": 3}'
POSITIVE = "expected a positive integer, got"


def entry(**fields):
    """A JSON list of one good GEMM and one entry with ``fields`` replaced (JSON text values)."""
    values = {"name": '"fc2"', "m": "1", "k": "2", "n": "3", **fields}
    body = ", ".join(f'"{key}": {value}' for key, value in values.items() if value is not None)
    return f"[{GOOD}, {{{body}}}]"


@pytest.mark.parametrize(
    "text, message",
    [
        ("", ": empty file; expected a JSON list of GEMMs"),
        (
            "[\n" + GOOD + ',\n{"name": "fc2", "m": 1,, }]',
            ", line 3, column 24: not valid JSON: "
            "Expecting property name enclosed in double quotes",
        ),
        ('{"layers": []}', ": expected a JSON list of GEMMs, got object"),
        ("3", ": expected a JSON list of GEMMs, got number"),
        ("[]", ": no layers in the file"),
        (f"[{GOOD}, [1, 2]]", ", entry 1: expected an object with keys name, m, k, n, got list"),
        (f"[{GOOD}, null]", ", entry 1: expected an object with keys name, m, k, n, got null"),
        (entry(k=None), ", entry 1, field 'k': missing"),
        (entry(K="2"), ", entry 1: unknown key 'K'; expected name, m, k, n"),
        (entry(name='""'), f", entry 1, field 'name': expected {NAME_RULE}, got \"\""),
        (entry(name="7"), f", entry 1, field 'name': expected {NAME_RULE}, got 7"),
        (entry(name='" fc2"'), f", entry 1, field 'name': expected {NAME_RULE}, got \" fc2\""),
        (entry(name='"a\\nb"'), f", entry 1, field 'name': expected {NAME_RULE}, got \"a\\nb\""),
        (entry(k="12.0"), f", entry 1, field 'k': {POSITIVE} 12.0"),
        (entry(k="2.5"), f", entry 1, field 'k': {POSITIVE} 2.5"),
        (entry(m="true"), f", entry 1, field 'm': {POSITIVE} true"),
        (entry(n='"3"'), f", entry 1, field 'n': {POSITIVE} \"3\""),
        (entry(k="0"), f", entry 1, field 'k': {POSITIVE} 0"),
        (entry(m="-3"), f", entry 1, field 'm': {POSITIVE} -3"),
        (entry(m="null"), f", entry 1, field 'm': {POSITIVE} null"),
        (
            f"[{GOOD}, {GOOD.replace('1', '4')}, {GOOD}]",
            ", entry 2, field 'name': duplicate name 'fc1', already used at entry 0",
        ),
    ],
)
def test_bad_json_names_file_entry_and_field(tmp_path, text, message):
    path = write(tmp_path, "layers.json", text)
    assert load_error(path).startswith(f"{path}{message}")


# --- files that cannot be read ----------------------------------------------------------------


def test_missing_file_is_a_workload_error(tmp_path):
    path = tmp_path / "nowhere.csv"
    with pytest.raises(WorkloadError) as info:
        load_workload(path)
    assert str(info.value) == f"{path}: no such file"
    assert isinstance(info.value.__cause__, FileNotFoundError)
    assert isinstance(info.value, ValueError)


def test_directory_is_a_workload_error(tmp_path):
    path = tmp_path / "layers.csv"
    path.mkdir()
    assert load_error(path).startswith(f"{path}: cannot read: ")


@pytest.mark.parametrize("name, shown", [("layers.txt", "'.txt'"), ("layers", "'(no suffix)'")])
def test_unsupported_suffix_lists_the_supported_ones(tmp_path, name, shown):
    path = write(tmp_path, name, SCALE_SIM_GEMM)
    assert (
        load_error(path) == f"{path}: unsupported file type {shown}; supported: .csv, .json, .onnx"
    )


# --- saving -----------------------------------------------------------------------------------


ODD_NAMES = [
    Gemm("fc1", 1, 2, 3),
    Gemm('attention "q, k"', 64, 128, 64),
    Gemm("couche été", 7, 1, 9),
    Gemm("name", 2, 2, 2),
]


@pytest.mark.parametrize("name", ["out.csv", "out.json"])
def test_save_then_load_gives_the_same_list(tmp_path, name):
    for gemms in (mlp_gemms([784, 30, 10], batch=10), ODD_NAMES):
        save_workload(gemms, tmp_path / name)
        assert load_workload(tmp_path / name) == gemms
    assert os.listdir(tmp_path) == [name]


def test_saved_csv_is_the_simple_form(tmp_path):
    save_workload([Gemm("fc1", 10, 784, 30), Gemm("fc2", 10, 30, 10)], tmp_path / "w.csv")
    assert (tmp_path / "w.csv").read_text() == "name,m,k,n\nfc1,10,784,30\nfc2,10,30,10\n"


@st.composite
def workloads(draw):
    names = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=8)
    names = names.filter(lambda name: name == name.strip() and name.isprintable())
    unique = draw(st.lists(names, min_size=1, max_size=5, unique=True))
    sizes = st.integers(1, MAX_DIM)
    return [Gemm(name, draw(sizes), draw(sizes), draw(sizes)) for name in unique]


@given(workloads(), st.sampled_from([".csv", ".json"]))
def test_any_workload_survives_a_round_trip(gemms, suffix):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"w{suffix}"
        save_workload(gemms, path)
        assert load_workload(path) == gemms


def test_save_replaces_the_target_and_keeps_its_permissions(tmp_path):
    path = write(tmp_path, "w.csv", "old contents")
    path.chmod(0o640)
    save_workload([Gemm("fc1", 1, 2, 3)], path)
    assert load_workload(path) == [Gemm("fc1", 1, 2, 3)]
    assert stat.S_IMODE(path.stat().st_mode) == 0o640
    assert os.listdir(tmp_path) == ["w.csv"]


def test_failed_save_leaves_the_target_untouched(tmp_path, monkeypatch):
    path = write(tmp_path, "w.csv", SCALE_SIM_GEMM)

    def broken_replace(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", broken_replace)
    with pytest.raises(OSError, match="disk full"):
        save_workload([Gemm("fc1", 1, 2, 3)], path)
    assert path.read_text() == SCALE_SIM_GEMM
    assert os.listdir(tmp_path) == ["w.csv"]


@pytest.mark.parametrize(
    "gemms, message",
    [
        ([], "gemms is empty; a workload holds at least one GEMM"),
        ([Gemm("a", 1, 1, 1), ("b", 1, 1, 1)], r"gemms\[1\] must be a Gemm, got \('b', 1, 1, 1\)"),
        ([Gemm("a", 1, 1, 1), Gemm("a", 2, 2, 2)], r"gemms\[1\] repeats the name 'a'"),
    ],
)
def test_save_refuses_what_load_would_refuse(tmp_path, gemms, message):
    with pytest.raises(ValueError, match=message):
        save_workload(gemms, tmp_path / "w.csv")
    assert os.listdir(tmp_path) == []


def test_save_refuses_an_unsupported_suffix(tmp_path):
    with pytest.raises(WorkloadError, match=r"unsupported file type '\.yaml'"):
        save_workload([Gemm("a", 1, 1, 1)], tmp_path / "w.yaml")


def test_huge_sizes_and_deep_nesting_name_the_file_and_field(tmp_path):
    path = tmp_path / "w.json"
    path.write_text('[{"name": "fc", "m": 1000000000000000000000000000000, "k": 2, "n": 3}]')
    with pytest.raises(WorkloadError, match=r"w\.json, entry 0, field 'm': expected at most "
                       r"2,147,483,647, got about 10\^30"):  # fmt: skip
        load_workload(path)
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(WorkloadError, match=r"w\.json: not a workload: JSON nested too deeply"):
        load_workload(path)
    csv = tmp_path / "w.csv"
    csv.write_text("name,m,k,n\nfc,3,99999999999,4\n")
    with pytest.raises(WorkloadError, match=r"w\.csv, line 2, field 'k': expected at most"):
        load_workload(csv)
