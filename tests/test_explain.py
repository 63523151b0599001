"""sg.explain on reproductions of the usual "my gradient is zero / None /
NaN" reports of TensorFlow, PyTorch and JAX users, written in plain NumPy.

Each test asserts the report names the line (found by a marker comment in
this file, never a number copied from the report) and the operation.
"""

import inspect

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import s2sgrad as sg
from s2sgrad import pipeline
from s2sgrad.transform import explain as analysis


def line_of(function, marker):
    """``file:line`` of the line of ``function`` holding ``# <marker>``."""
    lines, first = inspect.getsourcelines(function)
    for offset, text in enumerate(lines):
        if f"# {marker}" in text:
            return f"{inspect.getsourcefile(function)}:{first + offset}"
    raise AssertionError(f"no marker {marker!r} in {function.__name__}")


def section(report, argument):
    """The lines of ``report`` about the gradient with respect to ``argument``."""
    lines = report.splitlines()
    start = next(i for i, line in enumerate(lines)
                 if line.startswith(f"gradient with respect to {argument}:"))
    end = next((i for i in range(start + 1, len(lines)) if lines[i].startswith("gradient ")),
               len(lines))
    return "\n".join(lines[start:end])


# -- JAX #5798, autograd #802, PyTorch "where backward propagates NaN":
#    np.where picks the safe branch, the other one's derivative is still taken
def where_sqrt(x):
    return np.sum(np.where(x < 1.0, x, np.sqrt(x)))  # sqrt


def test_where_with_sqrt_at_zero_names_sqrt_and_the_zero_cotangent():
    x = np.array([0.0, 4.0])
    with np.errstate(invalid="ignore"):
        assert np.isnan(sg.grad(where_sqrt)(x)).any()
    report = sg.explain(where_sqrt, x)
    text = section(report, "x")
    assert "not finite (nan)" in text
    assert line_of(where_sqrt, "sqrt") in text
    assert "np.sqrt()" in text
    assert "0 * inf = nan" in text  # the hint: a discarded value is still differentiated


# -- JAX #347: a norm computed with sqrt, then masked with np.where
def masked_norm(x):
    r = np.sqrt(np.sum(x ** 2, axis=1))  # norm
    ones = np.ones_like(r)
    r = np.where(r > 0.5, r, ones)
    return np.sum(r)


def test_masked_norm_of_a_zero_row():
    x = np.array([[1.0, 2.0], [3.0, 4.0], [0.0, 0.0]])
    report = sg.explain(masked_norm, x)
    text = section(report, "x")
    assert "not finite" in text and line_of(masked_norm, "norm") in text
    assert "np.sqrt()" in text


# -- a log of zero: the value itself is -inf (the primal makes it)
def log_likelihood(p, y):
    return np.sum(y * np.log(p))  # log


def test_log_of_zero_names_the_first_line_making_inf():
    report = sg.explain(log_likelihood, np.array([0.0, 0.5]), np.array([0.0, 1.0]))
    text = section(report, "p")
    assert "not finite" in text
    assert line_of(log_likelihood, "log") in text
    assert "first value that is not finite" in text and "-inf" in text


# -- PyTorch "Torch.round() gradient" / TF "gradient of tf.floor"
def rounded(x):
    q = np.round(x * 4.0) / 4.0  # round
    return np.sum(q ** 2)


def test_round_cuts_the_path():
    report = sg.explain(rounded, np.array([0.3, 0.8]))
    text = section(report, "x")
    assert "zero" in text.splitlines()[0]
    assert line_of(rounded, "round") in text and "np.round()" in text


def floored(x):
    return 3.0 * np.floor(x)  # floor


def test_floor_of_a_float():
    text = sg.explain(floored, 2.7)
    assert line_of(floored, "floor") in text and "np.floor()" in text
    assert "2.7 gives 2" in text


# -- haiku #442 "Zero gradients after argmax": a loss built on a prediction's index
def argmax_loss(logits, target):
    predicted = np.argmax(logits)  # argmax
    return (predicted - target) ** 2


def test_argmax_in_a_loss():
    report = sg.explain(argmax_loss, np.array([0.2, 0.7, 0.1]), 2.0)
    text = section(report, "logits")
    assert line_of(argmax_loss, "argmax") in text and "np.argmax()" in text
    assert "integer" in text


