"""Large N(0, 1) against scaled N(0, 1/n_in) weight initialisation (optionally xavier and he).

    python sims/weight_init.py [--inits large,scaled] [--epochs 10] [--train-limit 10000]

Trains the MLP 784-30-10 (sigmoid hidden units, cross-entropy, plain SGD) once per
initialisation, from the same seed with the same settings otherwise, with every matmul on a
simulated 32x32 weight-stationary array (fp32). Writes results/weight_init.csv (one row per init
and epoch) and results/weight_init.png. With N(0, 1) weights a hidden unit's weighted input has
a standard deviation near sqrt(784) = 28, so the sigmoid starts saturated and learns slowly;
``--inits large,scaled,xavier,he`` adds the other two inits of ``nn.init``.

The full runs (all 50,000 images, 30 epochs; about 3 minutes per variant on 2 cores):

    python sims/weight_init.py --full --epochs 30
"""

import argparse
import dataclasses

from training_comparison import comma_list, common_settings, compare, parser

from nn.init import INITS


def _init(text: str) -> str:
    if text not in INITS:
        raise argparse.ArgumentTypeError(f"unknown init {text!r}; valid: {', '.join(INITS)}")
    return text


def main() -> None:
    p = parser(__doc__, epochs=10, eta=0.5)
    p.add_argument(
        "--inits",
        type=comma_list(_init),
        default=["large", "scaled"],
        help=f"inits to compare, of {','.join(INITS)} (default large,scaled)",
    )
    args = p.parse_args()
    common = common_settings(args)
    variants = {init: dataclasses.replace(common, init=init) for init in args.inits}
    compare("weight_init", variants, args, f"Weight initialisation, eta {common.eta}")


if __name__ == "__main__":
    main()
