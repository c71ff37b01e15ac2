"""nn: a from-scratch NumPy MLP trainer whose matrix multiplies can run on any ``matmul``."""
