"""s2sgrad.tf against TensorFlow's documented behaviour, one behaviour per test.

Each test cites where TensorFlow states (or tests) what it asserts: the
reference is ``tensorflow/python/eager/backprop.py`` (``GradientTape``) and
its tests ``backprop_test.py``, and the API pages of tensorflow.org.
"""

import numpy as np
import pytest

import s2sgrad.tf as tf

# TF 2.5+ backprop.py, GradientTape.gradient: ``if self._tape is None: raise
# RuntimeError("A non-persistent GradientTape can only be used to compute one
# set of gradients (or jacobians)")``; ``_tape`` is None until the tape is entered.
SPENT = "A non-persistent GradientTape can only be used to compute one set of gradients"


# -- 1. a tape that was never entered -------------------------------------------------


def test_gradient_on_a_tape_never_entered_raises_runtime_error():
    x = tf.constant(3.0)
    tape = tf.GradientTape()
    with pytest.raises(RuntimeError, match=SPENT):
        tape.gradient(x, x)


def test_jacobian_on_a_tape_never_entered_raises_runtime_error():
    x = tf.constant([3.0, 4.0])
    tape = tf.GradientTape(persistent=True)
    with pytest.raises(RuntimeError, match=SPENT):
        tape.jacobian(x, x)


def test_a_tape_entered_later_records_as_usual():
    x = tf.Variable(3.0)
    tape = tf.GradientTape()
    with tape:
        y = x * x
    assert tape.gradient(y, x).numpy() == 6.0


# -- 2. stop_recording and reset outside the context ---------------------------------
# backprop.py: stop_recording raises RuntimeError("Trying to stop recording a
# tape which is not recording.") when ``_tape is None`` and otherwise pops the
# tape, whose ``_pop_tape`` raises ValueError("Tape is not recording.") outside
# the context; reset() is ``_pop_tape(); _tape = None; _push_tape()``.


def test_stop_recording_on_a_tape_never_entered_raises_runtime_error():
    tape = tf.GradientTape()
    with pytest.raises(RuntimeError, match="Trying to stop recording a tape which is not recording"):
        with tape.stop_recording():
            pass


def test_stop_recording_after_the_context_raises_value_error():
    with tf.GradientTape() as tape:
        pass
    with pytest.raises(ValueError, match="Tape is not recording"):
        with tape.stop_recording():
            pass


def test_stop_recording_inside_the_context_pauses_recording():
    # tensorflow.org/api_docs/python/tf/GradientTape#stop_recording: the example
    x = tf.constant(4.0)
    with tf.GradientTape() as tape:
        tape.watch(x)
        with tape.stop_recording():
            y = x**2
    assert tape.gradient(y, x) is None


@pytest.mark.parametrize("entered", [False, True])
def test_reset_outside_the_context_raises_value_error(entered):
    tape = tf.GradientTape()
    if entered:
        with tape:
            pass
    with pytest.raises(ValueError, match="Tape is not recording"):
        tape.reset()


def test_reset_inside_the_context_forgets_what_came_before():
    # tensorflow.org/api_docs/python/tf/GradientTape#reset: "Only differentiates
    # other_loss_fn, not loss_fn"
    x = tf.Variable(2.0)
    with tf.GradientTape() as tape:
        loss = x * x
        tape.reset()
        loss += 3.0 * x
    assert tape.gradient(loss, x).numpy() == 3.0


# -- 5. custom_gradient ------------------------------------------------------------------
# tensorflow.org/api_docs/python/tf/custom_gradient (log1pexp, the variables=
# form); custom_gradient.py, _eager_mode_decorator: the input gradients are
# ``nest.flatten(grad_fn(...))`` and must number the inputs ("custom_gradient
# function expected to return {n} gradients, but returned {m} instead."), and
# with variables grad_fn returns (input_grads, variable_grads), one per
# variable ("Must return gradient for each variable from @custom_gradient grad_fn.").


def _grads(f, *values, variables=()):
    xs = [tf.constant(v) for v in values]
    with tf.GradientTape() as tape:
        tape.watch(xs)
        y = f(*xs)
    return tape.gradient(y, xs + list(variables))


