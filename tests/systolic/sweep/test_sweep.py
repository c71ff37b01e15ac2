"""Sweeps on Dask: a local cluster, a scheduler and workers started as separate processes
(the same results), a sweep killed half way and resumed, a worker killed mid-sweep, and failed
points recorded."""

import contextlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys

import pytest
from dask.distributed import WorkerPlugin

from systolic.cli import main
from systolic.sweep import cluster, expand, load_spec, run_sweep
from systolic.sweep.point import evaluate_chunk
from systolic.sweep.store import Store, package_version
from tests.systolic.sweep.conftest import (
    csv_rows,
    deadline,
    started,
    stored_lines,
    wait_for,
    write_spec,
)

#: an MLP at two batches on two arrays, every dataflow and loading mode, and the teaching
#: machine; and a file whose one layer no array or machine takes (its points fail)
SPEC = """\
[workloads]
mlp = ["20,12,5"]
files = ["huge.csv"]
[space]
array = ["4x4", "8x8"]
dataflow = ["ws", "os", "is"]
weight_load = ["serial", "double_buffered"]
batch = [4, 8]
machine = ["teaching"]
"""
FILES = {"huge.csv": "name,m,k,n\nhuge,100000,100000,100000\n"}
#: points of SPEC: per MLP batch, 2 arrays x 6 (2 skipped: OS double-buffered) + 1 machine
POINTS, SKIPPED, COMPUTED, FAILED = 39, 6, 22, 11
#: a sweep of 45 points of a few tens of milliseconds each, to be killed half way
SLOW = """\
[workloads]
mlp = ["784,128,64"]
[space]
array = ["4x4", "8x8", "16x16"]
weight_load = ["serial", "double_buffered"]
batch = [32, 64, 128]
"""


