"""tf.function: tape blocks lifted into generated code compute what the tape computes.

Every program runs twice side by side: as the plain Python function (the
eager tape) and as a ``tf.function`` (whose tape blocks run as generated
NumPy code from the second call on). Values and gradients must be
bit-identical, TensorFlow's None gradients must be kept, and whenever the
generated code could differ (outer tapes, non-tensor inputs, errors) the
block must run on the tape. ``lifted_calls`` counts the calls that really
used the generated code, so a test cannot pass by always falling back.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import s2sgrad as sg
import s2sgrad.tf as tf
from s2sgrad.tape.blocks import LiftedBlock
from tests.fd import numerical_grad

RNG = np.random.default_rng(11)


@pytest.fixture
def lifted_calls(monkeypatch):
    """Counts the calls of blocks' generated code (that returned)."""
    counts = {"lifted": 0}
    compile_block = LiftedBlock._compile

    def counting_compile(self, wrt, args):
        compiled = compile_block(self, wrt, args)
        if compiled is None:
            return None
        function, gather = compiled

        def counted(*values):
            result = function(*values)
            counts["lifted"] += 1
            return result

        return counted, gather

    monkeypatch.setattr(LiftedBlock, "_compile", counting_compile)
    return counts


def blocks_of(function):
    """The lifted blocks of a tf.function that has run (empty when none)."""
    return getattr(function._run, "__s2sgrad_blocks__", [])


def as_numpy(structure):
    if structure is None:
        return None
    if isinstance(structure, (list, tuple)):
        return type(structure)(as_numpy(s) for s in structure)
    return structure.numpy()


def assert_identical(expected, actual):
    """Same structure, None where None, same dtype, shape and bits."""
    if expected is None or actual is None:
        assert expected is None and actual is None
        return
    if isinstance(expected, (list, tuple)):
        assert type(expected) is type(actual) and len(expected) == len(actual)
        for e, a in zip(expected, actual):
            assert_identical(e, a)
        return
    assert type(expected) is type(actual)
    e, a = expected.numpy(), actual.numpy()
    assert type(e) is type(a) and np.shape(e) == np.shape(a) and e.dtype == a.dtype
    np.testing.assert_array_equal(e, a)


def run_both(program, *args, calls=3):
    """Results of ``program`` eagerly and as a tf.function, ``calls`` times each."""
    compiled = tf.function(program)
    for _ in range(calls):
        expected = program(*args)
        actual = compiled(*args)
        assert_identical(expected, actual)
    return compiled


# -- programs whose blocks are lifted ---------------------------------------------------------

x_var = tf.Variable(0.5, name="x")
W = tf.Variable(RNG.standard_normal((3, 2)).astype(np.float32), name="W")
bias = tf.Variable(RNG.standard_normal(2).astype(np.float32), name="bias")
X = tf.constant(RNG.standard_normal((5, 3)).astype(np.float32))
Y = tf.constant(RNG.standard_normal((5, 2)).astype(np.float32))
a, b, c = tf.constant(1.0), tf.constant(-2.0), tf.constant(1.0)


def seed_quadratic():
    with tf.GradientTape() as tape:
        y = a * tf.pow(x_var, 2) + b * x_var + c
    dy_dx = tape.gradient(y, x_var)
    return y, dy_dx


def watched_constants():
    with tf.GradientTape() as tape:
        tape.watch([a, b, c])
        y = a * tf.pow(x_var, 2) + b * x_var + c
    grads = tape.gradient(y, [x_var, a, b, c])
    return y, grads


def dense_layer():
    with tf.GradientTape() as tape:
        h = tf.tanh(tf.matmul(X, W) + bias)
        loss = tf.reduce_mean(tf.square(h - Y))
    grads = tape.gradient(loss, [W, bias])
    return loss, grads


