"""A workload's inference pass on a training machine, counted by hand."""

import math

from systolic.api import estimate
from systolic.machine.config import MachineConfig
from systolic.machine.program import run_layers


def test_one_layer_by_hand():
    config = MachineConfig(
        "small", cores=1, mxus=1, mxu_rows=4, mxu_cols=4, clock_mhz=1000.0, vmem_bytes=2**20,
        vmem_bytes_per_cycle=1e9, hbm_bytes=2**30, hbm_bytes_per_second=8e9, dtype="fp32",
    )  # fmt: skip
    run = run_layers(config, [(6, 4, 4, 1, 24)])  # 8 bytes per cycle
    inputs = math.ceil(24 * 4 / 8)  # 6 x 4 float32 inputs: 12 cycles
    weights = math.ceil(16 * 4 / 8)  # a 4 x 4 tile: 8 cycles, after the inputs on the DMA
    mxu = estimate(6, 4, 4, config.mxu).total_cycles  # after both
    drain = 4 + 4 - 2  # the MXU is free once the last row is in; the sums drain meanwhile
    vpu = 2  # one (8, 128) register of 24 outputs: a bias add and a compare, 1 cycle each
    outputs = math.ceil(24 * 4 / 8)
    assert run["total_cycles"] == inputs + weights + mxu + vpu + outputs
    assert run["unit_cycles"] == {"mxu": mxu - drain, "vpu": vpu,
                                  "hbm": inputs + weights + outputs}  # fmt: skip
    assert run["hbm_read_bytes"] == 4 * (24 + 16) and run["hbm_write_bytes"] == 4 * 24
    assert run["macs"] == 6 * 4 * 4 and run["bottleneck"] == "hbm"


def test_the_next_layers_weights_stream_in_while_a_layer_computes():
    config = MachineConfig(
        "small", cores=1, mxus=1, mxu_rows=4, mxu_cols=4, clock_mhz=1000.0, vmem_bytes=2**20,
        vmem_bytes_per_cycle=1e9, hbm_bytes=2**30, hbm_bytes_per_second=1e12, dtype="fp32",
    )  # fmt: skip
    two = run_layers(config, [(64, 4, 4, 1, 256), (64, 4, 4, 1, 256)])
    one = run_layers(config, [(64, 4, 4, 1, 256)])
    # the second layer's weights arrive during the first layer: it adds only its MXU work and
    # its epilogue (64 x 4 outputs fill 8 registers of 8 rows, 2 one-cycle ops each)
    mxu = estimate(64, 4, 4, config.mxu).total_cycles
    assert two["total_cycles"] == one["total_cycles"] + mxu + 8 * 2
