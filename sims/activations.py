"""Sigmoid, tanh and relu hidden units, each with its own learning rate unless --eta is given.

    python sims/activations.py [--eta ETA] [--epochs 10] [--train-limit 10000] [--seed 0]

Trains the MLP 784-30-10 (cross-entropy with sigmoid outputs, scaled init, plain SGD) once
per hidden activation, from the same seed with the same settings otherwise, with every matmul on
a simulated 32x32 weight-stationary array (fp32). The learning rates default to sigmoid 0.5,
tanh 0.1 and relu 0.1: tanh's and relu's derivatives reach 1 where sigmoid's peaks at 1/4, so
the same eta takes steps several times larger; ``--eta`` sets one rate for all three. The eta
of each variant is printed and written to the CSV.

Writes results/activations.csv (one row per activation and epoch), results/activations.png
(validation accuracy and training cost per epoch), and results/activation_functions.png:
sigmoid, tanh and relu and their derivatives over z in [-6, 6].

The full runs (all 50,000 images, 30 epochs; about 3 minutes per variant on 2 cores):

    python sims/activations.py --full --epochs 30
"""

import dataclasses
from pathlib import Path

import numpy as np
from training_comparison import common_settings, compare, parser, save_activation_figure

from nn.activations import ACTIVATIONS, HIDDEN_ACTIVATIONS

ETAS = {"sigmoid": 0.5, "tanh": 0.1, "relu": 0.1}


def main() -> None:
    defaults = ", ".join(f"{name} {eta}" for name, eta in ETAS.items())
    p = parser(
        __doc__,
        epochs=10,
        eta=None,
        eta_help=f"one learning rate for all (default per activation: {defaults})",
    )
    args = p.parse_args()
    common = common_settings(args)
    variants = {
        name: dataclasses.replace(
            common, activation=name, eta=ETAS[name] if args.eta is None else args.eta
        )
        for name in HIDDEN_ACTIVATIONS
    }
    etas = ", ".join(f"{name} {settings.eta:g}" for name, settings in variants.items())
    compare("activations", variants, args, f"Hidden activations, eta: {etas}", always=("eta",))
    z = np.linspace(-6.0, 6.0, 481)
    save_activation_figure(
        Path(args.out) / "activation_functions.png",
        z,
        {name: ACTIVATIONS[name][0](z) for name in HIDDEN_ACTIVATIONS},
        {name: ACTIVATIONS[name][1](z) for name in HIDDEN_ACTIVATIONS},
    )


if __name__ == "__main__":
    main()