def math_functions_and_structures():
    with tf.GradientTape(persistent=True) as tape:
        u = tf.sin(X) * tf.exp(bias[0]) - tf.reduce_sum(W, axis=1)
        loss = tf.reduce_sum(tf.reduce_max(u * u, axis=0, keepdims=True))
        loss += tf.reduce_mean(-u) / 3.0
    grads = tape.gradient(loss, (W, [bias]))
    return loss, grads


def vector_target():
    with tf.GradientTape() as tape:
        y = tf.math.sin(W) * 2.0 + tf.sqrt(tf.abs(W) + 1.0)
    g = tape.gradient(y, W)
    return y, g


def activations():
    with tf.GradientTape() as tape:
        h = tf.nn.relu(tf.matmul(X, W))
        s = tf.sigmoid(h) + tf.nn.elu(h - 1.0) + tf.math.softplus(h) + tf.math.log_sigmoid(h)
        loss = tf.reduce_sum(tf.math.squared_difference(s, Y)) + tf.reduce_sum(tf.math.rsqrt(h * h + 1.0))
    return loss, tape.gradient(loss, W)


@pytest.mark.parametrize("program", [seed_quadratic, watched_constants, dense_layer,
                                     math_functions_and_structures, vector_target, activations])
def test_lifted_block_is_bit_identical_to_the_tape(program, lifted_calls):
    compiled = run_both(program)
    assert len(blocks_of(compiled)) == 1
    assert lifted_calls["lifted"] == 2  # the first call runs on the tape and learns the seed


def test_generated_code_is_specialised_on_every_shape():
    compiled = run_both(dense_layer)
    (source,) = [entry.source for entry in blocks_of(compiled)[0].code.generated.values()]
    assert "unbroadcast" not in source and "np.size" not in source and "shape" not in source
    assert "np.sum(d_t2, axis=0)" in source  # the bias's gradient, summed over the batch


def test_float64_gradients_match_finite_differences(lifted_calls):
    w = tf.Variable(RNG.standard_normal(4))
    v = tf.constant(RNG.standard_normal((3, 4)))

    @tf.function
    def loss_and_grad():
        with tf.GradientTape() as tape:
            loss = tf.reduce_sum(tf.tanh(v * w) ** 2) + tf.reduce_mean(tf.exp(w))
        return loss, tape.gradient(loss, w)

    def loss(w_value):
        return np.sum(np.tanh(v.numpy() * w_value) ** 2) + np.mean(np.exp(w_value))

    for _ in range(3):
        value, grad = loss_and_grad()
        np.testing.assert_allclose(grad.numpy(), numerical_grad(loss, (w.numpy(),)), rtol=1e-6)
        assert value.numpy() == loss(w.numpy())
        w.assign_sub(0.1 * grad)
    assert lifted_calls["lifted"] == 2


def test_the_seed_loop_stays_exact_in_float32(lifted_calls):
    x = tf.Variable(0.0, name="x", dtype=tf.float32)
    optimizer = tf.keras.optimizers.SGD(learning_rate=0.01)

    @tf.function
    def minimize():
        a, b, c = tf.constant(1.0), tf.constant(-2.0), tf.constant(1.0)
        for _ in tf.range(1000):
            with tf.GradientTape() as tape:
                y = a * tf.pow(x, 2) + b * x + c
            dy_dx = tape.gradient(y, x)
            optimizer.apply_gradients(grads_and_vars=[(dy_dx, x)])
        return y

    minimize()
    assert x.numpy() == np.float32(0.999998569)
    assert lifted_calls["lifted"] == 999


# -- TensorFlow's None gradients ------------------------------------------------------------------


def test_unwatched_and_unconnected_sources_get_none(lifted_calls):
    frozen = tf.Variable(2.0, trainable=False)
    const = tf.constant(3.0)
    unused = tf.Variable(1.0)

    def program():
        with tf.GradientTape() as tape:
            y = x_var * frozen * const
            z = unused * 2.0  # noqa: F841  (read by nothing: unconnected)
        return y, tape.gradient(y, [x_var, frozen, const, unused])

    compiled = run_both(program)
    _, grads = compiled()
    assert grads[0] is not None and grads[1:] == [None, None, None]
    assert lifted_calls["lifted"] == 3


