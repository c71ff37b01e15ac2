"""Dask for sweeps: a local cluster or a running scheduler, and points run as tasks.

::

    client --submit--> scheduler --> workers: point.Task(chunk, context).run()
       ^                                              |
       +------------- results, chunk by chunk <-------+   (each stored on arrival)

Without an address, a ``LocalCluster`` on 127.0.0.1 (no dashboard) runs one single-threaded
worker process per core, each with one numba thread (:data:`WORKER_ENV`), forked from this
process for closed-form sweeps (:func:`connect`). With an address,
the client connects to that scheduler, and everything after is the same. Dask imports only
here, and only when a sweep has something to compute.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import CancelledError

#: the environment of local workers: one thread each, as many processes as cores
WORKER_ENV = {"SYSTOLIC_THREADS": "1", "NUMBA_NUM_THREADS": "1"}
#: seconds to wait for a scheduler before giving up
CONNECT_TIMEOUT_S = 10.0
#: tasks in flight per worker thread: enough to keep every worker busy between results
IN_FLIGHT = 4
#: seconds of work a task aims at when its number of points is not fixed (:class:`Chunks`)
TASK_S = 0.1
#: seconds a closed-form point of a ``block.Piece`` is taken to need before any is timed:
#: they are evaluated together, a few microseconds each
PIECE_POINT_S = 1e-5
#: the most points of one task: closed-form points of bare arrays take about a microsecond
#: each, evaluated a task at a time (``systolic.sweep.vectorized``)
MAX_CHUNK = 100_000


@contextlib.contextmanager
def connect(
    scheduler: str | None = None,
    workers: int | None = None,
    timeout_s: float = CONNECT_TIMEOUT_S,
    fork: bool = False,
) -> Iterator:
    """A ``dask.distributed.Client``: to the scheduler at ``scheduler``, or to a new local
    cluster of ``workers`` processes (default: one per core). Closed, with the local
    cluster, on the way out.

    With ``fork`` (on Linux), the local workers are forked from this process instead of
    started afresh: they have the package imported already, and start in a fraction of a
    second instead of seconds. Sweeps of closed forms ask for it; sweeps with values do not,
    since a forked process may inherit a kernel thread pool in an unusable state.

    Raises
    ------
    ValueError
        The scheduler cannot be reached within ``timeout_s`` seconds.
    """
    import dask
    from dask.distributed import Client, LocalCluster

    # Dask logs what the sweep reports itself in one line (a lost scheduler, a failed task)
    # with tracebacks; only its own fatal errors are shown
    loggers = [logging.getLogger(name) for name in list(logging.root.manager.loggerDict)
               if name.split(".")[0] == "distributed"]  # fmt: skip
    levels, cluster = [logger.level for logger in loggers], None
    for logger in loggers:
        logger.setLevel(logging.CRITICAL)
    try:
        if scheduler is None:
            method = dask.config.get("distributed.worker.multiprocessing-method")
            if fork and sys.platform == "linux":
                method = "fork"
            with (
                _ignoring_ctrl_c(),
                dask.config.set({"distributed.worker.multiprocessing-method": method}),
            ):
                cluster = LocalCluster(
                    n_workers=workers or os.cpu_count() or 1, threads_per_worker=1,
                    processes=True, host="127.0.0.1", dashboard_address=None, env=WORKER_ENV,
                    silence_logs=logging.CRITICAL,
                    # no dashboard; the scheduler's HTTP server (health checks) on any free
                    # port of 127.0.0.1, not on 8787, which another cluster may hold
                    scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
                )  # fmt: skip
            # results come straight from the workers, not through the scheduler (here, in this
            # process): one hop of a task's arrays instead of two
            client = Client(cluster, timeout=timeout_s, direct_to_workers=True)
        else:
            client = _client(scheduler, timeout_s)
        try:
            yield client
        finally:
            client.close(timeout=timeout_s)
    finally:
        if cluster is not None:
            cluster.close(timeout=timeout_s)
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


@contextlib.contextmanager
def _ignoring_ctrl_c() -> Iterator[None]:
    """Processes started inside ignore Ctrl-C (an ignored signal stays ignored in a child):
    the terminal sends it to every process of the sweep, and only the sweep's own process
    should act on it, by closing the cluster."""
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread, where Ctrl-C does not arrive anyway
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def _client(address: str, timeout_s: float):
    """A client of the scheduler at ``address``; a one-line error if it cannot be reached."""
    from dask.distributed import Client

    try:
        return Client(address, timeout=timeout_s)
    except ValueError as error:  # Dask's word on the address itself
        raise ValueError(f"--scheduler {address}: {error}") from None
    except (OSError, TimeoutError) as error:
        detail = " ".join(str(error).split()) or type(error).__name__
        raise ValueError(
            f"cannot reach the Dask scheduler at {address} within {timeout_s:g} s ({detail})"
        ) from None


def prepare_workers(client, values: bool) -> dict[str, str]:
    """Get every worker ready before the first point is timed: import the point module and,
    for value runs, load the kernels (a tiny GEMM on each dataflow). Returns the package
    version each worker runs, by address.

    Raises
    ------
    ValueError
        A worker without the package.
    """
    try:
        return client.run(_prepare, values)
    except ImportError as error:
        raise ValueError(f"a Dask worker cannot run sweep points: {error}; install the "
                         "systolic package where the workers run") from None  # fmt: skip


def _prepare(values: bool) -> str:
    from systolic import compare
    from systolic.sweep.store import package_version
    from systolic.workloads import Gemm

    if values:
        compare.compare([Gemm("warm-up", 2, 2, 2)], [(2, 2)])
    return package_version()


def threads(client) -> int:
    """Worker threads the scheduler has now (at least 1)."""
    return max(1, sum(client.nthreads().values()))


class Chunks:
    """The points of a sweep, handed out a task at a time: ``size`` points each, or (without
    ``size``) as many as take about :data:`TASK_S` by the time the points finished so far
    took; until the first results arrive, one point each, or as many of a ``block.Piece``
    as :data:`PIECE_POINT_S` gives.

    A fixed number cannot suit every sweep: a point costs from a tenth of a millisecond
    (closed forms) to minutes (values of a large network), and Dask adds a few milliseconds
    per task, so one point per task would cap a closed-form sweep at a few hundred points per
    second, while many per task would hold back a slow sweep's progress and lose more to a
    kill.
    """

    def __init__(self, points: Sequence, size: int | None = None):
        # point dicts, and ``block.Piece``s handed out a slice at a time
        self._items = collections.deque(points)
        self._left = sum(_count(item) for item in points)
        self._size = size
        self._seconds, self._timed = 0.0, 0
        #: the most points a task has had
        self.largest = 0

    def __len__(self) -> int:
        return self._left

    def take(self) -> Sequence[dict]:
        """The points of the next task (none when all are handed out): a slice of a
        ``block.Piece``, or point dicts up to the next piece."""
        from systolic.sweep.block import Piece

        piece = bool(self._items) and isinstance(self._items[0], Piece)
        size = self._size
        if size is None:
            guess = PIECE_POINT_S if piece else TASK_S
            per_point = self._seconds / self._timed if self._timed else guess
            size = max(1, min(MAX_CHUNK, int(TASK_S / max(per_point, 1e-9))))
        chunk = []
        if piece:
            piece = self._items.popleft()
            chunk = piece[:size]
            if len(piece) > size:
                self._items.appendleft(piece[size:])
        else:
            while self._items and len(chunk) < size and not isinstance(self._items[0], Piece):
                chunk.append(self._items.popleft())
        self._left -= len(chunk)
        self.largest = max(self.largest, len(chunk))
        return chunk

    def finished(self, records: Sequence[dict]) -> None:
        """Learn from finished points how long a point takes."""
        seconds, timed = record_seconds(records)
        self._seconds += seconds
        self._timed += timed


def submit_all(client, function: Callable, tasks: Sequence[tuple],
               leave_one: bool = False) -> Callable[[], list]:  # fmt: skip
    """Start ``function(*task)`` for each of ``tasks`` on ``client``'s workers (here, without
    a client); returns what waits for their results, in order. Tasks whose results are lost
    with the scheduler run here instead. With ``leave_one``, on a local cluster of more than
    one worker the tasks go to all but one of them: this process shares the machine's cores
    with its workers, and keeps one for what it does meanwhile."""
    if client is None or not tasks:
        return lambda: [function(*task) for task in tasks]
    workers = None
    if leave_one and getattr(client, "cluster", None) is not None:
        local = sorted(client.scheduler_info()["workers"])
        workers = local[1:] if len(local) > 1 else None
    futures = [client.submit(function, *task, pure=False, workers=workers) for task in tasks]

    def gather() -> list:
        try:
            return client.gather(futures)
        except (OSError, CancelledError):  # the scheduler went away
            return [function(*task) for task in tasks]

    return gather


def _count(item) -> int:
    """Points in an item of :class:`Chunks`: a piece's, or 1 for a point's dict."""
    return 1 if isinstance(item, dict) else len(item)


def record_seconds(records: Sequence[dict]) -> tuple[float, int]:
    """The seconds the points of ``records`` took to evaluate, and how many were timed (a
    failed point is not)."""
    from systolic.sweep.point import Columns

    seconds, timed, others = 0.0, 0, records
    if isinstance(records, Columns):
        seconds, timed = records.seconds(), len(records.points)
        others = records.others
    for record in others:
        if record.get("seconds") is not None:
            seconds += record["seconds"]
            timed += 1
    return seconds, timed


def run_chunks(
    client,
    chunks: Chunks,
    context_of: Callable[[list[dict]], dict],
    done: Callable[[list[dict]], None],
) -> int:
    """Run the points of ``chunks`` as tasks (``point.Task``), at most
    :data:`IN_FLIGHT` per worker thread at a time, and hand each task's records to ``done``
    as it finishes. A task that fails as a whole (a worker killed again and again, a worker
    without the package) gives failed records for its points. Returns the number of points
    lost with the connection to the scheduler (0 when all finished); tasks still pending are
    cancelled on the way out, on Ctrl-C too."""
    from dask.distributed import as_completed

    from systolic.sweep.point import Task, failed

    running: dict = {}
    # on this client's loop, not the current client's (a notebook's `with Client(...)`): a
    # result lost with a worker is waited for again there
    queue = as_completed(loop=client.loop)

    def submit(count: int) -> None:
        for _ in range(count):
            chunk = chunks.take()
            if not chunk:
                return
            future = client.submit(Task.run, Task(chunk, context_of(chunk)), pure=False)
            running[future] = chunk
            queue.add(future)

    lost = 0
    try:
        submit(IN_FLIGHT * threads(client))
        for future in queue:
            chunk = running.pop(future)
            try:
                if future.status == "error":  # the task itself raised
                    records = [failed(point, future.exception()) for point in chunk]
                else:
                    records = future.result()
            except (OSError, CancelledError):  # the scheduler went away with the results
                lost += len(chunk)
                continue
            chunks.finished(records)
            done(records)
            submit(1)
    finally:
        if running:
            client.cancel(list(running))
    return lost + len(chunks)
