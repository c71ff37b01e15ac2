"""How points are cut into tasks (no Dask needed)."""

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
