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

Batched tangents (the convention every forward rule follows)
------------------------------------------------------------
``sg.hessian`` and ``sg.jacobian`` run forward code whose tangents carry a
batch of k directions at once: the tangent of a value of shape ``S`` has
shape ``(k,) + S`` -- one extra LEADING axis (a Python float's tangent has
shape ``(k,)``; a list's or tuple's is a list of its entries' batched
tangents, as ``split`` gives). Primal values never carry it. A record
serves batched code in one of four ways, tried in this order:

1. ``batched_jvp``, a batched forward rule (``@registry.defbatched(p)``):
   shaped like a forward rule ``(g, ans, *params)`` (the same parameters as
   the primitive's VJP rule), ``g`` the batched tangent of parameter ``i``
   (``(k,) + shape``), ``ans`` and the parameters primal; entry ``i`` is the
   batched tangent of the result, ``(k,) + ans.shape``. Account for the
   batch axis wherever the rule names axes or shapes: ``axis`` becomes
   ``batching.batch_axis(axis, a)`` (non-negative axes shift by one,
   ``None`` means every axis but the batch axis), a target shape
   ``batching.batch_shape(g, shape)``, an index ``batching.batch_getitem``,
   a matrix product ``batching.batch_matmul_a/_b``. Examples: ``np.sum``,
   ``np.reshape``, ``operator.getitem``, ``np.matmul`` in
   :mod:`s2sgrad.primitives.batching`.
2. the ``batches=True`` fact (``defjvp(p, batches=True)`` or
   ``deffacts``): the record's forward rule -- its ``jvp`` rule, or the
   linear/multilinear derivation (the primitive applied to the tangents) --
   is right AS IT STANDS when ``g`` has the leading axis: it only
   broadcasts ``g`` against primal values aligned from the right and names
   no axis counted from the front, no ``axis=None``, no shape
   (``inv``: ``-ans @ g @ ans``; ``np.copy``).
3. ``elementwise`` primitives need nothing: the transform lifts each
   tangent to the result's rank (``batching.lift``: ``(k, 1, ..., *S)``)
   where the operand's shape may differ from the result's, so the rule
   derived from the VJP broadcasts right. An elementwise record with its
   own ``jvp`` rule must still say ``batches=True`` (the rule is read).
4. nothing: batched code calls the forward rule (or the primitive on the
   tangents) once per direction and stacks the results
   (``batching.each_direction``) -- right, k times the call overhead. A
   rule that is not sure about the batch axis declares nothing.

``tests/primitives/test_forward_rules.py`` checks every rule case's batched
tangent against its unbatched tangents stacked, k in {1, 2, 5}.
"""

import operator

import numpy as np

from s2sgrad import runtime
from s2sgrad.primitives import (
    arrays, containers, decompositions, linalg, polynomials, products, quantiles, reductions)
from s2sgrad.primitives.arrays import along_axis_index, first_true, source_positions
from s2sgrad.primitives.containers import repeated_cotangent
from s2sgrad.primitives.elementwise import cast_like, is_inexact
from s2sgrad.primitives.linalg import euclidean_only, norm_direction, spectral_direction
from s2sgrad.primitives.reductions import (
    cumulative_axis, middle_share, prefixes, prod_of_others, prod_of_others_jvp, spread_weights,
    tie_share)
from s2sgrad.runtime import repeat_to
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
            + np.sum((linalg.p_norm_direction(x, repeat_to(ans, x, axis, keepdims), linalg.vector_order(x, ord, axis),
                                              axis)
                      + norm_direction(x, ord, axis) + spectral_direction(x, ord, axis)) * g,
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


@defjvp(np.nanprod)
def nanprod_jvp(g, ans, a, axis=None, dtype=None, out=None, keepdims=False):
    return (np.sum(prod_of_others(np.where(np.isnan(a), 1, a), axis) * np.where(np.isnan(a), 0, g),
                   axis=axis, keepdims=keepdims),)


@defjvp(np.nancumsum)
def nancumsum_jvp(g, ans, a, axis=None, dtype=None, out=None):
    return (np.cumsum(np.where(np.isnan(a), 0, g), axis=axis),)


@defjvp(np.nancumprod)
def nancumprod_jvp(g, ans, a, axis=None, dtype=None, out=None):
    along = np.sum(prod_of_others(prefixes(np.where(np.isnan(a), 1, a), axis, 1), -1)
                   * prefixes(np.where(np.isnan(a), 0, g), axis, 0), axis=-1)
    return (np.reshape(np.moveaxis(along, -1, cumulative_axis(axis)), np.shape(ans)),)


@defjvp(np.nanvar)
def nanvar_jvp(g, ans, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    centered = np.where(np.isnan(a), 0, a - np.nanmean(a, axis=axis, keepdims=True))
    return (np.sum(centered * np.where(np.isnan(a), 0, g) / reductions.number_count(a, axis, ddof),
                   axis=axis, keepdims=keepdims) * 2,)


@defjvp(np.nanstd)
def nanstd_jvp(g, ans, a, axis=None, dtype=None, out=None, ddof=0, keepdims=False):
    centered = np.where(np.isnan(a), 0, a - np.nanmean(a, axis=axis, keepdims=True))
    return (np.sum(centered * np.where(np.isnan(a), 0, g) / reductions.number_count(a, axis, ddof),
                   axis=axis, keepdims=keepdims) / ans,)


@defjvp(np.trapezoid)
def trapezoid_jvp(g, ans, y, x=None, dx=1.0, axis=-1):
    return (np.trapezoid(g, x, dx, axis),
            np.sum(arrays.pair_means(y, axis) * arrays.interval_widths(g, dx, np.ndim(y), axis), axis=axis),
            np.trapezoid(y, None, g, axis) * arrays.uses_dx(x))


@defjvp(arrays.interval_widths)
def interval_widths_jvp(g, ans, x, dx, ndim, axis=-1):
    return (arrays.interval_widths(g, dx, ndim, axis), g * arrays.uses_dx(x), None, None)


@defjvp(arrays.edge_cotangent)
def edge_cotangent_jvp(g, ans, cotangent, values):
    return (arrays.edge_cotangent(g, values), None)


@defjvp(np.cov)
def cov_jvp(g, ans, m, y=None, rowvar=True, bias=False, ddof=None):
    observations = reductions.observation_matrix(m, y, rowvar)
    centered = observations - np.mean(observations, axis=1, keepdims=True)
    divisor = reductions.cov_divisor(np.shape(observations), bias, ddof)
    return (covariance_tangent(reductions.into_variables(g, np.shape(m), np.shape(y), rowvar, 0), centered, divisor,
                               ans),
            covariance_tangent(reductions.into_variables(g, np.shape(m), np.shape(y), rowvar, 1), centered, divisor,
                               ans))


@defjvp(reductions.observation_matrix)
def observation_matrix_jvp(g, ans, m, y=None, rowvar=True):
    return (reductions.into_variables(g, np.shape(m), np.shape(y), rowvar, 0),
            reductions.into_variables(g, np.shape(m), np.shape(y), rowvar, 1), None)


def covariance_tangent(direction, centered, divisor, ans):
    """The tangent of ``np.cov`` (shaped like ``ans``) along observations
    moving in ``direction``."""
    moved = np.matmul(direction - np.mean(direction, axis=1, keepdims=True), np.swapaxes(centered, 0, 1))
    return np.reshape((moved + np.swapaxes(moved, 0, 1)) / divisor, np.shape(ans))


@defjvp(np.corrcoef)
def corrcoef_jvp(g, ans, x, y=None, rowvar=True):
    observations = reductions.observation_matrix(x, y, rowvar)
    centered = observations - np.mean(observations, axis=1, keepdims=True)
    return (correlation_tangent(reductions.into_variables(g, np.shape(x), np.shape(y), rowvar, 0), centered, ans),
            correlation_tangent(reductions.into_variables(g, np.shape(x), np.shape(y), rowvar, 1), centered, ans))


def correlation_tangent(direction, centered, ans):
    """The tangent of ``np.corrcoef`` (shaped like ``ans``) along observations
    moving in ``direction``: that of C s s^T, C = Xc Xc^T, s = diag(C)^(-1/2)."""
    count = np.shape(centered)[0]
    moved = np.matmul(direction - np.mean(direction, axis=1, keepdims=True), np.swapaxes(centered, 0, 1))
    unscaled = moved + np.swapaxes(moved, 0, 1)
    scale = 1 / np.sqrt(np.sum(centered * centered, axis=1))
    relative = np.diagonal(unscaled) * scale * scale / 2
    correlations = np.reshape(ans, (count, count))
    return np.reshape(unscaled * np.outer(scale, scale)
                      - correlations * (relative[:, None] + relative[None, :]), np.shape(ans))


@defjvp(np.vander)
def vander_jvp(g, ans, x, N=None, increasing=False):
    return (np.expand_dims(g, -1) * polynomials.power_slopes(x, N, increasing, 1), None, None)


@defjvp(polynomials.power_slopes)
def power_slopes_jvp(g, ans, x, N=None, increasing=False, order=1):
    return (np.expand_dims(g, -1) * polynomials.power_slopes(x, N, increasing, order + 1), None, None, None)


@defjvp(np.polyval)
def polyval_jvp(g, ans, p, x):
    return (np.polyval(g, x), g * np.polyval(p[:-1] * polynomials.polynomial_exponents(p), x))


@defjvp(np.polyfit)
def polyfit_jvp(g, ans, x, y, deg, rcond=None):
    powers = np.vander(x, deg + 1)
    normal = np.matmul(np.swapaxes(powers, 0, 1), powers)
    moved = np.expand_dims(g, -1) * polynomials.power_slopes(x, deg + 1, False, 1)
    residuals = y - np.matmul(powers, ans)
    return (np.linalg.solve(normal, np.matmul(np.swapaxes(moved, 0, 1), residuals)
                            - np.matmul(np.swapaxes(powers, 0, 1), np.matmul(moved, ans))),
            np.linalg.solve(normal, np.matmul(np.swapaxes(powers, 0, 1), g)), None, None)


@defjvp(np.logspace)
def logspace_jvp(g, ans, start, stop, num=50, endpoint=True, base=10.0):
    along = arrays.linspace_fractions(ans, num, endpoint)
    return (ans * cast_like(np.log(base), ans) * (1 - along) * g,
            ans * cast_like(np.log(base), ans) * along * g,
            None, None,
            ans * np.linspace(start, stop, num, endpoint) / base * g)


@defjvp(np.interp)
def interp_jvp(g, ans, x, xp, fp, left=None, right=None):
    points = np.asarray(xp)
    values = np.asarray(fp)
    segment = arrays.segment_index(x, points)
    width = points[segment + 1] - points[segment]
    along = np.clip((x - points[segment]) / width, 0, 1)
    below = arrays.outside_share(x, points, left, -1)
    above = arrays.outside_share(x, points, right, 1)
    slope = (1 - below - above) * arrays.inside_share(x, points) * (values[segment + 1] - values[segment]) / width
    return (slope * g,
            slope * ((along - 1) * np.asarray(g)[segment] - along * np.asarray(g)[segment + 1]),
            (1 - below - above) * ((1 - along) * np.asarray(g)[segment] + along * np.asarray(g)[segment + 1]),
            below * g,
            above * g)


@defjvp(np.modf)
def modf_jvp(g, ans, x):
    return ([g, np.zeros_like(x)],)


@defjvp(np.unwrap)
def unwrap_jvp(g, ans, p, discont=None, axis=-1):
    return (g, None, None)


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
         containers.tolist_cotangent,
         containers.entry_cotangents,
         structured_cotangents=True)


# == linear algebra: factorisations, solves, einsum (the linalg rules) =========
#
# The symmetric-input functions read one triangle of their argument (see
# linalg.py): the tangent they see is the symmetric matrix that triangle
# stands for, ``W∘dA + (W∘dA)^T`` with ``W = triangle_weights`` (1 on the
# strict triangle, 1/2 on the diagonal).


@defjvp(np.linalg.solve)
def solve_jvp(g, ans, a, b):
    axes = linalg.vector_axes(b)
    x = np.expand_dims(ans, axes)
    return (-np.squeeze(np.linalg.solve(a, np.matmul(g, x)), axes), np.linalg.solve(a, g))


@defjvp(np.linalg.cholesky)
def cholesky_jvp(g, ans, a, *, upper=False):
    lower = linalg.as_lower(ans, upper)
    half = g * linalg.triangle_weights(a, upper)
    inner = np.linalg.solve(lower, np.swapaxes(np.linalg.solve(lower, half + np.swapaxes(half, -1, -2)), -1, -2))
    return (linalg.as_lower(np.matmul(lower, inner * linalg.triangle_weights(ans)), upper),)


@defjvp(np.linalg.slogdet)
def slogdet_jvp(g, ans, a):
    # the sign is piecewise constant: its tangent is zero
    return ((np.zeros_like(ans[0]), np.sum(np.swapaxes(np.linalg.inv(a), -1, -2) * g, axis=(-2, -1))),)


@defjvp(np.linalg.eigh)
def eigh_jvp(g, ans, a, UPLO="L"):
    w = ans[0]
    v = ans[1]
    eye = linalg.identity_like(w)
    half = g * linalg.triangle_weights(a, UPLO)
    rotated = np.matmul(np.swapaxes(v, -1, -2), np.matmul(half + np.swapaxes(half, -1, -2), v))
    # 1 / (w_j - w_i) off the diagonal, 0 on it
    gaps = 1.0 / (np.expand_dims(w, -2) - np.expand_dims(w, -1) + eye) - eye
    return ((np.sum(rotated * eye, axis=-1), np.matmul(v, rotated * gaps)), None)


@defjvp(np.linalg.eigvalsh)
def eigvalsh_jvp(g, ans, a, UPLO="L"):
    v = np.linalg.eigh(a, UPLO)[1]
    half = g * linalg.triangle_weights(a, UPLO)
    return (np.sum(v * np.matmul(half + np.swapaxes(half, -1, -2), v), axis=-2), None)


@defjvp(np.linalg.pinv)
def pinv_jvp(g, ans, a, rcond=None, hermitian=False, *, rtol=None):
    # the derivative where the rank is locally constant (Golub and Pereyra)
    x_t = np.swapaxes(ans, -1, -2)
    g_t = np.swapaxes(g, -1, -2)
    left = np.matmul(ans, np.matmul(x_t, g_t))
    right = np.matmul(g_t, np.matmul(x_t, ans))
    return (-np.matmul(ans, np.matmul(g, ans)) + left - np.matmul(left, np.matmul(a, ans))
            + right - np.matmul(ans, np.matmul(a, right)),)


@defjvp(np.linalg.svd)
def svd_jvp(g, ans, a, full_matrices=True, compute_uv=True, hermitian=False):
    return (linalg.svd_tangent(g, ans, a, full_matrices, compute_uv),)


@defjvp(linalg.svd_adjoint)
def svd_adjoint_jvp(g, ans, cotangent, results, a, full_matrices=True, compute_uv=True):
    return (linalg.no_second_order("np.linalg.svd"), linalg.no_second_order("np.linalg.svd"),
            linalg.no_second_order("np.linalg.svd"), None, None)


@defjvp(np.einsum)
def einsum_jvp(g, ans, *operands, out=None, optimize=False):
    return (products.einsum_tangent(g, operands),)


@defjvp(products.einsum_cotangents)
def einsum_cotangents_jvp(g, ans, cotangent, operands):
    return (products.einsum_cotangents(g, operands), products.einsum_cotangents_tangent(g, cotangent, operands))


@defjvp(np.linalg.multi_dot)
def multi_dot_jvp(g, ans, arrays, *, out=None):
    return (products.multi_dot_tangent(g, arrays),)


@defjvp(products.multi_dot_cotangents)
def multi_dot_cotangents_jvp(g, ans, cotangent, arrays):
    return (products.multi_dot_cotangents(g, arrays), products.multi_dot_cotangents_tangent(g, cotangent, arrays))


@defjvp(np.linalg.matrix_power)
def matrix_power_jvp(g, ans, a, n):
    k = np.shape(a)[-1]
    return (np.linalg.matrix_power(linalg.upper_block(g, a), n)[..., :k, k:], None)


deffacts(np.kron, products.kron_adjoint_a, products.kron_adjoint_b,
         np.cross, products.cross_adjoint_a, products.cross_adjoint_b, multilinear=True)


@defjvp(np.linalg.qr)
def qr_jvp(g, ans, a, mode="reduced"):
    return (decompositions.qr_tangent(g, ans, a, mode), None)


@defjvp(np.linalg.eig)
def eig_jvp(g, ans, a):
    return (decompositions.eig_tangent(g, ans, a),)


@defjvp(np.linalg.eigvals)
def eigvals_jvp(g, ans, a):
    return (decompositions.eigvals_tangent(g, a),)


@defjvp(np.linalg.lstsq)
def lstsq_jvp(g, ans, a, b, rcond=None):
    return (decompositions.lstsq_tangent(g, None, ans, a, b, rcond),
            decompositions.lstsq_tangent(None, g, ans, a, b, rcond), None)


@defjvp(np.quantile)
def quantile_jvp(g, ans, a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False, *,
                 weights=None):
    return (quantiles.quantile_tangent(g, None, ans, a, q, axis, method, weights, False, False),
            quantiles.quantile_tangent(None, g, ans, a, q, axis, method, weights, False, False))


@defjvp(np.percentile)
def percentile_jvp(g, ans, a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False, *,
                   weights=None):
    return (quantiles.quantile_tangent(g, None, ans, a, q, axis, method, weights, False, True),
            quantiles.quantile_tangent(None, g, ans, a, q, axis, method, weights, False, True))


@defjvp(np.nanquantile)
def nanquantile_jvp(g, ans, a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False, *,
                    weights=None):
    return (quantiles.quantile_tangent(g, None, ans, a, q, axis, method, weights, True, False),
            quantiles.quantile_tangent(None, g, ans, a, q, axis, method, weights, True, False))


@defjvp(np.nanpercentile)
def nanpercentile_jvp(g, ans, a, q, axis=None, out=None, overwrite_input=False, method="linear", keepdims=False, *,
                      weights=None):
    return (quantiles.quantile_tangent(g, None, ans, a, q, axis, method, weights, True, True),
            quantiles.quantile_tangent(None, g, ans, a, q, axis, method, weights, True, True))


@defjvp(np.linalg.svdvals)
def svdvals_jvp(g, ans, x):
    return (linalg.svd_tangent(g, ans, x, False, False),)


@defjvp(np.linalg.matrix_norm)
def matrix_norm_jvp(g, ans, x, *, keepdims=False, ord="fro"):
    return (np.sum(x * g, axis=(-2, -1), keepdims=keepdims) / ans * euclidean_only(x, ord, (-2, -1))
            + np.sum((norm_direction(x, ord, (-2, -1)) + spectral_direction(x, ord, (-2, -1))) * g,
                     axis=(-2, -1), keepdims=keepdims),)


deffacts(np.linalg.matmul, np.linalg.outer, np.linalg.cross, np.linalg.tensordot, np.linalg.vecdot,
         np.vecdot, np.matvec, np.vecmat, products.vecdot_adjoint, multilinear=True)


# -- rules that landed beside forward mode: sorting, selecting, casting, the
# NaN-ignoring extremes, cumulative products, np.gradient and its helpers

@defjvp(np.nanmax, np.nanmin)
def nan_extreme_jvp(g, ans, a, axis=None, out=None, keepdims=False):
    # (a NaN equals nothing: it gets no share)
    return (np.sum(tie_share(a, ans, axis, keepdims) * g, axis=axis, keepdims=keepdims),)


@defjvp(np.ptp)
def ptp_jvp(g, ans, a, axis=None, out=None, keepdims=False):
    top = tie_share(a, np.max(a, axis=axis, keepdims=True), axis, True)
    bottom = tie_share(a, np.min(a, axis=axis, keepdims=True), axis, True)
    return (np.sum((top - bottom) * g, axis=axis, keepdims=keepdims),)


@defjvp(np.median)
def median_jvp(g, ans, a, axis=None, out=None, overwrite_input=False, keepdims=False):
    return (np.sum(middle_share(a, axis) * g, axis=axis, keepdims=keepdims),)


@defjvp(np.average)
def average_jvp(g, ans, a, axis=None, weights=None):
    spread = spread_weights(weights, a, axis)
    total = np.sum(spread, axis=axis)
    return (np.sum(spread * g, axis=axis) / total,
            None,
            np.sum(spread_weights(g, a, axis) * (a - repeat_to(ans, a, axis)), axis=axis) / total)


@defjvp(np.cumprod)
def cumprod_jvp(g, ans, a, axis=None, dtype=None, out=None):
    # row i of the prefixes holds a_j for j <= i: the derivative of its product
    along = np.sum(prod_of_others(prefixes(a, axis, 1), -1) * prefixes(g, axis, 0), axis=-1)
    return (np.reshape(np.moveaxis(along, -1, cumulative_axis(axis)), np.shape(ans)),)


if arrays.SORT_DESCENDS:
    @defjvp(np.sort)
    def sort_jvp(g, ans, a, axis=-1, kind=None, order=None, *, stable=None, descending=False):
        return (g[along_axis_index(np.shape(a), source_positions(a, ans, axis), axis)],)
else:
    @defjvp(np.sort)
    def sort_jvp(g, ans, a, axis=-1, kind=None, order=None, *, stable=None):
        return (g[along_axis_index(np.shape(a), source_positions(a, ans, axis), axis)],)


@defjvp(np.partition)
def partition_jvp(g, ans, a, kth, axis=-1, kind="introselect", order=None):
    return (g[along_axis_index(np.shape(a), source_positions(a, ans, axis), axis)], None)


@defjvp(np.select)
def select_jvp(g, ans, condlist, choicelist, default=0):
    return (None,
            np.broadcast_to(np.select(condlist, g, 0), np.shape(ans)),
            np.broadcast_to(np.where(first_true(condlist)[len(condlist)], g, 0), np.shape(ans)))


@defjvp(np.choose)
def choose_jvp(g, ans, a, choices, out=None, mode="raise"):
    return (None, np.broadcast_to(np.choose(a, g, mode=mode), np.shape(ans)))


# a cast to a floating type passes the tangent through in the result's
# dtype; to an integer or bool type the result is piecewise constant
@defjvp(np.astype)
def astype_jvp(g, ans, x, dtype, /, *, copy=True, device=None):
    return (cast_like(g, ans) * is_inexact(dtype), None)


# x = mantissa * 2**exponent: the exponent is piecewise constant
@defjvp(np.frexp)
def frexp_jvp(g, ans, x):
    return ([np.ldexp(g, np.negative(ans[1])), np.zeros_like(x)],)


@defjvp(np.gradient)
def gradient_jvp(g, ans, f, spacing=1.0, *, axis=None, edge_order=1):
    return (np.gradient(g, spacing, axis=axis, edge_order=edge_order),
            arrays.scaled_parts(-g / spacing, ans))


@defjvp(arrays.gradient_adjoint)
def gradient_adjoint_jvp(g, ans, cotangent, f, spacing=1.0, axis=None, edge_order=1):
    return (arrays.gradient_adjoint(g, f, spacing, axis, edge_order), None, -g / spacing * ans)


# bilinear: the forward rule applies them with one argument replaced by its tangent
deffacts(arrays.parts_inner, arrays.scaled_parts, multilinear=True)


@defjvp(np.linalg.vector_norm)
def vector_norm_jvp(g, ans, x, *, axis=None, keepdims=False, ord=2):
    return (np.sum(linalg.p_norm_direction(x, repeat_to(ans, x, axis, keepdims), ord, axis) * g,
                   axis=axis, keepdims=keepdims),)


# (right as it stands on batched tangents: g only broadcasts against x-shaped values)
@defjvp(linalg.p_norm_direction, batches=True)
def p_norm_direction_jvp(g, ans, x, norm, ord=2, axis=None):
    return (g * linalg.p_norm_slope(ord) / norm * (np.abs(x) / norm) ** linalg.p_norm_curvature(ord),
            -g * linalg.p_norm_slope(ord) / norm * ans, None, None)


@defjvp(np.linalg.tensorinv)
def tensorinv_jvp(g, ans, a, ind=2):
    inverse = linalg.as_matrix(ans, np.ndim(a) - ind)
    return (np.reshape(-np.matmul(inverse, np.matmul(linalg.as_matrix(g, ind), inverse)), np.shape(ans)), None)


@defjvp(np.linalg.tensorsolve)
def tensorsolve_jvp(g, ans, a, b, axes=None):
    matrix = linalg.as_matrix(np.transpose(a, linalg.tensorsolve_order(np.ndim(a), axes)), np.ndim(b))
    return (np.reshape(np.linalg.solve(matrix, -np.matmul(
                linalg.as_matrix(np.transpose(g, linalg.tensorsolve_order(np.ndim(a), axes)), np.ndim(b)),
                np.ravel(ans))), np.shape(ans)),
            np.reshape(np.linalg.solve(matrix, np.ravel(g)), np.shape(ans)), None)


@defjvp(np.linalg.cond)
def cond_jvp(g, ans, x, p=None):
    inverse = np.linalg.inv(x)
    order = linalg.cond_order(p)
    norm_x = np.linalg.norm(x, order, (-2, -1))
    norm_inverse = np.linalg.norm(inverse, order, (-2, -1))
    return (norm_inverse * np.sum(
                (x / repeat_to(norm_x, x, (-2, -1)) * euclidean_only(x, order, (-2, -1))
                 + norm_direction(x, order, (-2, -1)) + spectral_direction(x, order, (-2, -1))) * g,
                axis=(-2, -1))
            - norm_x * np.sum(
                (inverse / repeat_to(norm_inverse, x, (-2, -1)) * euclidean_only(x, order, (-2, -1))
                 + norm_direction(inverse, order, (-2, -1)) + spectral_direction(inverse, order, (-2, -1)))
                * np.matmul(inverse, np.matmul(g, inverse)), axis=(-2, -1)), None)


@defjvp(quantiles.quantile_cotangents)
def quantile_cotangents_jvp(g, ans, cotangent, a, q, axis=None, method="linear", weights=None, nan=False,
                            percent=False):
    return (quantiles.quantile_cotangents(g, a, q, axis, method, weights, nan, percent),
            quantiles.quantile_cotangents_tangent(g, None, cotangent, a, q, axis, method, weights, nan, percent),
            quantiles.quantile_cotangents_tangent(None, g, cotangent, a, q, axis, method, weights, nan, percent))


@defjvp(quantiles.quantile_curvature)
def quantile_curvature_jvp(g, ans, h, cotangent, a, q, axis=None, method="linear", weights=None, nan=False,
                           percent=False):
    return (linalg.no_second_order("the derivative of np.quantile and np.percentile (a third derivative)"), linalg.no_second_order("the derivative of np.quantile and np.percentile (a third derivative)"),
            linalg.no_second_order("the derivative of np.quantile and np.percentile (a third derivative)"), linalg.no_second_order("the derivative of np.quantile and np.percentile (a third derivative)"))


@defjvp(quantiles.quantile_cotangents_tangent)
def quantile_cotangents_tangent_jvp(g, ans, d_a, d_q, cotangent, a, q, axis=None, method="linear", weights=None,
                                    nan=False, percent=False):
    return (linalg.no_second_order("the derivative of np.quantile and np.percentile (a third derivative)"), linalg.no_second_order("the derivative of np.quantile and np.percentile (a third derivative)"),
            linalg.no_second_order("the derivative of np.quantile and np.percentile (a third derivative)"), linalg.no_second_order("the derivative of np.quantile and np.percentile (a third derivative)"),
            linalg.no_second_order("the derivative of np.quantile and np.percentile (a third derivative)"))


@defjvp(decompositions.eigvals_adjoint)
def eigvals_adjoint_jvp(g, ans, cotangent, a):
    return (decompositions.eigvals_adjoint(g, a), decompositions.eigvals_adjoint_tangent(g, cotangent, a))


@defjvp(decompositions.eigvals_tangent)
def eigvals_tangent_jvp(g, ans, tangent, a):
    return (decompositions.eigvals_tangent(g, a), decompositions.eigvals_tangent_tangent(g, tangent, a))


@defjvp(quantiles.quantile_tangent)
def quantile_tangent_jvp(g, ans, d_a, d_q, result, a, q, axis=None, method="linear", weights=None, nan=False,
                         percent=False):
    return (quantiles.quantile_tangent(g, None, result, a, q, axis, method, weights, nan, percent),
            quantiles.quantile_tangent(None, g, result, a, q, axis, method, weights, nan, percent),
            None,
            quantiles.quantile_tangent_tangent(g, None, d_a, d_q, result, a, q, axis, method, weights, nan, percent),
            quantiles.quantile_tangent_tangent(None, g, d_a, d_q, result, a, q, axis, method, weights, nan, percent))
# (the cotangent of a product whose operand may be a list: bilinear in the
# cotangent and a factor that is a number; a list and its count carry none)
@defjvp(repeated_cotangent)
def repeated_cotangent_jvp(g, ans, cotangent, a, n):
    return (repeated_cotangent(g, a, n), None, repeated_cotangent(cotangent, a, g))
