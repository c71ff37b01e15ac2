"""Dropout of hidden units at several keep probabilities, against none.

    python sims/dropout.py [--keeps 0.8,0.5] [--epochs 10] [--train-limit 10000] [--machine P]

Trains the MLP 784-30-10 (sigmoid hidden units, cross-entropy, scaled init, plain SGD)
without dropout and with inverted dropout at each keep probability (kept units scaled by
1 / keep, so evaluation needs no rescaling), from the same seed with the same settings
otherwise. On the bare array only the matmuls cost anything, so dropout looks free; with
``--machine tpu_v5e`` every step draws, applies and saves a mask per hidden unit on the
VPU and reads it back in the backward pass, and the table shows what that costs per step
and in simulated time to the target accuracy. Writes results/dropout.csv and
results/dropout.png.
"""

import argparse
import dataclasses

from training_comparison import comma_list, common_settings, compare, parser


def _keep(text: str) -> float:
    value = float(text)
    if not 0 < value <= 1:
        raise argparse.ArgumentTypeError(f"keep probability must be in (0, 1], got {text!r}")
    return value


def main() -> None:
    p = parser(__doc__, epochs=10, eta=0.5)
    p.add_argument(
        "--keeps",
        type=comma_list(_keep),
        default=[0.8, 0.5],
        help="keep probabilities to compare with no dropout (default 0.8,0.5)",
    )
    args = p.parse_args()
    common = common_settings(args)
    variants = {"no dropout": dataclasses.replace(common, keep=1.0)}
    for keep in args.keeps:
        variants[f"keep {keep:g}"] = dataclasses.replace(common, keep=keep)
    compare("dropout", variants, args, f"Dropout of hidden units, eta {common.eta}",
            always=("keep",))  # fmt: skip


if __name__ == "__main__":
    main()