def test_custom_gradient_of_one_input_returning_one_tensor():
    @tf.custom_gradient
    def log1pexp(x):
        e = tf.exp(x)

        def grad(upstream):
            return upstream * (1 - 1 / (1 + e))

        return tf.math.log(1 + e), grad

    # TF's page: the stable gradient at 100 is 1.0 (the naive one is NaN)
    (g,) = _grads(log1pexp, 100.0)
    assert g.numpy() == np.float32(1.0)
    (g,) = _grads(log1pexp, 0.5)
    assert np.isclose(g.numpy(), 1 / (1 + np.exp(-0.5)), rtol=1e-6)


def test_custom_gradient_of_one_input_returning_a_one_element_list():
    @tf.custom_gradient
    def triple(x):
        return 3.0 * x, lambda dy: [3.0 * dy]

    (g,) = _grads(triple, 2.0)
    assert g.numpy() == 3.0


def test_custom_gradient_with_variables_keyword():
    v = tf.Variable(2.0)

    @tf.custom_gradient
    def scale(x):
        def grad(dy, variables=None):
            assert list(variables) == [v]
            return dy * v, [dy * x]

        return x * v, grad

    gx, gv = _grads(scale, 3.0, variables=[v])
    assert (gx.numpy(), gv.numpy()) == (2.0, 3.0)  # d(xv)/dx = v, d(xv)/dv = x


def test_custom_gradient_returning_too_few_input_gradients_raises_value_error():
    @tf.custom_gradient
    def product(x, y):
        return x * y, lambda dz: dz * y

    with pytest.raises(
        ValueError,
        match=r"custom_gradient function expected to return 2 gradients, but returned 1 instead",
    ):
        _grads(product, 1.0, 2.0)


def test_custom_gradient_returning_too_many_input_gradients_raises_value_error():
    @tf.custom_gradient
    def double(x):
        return 2.0 * x, lambda dz: (dz, dz)

    with pytest.raises(
        ValueError,
        match=r"custom_gradient function expected to return 1 gradients, but returned 2 instead",
    ):
        _grads(double, 1.0)


def test_custom_gradient_missing_a_variable_gradient_raises_value_error():
    v = tf.Variable(2.0)

    @tf.custom_gradient
    def scale(x):
        return x * v, lambda dy, variables=None: (dy * v, [])

    with pytest.raises(ValueError, match="Must return gradient for each variable"):
        _grads(scale, 3.0, variables=[v])


# -- 7. clip_by_global_norm given a tensor --------------------------------------------------
# clip_ops.py, clip_by_global_norm and global_norm: ``if not isinstance(t_list,
# collections_abc.Sequence) or isinstance(t_list, str): raise TypeError("`t_list`
# should be a sequence of tensors. ...")``.


@pytest.mark.parametrize(
    "t_list",
    [
        lambda: tf.constant([3.0, 4.0]),
        lambda: tf.constant(3.0),
        lambda: tf.Variable([3.0, 4.0]),
        lambda: np.array([3.0, 4.0]),
        lambda: "ab",
    ],
    ids=["tensor", "scalar", "variable", "ndarray", "str"],
)
@pytest.mark.parametrize("op", [
    lambda t: tf.clip_by_global_norm(t, 1.0),
    lambda t: tf.linalg.global_norm(t),
], ids=["clip_by_global_norm", "global_norm"])
def test_a_non_sequence_t_list_raises_type_error(op, t_list):
    with pytest.raises(TypeError, match="`t_list` should be a sequence of tensors"):
        op(t_list())


def test_clip_by_global_norm_of_a_list_and_a_tuple():
    for t_list in ([tf.constant([3.0, 4.0]), None], (tf.constant([3.0, 4.0]), None)):
        clipped, norm = tf.clip_by_global_norm(t_list, 1.0)
        assert norm.numpy() == np.float32(5.0)
        np.testing.assert_allclose(clipped[0].numpy(), [0.6, 0.8], rtol=1e-6)
        assert clipped[1] is None


