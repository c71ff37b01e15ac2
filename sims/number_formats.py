"""Training through fp32, bf16 and fp16 arrays: accuracy per epoch, format against format.

    python sims/number_formats.py [--epochs 10] [--train-limit 10000]

Trains the MLP 784-30-10 (sigmoid hidden units, cross-entropy, scaled init, eta 0.5) from the
same seed three times, with every matmul on a simulated 32x32 weight-stationary array whose
operands are rounded to fp32, bf16 or fp16 (products and sums in float32). Writes
results/number_formats.csv (one row per format and epoch) and results/number_formats.png.

The full runs (all 50,000 images, 30 epochs):

    python sims/number_formats.py --full --epochs 30
"""

from training_comparison import common_settings, compare, parser

FORMATS = ("fp32", "bf16", "fp16")


def main() -> None:
    args = parser(__doc__, epochs=10, eta=None).parse_args()
    common = common_settings(args)
    variants = dict.fromkeys(FORMATS, common)
    compare("number_formats", variants, args, f"Number formats of the array, eta {common.eta}",
            dtypes={name: name for name in FORMATS})  # fmt: skip


if __name__ == "__main__":
    main()
