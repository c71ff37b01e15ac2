"""The cocotb testbench of the co-simulation: runs inside the simulator, started by ``cosim``.

``cosim`` runs a copy of this file as a top-level module, so that the simulator's Python
imports cocotb only (importing the package would load numba there: seconds per run).

It knows nothing of the schedule. For each case of the job file (``SYSTOLIC_COSIM_JOB``) it
resets the design, offers the GEMM on ``cmd``, then offers the beats of every input port
(weight tiles and activation rows, prepared by ``cosim`` in fold order) as soon as the design
accepts them: a port's next beat is valid in every cycle until it is taken, so the RTL's ready
signals alone decide when anything happens. With ``stall`` above 0 a source holds a beat
back with that chance in each cycle before offering it (to test the ports' back-pressure).
After every clock edge it samples each PE's registers, the result port, ``busy`` and
``cycles`` and writes them to the case's JSON file for ``cosim`` to compare with the golden
model. A case stops when the design has
finished (``busy`` falls) and two more cycles have passed, or after ``max_cycles`` cycles.
"""

from __future__ import annotations

import json
import os
import random

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly, RisingEdge

#: registers of partial sums (ACC_W bits); the others hold one bit (the job's "bits") or an
#: operand (DATA_W bits)
SUMS = {"psum", "acc"}


def _pack(beat: list[int], width: int) -> int:
    """Lanes of a beat as one bus value, lane 0 in the low bits (two's complement)."""
    mask = (1 << width) - 1
    return sum((value & mask) << (lane * width) for lane, value in enumerate(beat))


def _signed(value: int, width: int) -> int:
    return value - (1 << width) if value >> (width - 1) else value


@cocotb.test()
async def cosim(dut):
    """Run every case of the job file and record what the RTL did, cycle by cycle."""
    with open(os.environ["SYSTOLIC_COSIM_JOB"], encoding="utf-8") as handle:
        job = json.load(handle)
    rows, cols, data_w, acc_w = job["rows"], job["cols"], job["data_w"], job["acc_w"]
    bits = set(job["bits"])
    stalls = random.Random(job["seed"])
    grid = dut.u_array if job["dataflow"] == "ws" else dut
    pes = [[grid.g_row[i].g_col[j].u_pe for j in range(cols)] for i in range(rows)]
    handles = {
        name: [[getattr(pe, name) for pe in row] for row in pes] for name in job["registers"]
    }
    # bits as they are; values signed, at the width of their register
    widths = {name: None if name in bits else acc_w if name in SUMS else data_w
              for name in job["registers"]}  # fmt: skip
    ports = {port: tuple(getattr(dut, f"{port}_{signal}") for signal in ("valid", "data", "ready"))
             for port in job["ports"]}  # fmt: skip
    cocotb.start_soon(Clock(dut.clk, 10, unit="ns").start())
    dut.cmd_valid.value = 0
    for valid, _, _ in ports.values():
        valid.value = 0
    for case in job["cases"]:
        await FallingEdge(dut.clk)  # out of the last case's read-only phase
        dut.rst.value = 1
        for _ in range(2):
            await RisingEdge(dut.clk)
        await FallingEdge(dut.clk)
        dut.rst.value = 0
        dut.cmd_m.value, dut.cmd_k.value, dut.cmd_n.value = case["m"], case["k"], case["n"]
        beats = {port: case["beats"][port] for port in job["ports"]}
        taken = dict.fromkeys(job["ports"], 0)
        samples = {name: [] for name in job["registers"]}
        res_valid, res_data, busy = [], [], []
        started = False
        cmd_pending, fired, after = True, {}, 0
        offered = dict.fromkeys(job["ports"], False)
        for _ in range(case["max_cycles"] + 2):
            # drive this cycle's offers: the next beat of every port, until taken
            dut.cmd_valid.value = int(cmd_pending)
            for port, (valid, data, _) in ports.items():
                index = taken[port]
                # a beat once offered stays offered until taken (valid never falls early)
                offered[port] = index < len(beats[port]) and (
                    offered[port] or stalls.random() >= job["stall"]
                )
                valid.value = int(offered[port])
                if offered[port]:
                    data.value = _pack(beats[port][index], data_w)
            await ReadOnly()
            if started:  # the state after the previous edge: one sample per cycle of the job
                for name, grid_handles in handles.items():
                    width = widths[name]
                    if width is None:
                        samples[name].append([[int(h.value) for h in r] for r in grid_handles])
                    else:
                        samples[name].append(
                            [[_signed(int(h.value), width) for h in r] for r in grid_handles]
                        )
                valid_bits = int(dut.res_valid.value)
                data = int(dut.res_data.value)
                res_valid.append([(valid_bits >> j) & 1 for j in range(cols)])
                res_data.append([_signed((data >> (j * acc_w)) & ((1 << acc_w) - 1), acc_w)
                                 for j in range(cols)])  # fmt: skip
                busy.append(int(dut.busy.value))
                if not busy[-1]:
                    after += 1
                    if after > 2:
                        break
            fire_cmd = cmd_pending and int(dut.cmd_ready.value)
            for port, (_, _, ready) in ports.items():
                fired[port] = offered[port] and int(ready.value)
            await FallingEdge(dut.clk)
            if fire_cmd:
                cmd_pending, started = False, True
            for port, fire in fired.items():
                taken[port] += bool(fire)
                offered[port] = offered[port] and not fire
        cycles = int(dut.cycles.value)  # the RTL's count, final once busy has fallen
        with open(case["out"], "w", encoding="utf-8") as handle:
            json.dump(
                {
                    **samples,
                    "res_valid": res_valid,
                    "res_data": res_data,
                    "busy": busy,
                    "cycles": cycles,
                    "taken": [taken[port] for port in job["ports"]],
                },
                handle,
            )
