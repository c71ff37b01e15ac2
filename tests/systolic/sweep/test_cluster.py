"""How points are cut into tasks, and where summary tasks go (no Dask needed)."""

import pytest

from systolic.sweep import cluster
from systolic.sweep.cluster import MAX_CHUNK, TASK_S, Chunks


def test_fixed_chunks():
    chunks = Chunks([{"key": str(i)} for i in range(7)], size=3)
    assert [len(chunks.take()) for _ in range(4)] == [3, 3, 1, 0]
    assert chunks.largest == 3 and len(chunks) == 0


def test_chunks_grow_to_about_a_tenth_of_a_second_of_work():
    total = 2 * MAX_CHUNK
    chunks = Chunks([{"key": str(i)} for i in range(total)])
    assert len(chunks.take()) == 1  # nothing measured yet
    chunks.finished([{"seconds": TASK_S / 10}, {"seconds": TASK_S / 10}, {"status": "failed"}])
    assert len(chunks.take()) == 10
    chunks.finished([{"seconds": 1e-9}] * 1_000_000)  # closed forms: very fast points
    assert len(chunks.take()) == MAX_CHUNK
    chunks.finished([{"seconds": 1e6}] * 1_000_000)  # values of a huge network: one at a time
    assert len(chunks.take()) == 1
    assert chunks.largest == MAX_CHUNK and len(chunks) == total - 1 - 10 - MAX_CHUNK - 1


class _Client:
    """What submit_all asks of a Dask client: its workers, and the tasks it is given."""

    def __init__(self, local: bool, workers: int):
        self.cluster = object() if local else None
        self.workers = [f"tcp://127.0.0.1:{4000 + i}" for i in range(workers)]
        self.submitted = []

    def scheduler_info(self):
        return {"workers": {address: {} for address in reversed(self.workers)}}

    def submit(self, function, *args, pure, workers):
        self.submitted.append(workers)
        return function(*args)

    def gather(self, futures):
        return futures


@pytest.mark.parametrize(("local", "workers", "expected"), [
    (True, 2, ["tcp://127.0.0.1:4001"]), (True, 3, ["tcp://127.0.0.1:4001", "tcp://127.0.0.1:4002"]),
    (True, 1, None), (False, 4, None)])  # fmt: skip
def test_summary_tasks_leave_this_process_a_core_of_a_local_cluster(local, workers, expected):
    client = _Client(local, workers)
    gather = cluster.submit_all(client, lambda x: 2 * x, [(1,), (2,)], leave_one=True)
    assert gather() == [2, 4]
    assert client.submitted == [expected, expected]
    other = _Client(local, workers)
    cluster.submit_all(other, lambda x: x, [(1,)])
    assert other.submitted == [None]