# -- 9. the namespace holds TensorFlow's names only -----------------------------------
# Names of TensorFlow 2's top level (tensorflow.org/api_docs/python/tf, "Module:
# tf", TF 2.x): modules, classes, functions and dtypes; the subset s2sgrad.tf
# may provide. Not here, on purpose: TF 1's top-level names TF 2 moved to tf.math
# (tf.log, tf.ceil, tf.rsqrt, ...), and implementation names (np, TFTensor, ...).
TF2_TOP_LEVEL = frozenset(
    """
    GradientTape Module RaggedTensor SparseTensor Tensor TensorShape TensorSpec
    UnconnectedGradients Variable DType
    audio autodiff bitwise compat config data debugging distribute dtypes errors
    experimental feature_column graph_util image io keras linalg lite lookup math
    mlir nest nn quantization queue ragged random raw_ops saved_model sets signal
    sparse strings summary sysconfig test tpu train types version xla
    abs acos acosh add add_n argmax argmin argsort as_dtype as_string asin asinh
    assert_equal assert_greater assert_less assert_rank atan atan2 atanh
    batch_to_space bitcast boolean_mask broadcast_dynamic_shape broadcast_static_shape
    broadcast_to case cast clip_by_global_norm clip_by_norm clip_by_value complex
    concat cond constant control_dependencies convert_to_tensor cos cosh cumsum
    custom_gradient device divide dynamic_partition dynamic_stitch edit_distance
    einsum ensure_shape equal executing_eagerly exp expand_dims extract_volume_patches
    eye fill fingerprint floor floordiv foldl foldr function gather gather_nd
    get_logger get_static_value grad_pass_through gradients greater greater_equal
    group guarantee_const hessians histogram_fixed_width histogram_fixed_width_bins
    identity identity_n import_graph_def init_scope inside_function is_symbolic_tensor
    is_tensor less less_equal linspace load_library load_op_library logical_and
    logical_not logical_or make_ndarray make_tensor_proto map_fn matmul matrix_square_root
    maximum meshgrid minimum multiply name_scope negative no_gradient no_op nondifferentiable_batch_function
    norm not_equal numpy_function one_hot ones ones_like pad parallel_stack pow print
    py_function quantize_and_dequantize_v4 random_index_shuffle range rank realdiv recompute_grad
    reduce_all reduce_any reduce_logsumexp reduce_max reduce_mean reduce_min
    reduce_prod reduce_sum register_tensor_conversion_function repeat required_space_to_batch_paddings
    reshape reverse reverse_sequence roll round saturate_cast scalar_mul scan scatter_nd
    searchsorted sequence_mask shape shape_n sigmoid sign sin sinh size slice sort
    space_to_batch space_to_batch_nd split sqrt square squeeze stack stop_gradient
    strided_slice subtract switch_case tan tanh tensor_scatter_nd_add tensor_scatter_nd_sub
    tensor_scatter_nd_update tensordot tile timestamp transpose truediv truncatediv
    truncatemod tuple type_spec_from_value unique unique_with_counts unravel_index
    unstack variable_creator_scope vectorized_map where while_loop zeros zeros_like
    bfloat16 bool complex128 complex64 double float16 float32 float64 half int16
    int32 int64 int8 qint16 qint32 qint8 quint16 quint8 resource string uint16
    uint32 uint64 uint8 variant newaxis
    """.split()
)


def test_every_public_name_of_the_namespace_is_a_tensorflow_2_name():
    public = {n for n in dir(tf) if not n.startswith("_")}
    assert public - TF2_TOP_LEVEL == set()


def test_implementation_names_are_not_in_the_namespace():
    for name in ("np", "functools", "operator", "TFTensor", "TFVariable", "EagerTensor",
                 "ResourceVariable", "as_tensor", "tf_constant", "tf_value", "tf_print",
                 "Function", "log", "rsqrt"):
        assert not hasattr(tf, name), name


def test_names_moved_to_tf_math_in_tensorflow_2_are_there():
    for name in ("log", "ceil", "expm1", "log1p", "rsqrt", "reciprocal", "is_nan",
                 "squared_difference", "reduce_std", "reduce_variance", "floormod"):
        assert callable(getattr(tf.math, name)), name
    assert callable(tf.nn.softplus) and callable(tf.linalg.global_norm)


