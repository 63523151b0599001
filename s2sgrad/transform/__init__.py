"""Transforms on normal-form programs: reverse mode, simplification, optimisation.

Output guarantees: each module states those of its pass; every pass takes
a program of its input stage of :mod:`s2sgrad.ir.grammar` to one of its
output stage.
"""