def sweep(*argv):
    """Run ``systolic sweep ... --json``; its status and summary."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        status = main(["sweep", *map(str, argv), "--json"])
    return status, json.loads(out.getvalue())


@pytest.fixture(scope="module")
def local(tmp_path_factory):
    """SPEC swept on a local cluster of two workers: (status, summary, results folder)."""
    folder = tmp_path_factory.mktemp("local")
    spec = write_spec(folder, SPEC, FILES)
    with deadline():
        status, summary = sweep(spec, "--out", folder / "out", "--workers", 2)
    return status, summary, folder / "out"


def test_local_cluster_sweep_stores_every_point(local):
    status, summary, out = local
    assert status == 1  # points failed: their errors are stored
    assert {k: summary[k] for k in ("points", "computed", "reused", "skipped", "failed")} == {
        "points": POINTS, "computed": COMPUTED, "reused": 0, "skipped": SKIPPED, "failed": FAILED
    }  # fmt: skip
    assert summary["workers"] == 2 and summary["chunk"] >= 1 and summary["values"] is True
    assert summary["out"] == str(out) and summary["points_per_second"] > 0
    rows = csv_rows(out)
    assert len(rows) == POINTS and stored_lines(out) == COMPUTED + FAILED
    by_status = {s: [r for r in rows if r["status"] == s] for s in ("ok", "failed", "skipped")}
    assert [len(by_status[s]) for s in ("ok", "failed", "skipped")] == [COMPUTED, FAILED, SKIPPED]
    assert {r["workload"] for r in by_status["failed"]} == {"huge.csv"}
    assert summary["errors"] == {
        "ValueError: layer 'huge' on ws: a would hold 10,000,000,000 elements, more than "
        "max_elements=268,435,456": 4,
        "ValueError: layer 'huge' on os: a would hold 10,000,000,000 elements, more than "
        "max_elements=268,435,456": 2,
        "ValueError: layer 'huge' on is: a would hold 10,000,000,000 elements, more than "
        "max_elements=268,435,456": 4,
        "ValueError: (100000, 100000) @ (100000, 100000) needs 80,000,000,000 bytes of "
        "activations and results, more than the unified buffer's 1,048,576; split the batch": 1,
    }  # fmt: skip
    for row in by_status["ok"]:
        cycles, macs, pes = int(row["total_cycles"]), int(row["macs"]), int(row["pe_count"])
        assert float(row["utilization"]) == pytest.approx(macs / (pes * cycles))
        assert float(row["energy_pj"]) > 0 and float(row["area_mm2"]) > 0
        assert float(row["max_abs_error"]) < 1e-4 and row["max_rel_error"] != ""
    assert {(b["by"], b["batch"]) for b in summary["best"]} == {
        (by, batch) for by in ("cycles", "energy", "area") for batch in (4, 8)
    }
    assert sorted(p.name for p in out.glob("*.png")) == [
        "pareto_mlp_20_12_5_batch_4.png", "pareto_mlp_20_12_5_batch_8.png"
    ]  # fmt: skip


def test_local_workers_are_single_threaded_and_listen_on_127_0_0_1():
    import numba
    import psutil

    with cluster.connect(workers=1) as client:
        threads = client.run(lambda: (os.environ.get("SYSTOLIC_THREADS"),
                                      numba.config.NUMBA_NUM_THREADS))  # fmt: skip
        assert list(threads.values()) == [("1", 1)]
        info = client.scheduler_info()
        assert all(worker["nthreads"] == 1 for worker in info["workers"].values())
        # the scheduler (in this process), its HTTP server and the workers (children)
        here = psutil.Process()
        sockets = [c for p in (here, *here.children(recursive=True))
                   for c in p.net_connections("tcp") if c.status == psutil.CONN_LISTEN]  # fmt: skip
        assert len(sockets) >= 3 and {c.laddr.ip for c in sockets} == {"127.0.0.1"}


def test_an_external_scheduler_gives_the_same_results(local, scheduler, tmp_path):
    _, _, reference = local
    spec = write_spec(tmp_path, SPEC, FILES)
    status, summary = sweep(spec, "--out", tmp_path / "out", "--scheduler", scheduler)
    assert status == 1 and (summary["computed"], summary["failed"]) == (COMPUTED, FAILED)
    assert summary["workers"] == 2
    assert csv_rows(tmp_path / "out") == csv_rows(reference)


def test_a_rerun_computes_only_the_failed_points(local, scheduler, tmp_path):
    _, _, reference = local
    spec = write_spec(tmp_path, SPEC, FILES)
    out = tmp_path / "out"
    shutil.copytree(reference, out)
    status, summary = sweep(spec, "--out", out, "--scheduler", scheduler)
    assert status == 1
    assert (summary["computed"], summary["reused"], summary["failed"]) == (0, COMPUTED, FAILED)
    assert stored_lines(out) == COMPUTED + 2 * FAILED  # the failed points once more
    assert csv_rows(out) == csv_rows(reference)


def test_a_finished_sweep_is_reused_without_a_scheduler(local, tmp_path, capsys):
    spec = write_spec(tmp_path, SPEC.replace('files = ["huge.csv"]\n', ""))
    out = tmp_path / "out"
    shutil.copytree(local[2], out)
    # nothing is missing, so the unreachable scheduler is never asked
    argv = ["sweep", str(spec), "--out", str(out), "--scheduler", "tcp://127.0.0.1:1"]
    assert main(argv) == 0
    text = capsys.readouterr().out.splitlines()
    assert text[0].startswith("sweep: 26 points: 0 computed, 22 reused, 4 skipped, 0 failed")
    assert [line.split()[0] for line in text if line.startswith("  ")][:4] == [
        "array", "fastest", "least", "smallest"
    ]  # fmt: skip
    assert text.count("mlp:20,12,5, batch 4") == 1 and text.count("mlp:20,12,5, batch 8") == 1
    expected = [row for row in csv_rows(local[2]) if row["workload"] != "huge.csv"]
    assert csv_rows(out) == expected


def test_a_killed_sweep_resumes_with_only_the_missing_points(scheduler, tmp_path):
    spec = write_spec(tmp_path, SLOW)
    total = 45
    status, summary = sweep(spec, "--out", tmp_path / "reference", "--scheduler", scheduler)
    assert status == 0 and summary["computed"] == total
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "systolic", "sweep", str(spec), "--out", str(out),
            "--workers", "2"]  # fmt: skip
    with started(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) as killed:
        wait_for(lambda: stored_lines(out) >= 3 or killed.poll() is not None, "three points")
        os.killpg(killed.pid, signal.SIGKILL)  # the sweep and its workers, at once
        killed.wait(timeout=30)
    stored = stored_lines(out)
    assert 3 <= stored < total, "the sweep finished before it could be killed"
    status, summary = sweep(spec, "--out", out, "--scheduler", scheduler)
    assert status == 0
    assert (summary["computed"], summary["reused"]) == (total - stored, stored)
    assert csv_rows(out) == csv_rows(tmp_path / "reference")


def test_ctrl_c_stops_the_sweep_and_its_workers_keeping_what_finished(tmp_path):
    spec = write_spec(tmp_path, SLOW)
    out = tmp_path / "out"
    argv = [sys.executable, "-m", "systolic", "sweep", str(spec), "--out", str(out),
            "--workers", "2"]  # fmt: skip
    options = {"stdout": subprocess.PIPE, "stderr": subprocess.PIPE, "text": True}
    with started(argv, **options) as running:
        wait_for(lambda: stored_lines(out) >= 1 or running.poll() is not None, "a point")
        os.killpg(running.pid, signal.SIGINT)  # as a terminal sends Ctrl-C: to every process
        out_text, err = running.communicate(timeout=60)
        # what the sweep said, should it have finished before the interrupt reached it
        said = (
            f"stored {stored_lines(out)} lines; stdout {out_text[-500:]!r}; stderr {err[-1500:]!r}"
        )
        assert running.returncode == 130, said
        assert err.strip().splitlines()[-1] == "systolic: interrupted" and "Traceback" not in err
        wait_for(lambda: not _alive(running.pid), "the workers to stop", timeout_s=10)
    assert 1 <= stored_lines(out) < 45 and not (out / "points.csv").exists()


def _alive(group: int) -> bool:
    try:
        os.killpg(group, 0)
    except ProcessLookupError:
        return False
    return True


class KillInSecondTask(WorkerPlugin):
    """On the first worker to start its second task: SIGKILL, as it starts (the claim file,
    created once, holds its pid; the worker that replaces it starts no second kill)."""

    def __init__(self, claim: str):
        self.claim = claim
        self.started = 0

    def transition(self, key, start, finish, **kwargs):
        if finish != "executing":
            return
        self.started += 1
        if self.started == 2:
            try:
                handle = os.open(self.claim, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                return
            os.write(handle, str(os.getpid()).encode())
            os.close(handle)
            os.kill(os.getpid(), signal.SIGKILL)


@pytest.fixture(scope="module")
def slow_reference(tmp_path_factory):
    """The records of SLOW's closed forms, one point at a time in this process (no Dask),
    without the time each took."""
    spec = load_spec(write_spec(tmp_path_factory.mktemp("reference"), SLOW))
    expansion = expand(spec, False, package_version())
    records = evaluate_chunk(expansion.points, expansion.context)
    return {record["key"]: _untimed(record) for record in records}


@pytest.mark.parametrize("moment", ["running", "holding"])
def test_a_worker_killed_mid_sweep_loses_and_repeats_no_point(
    slow_reference, tmp_path, moment, monkeypatch
):
    """A worker killed while it runs a point ("running": its task is lost) or while it holds
    finished points the sweep has not collected ("holding": their results are lost): the
    sweep still ends with every point stored once, as computed without the kill."""
    spec = write_spec(tmp_path, SLOW)
    out, killed, appends = tmp_path / "out", tmp_path / "killed", []
    total = len(slow_reference)
    with cluster.connect(workers=2) as client:  # nanny processes: the killed one restarts
        # the kill comes within the first tasks, with points still to hand out
        assert total > cluster.IN_FLIGHT * cluster.threads(client) + 2
        if moment == "running":
            client.register_plugin(KillInSecondTask(str(killed)))
        append = Store.append

        def hold_then_kill(store, records):
            append(store, records)
            appends.append(len(records))
            if moment == "holding" and len(appends) == 1:
                # the sweep waits here, so the first tasks all finish and stay uncollected
                wait_for(lambda: _unfinished(client) == 0, "the first tasks to finish")
                held = client.has_what()
                victim = max(held, key=lambda worker: len(held[worker]))
                pid = client.run(os.getpid, workers=[victim])[victim]
                killed.write_text(str(pid))
                os.kill(pid, signal.SIGKILL)

        monkeypatch.setattr(Store, "append", hold_then_kill)
        # inside the test's own client, as in a notebook's `with Client(...)`: the sweep
        # still waits for its results on its own client
        with client.as_current():
            address = client.scheduler.address
            summary = run_sweep(load_spec(spec), out, values=False, scheduler=address, chunk=1,
                                progress=False)  # fmt: skip
        pid = int(killed.read_text())
        assert pid not in client.run(os.getpid).values()
    assert (summary["computed"], summary["failed"], summary["reused"]) == (total, 0, 0)
    lines = [json.loads(line) for line in (out / "points.jsonl").read_text().splitlines()]
    keys = [record["key"] for record in lines]
    assert len(keys) == len(set(keys)) == total and set(keys) == set(slow_reference)
    assert {record["key"]: _untimed(record) for record in lines} == slow_reference
    assert len(appends) == total


def _unfinished(client) -> int:
    """Tasks the scheduler has that are not yet in memory."""
    return client.run_on_scheduler(
        lambda dask_scheduler: sum(task.state != "memory" for task in dask_scheduler.tasks.values())
    )


def _untimed(record: dict) -> str:
    """A record without the time it took, as text (NaN equals NaN)."""
    return json.dumps({k: v for k, v in record.items() if k != "seconds"}, sort_keys=True)