# -- 8. type names, as TF's eager classes -----------------------------------------------
# In TF 2 eager, type(tf.constant(1.0)) is tensorflow.python.framework.ops.EagerTensor
# (a subclass of tf.Tensor) and type(tf.Variable(1.0)) is
# tensorflow.python.ops.resource_variable_ops.ResourceVariable.


def test_tensor_and_variable_type_names():
    t, v = tf.constant(1.0), tf.Variable(1.0)
    assert type(t).__name__ == "EagerTensor" and isinstance(t, tf.Tensor)
    assert type(v).__name__ == "ResourceVariable" and isinstance(v, tf.Variable)
    assert type(t * 2.0).__name__ == "EagerTensor"
    assert type(v * 2.0).__name__ == "EagerTensor"


# -- 10. dtypes of conversions ---------------------------------------------------------
# tensorflow.org/api_docs/python/tf/constant and tf/convert_to_tensor: Python
# floats (and lists of them) become float32, ints int32. math_ops.py,
# binary_op_wrapper: a non-tensor operand is ``convert_to_tensor(y,
# dtype=x.dtype)``; truediv casts 8/16-bit integers to float32 and 32/64-bit
# ones to float64 (_TRUEDIV_TABLE); reduce_sum keeps its input's dtype;
# linspace_nd computes ``delta = (stop - start) / n_steps`` and "Re-cast[s]
# tensors as delta": integer start/stop give float64.


@pytest.mark.parametrize(
    "value, dtype",
    [(1.5, np.float32), ([1.0, 2.0], np.float32), (1, np.int32), ([[1, 2]], np.int32),
     ((1.0, 2), np.float32)],
)
def test_python_values_convert_as_tensorflow(value, dtype):
    assert tf.constant(value).dtype == dtype
    assert tf.convert_to_tensor(value).dtype == dtype


def test_reduce_sum_of_int32_stays_int32():
    s = tf.reduce_sum(tf.constant([1, 2, 3]))
    assert s.dtype == np.int32 and s.numpy() == 6
    assert tf.reduce_sum(tf.constant([[1, 2]]), axis=1).dtype == np.int32
    assert tf.reduce_prod(tf.constant([2, 3], dtype=tf.int16)).dtype == np.int16


def test_linspace_of_python_ints_is_float64():
    x = tf.linspace(-2, 2, 201)
    assert x.dtype == np.float64
    np.testing.assert_allclose(x.numpy(), np.linspace(-2.0, 2.0, 201))
    assert tf.linspace(-2.0, 2.0, 5).dtype == np.float32


def test_uint8_divided_by_255_is_float32():
    img = tf.constant(np.array([0, 51, 255], dtype=np.uint8))
    y = img / 255
    assert y.dtype == np.float32
    np.testing.assert_allclose(y.numpy(), [0.0, 0.2, 1.0], rtol=1e-6)
    assert (tf.constant([1, 2]) / 2).dtype == np.float64  # int32 divides as float64


def test_matmul_with_a_python_list_converts_it_to_the_tensor_dtype():
    x = tf.constant([[1.0, 2.0]])
    right = x @ [[1.0], [2.0]]
    left = [[1.0, 2.0]] @ tf.constant([[1.0], [2.0]])
    for r in (right, left):
        assert r.dtype == np.float32 and r.numpy().tolist() == [[5.0]]


def test_variable_times_a_python_list_is_float32_and_differentiable():
    v = tf.Variable([1.0, 2.0])
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(v * [3.0, 4.0])
    assert y.dtype == np.float32 and y.numpy() == 11.0
    g = tape.gradient(y, v)
    assert g.dtype == np.float32 and g.numpy().tolist() == [3.0, 4.0]
    assert ([3.0, 4.0] - v).numpy().tolist() == [2.0, 2.0]


# -- 8. dtype and tensor texts -------------------------------------------------------------
# dtypes.py, DType: ``__str__`` is ``"<dtype: %r>" % self.name``, ``__repr__`` is
# ``"tf." + self.name``; ``__eq__`` compares ``as_dtype(other)`` (NumPy dtypes too).
# ops.py, _EagerTensorBase.__repr__: "<tf.Tensor: shape=%s, dtype=%s, numpy=%s>"
# with ``repr(self._numpy())`` (a float32 scalar's NumPy repr: shortest digits).