# -- TF #47083 / #897: a cast to int to threshold a value
def thresholded(w, x):
    score = np.sum(w * x)
    level = int(score)  # int cast
    return float(level) * 2.0


def test_int_cast_names_the_cast_and_its_value():
    text = sg.explain(thresholded, np.array([0.4, 0.9]), np.array([1.0, 2.0]))
    assert line_of(thresholded, "int cast") in text and "int()" in text
    assert "2.2 gives 2" in text


# -- a comparison used as a value: (x > 0) carries no derivative
def step_feature(x):
    return np.sum((x > 0.0) * 1.0)  # comparison


def test_comparison_cuts_the_path():
    text = sg.explain(step_feature, np.array([1.0, -1.0]))
    assert line_of(step_feature, "comparison") in text
    assert "comparison >" in text


# -- a stop_gradient where the user did not mean one (PyTorch .detach())
def detached(x):
    target = sg.stop_gradient(x * 2.0)  # detach
    return np.sum(target)


def test_stop_gradient_is_named():
    text = sg.explain(detached, np.array([1.0, 2.0]))
    assert line_of(detached, "detach") in text and "sg.stop_gradient()" in text


# -- a dead ReLU: the derivative is zero at these values (not a cut)
def relu_layer(w, x):
    h = np.maximum(w * x, 0.0)  # relu
    return np.sum(h)


def test_dead_relu_names_maximum():
    text = sg.explain(relu_layer, np.array([-1.0, -2.0]), np.array([1.0, 1.0]), wrt="w")
    assert "the derivative is zero at these values" in text
    assert line_of(relu_layer, "relu") in text and "np.maximum()" in text


# -- a branch not taken: the arm that uses the argument did not run
def piecewise(x, threshold):
    if x > threshold:  # branch
        y = x ** 2
    else:
        y = 0.0
    return y


def test_branch_not_taken():
    text = sg.explain(piecewise, 1.0, 2.0)
    assert line_of(piecewise, "branch") in text
    assert "the else arm ran" in text and "the if arm" in text
    assert "computes y from x" in text


# -- JAX users' "zero gradient": the loss reads a global instead of its argument
W_GLOBAL = np.array([1.0, 2.0])


def uses_global(w, x):
    prediction = W_GLOBAL @ x  # global
    return (prediction - 1.0) ** 2


def test_value_made_outside_the_function():
    text = sg.explain(uses_global, np.array([0.5, 0.5]), np.array([1.0, 1.0]))
    assert "never reads w" in text
    assert "W_GLOBAL" in text and line_of(uses_global, "global") in text


# -- a loop: the mask is zero on every pass
def masked_sum(x):
    total = 0.0
    for i in range(len(x)):
        total = total + x[i] * (x[i] > 0.0)  # mask
    return total


def test_zero_on_every_pass_of_a_loop():
    text = sg.explain(masked_sum, np.array([-1.0, -2.0, -3.0]))
    assert line_of(masked_sum, "mask") in text and "3 passes" in text


def test_a_fine_gradient_says_so():
    text = sg.explain(masked_sum, np.array([1.0, -2.0]))
    assert "gradient with respect to x: fine" in text


def test_several_arguments_get_a_section_each():
    text = sg.explain(thresholded, np.array([0.4, 0.9]), np.array([1.0, 2.0]), wrt=(0, 1))
    assert "gradient with respect to w: zero" in text
    assert "gradient with respect to x: zero" in text


def test_explain_rejects_what_is_not_a_function():
    with pytest.raises(TypeError, match="Python function"):
        sg.explain(np.sin, 1.0)


# -- a while loop counting its passes: the count has no derivative
def doublings(x):
    n = 0
    while np.sum(x) < 10.0:  # loop
        x = x * 2.0
        n = n + 1
    return float(n)


def test_a_loop_count_names_the_loop_test():
    text = sg.explain(doublings, np.array([0.5, 1.5]))
    assert line_of(doublings, "loop") in text
    assert "how many passes the loop makes" in text and "3 passes" in text


# -- a helper the function calls is inlined: its cut is named at the call
def floor_twice(a):
    return np.floor(a) * 2.0


