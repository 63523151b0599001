"""Sparse Hessians: fewer directions by structural sparsity and colouring.

A Hessian ``H`` (n x n) from forward over reverse costs one batched pass
along n directions. When ``H`` is sparse, columns that share no row can be
probed together (Curtis, Powell and Reid; the column colouring of ColPack
and SparseDiffTools): along ``e_j + e_j' + ...`` for a colour class, row
``i`` of the result is ``H[i, j]`` for the one ``j`` of the class that is
in row ``i``'s pattern. So c colours cost c directions, not n.

The pattern is found once per argument shape, from two batched passes at
the first call: the ordinary one (its nonzero entries) and one whose unit
directions carry NaN instead of 1. NaN survives every arithmetic operation
(``0 * nan`` is nan), so a result entry that any chain of operations
connects to direction j is NaN; entries it does not reach stay 0. That is
the structural pattern at that point, but a program may select by value
(``np.where``, a branch, an index computed from the data), so the pattern
may differ elsewhere. Hence every sparse call is CHECKED: one more
direction, a random probe ``r``, is pushed through the same pass, and the
recovered Hessian must reproduce its product ``H r`` row by row (to
rounding); if it does not, the entry is not trusted: that call and every
later one of that shape run the dense pass. A wrong pattern never reaches
the caller.

Output guarantees: :meth:`Plan.hessian` returns the Hessian the dense pass
would give (to rounding) or None, and then the plan is disabled.
"""

from s2sgrad.backend import xp

#: the dense pass is kept when colouring would save less than this share
_MOST_DIRECTIONS = 0.5
#: or when there are fewer directions than this: a pass along a few
#: directions costs its statements' call overhead, whatever their number,
#: and the recovery and its check would cost more than they save (measured
#: on Rosenbrock: break-even near n = 20)
FEWEST_DIRECTIONS = 16


class Plan:
    """The colouring of one argument shape: its seeds and how to recover."""

    def __init__(self, pattern, dtype, shape):
        m, k = pattern.shape  # (gradient entries, argument entries)
        self.m, self.k = m, k
        colours = colour_columns(pattern)
        self.count = int(colours.max()) + 1 if k else 0
        rows, cols = xp.nonzero(pattern)
        self.dest = rows * k + cols  # where each nonzero goes in H (flat)
        self.src = colours[cols] * m + rows  # where it is in the compressed result
        seeds = xp.zeros((self.count + 1, k), dtype=dtype)
        seeds[colours, xp.arange(k)] = 1.0
        rng = xp.random.default_rng(0)
        seeds[-1] = rng.standard_normal(k)
        self.probe = seeds[-1].copy()
        self.abs_probe = xp.abs(self.probe)
        #: the directions, ``(count + 1,) + shape`` (read-only)
        self.seeds = seeds.reshape((self.count + 1,) + tuple(shape))
        self.seeds.flags.writeable = False
        self.rtol = float(xp.sqrt(xp.finfo(dtype).eps)) if xp.issubdtype(dtype, xp.floating) \
            else 1.5e-8
        self.enabled = True

    def worth_it(self):
        return self.count + 1 <= _MOST_DIRECTIONS * self.k

    def hessian(self, derivative):
        """``H`` as an (m, k) array from the batched tangent of the gradient
        along the seeds (``(count + 1, m)``), or None if the probe shows the
        pattern is wrong here (the plan is then disabled)."""
        compressed = derivative.reshape(self.count + 1, self.m)
        flat = xp.zeros(self.m * self.k, dtype=compressed.dtype)
        flat[self.dest] = compressed.ravel().take(self.src)
        H = flat.reshape(self.m, self.k)
        error = xp.abs(H @ self.probe - compressed[-1])
        # (row by row, to rounding; a NaN anywhere fails too)
        if not (error <= (xp.abs(H) @ self.abs_probe) * self.rtol).all():
            self.enabled = False
            return None
        return H


def colour_columns(pattern):
    """A colour per column of the boolean ``pattern`` (m x k) such that no
    two columns of one colour have a nonzero in the same row (greedy, in
    column order)."""
    m, k = pattern.shape
    colours = xp.full(k, -1, dtype=xp.intp)
    rows_of = [xp.flatnonzero(pattern[:, j]) for j in range(k)]
    cols_of = [xp.flatnonzero(pattern[i]) for i in range(m)]
    for j in range(k):
        used = set()
        for i in rows_of[j]:
            used.update(int(c) for c in colours[cols_of[i]] if c >= 0)
        c = 0
        while c in used:
            c += 1
        colours[j] = c
    return colours


def nan_basis(k, shape, dtype):
    """Unit directions with NaN in place of 1, ``(k,) + shape``."""
    basis = xp.zeros((k, k), dtype=dtype)
    basis[xp.arange(k), xp.arange(k)] = xp.nan
    return basis.reshape((k,) + tuple(shape))


def pattern_of(dense, marked):
    """The (m, k) pattern ``H[i, j]``: nonzero in the dense pass's tangents
    ``dense`` (k, m) or NaN in the NaN-marked pass's ``marked`` (k, m)."""
    return ((dense != 0) | xp.isnan(dense) | xp.isnan(marked)).T
