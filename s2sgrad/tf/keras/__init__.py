"""``tf.keras``: the optimizers, losses and activations of small TF programs."""

from s2sgrad.tf.keras import activations, losses, optimizers  # noqa: F401
