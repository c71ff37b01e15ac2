"""Fully connected layers at batch 1 to 8192 on a TPU-like machine, over its roofline.

    python sims/roofline.py [--preset tpu_v1|teaching] [--out results]

Writes results/roofline.csv and results/roofline.png (achieved TOPS against operations per
weight byte from DRAM, over min(peak, intensity * bandwidth)) and prints the table with each
run's cycle breakdown. The same as ``systolic roofline``.
"""

import sys

from systolic.cli import main

if __name__ == "__main__":
    sys.exit(main(["roofline", *sys.argv[1:]]))
