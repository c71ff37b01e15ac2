"""ArrayConfig validation."""

import dataclasses

import numpy as np
import pytest

from systolic.config import ArrayConfig, Dataflow, WeightLoad


def test_strings_become_enum_members():
    config = ArrayConfig(rows=4, cols=2, dataflow="ws", weight_load="double_buffered")
    assert config.dataflow is Dataflow.WS and config.weight_load is WeightLoad.DOUBLE_BUFFERED
    assert config.pe_count == 8
    assert dataclasses.replace(config, rows=8).pe_count == 16


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"rows": 0}, "rows must be a positive integer, got 0"),
        ({"cols": -2}, "cols must be a positive integer, got -2"),
        ({"rows": 2.5}, "rows must be a positive integer, got 2.5"),
        ({"weight_load": "lazy"}, "unknown weight_load 'lazy'; valid: 'serial', 'double_buffered'"),
        ({"dataflow": "xs"}, "unknown dataflow 'xs'"),
        ({"accumulator_rows": 0}, "accumulator_rows must be a positive integer, got 0"),
        ({"dtype": "fp8"}, "unknown dtype 'fp8'; valid: 'fp32', 'fp64'"),
        ({"max_cycles": 0}, "max_cycles must be a positive integer"),
    ],
)
def test_bad_settings_raise_and_show_the_bad_value(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        ArrayConfig(**kwargs)


def test_config_is_frozen():
    with pytest.raises(dataclasses.FrozenInstanceError):
        ArrayConfig().rows = 3


def test_huge_arrays_are_refused_before_anything_is_allocated():
    message = (
        r"a 100,000x100,000 array has 10,000,000,000 PEs, more than 16,777,216 "
        r"\(its per-PE counters alone would take 75 GiB\)"
    )
    with pytest.raises(ValueError, match=message):
        ArrayConfig(rows=100_000, cols=100_000)
    with pytest.raises(ValueError, match="more than 16,777,216"):
        ArrayConfig(rows=10**12, cols=1)
    assert ArrayConfig(rows=4096, cols=4096).pe_count == 2**24


def test_numpy_integers_are_accepted_and_stored_as_ints():
    config = ArrayConfig(rows=np.int64(4), cols=np.arange(1, 9)[7], accumulator_rows=np.uint8(3))
    assert (config.rows, config.cols, config.accumulator_rows) == (4, 8, 3)
    assert all(type(v) is int for v in (config.rows, config.cols, config.accumulator_rows))
    assert config == ArrayConfig(rows=4, cols=8, accumulator_rows=3)
    with pytest.raises(ValueError, match="rows must be a positive integer, got True"):
        ArrayConfig(rows=True)
    with pytest.raises(ValueError, match="cols must be a positive integer, got 2.0"):
        ArrayConfig(cols=2.0)


def test_a_dtype_that_is_not_a_string_is_named():
    with pytest.raises(ValueError, match=r"unknown dtype \['fp32'\]; valid: 'fp32'"):
        ArrayConfig(dtype=["fp32"])


@pytest.mark.parametrize("seconds", [0, -1, float("nan"), "60", True])
def test_max_seconds_must_be_a_positive_number(seconds):
    with pytest.raises(ValueError, match="max_seconds must be a number > 0"):
        ArrayConfig(max_seconds=seconds)
