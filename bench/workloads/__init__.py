"""Benchmark workloads, one module each; ``ALL`` is the order of the table.

Each module exposes ``rows(cfg)`` returning row objects from ``bench.harness``.
"""

ALL = (
    "import_time",
    "quadratic",
    "elementwise",
    "mlp",
    "first_call",
    "rnn",
    "scalar_loop",
    "seed_sgd",
    "linreg",
    "tape_overhead",
    "second_order",
    "linalg",
)
