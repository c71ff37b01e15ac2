"""The co-simulation's comparison, on recorded samples: what an RTL that agrees with the golden
model records (checked once against the real RTL's recording), then the same recording with
one thing changed, which the comparison must name (cycle, PE or column, signal, both values).
Everything but the first test runs without Verilator."""

import numpy as np
import pytest

from systolic.dataflows import MODULES
from systolic.numerics import FORMATS, prepare_operands
from systolic.rtl import RTLConfig, cosim
from systolic.rtl.cosim import CaseResult, cosimulate

WS = RTLConfig(2, 3, "ws", "double_buffered", accumulator_rows=3)
OS = RTLConfig(2, 3, "os")
#: one fold each, so that every result's cycle is worked out by hand. WS, (3, 2) @ (2, 3): the
#: tile shifts in for 2 cycles, row t of A starts into the array in cycle 2 + t and C[t, j]
#: leaves column j's bottom PE rows - 1 + j cycles later, in cycle 3 + t + j; the result port
#: shows it 2 samples after that (one cycle into the accumulators, one through their adder).
#: OS, (2, 4) @ (4, 3): C[i, j] is summed after k + rows - 1 + j cycles and drains through
#: rows - 1 - i PEs, leaving in cycle 6 + j - i; the port shows it 1 sample later.
CASES = {
    "ws": (WS, (3, 2, 3), lambda i, j: 3 + i + j, 2),
    "os": (OS, (2, 4, 3), lambda i, j: 6 + j - i, 1),
}
#: the registers of each PE, in the order the comparison reads them
REGISTERS = {
    "ws": ("act", "valid", "switch", "psum", "psum_valid", "weight", "weight_valid", "shadow",
           "shadow_valid"),
    "os": ("a", "a_valid", "b", "b_valid", "acc", "acc_valid"),
}  # fmt: skip
FLOWS = list(CASES)


def operands(flow: str, seed: int = 1):
    _, (m, k, n), _, _ = CASES[flow]
    rng = np.random.default_rng(seed)
    a = rng.integers(-128, 128, size=(m, k)).astype(np.int8)
    return a, rng.integers(-128, 128, size=(k, n)).astype(np.int8)


class Run:
    """One case of ``flow``: its golden run and the recording of an RTL that agrees with it
    (``rtl``, as the testbench writes it), ``delay`` samples late with a stalling source."""

    def __init__(self, flow: str, delay: int = 0):
        design, _, self.exit_of, self.lag = CASES[flow]
        self.flow, self.design = flow, design
        a, b = prepare_operands(*operands(flow), FORMATS["int8"], design.array_config.max_elements)
        self.product = a.astype(np.int64) @ b.astype(np.int64)
        engine = MODULES[design.array_config.dataflow]
        self.golden = engine.simulate_golden(a, b, design.array_config, record_registers=True)
        self.cycles = cycles = self.golden.report.total_cycles
        m, k, n = a.shape[0], a.shape[1], b.shape[1]
        self.case = {"m": m, "k": k, "n": n, "max_cycles": 2 * cycles + 64, "stall": delay > 0}
        # sample s: the state after the s-th clock edge from the one that took the GEMM; the
        # testbench stops two samples after busy falls
        samples = cycles + delay + 3
        self.rtl = {}
        for name in self.golden.array.REGISTERS:
            values = np.zeros((samples, design.rows, design.cols), dtype=np.int64)
            if not delay:
                values[1 : cycles + 1] = [snap[name] for snap in self.golden.array.snapshots]
            self.rtl[name] = values
        valid = np.zeros((samples, design.cols), dtype=np.int64)
        data = np.zeros((samples, design.cols), dtype=np.int64)
        for i in range(m):
            for j in range(n):
                valid[delay + self.exit_of(i, j) + self.lag, j] = 1
                data[delay + self.exit_of(i, j) + self.lag, j] = self.product[i, j]
        busy = np.array([1] * (cycles + delay) + [0] * 3)
        self.rtl.update(res_valid=valid, res_data=data, busy=busy, cycles=np.array(cycles + delay))

    def snapshot(self, name: str, cycle: int, i: int, j: int) -> int:
        """The model's register ``name`` of PE(i, j) after the edge of ``cycle``."""
        return int(self.golden.array.snapshots[cycle][name][i, j])

    def compare(self) -> str | None:
        return cosim._compare(self.design, self.golden, self.rtl, self.case)


@pytest.mark.parametrize("flow", FLOWS)
def test_the_recording_is_what_the_rtl_records(flow, monkeypatch):
    seen = []
    real = cosim._compare

    def keep(design, golden, rtl, case):
        seen.append(rtl)
        return real(design, golden, rtl, case)

    monkeypatch.setattr(cosim, "_compare", keep)
    run = Run(flow)
    (result,) = cosimulate(run.design, [operands(flow)])
    assert result.agree and result.rtl_cycles == run.cycles
    (rtl,) = seen
    for name in REGISTERS[flow]:
        assert np.array_equal(rtl[name][1 : run.cycles + 1], run.rtl[name][1 : run.cycles + 1])
    for name in ("res_valid", "res_data", "busy", "cycles"):
        assert np.array_equal(rtl[name], run.rtl[name]), name


