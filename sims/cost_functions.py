"""Quadratic against cross-entropy cost (sigmoid outputs), and log-likelihood (softmax outputs).

    python sims/cost_functions.py [--epochs 10] [--train-limit 10000] [--eta 0.5] [--seed 0]

Trains the MLP 784-30-10 (sigmoid hidden units, scaled init, plain SGD) once per cost, from the
same seed with the same settings otherwise, with every matmul on a simulated 32x32
weight-stationary array (fp32). Writes results/cost_functions.csv (one row per cost and epoch)
and results/cost_functions.png (validation accuracy and training cost per epoch). With sigmoid
outputs the quadratic cost's output error carries a sigmoid'(z) factor, so a saturated wrong
output learns slowly; cross-entropy and log-likelihood cancel it.

The full runs (all 50,000 images, 30 epochs; about 3 minutes per variant on 2 cores):

    python sims/cost_functions.py --full --epochs 30
"""

import dataclasses

from training_comparison import common_settings, compare, parser

COSTS = ("quadratic", "cross-entropy", "log-likelihood")


def main() -> None:
    args = parser(__doc__, epochs=10, eta=0.5).parse_args()
    common = common_settings(args)
    variants = {cost: dataclasses.replace(common, cost=cost) for cost in COSTS}
    title = (
        f"Cost functions (quadratic and cross-entropy: sigmoid outputs; log-likelihood: "
        f"softmax outputs), eta {common.eta}"
    )
    compare("cost_functions", variants, args, title)


if __name__ == "__main__":
    main()
