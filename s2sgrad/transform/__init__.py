"""Transforms on normal-form programs: reverse mode, simplification, optimisation."""