@pytest.mark.parametrize("name", ["float16", "float32", "float64", "int8", "int16", "int32",
                                  "int64", "uint8", "uint16", "uint32", "uint64", "bool",
                                  "complex64", "complex128"])
def test_dtype_texts_and_equality_with_numpy(name):
    dtype = getattr(tf, name)
    np_dtype = np.dtype(np.bool_ if name == "bool" else name)
    assert str(dtype) == f"<dtype: '{name}'>"
    assert repr(dtype) == f"tf.{name}"
    assert dtype == np_dtype and np_dtype == dtype and dtype.name == name
    assert hash(dtype) == hash(np_dtype)
    assert np.zeros(2, dtype=dtype).dtype == np_dtype
    assert tf.constant([0], dtype=dtype).dtype == dtype


def test_dtype_aliases_and_as_dtype():
    assert tf.half == tf.float16 and tf.double == tf.float64
    assert tf.as_dtype(np.float32) == tf.float32 and repr(tf.as_dtype("int32")) == "tf.int32"
    assert tf.float32 != tf.float64 and tf.float32 != "not a dtype"
    assert tf.float32.is_floating and tf.int32.is_integer and tf.float32.as_numpy_dtype is np.float32


def test_cast_and_ones_take_tf_dtypes():
    assert tf.cast(tf.constant([1, 2]), tf.float32).dtype == np.float32
    assert tf.ones((2,), dtype=tf.int32).numpy().dtype == np.int32


def test_float32_scalar_repr_shows_numpy_float32_digits():
    # TF 2.x eager: <tf.Tensor: shape=(), dtype=float32, numpy=27.3>
    assert repr(tf.constant(27.3)) == "<tf.Tensor: shape=(), dtype=float32, numpy=27.3>"
    assert str(tf.constant(27.3)) == "tf.Tensor(27.3, shape=(), dtype=float32)"


# -- 4. batch_jacobian ------------------------------------------------------------------------
# backprop.py, batch_jacobian: "Need first dimension of `target` shape (...) and
# `source` shape (...) to match." (ValueError); unconnected_gradients="zero"
# gives zeros of shape target.shape + source.shape[1:].