def calls_helper(x):
    return np.sum(floor_twice(x))  # call


def test_a_cut_inside_a_helper_is_named_at_the_call():
    text = sg.explain(calls_helper, np.array([0.5, 1.5]))
    assert line_of(calls_helper, "call") in text and "np.floor()" in text


def split_and_mask(x):
    a, b = np.split(x, 2)
    return np.sum(np.maximum(a, 0.0) * b)  # max


def test_lists_of_arrays_are_followed():
    text = sg.explain(split_and_mask, np.array([-0.5, -1.5, 2.0, 3.0]))
    assert line_of(split_and_mask, "max") in text and "np.maximum()" in text


def quadratic(x, a, b):
    return a * x ** 2 + b * x


def test_a_stationary_point():
    text = sg.explain(quadratic, 3.0, 1.0, -6.0)
    assert "stationary point" in text


# -- the backward sweep over the trace is reverse mode itself: where it follows
#    every step, the gradient it finds is the generated code's

def mixed(x, w):
    h = np.tanh(x * w) + np.maximum(x, 0.1) ** 2
    total = 0.0
    for i in range(len(x)):
        total = total + h[i] * np.exp(-x[i])
    return total / np.sum(w ** 2)


def traced_gradient(function, *args):
    g = pipeline.program_after(function, 0, "normalise")
    namespace = dict(g.parsed.globals, **g.context.env)
    _, _, found = analysis.analyse(g.program, namespace, g.context.resolve, ["x"], args)
    return found["x"]


@settings(max_examples=25, deadline=None)
@given(hnp.arrays(np.float64, st.integers(1, 5),
                  elements=st.floats(-2.0, 2.0).filter(lambda v: abs(v - 0.1) > 1e-3)))
def test_the_backward_sweep_agrees_with_the_generated_gradient(x):
    w = np.linspace(0.5, 1.5, x.size)
    found = traced_gradient(mixed, x, w)
    assert found.active and not found.unfollowed
    np.testing.assert_allclose(found.gradient, sg.grad(mixed)(x, w), rtol=1e-12, atol=1e-12)


@settings(max_examples=15, deadline=None)
@given(hnp.array_shapes(min_dims=0, max_dims=3, max_side=3))
def test_a_cut_is_found_for_every_shape(shape):
    x = np.full(shape, 0.3)
    text = sg.explain(rounded, x)
    assert "zero" in section(text, "x").splitlines()[0]
    assert line_of(rounded, "round") in text


def weighted_and_rounded(ws, x):
    return np.sum(ws[0] * x) + np.sum(np.round(ws[1]))  # both


def test_a_list_argument_with_a_zero_path_and_a_cut_path():
    text = sg.explain(weighted_and_rounded, [np.array([0.0, 0.0]), np.array([0.3])],
                      np.array([0.0, 0.0]))
    assert "the derivative of the operator * is zero here" in text
    assert "other paths from ws to the result are cut" in text and "np.round()" in text


# -- PyTorch "only Tensors of floating point dtype can require gradients",
#    JAX "grad requires real- or complex-valued inputs (input dtype that is a
#    sub-dtype of np.inexact), but got int32": an integer input
def scaled_count(n, w):
    return np.sum(n * w ** 2)


def test_an_integer_input_is_named_with_what_to_pass():
    text = sg.explain(scaled_count, 3, 0.5)
    assert section(text, "n").startswith("gradient with respect to n: none (it is an integer: 3)")
    assert "pass 3.0" in text
    assert text.startswith("scaled_count(n=3, w=0.5) = 0.75")


def test_an_integer_array_input_is_named_and_the_others_explained():
    text = sg.explain(scaled_count, np.array([1, 2]), 0.5, wrt=(0, 1))
    assert "it is an array of dtype int" in section(text, "n")
    assert "np.asarray(n, dtype=float)" in section(text, "n")
    assert section(text, "w").startswith("gradient with respect to w: fine")
    np.testing.assert_allclose(sg.grad(scaled_count, wrt=1)(np.array([1, 2]), 0.5), 3.0)
    boolean = sg.explain(scaled_count, np.array([True, False]), 0.5)
    assert "dtype bool" in section(boolean, "n")
