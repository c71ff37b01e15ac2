"""What the sweep tests share: specs on disk, result files read back, and a Dask scheduler
with two workers started as separate processes on 127.0.0.1 (stopped in ``finally``)."""

import contextlib
import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

#: seconds any process a test starts may take to come up or to go
START_TIMEOUT_S = 60
STOP_TIMEOUT_S = 15
#: seconds a test (or a fixture's own work) may take before it is stopped
TEST_TIMEOUT_S = 120


@contextlib.contextmanager
def deadline(seconds: int = TEST_TIMEOUT_S):
    """Raise TimeoutError in the main thread if the block runs longer than ``seconds``, so a
    sweep that waits forever (for workers that never come) fails instead of hanging."""

    def expire(signum, frame):
        raise TimeoutError(f"took more than {seconds} s")

    previous = signal.signal(signal.SIGALRM, expire)
    outer, start = signal.alarm(seconds), time.monotonic()
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)
        if outer:  # an enclosing deadline keeps what it had left
            signal.alarm(max(1, round(outer - (time.monotonic() - start))))


@pytest.fixture(autouse=True)
def bounded():
    """Every sweep test ends within :data:`TEST_TIMEOUT_S`."""
    with deadline():
        yield


@contextlib.contextmanager
def started(argv: list[str], **options):
    """A process of ``argv`` in its own process group, stopped with its children on the way
    out (:func:`stop`)."""
    # under a shell's background job (as some CI runners start commands) Ctrl-C is ignored,
    # and a process started from here would ignore it too; while a handler is set here, the
    # new process starts with Ctrl-C at its default, as a terminal's foreground job has it
    ignored = signal.getsignal(signal.SIGINT) is signal.SIG_IGN
    if ignored:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        process = subprocess.Popen(argv, start_new_session=True, **options)
    finally:
        if ignored:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield process
    finally:
        stop(process)


def write_spec(folder: Path, text: str, files: dict[str, str] | None = None) -> Path:
    """Write ``text`` as ``folder/sweep.toml`` (and ``files`` beside it); return its path."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in (files or {}).items():
        (folder / name).write_text(content)
    path = folder / "sweep.toml"
    path.write_text(text)
    return path


def csv_rows(out: Path) -> list[dict]:
    """The rows of ``out/points.csv`` without the time each point took (which varies)."""
    with open(out / "points.csv", newline="") as handle:
        return [{k: v for k, v in row.items() if k != "seconds"} for row in csv.DictReader(handle)]


def stored_lines(out: Path) -> int:
    """Whole lines of ``out/points.jsonl`` (0 before it exists)."""
    try:
        return (out / "points.jsonl").read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def stop(process: subprocess.Popen) -> None:
    """Stop a process started by :func:`start` and everything in its group: SIGTERM, and
    SIGKILL for whatever is left after :data:`STOP_TIMEOUT_S`."""
    _signal_group(process, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):  # SIGKILL below ends it either way
        process.wait(timeout=STOP_TIMEOUT_S)
    _signal_group(process, signal.SIGKILL)
    process.wait(timeout=STOP_TIMEOUT_S)


def _signal_group(process: subprocess.Popen, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError):  # the whole group has gone
        os.killpg(process.pid, sig)


def wait_for(condition, what: str, timeout_s: float = START_TIMEOUT_S) -> None:
    """Poll ``condition()`` until it holds; fail the test after ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail(f"timed out after {timeout_s} s waiting for {what}")
        time.sleep(0.05)


@pytest.fixture(scope="session")
def scheduler(tmp_path_factory):
    """The address of a ``dask scheduler`` with two ``dask worker`` processes (one thread,
    one numba thread each), all on 127.0.0.1."""
    from dask.distributed import Client

    folder = tmp_path_factory.mktemp("dask")
    file = folder / "scheduler.json"
    env = {**os.environ, "SYSTOLIC_THREADS": "1", "NUMBA_NUM_THREADS": "1"}
    dask = [sys.executable, "-m", "dask"]
    with contextlib.ExitStack() as stack:  # on the way out: workers, then the scheduler

        def launch(argv, log):
            output = stack.enter_context(open(folder / log, "wb"))
            stack.enter_context(started(argv, stdout=output, stderr=subprocess.STDOUT, env=env))

        with deadline(2 * START_TIMEOUT_S):
            launch([*dask, "scheduler", "--host", "127.0.0.1", "--port", "0", "--scheduler-file",
                    str(file), "--no-dashboard"], "scheduler.log")  # fmt: skip
            wait_for(lambda: file.exists() and file.stat().st_size > 0, "the scheduler")
            launch([*dask, "worker", "--scheduler-file", str(file), "--nthreads", "1",
                    "--nworkers", "2", "--host", "127.0.0.1", "--no-dashboard",
                    "--death-timeout", "60"], "workers.log")  # fmt: skip
            address = json.loads(file.read_text())["address"]
            with Client(address, timeout=START_TIMEOUT_S) as client:
                client.wait_for_workers(2, timeout=START_TIMEOUT_S)
        yield address


@pytest.fixture
def inline(monkeypatch):
    """Sweeps compute their points here, a chunk at a time, in place of Dask's workers.
    Returns what happened: ``computed`` (keys, in order) and ``connects`` (one per time a
    sweep asked for a cluster)."""
    log = {"computed": [], "connects": 0}

    @contextlib.contextmanager
    def connect(scheduler, workers, timeout_s, fork=False):
        log["connects"] += 1
        yield "inline"

    def run_chunks(client, chunks, context_of, done):
        while chunk := chunks.take():
            records = Task(chunk, context_of(chunk)).run()
            log["computed"] += [record["key"] for record in records]
            chunks.finished(records)
            done(records)
        return 0

    from systolic.sweep import run as sweep_run
    from systolic.sweep.point import Task
    from systolic.sweep.store import package_version

    cluster = sweep_run.cluster
    monkeypatch.setattr(cluster, "connect", connect)
    monkeypatch.setattr(cluster, "run_chunks", run_chunks)
    monkeypatch.setattr(
        cluster, "prepare_workers", lambda client, values: {"here": package_version()}
    )
    monkeypatch.setattr(cluster, "threads", lambda client: 1)
    submit_all = cluster.submit_all
    monkeypatch.setattr(
        cluster, "submit_all", lambda client, f, tasks, **kw: submit_all(None, f, tasks)
    )
    return log
