"""Forward-mode (JVP) rules of the primitives whose rule cannot be derived.

``s2sgrad.transform.forward`` derives the forward rule of most primitives
from facts of their records: an ``elementwise`` primitive's from its VJP
rule (a diagonal Jacobian is its own transpose), a ``linear`` one's by
applying it to the tangents, a ``multilinear`` one's (declared here for the
products) by applying it with one argument at a time replaced by its
tangent. What is left -- inverses, determinants, the nonlinear reductions
-- is written out below, in the registry's convention (a ``def`` shaped
like a VJP rule, ``(g, ans, *params)``, whose entry ``i`` is the result's
tangent for ``g`` the tangent of parameter ``i``).
"""

import operator

import numpy as np

from s2sgrad import runtime
from s2sgrad.primitives import containers, linalg, reductions
from s2sgrad.primitives.linalg import euclidean_only, norm_direction, spectral_direction
from s2sgrad.primitives.reductions import prod_of_others, prod_of_others_jvp, tie_share
from s2sgrad.primitives.registry import deffacts, defjvp

# products: linear in each operand with the other held fixed (the adjoint
# helpers of reverse mode too: linear in the cotangent and the other operand)
deffacts(operator.matmul, np.matmul, np.tensordot, np.dot, np.inner, np.outer, np.vdot,
         linalg.matmul_adjoint_a, linalg.matmul_adjoint_b,
         linalg.tensordot_adjoint_a, linalg.tensordot_adjoint_b,
         linalg.dot_adjoint_a, linalg.dot_adjoint_b,
         linalg.inner_adjoint_a, linalg.inner_adjoint_b,
         multilinear=True)


@defjvp(np.linalg.inv)
def inv_jvp(g, ans, a):
    return (-np.matmul(ans, np.matmul(g, ans)),)


@defjvp(np.linalg.det)
def det_jvp(g, ans, a):
    return (ans * np.sum(np.swapaxes(np.linalg.inv(a), -1, -2) * g, axis=(-2, -1)),)


@defjvp(np.linalg.norm)
def norm_jvp(g, ans, x, ord=None, axis=None, keepdims=False):
    return (np.sum(x * g, axis=axis, keepdims=keepdims) / ans * euclidean_only(x, ord, axis)
            + np.sum((norm_direction(x, ord, axis) + spectral_direction(x, ord, axis)) * g,
                     axis=axis, keepdims=keepdims),)


@defjvp(linalg.spectral_direction)
def spectral_direction_jvp(g, ans, x, ord=None, axis=None):
    return (linalg.no_spectral_second_order(x, ord, axis), None, None)


@defjvp(np.prod)
def prod_jvp(g, ans, a, axis=None, dtype=None, out=None, keepdims=False):
    return (np.sum(prod_of_others(a, axis) * g, axis=axis, keepdims=keepdims),)


@defjvp(np.max, np.amax, np.min, np.amin)
def extreme_jvp(g, ans, a, axis=None, out=None, keepdims=False):
    return (np.sum(tie_share(a, ans, axis, keepdims) * g, axis=axis, keepdims=keepdims),)


@defjvp(np.var)
def var_jvp(g, ans, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    count = np.size(a) / np.size(ans) - ddof
    centered = a - np.mean(a, axis=axis, keepdims=True)
    return (np.sum(centered * g, axis=axis, keepdims=keepdims) * (2 / count),)


@defjvp(np.std)
def std_jvp(g, ans, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    count = np.size(a) / np.size(ans) - ddof
    centered = a - np.mean(a, axis=axis, keepdims=True)
    return (np.sum(centered * g, axis=axis, keepdims=keepdims) / (ans * count),)


@defjvp(reductions.prod_of_others)
def prod_of_others_forward(g, ans, a, axis=None):
    return (prod_of_others_jvp(a, g, axis), None)


# -- affine or masked: "linear" would apply the primitive to the tangent as is,
# which is wrong where a fill value or a NaN mask enters the result

@defjvp(np.nansum)
def nansum_jvp(g, ans, a, axis=None, dtype=None, out=None, keepdims=False):
    return (np.sum(np.where(np.isnan(a), 0, g), axis=axis, keepdims=keepdims),)


@defjvp(np.nanmean)
def nanmean_jvp(g, ans, a, axis=None, dtype=None, out=None, keepdims=False):
    return (np.nanmean(np.where(np.isnan(a), np.nan, g), axis=axis, keepdims=keepdims),)


@defjvp(np.nan_to_num)
def nan_to_num_jvp(g, ans, x, copy=True, nan=0.0, posinf=None, neginf=None):
    return (
        np.where(np.isfinite(x), g, 0),
        None,
        np.where(np.isnan(x), g, 0),
        np.where(np.isposinf(x), g, 0),
        np.where(np.isneginf(x), g, 0),
    )


@defjvp(reductions.prefixes)
def prefixes_jvp(g, ans, a, axis=None, fill=0):
    return (reductions.prefixes(g, axis, 0),)


# the cotangent helpers of sequences and dicts take and give structures,
# whose tangents forward mode does not build yet: refused, never derived
deffacts(runtime.element_cotangent, runtime.element_cotangent_adjoint,
         containers.values_cotangent,
         containers.found_cotangent,
         containers.default_cotangent,
         containers.items_cotangent,
         containers.keyed_cotangent,
         containers.addend_cotangent,
         containers.addend_cotangent_adjoint,
         containers.repeated_cotangent,
         containers.repeated_cotangent_adjoint,
         containers.spread_cotangent,
         containers.gathered_cotangent,
         containers.unzipped_cotangent,
         containers.transposed_cotangent,
         containers.copied_cotangent,
         structured_cotangents=True)
