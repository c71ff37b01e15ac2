"""The memories around the array: weight memory (DRAM), weight FIFO, unified buffer.

::

    weight memory (DRAM) --bytes/cycle--> weight FIFO (depth tiles) --shift--> array
    unified buffer -------------------------- activations --------------------> array
                                              accumulators <--- partial sums -- array

Weight tiles stream from DRAM one after another, each taking ``ceil(bytes / bandwidth)``
cycles. A tile can enter the FIFO only when a slot is free: the FIFO holds ``depth`` tiles, and
a slot frees when the tile in it has been shifted into the array (its ``rows`` shift cycles are
over). A tile can start shifting into the array only once all of its bytes have arrived. Time
is counted in the array's clock cycles, exactly: transfers start and end on cycle boundaries.
"""

from __future__ import annotations

import math
from collections.abc import Sequence


class WeightPath:
    """DRAM and weight FIFO: when each fold's weight tile is ready to shift into the array.

    Parameters
    ----------
    tile_bytes : sequence of int
        Bytes of each fold's weights, in run order.
    bytes_per_cycle : float
        DRAM bandwidth, > 0; ``math.inf`` delivers every tile at once.
    depth : int
        FIFO capacity in tiles, >= 1.
    rows : int
        Shift cycles of a tile (the array's rows): a FIFO slot frees once they are over.
    """

    def __init__(self, tile_bytes: Sequence[int], bytes_per_cycle: float, depth: int, rows: int):
        if not bytes_per_cycle > 0:
            raise ValueError(f"DRAM bandwidth must be > 0 bytes/cycle, got {bytes_per_cycle!r}")
        if depth < 1:
            raise ValueError(f"the weight FIFO must hold at least one tile, got {depth}")
        self.transfer = [
            0 if math.isinf(bytes_per_cycle) else math.ceil(size / bytes_per_cycle)
            for size in tile_bytes
        ]
        self.depth, self.rows = depth, rows
        self.arrived: list[int] = []  # cycle each tile's last byte is in the FIFO

    def ready(self, f: int, timeline: Sequence) -> int:
        """First cycle fold ``f``'s tile may shift: all its bytes are in the FIFO.

        ``timeline`` holds the ``FoldTiming`` of folds ``0..f-1``; call in fold order (it is
        the ``ready`` hook of ``weight_stationary.fold_timeline``).
        """
        previous_done = self.arrived[-1] if self.arrived else 0
        # its FIFO slot frees when the tile `depth` places ahead has been shifted in
        slot_free = timeline[f - self.depth].load + self.rows if f >= self.depth else 0
        start = max(previous_done, slot_free)
        self.arrived.append(start + self.transfer[f])
        return self.arrived[-1]
