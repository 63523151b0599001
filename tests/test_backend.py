"""backend.broadcast_view: the same view as np.broadcast_to (values, shape,
strides, read-only) or its error, and repeat_to's seeds through it."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import array_shapes, arrays, broadcastable_shapes

from s2sgrad import runtime
from s2sgrad.backend import broadcast_view


@st.composite
def _pairs(draw):
    shape = draw(array_shapes(min_dims=0, max_dims=3, min_side=0, max_side=4))
    target = draw(broadcastable_shapes(shape, min_dims=len(shape), max_dims=4, min_side=0,
                                       max_side=4))
    dtype = draw(st.sampled_from([np.float64, np.float32, np.complex128, np.int64, np.bool_]))
    a = draw(arrays(dtype, shape))
    return a, target


def _same(got, want):
    assert got.shape == want.shape and got.dtype == want.dtype
    # (the stride of an axis of one entry, or of none, reads nothing)
    assert [s for s, n in zip(got.strides, got.shape) if n > 1] == \
        [s for s, n in zip(want.strides, want.shape) if n > 1]
    assert not got.flags.writeable
    np.testing.assert_array_equal(got, want)


@settings(max_examples=200, deadline=None)
@given(_pairs())
def test_broadcast_view_is_broadcast_to(pair):
    a, target = pair
    try:
        want = np.broadcast_to(a, target)
    except ValueError:  # (broadcastable_shapes may give one that is not, with zero sides)
        with pytest.raises(ValueError):
            broadcast_view(a, target)
        return
    _same(broadcast_view(a, target), want)


@pytest.mark.parametrize("a", [
    np.arange(6.0)[::2],                          # not contiguous
    np.array([1, "x"], dtype=object)[:1],         # not numbers
    np.ma.masked_array([1.0, 2.0, 3.0]),          # a subclass
])
def test_broadcast_view_falls_back_to_broadcast_to(a):
    got, want = broadcast_view(a, (2, a.shape[0])), np.broadcast_to(a, (2, a.shape[0]))
    assert type(got) is type(want) and got.shape == want.shape and not got.flags.writeable
    np.testing.assert_array_equal(np.asarray(got), np.asarray(want))


def test_broadcast_view_of_a_read_only_array():
    a = np.arange(3.0)
    a.flags.writeable = False
    _same(broadcast_view(a, (2, 3)), np.broadcast_to(a, (2, 3)))


def test_broadcast_view_errors_as_broadcast_to():
    with pytest.raises(ValueError, match="broadcast"):
        broadcast_view(np.ones(3), (4,))
    with pytest.raises(ValueError):
        broadcast_view(np.ones((2, 3)), (3,))


def test_broadcast_view_keeps_its_source_alive():
    import gc

    view = broadcast_view(np.asarray(2.5), (3, 2))  # (nothing else holds the 0-d array)

    gc.collect()
    np.testing.assert_array_equal(view, np.full((3, 2), 2.5))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_repeat_to_seed_is_a_read_only_spread_in_the_argument_precision(dtype):
    like = np.ones((3, 4), dtype=dtype)
    seed = runtime.repeat_to(1.0, like)
    _same(seed, np.broadcast_to(np.asarray(1.0, dtype=dtype), (3, 4)))
    g = runtime.repeat_to(np.arange(3.0), like, axis=1)
    _same(g, np.broadcast_to(np.arange(3.0)[:, None], (3, 4)))