def test_watch_accessed_variables_false(lifted_calls):
    other = tf.Variable(3.0)

    def program():
        with tf.GradientTape(watch_accessed_variables=False) as tape:
            tape.watch(x_var)
            y = x_var * other
        return y, tape.gradient(y, [x_var, other])

    compiled = run_both(program)
    assert compiled()[1][1] is None
    assert lifted_calls["lifted"] == 3


def test_nothing_watched_runs_on_the_tape(lifted_calls):
    def program():
        with tf.GradientTape() as tape:
            y = a * b
        return y, tape.gradient(y, a)

    compiled = run_both(program)
    assert compiled()[1] is None


# -- when the block must run on the tape -------------------------------------------------------


def test_an_outer_tape_records_through_the_block(lifted_calls):
    @tf.function
    def derivative(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = x * x * x
        return tape.gradient(y, x)

    x = tf.constant(2.0)
    for _ in range(3):
        derivative(x)  # lifted once the seed is known
        with tf.GradientTape() as outer:
            outer.watch(x)
            d = derivative(x)
        assert float(d) == 12.0
        assert float(outer.gradient(d, x)) == 12.0
    assert lifted_calls["lifted"] == 2


@pytest.mark.parametrize("value", [2.0, 3, np.float32(2.0), np.float64(0.5),
                                   np.array([1.0, 2.0]), np.array([0.5], dtype=np.float32)])
def test_numbers_and_numpy_values_are_read_as_the_tape_reads_them(value, lifted_calls):
    def program(v):
        with tf.GradientTape() as tape:
            y = tf.reduce_sum(x_var * v + tf.exp(v * x_var) - v * 2.5)
        return y, tape.gradient(y, x_var)

    run_both(program, value)
    assert lifted_calls["lifted"] == 2


@pytest.mark.parametrize("value", [tf.constant(2), sg.constant(np.float32(2.0)), True,
                                   np.array([1, 2])])
def test_values_the_generated_code_cannot_take_run_on_the_tape(value, lifted_calls):
    def program(v):
        with tf.GradientTape() as tape:
            y = tf.reduce_mean(x_var * v + x_var)
        return y, tape.gradient(y, x_var)

    run_both(program, value)
    assert lifted_calls["lifted"] == 0


def test_a_tf_function_of_python_numbers_only_runs_on_the_tape(lifted_calls):
    def program(v):
        with tf.GradientTape() as tape:
            y = x_var * tf.exp(v * 2.0)  # tf.exp(2.0 * 2.0) is float32; np.exp a float64
        return y, tape.gradient(y, x_var)

    run_both(program, 0.3)
    assert lifted_calls["lifted"] == 0
    run_both(program, tf.constant(0.3))
    assert lifted_calls["lifted"] == 2


def test_one_variable_under_two_names_runs_on_the_tape(lifted_calls):
    def program(alias):
        with tf.GradientTape() as tape:
            y = x_var * alias * 3.0
        return y, tape.gradient(y, x_var)

    compiled = run_both(program, x_var)
    assert float(compiled(x_var)[1]) == 6 * float(x_var)
    assert lifted_calls["lifted"] == 0
    run_both(program, tf.constant(2.0))
    assert lifted_calls["lifted"] == 2


def test_every_guard_of_a_specialised_block_falls_back_correctly(lifted_calls):
    """After two calls a block is entered through code guarded for the
    signature it saw; each change of signature must take the general path."""
    trainable, frozen = tf.Variable([1.0, 2.0]), tf.Variable([1.0, 2.0], trainable=False)

    def program(v, u, k):
        with tf.GradientTape() as tape:
            y = tf.reduce_sum(v * u * u * k)
        return y, tape.gradient(y, [v, u])

    compiled = tf.function(program)
    t, k = tf.constant([3.0, 4.0]), tf.constant(0.5)
    calls = [
        (trainable, t, k),
        (trainable, t, k),
        (trainable, t, k),  # guarded entry
        (frozen, t, k),  # a source no longer watched
        (trainable, tf.constant([3.0, 4.0], dtype=tf.float64), k),  # another dtype
        (trainable, tf.constant(3.0), k),  # another type of value
        (tf.Variable([2.0]), t, k),  # another shape
        (trainable, trainable, k),  # the source under two names
        (trainable, t, np.float32(0.5)),  # a NumPy value for a tensor
        (trainable, t, 0.5),  # a Python number
        (trainable, t, k),
        (trainable, t, k),
    ]
    for v, u, k in calls:
        assert_identical(program(v, u, k), compiled(v, u, k))
        outer_gradients = []
        for run in (program, compiled):
            with tf.GradientTape() as outer:  # a recording tape sees the block's operations
                y, _ = run(v, u, k)
            outer_gradients.append(outer.gradient(y, v))
        assert_identical(*outer_gradients)
    with pytest.raises(ValueError):
        compiled(trainable, tf.constant([1.0, 2.0, 3.0]), k)
    assert lifted_calls["lifted"] >= 7


def test_a_specialised_block_given_one_tensor_twice_runs_on_the_tape(lifted_calls):
    def program(p, q):
        with tf.GradientTape() as tape:
            tape.watch([p, q])
            y = p * q * q
        return y, tape.gradient(y, [p, q])

    compiled = tf.function(program)
    p, q = tf.constant(2.0), tf.constant(3.0)
    for args in [(p, q), (p, q), (p, q), (p, p), (q, q), (p, q)]:
        assert_identical(program(*args), compiled(*args))
    assert [float(g) for g in compiled(p, p)[1]] == [12.0, 12.0]
    assert lifted_calls["lifted"] == 3


def test_a_target_changing_shape_is_seeded_again(lifted_calls):
    @tf.function
    def grad(v):
        with tf.GradientTape() as tape:
            tape.watch(v)
            y = v * v
        return tape.gradient(y, v)

    for value in [3.0, [1.0, 2.0], 4.0, [[1.0], [2.0]], 5.0]:
        v = tf.constant(value)
        np.testing.assert_array_equal(grad(v).numpy(), 2 * v.numpy())


def test_errors_in_the_block_are_the_tapes(lifted_calls):
    @tf.function
    def program(u, v):
        with tf.GradientTape() as tape:
            tape.watch(u)
            y = u * v
        return tape.gradient(y, u)

    program(tf.constant([1.0, 2.0]), tf.constant([3.0, 4.0]))
    program(tf.constant([1.0, 2.0]), tf.constant([3.0, 4.0]))
    with pytest.raises(ValueError, match="broadcast"):
        program(tf.constant([1.0, 2.0]), tf.constant([3.0, 4.0, 5.0]))


# -- blocks that are not lifted -------------------------------------------------------------------


def tape_used_again():
    with tf.GradientTape(persistent=True) as tape:
        y = x_var * x_var
        z = y * x_var
    return tape.gradient(y, x_var), tape.gradient(z, x_var)


def intermediate_read_later():
    with tf.GradientTape() as tape:
        h = x_var * 3.0
        y = h * h
    g = tape.gradient(y, x_var)
    return g, h


def watch_after_computing():
    with tf.GradientTape() as tape:
        y = x_var * a
        tape.watch(a)
        z = y * a
    return tape.gradient(z, [x_var, a])


def cast_in_block():
    with tf.GradientTape() as tape:
        y = tf.cast(x_var, tf.float64) * 2.0
    return tape.gradient(y, x_var)


def branch_in_block():
    with tf.GradientTape() as tape:
        y = x_var * 2.0
        if float(x_var) > 0:
            y = y * x_var
    return tape.gradient(y, x_var)


def attribute_in_block():
    holder = type("Holder", (), {"w": W})
    with tf.GradientTape() as tape:
        y = tf.reduce_sum(holder.w * 2.0)
    return tape.gradient(y, W)


def user_function_in_block():
    with tf.GradientTape() as tape:
        y = seed_quadratic()[0] * x_var
    return tape.gradient(y, x_var)


def constant_call_in_block():
    with tf.GradientTape() as tape:
        y = x_var * tf.sin(2.0)
    return tape.gradient(y, x_var)


@pytest.mark.parametrize("program", [tape_used_again, intermediate_read_later,
                                     watch_after_computing, cast_in_block, branch_in_block,
                                     attribute_in_block, user_function_in_block,
                                     constant_call_in_block])
def test_blocks_that_are_not_lifted_run_as_written(program):
    compiled = run_both(program)
    assert blocks_of(compiled) == []


def numpy_function_in_block():
    with tf.GradientTape() as tape:
        y = x_var * np.sin(x_var) + tf.sin(x_var)
    return tape.gradient(y, x_var)


def test_a_block_calling_a_numpy_function_runs_on_the_tape_as_tensorflow_computes_it():
    """np.sin of a tf tensor is a NumPy value outside the tape (SPEC 4): a
    constant factor, with the warning of SPEC 2, under tf.function too."""
    with pytest.warns(sg.S2SGradWarning, match="np.sin"):
        compiled = run_both(numpy_function_in_block)
        assert blocks_of(compiled) == []
        x = np.float32(x_var.numpy())
        assert compiled().numpy() == pytest.approx(np.sin(x) + np.cos(x), rel=1e-6)


# -- the rewritten function keeps Python's semantics ------------------------------------------------


def test_closures_defaults_keywords_and_methods(lifted_calls):
    def make(scale):
        class Model:
            def __init__(self):
                self.w = tf.Variable([1.0, -2.0])

            @tf.function
            def step(self, x, *, power=2, extra=None):
                w = self.w
                with tf.GradientTape() as tape:
                    loss = tf.reduce_sum(tf.pow(w * x, power)) * scale
                g = tape.gradient(loss, w)
                return loss, g, extra

        return Model()

    model = make(tf.constant(0.5))
    x = tf.constant([3.0, 4.0])
    w, xs = np.array([1.0, -2.0]), np.array([3.0, 4.0])
    for _ in range(3):
        loss, g, extra = model.step(x, extra="kept")
        assert extra == "kept"
        np.testing.assert_allclose(g.numpy(), 0.5 * 2 * (w * xs) * xs, rtol=1e-6)
    loss3, g3, _ = model.step(x, power=3)
    np.testing.assert_allclose(loss3.numpy(), 0.5 * np.sum((w * xs) ** 3), rtol=1e-6)
    np.testing.assert_allclose(g3.numpy(), 0.5 * 3 * (w * xs) ** 2 * xs, rtol=1e-6)
    assert lifted_calls["lifted"] >= 2


def test_a_conversion_is_checked_against_what_its_names_denote(lifted_calls):
    def make(op):
        @tf.function
        def grad(x):
            with tf.GradientTape() as tape:
                tape.watch(x)
                y = op(x, x)
            return tape.gradient(y, x)

        return grad

    times, plus = make(tf.multiply), make(tf.add)
    for _ in range(2):
        assert float(times(tf.constant(3.0))) == 6.0
        assert float(plus(tf.constant(3.0))) == 2.0
    assert lifted_calls["lifted"] == 2


def test_errors_outside_blocks_point_at_the_users_lines():
    @tf.function
    def broken(x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            y = x * x
        g = tape.gradient(y, x)
        return g + undefined_name  # noqa: F821

    with pytest.raises(NameError) as info:
        broken(tf.constant(1.0))
    frame = info.traceback[-1]
    assert str(frame.path) == __file__ and "undefined_name" in str(frame.statement)


def test_a_decorated_function_is_not_converted_from_the_wrapped_source():
    import functools

    def doubled(function):
        @functools.wraps(function)
        def wrapper():
            y, g = function()
            return y, 2 * g

        return wrapper

    @tf.function
    @doubled
    def program():
        with tf.GradientTape() as tape:
            y = x_var * x_var
        return y, tape.gradient(y, x_var)

    for _ in range(3):
        assert float(program()[1]) == 4 * float(x_var)


def test_autograph_false_runs_the_function_as_written():
    def program():
        with tf.GradientTape() as tape:
            y = x_var * x_var
        return tape.gradient(y, x_var)

    compiled = tf.function(program, autograph=False)
    assert float(compiled()) == 1.0 and compiled._run is program


# -- property: broadcasting programs over random shapes ------------------------------------------------

shapes = st.lists(st.integers(1, 3), min_size=0, max_size=2).map(tuple)


@settings(max_examples=40, deadline=None)
@given(w_shape=shapes, x_shape=shapes, seed=st.integers(0, 2 ** 16))
def test_broadcasting_blocks_match_the_tape(w_shape, x_shape, seed):
    rng = np.random.default_rng(seed)
    try:
        np.broadcast_shapes(w_shape, x_shape)
    except ValueError:
        return
    w = tf.Variable(rng.standard_normal(w_shape).astype(np.float32))
    x = tf.constant(rng.standard_normal(x_shape).astype(np.float32))
    bias = tf.Variable(rng.standard_normal(w_shape).astype(np.float32))

    def program():
        with tf.GradientTape() as tape:
            u = tf.sin(w * x) + bias
            loss = tf.reduce_mean(u * u) - tf.reduce_sum(tf.tanh(x - bias))
        return loss, tape.gradient(loss, [w, bias])

    compiled = run_both(program)
    # the generated code ran (an entry of None would mean it was refused)
    assert any(entry is not None for entry in blocks_of(compiled)[0]._compiled.values())


def test_a_rule_registered_after_the_first_calls_reaches_the_compiled_block(lifted_calls):
    """``sg.defgrad`` replacing a rule empties the blocks' generated code
    (the compiled entry the function calls directly included), as it does
    the tape's and ``sg.grad``'s caches."""
    from s2sgrad.primitives import registry

    original = registry.lookup(np.tanh).vjp
    w = tf.Variable(np.array([0.5, 1.0]))

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            y = tf.reduce_sum(tf.tanh(w))
        return tape.gradient(y, w)

    for _ in range(3):
        np.testing.assert_allclose(step().numpy(), 1.0 - np.tanh(w.numpy()) ** 2)
    assert lifted_calls["lifted"] == 2
    try:
        @sg.defgrad(np.tanh)
        def doubled(g, ans, x):
            return (2.0 * g,)

        for _ in range(3):
            np.testing.assert_array_equal(step().numpy(), [2.0, 2.0])
        assert lifted_calls["lifted"] == 5  # generated again under the new rule, not the tape
    finally:
        registry.defvjp(np.tanh)(original)
    np.testing.assert_allclose(step().numpy(), 1.0 - np.tanh(w.numpy()) ** 2)


def test_a_block_keeps_a_bounded_number_of_specialisations(lifted_calls, monkeypatch):
    from s2sgrad.tape import blocks

    monkeypatch.setattr(blocks, "BLOCK_CACHE_SIZE", 3)

    @tf.function
    def grad_of(v):
        with tf.GradientTape() as tape:
            tape.watch(v)
            y = tf.reduce_sum(v * v)
        return tape.gradient(y, v)

    for n in range(1, 9):
        v = tf.constant(np.arange(float(n)))
        for _ in range(2):
            np.testing.assert_array_equal(grad_of(v).numpy(), 2.0 * np.arange(float(n)))
    (block,) = blocks_of(grad_of)
    assert len(block.code.generated) <= 3 and len(block._compiled) <= 3 and len(block._fast) <= 3
    assert lifted_calls["lifted"] >= 7