@pytest.mark.parametrize("flow", FLOWS)
def test_an_agreeing_recording_agrees(flow):
    run = Run(flow)
    assert tuple(run.golden.array.REGISTERS) == REGISTERS[flow]
    assert run.compare() is None
    assert Run(flow, delay=4).compare() is None  # late, with a stalling source: values only


@pytest.mark.parametrize("flow, name", [("ws", "psum"), ("os", "acc")])
def test_a_register_wrong_in_the_last_cycle_only_is_named(flow, name):
    run = Run(flow)
    last = run.cycles - 1  # the sample after the last counted edge
    model = run.snapshot(name, last, 1, 2)
    run.rtl[name][last + 1][1, 2] = model + 1
    assert run.compare() == f"cycle {last}, PE(1, 2), signal {name}: model {model}, RTL {model + 1}"


@pytest.mark.parametrize("flow", FLOWS)
def test_the_earliest_disagreement_is_named_first(flow):
    first, *_, last = REGISTERS[flow]
    run = Run(flow)
    # a later cycle in the first register, an earlier one in the last register
    run.rtl[first][5 + 1][0, 0] += 1
    bit = run.snapshot(last, 2, 1, 1)
    run.rtl[last][2 + 1][1, 1] = 1 - bit
    assert run.compare() == f"cycle 2, PE(1, 1), signal {last}: model {bit}, RTL {1 - bit}"
    # within one cycle the first register, within one register the first PE
    run = Run(flow)
    run.rtl[last][3 + 1][0, 0] = 1 - run.snapshot(last, 3, 0, 0)
    run.rtl[first][3 + 1][1, 0] += 1
    run.rtl[first][3 + 1][0, 2] += 1
    assert run.compare().startswith(f"cycle 3, PE(0, 2), signal {first}: ")


@pytest.mark.parametrize("flow", FLOWS)
@pytest.mark.parametrize("off", [1, -1])
def test_a_cycle_count_off_by_one_either_way_is_named(flow, off):
    run = Run(flow)
    run.rtl["cycles"] = np.array(run.cycles + off)
    assert run.compare() == f"total_cycles: model {run.cycles}, RTL {run.cycles + off}"


def _move(run: Run, i: int, j: int, by: int) -> None:
    """Show result C[i, j] ``by`` samples later on the port."""
    sample = run.exit_of(i, j) + run.lag
    for name in ("res_valid", "res_data"):
        run.rtl[name][sample + by, j] = run.rtl[name][sample, j]
        run.rtl[name][sample, j] = 0


@pytest.mark.parametrize(
    "flow, i, j, by",
    [("ws", 2, 2, 1), ("ws", 0, 0, -1), ("os", 0, 2, 1), ("os", 1, 0, -1)],
    ids=["ws-late", "ws-early", "os-late", "os-early"],
)
def test_a_result_a_cycle_late_or_early_is_named(flow, i, j, by):
    run = Run(flow)
    _move(run, i, j, by)
    cycle = run.exit_of(i, j)
    assert run.compare() == (
        f"result C[{i}, {j}] (column {j}) left the array in cycle {cycle + by} on the RTL, "
        f"{cycle} on the model"
    )


@pytest.mark.parametrize("flow, row", [("ws", 2), ("os", 0)])  # the last to leave column 2
def test_a_wrong_value_in_the_last_column_is_named(flow, row):
    for delay in (0, 3):  # with a stalling source too
        run = Run(flow, delay)
        value = int(run.product[row, 2])
        run.rtl["res_data"][delay + run.exit_of(row, 2) + run.lag, 2] = value + 1
        assert run.compare() == (
            f"result C[{row}, 2] (column 2), signal res_data: model {value}, RTL {value + 1}"
        )


@pytest.mark.parametrize("flow", FLOWS)
def test_an_extra_or_a_missing_result_is_named(flow):
    _, (m, _, _), _, _ = CASES[flow]
    run = Run(flow)
    run.rtl["res_valid"][-1, 1] = 1  # after every real one
    assert run.compare() == f"column 1, signal res_valid: model {m} results, RTL {m + 1}"
    run = Run(flow)
    run.rtl["res_valid"][run.exit_of(0, 2) + run.lag, 2] = 0
    assert run.compare() == f"column 2, signal res_valid: model {m} results, RTL {m - 1}"


def test_an_rtl_that_never_finishes_is_named():
    run = Run("ws")
    run.rtl["busy"][:] = 1
    assert run.compare() == f"the RTL did not finish within {2 * run.cycles + 64:,} cycles"


@pytest.mark.parametrize("flow", FLOWS)
def test_with_a_stalling_source_the_rtl_may_not_be_faster_than_the_model(flow):
    run = Run(flow, delay=3)
    run.rtl["cycles"] = np.array(run.cycles)  # as fast as the model: fine
    assert run.compare() is None
    run.rtl["cycles"] = np.array(run.cycles - 1)
    assert run.compare() == (
        f"total_cycles: model {run.cycles}, RTL {run.cycles - 1} with a stalling source"
    )


def test_a_case_result_as_json():
    result = CaseResult(m=2, k=3, n=4, model_cycles=10, rtl_cycles=12, mismatch="cycle 1")
    assert result.record() == {"m": 2, "k": 3, "n": 4, "model_cycles": 10, "rtl_cycles": 12,
                               "agree": False, "mismatch": "cycle 1"}  # fmt: skip
    assert CaseResult(1, 1, 1, 5, 5, None).record()["agree"] is True