def test_batch_jacobian_with_mismatched_batch_sizes_raises_value_error():
    x = tf.constant([[1.0, 2.0], [3.0, 4.0]])
    z = tf.constant([[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    with tf.GradientTape() as tape:
        tape.watch([x, z])
        y = x * 2.0
    with pytest.raises(ValueError, match="Need first dimension of .*target.* shape .* and .*source.* shape .* to match"):
        tape.batch_jacobian(y, z)


def test_batch_jacobian_of_an_unconnected_source_with_zero():
    x = tf.constant(np.ones((2, 3), np.float32))
    z = tf.constant(np.ones((2, 4), np.float32))
    with tf.GradientTape(persistent=True) as tape:
        tape.watch([x, z])
        y = x * 2.0
    zeros = tape.batch_jacobian(y, z, unconnected_gradients="zero")
    assert zeros.shape == (2, 3, 4) and zeros.dtype == np.float32
    assert not np.any(zeros.numpy())
    assert tape.batch_jacobian(y, z) is None
    j = tape.batch_jacobian(y, x)
    np.testing.assert_array_equal(j.numpy(), np.broadcast_to(2.0 * np.eye(3), (2, 3, 3)))


# -- 3. watched_variables -----------------------------------------------------------------------
# backprop.py: watched_variables "Returns variables watched by this tape in order
# of construction"; ``gradient`` on a non-persistent tape keeps
# ``self._watched_variables`` before dropping the tape; reset starts a new tape.


def test_watched_variables_in_order_of_construction_variables_only():
    a, b, c = tf.Variable(1.0), tf.Variable(2.0), tf.Variable(3.0)
    x = tf.constant(4.0)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = c * b
        tape.watch(a)
        y = y * x
    assert tape.watched_variables() == (a, b, c)


def test_watched_variables_after_a_non_persistent_gradient_and_after_reset():
    a, b = tf.Variable(1.0), tf.Variable(2.0)
    with tf.GradientTape() as tape:
        y = a * 3.0
    tape.gradient(y, a)
    assert tape.watched_variables() == (a,)
    with tf.GradientTape() as tape:
        a * 2.0
        tape.reset()
        b * 2.0
    assert tape.watched_variables() == (b,)
    assert tf.GradientTape().watched_variables() == ()


@pytest.mark.parametrize("target_rank_1", [True, False])
def test_batch_jacobian_needs_rank_at_least_2(target_rank_1):
    # backprop.py, batch_jacobian: target_shape.with_rank_at_least(2) and
    # source.shape.with_rank_at_least(2)
    x = tf.constant([1.0, 2.0]) if not target_rank_1 else tf.constant([[1.0], [2.0]])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_sum(x, axis=1) if target_rank_1 else tf.reshape(x * 2.0, (2, 1))
    with pytest.raises(ValueError, match="must have rank at least 2"):
        tape.batch_jacobian(y, x)


# -- 6. ties in reduce_max / reduce_min ---------------------------------------------------------
# math_grad.py, _MinOrMaxGrad: ``indicators = cast(equal(y, op.inputs[0]));
# num_selected = reduce_sum(indicators, axes); return indicators / num_selected * grad``:
# the gradient is split evenly among the tied entries (s2sgrad's NumPy rule does the same).


@pytest.mark.parametrize("reduce, values, expected", [
    (tf.reduce_max, [1.0, 3.0, 3.0, 2.0], [0.0, 0.5, 0.5, 0.0]),
    (tf.reduce_min, [1.0, 3.0, 1.0, 1.0], [1 / 3, 0.0, 1 / 3, 1 / 3]),
    (tf.reduce_max, [2.0, 2.0, 2.0, 2.0], [0.25, 0.25, 0.25, 0.25]),
])
def test_ties_share_the_gradient_evenly(reduce, values, expected):
    x = tf.constant(values)
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = reduce(x)
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), expected, rtol=1e-6)


def test_ties_along_an_axis_are_split_per_row():
    x = tf.constant([[1.0, 1.0, 0.0], [0.0, 2.0, 1.0]])
    with tf.GradientTape() as tape:
        tape.watch(x)
        y = tf.reduce_max(x, axis=1)
    np.testing.assert_allclose(tape.gradient(y, x).numpy(), [[0.5, 0.5, 0.0], [0.0, 1.0, 0.0]])


# (tf.nn still holds np: tf.function lifts its functions' source, which names np)
@pytest.mark.parametrize("module", ["math", "linalg", "random", "keras", "errors", "keras.layers",
                                    "keras.models", "keras.metrics", "keras.initializers"])
def test_submodules_hold_no_implementation_names(module):
    namespace = tf
    for part in module.split("."):
        namespace = getattr(namespace, part)
    leaked = {"np", "functools", "operator", "pprint", "sys", "warnings", "tf_constant",
              "tf_value", "as_tensor", "collections", "inspect", "threading", "re",
              "Module", "unsupported", "unique_name"} & set(dir(namespace))
    assert leaked == set()


# -- a tensor's dtype is a tf.DType --------------------------------------------------------
# tensorflow.org/guide/tensor: print(rank_4_tensor.dtype) shows <dtype: 'float32'>;
# tf.dtypes.DType: the dtypes are interned (x.dtype is tf.float32) and compare
# equal to their NumPy types; as_numpy_dtype is the NumPy type.


def test_the_dtype_of_a_tensor_or_variable_is_a_tf_dtype():
    x, v = tf.constant([1.0, 2.0]), tf.Variable(3)
    assert str(x.dtype) == "<dtype: 'float32'>" and repr(v.dtype) == "tf.int32"
    assert x.dtype is tf.float32 and v.dtype is tf.int32 and (x * 2).dtype is tf.float32
    assert tf.as_dtype(np.float64) is tf.float64 and tf.as_dtype("int32") is tf.int32
    assert x.dtype == np.float32 and x.dtype.is_floating and x.dtype.as_numpy_dtype is np.float32
    assert np.zeros(2, dtype=x.dtype).dtype == np.float32 and x.dtype.kind == "f"
    assert {np.dtype(np.float32): "f4"}[x.dtype] == "f4"
