"""ArrayConfig validation."""

import dataclasses

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
