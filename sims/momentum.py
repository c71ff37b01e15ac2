"""Plain SGD against momentum SGD with each coefficient mu, at the same learning rate.

    python sims/momentum.py [--mus 0.5,0.9] [--eta 0.1] [--epochs 10] [--train-limit 10000]

Trains the MLP 784-30-10 (sigmoid hidden units, cross-entropy, scaled init) with plain SGD
and with momentum (``v = mu * v - eta * g; w = w + v``) for each ``mu``, from the same seed
with the same settings otherwise, with every matmul on a simulated 32x32 weight-stationary
array (fp32). Writes results/momentum.csv (one row per optimizer and epoch) and
results/momentum.png. On a steady gradient momentum's step grows towards eta / (1 - mu).

The full runs (all 50,000 images, 30 epochs; about 3 minutes per variant on 2 cores):

    python sims/momentum.py --full --epochs 30
"""

import argparse
import dataclasses

from training_comparison import comma_list, common_settings, compare, parser


def _mu(text: str) -> float:
    value = float(text)
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"mu must be in [0, 1), got {text!r}")
    return value


def main() -> None:
    p = parser(__doc__, epochs=10, eta=0.1)
    p.add_argument(
        "--mus",
        type=comma_list(_mu),
        default=[0.5, 0.9],
        help="momentum coefficients to compare (default 0.5,0.9)",
    )
    args = p.parse_args()
    common = common_settings(args)
    # mu = 0 makes the CSV say what plain SGD does: no velocity at all
    variants = {"sgd": dataclasses.replace(common, optimizer="sgd", mu=0.0)}
    for mu in args.mus:
        variants[f"momentum {mu:g}"] = dataclasses.replace(common, optimizer="momentum", mu=mu)
    compare("momentum", variants, args, f"Plain SGD and momentum, eta {common.eta}")


if __name__ == "__main__":
    main()
