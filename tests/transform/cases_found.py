"""Minimal reproducers of bugs found by the random-program generator
(tests/transform/test_random_programs.py); each is exercised by a test in
test_found_by_generator.py. The bug each one shows is described there.
"""

import numpy as np

from tests.transform.random_helpers import nested, pair, scaled, smooth


def while_counter(x):
    n = 0
    while n < 3:
        n += 1
    return x * 2.0


def while_counter_with_body(x):
    n = 0
    while n < 3:
        n += 1
        x = x * 1.5
    return x


def negated_broadcast_sum(x, y):
    return np.sum(-(x + y))


def negated_sum(x):
    return np.sum(-x)


def augassign_through_alias(x, y):
    v = x
    x += y
    return np.sum(v)


def augassign_through_view(x, y):
    v = x[0]
    x *= y
    return np.sum(v)


def swap_in_loop(x, y):
    for i in range(3):
        x, y = y, x
    return x


def swap_after_update_in_loop(x, y):
    for i in range(1):
        y = y * 2.0
        x, y = y, x
    return x


def tuple_rebinding_in_loop(x, y):
    v = x
    for i in range(1):
        v = (y, v)
    return v[0] * v[1]


def setitem_name_in_loop(x, y):
    for i in range(1):
        x[0] = y
    return np.sum(x)


def copy_name_in_loop(x, y):
    for i in range(2):
        v = x
        x = v * y
    return np.sum(x)


def swap_with_temporary_in_loop(x, y):
    for i in range(2):
        v = y * 2.0
        v, y = y, v
    return np.sum(y)


def rebind_iterated_array_enumerate(x, y):
    for j, r in enumerate(y):
        y = r * 2.0
    return np.sum(y)


def read_then_setitem(x):
    v = np.sin(x)
    x[0] = 2.0
    return np.sum(v * x)


def rebind_iterated_array(x, y):
    for r in y:
        y = r * 2.0
    return np.sum(y)


def subscript_of_overwritten_in_loop(x, y):
    for i in range(2):
        y = np.sin(y) * y[1]
    return np.sum(y)


def subscript_of_loop_row(x, y):
    for r in y:
        x = x * r[1]
    return x


def unpack_call_in_loop(x, y):
    for i in range(2):
        v, x = pair(y, x)
    return x


def unpack_tuple_name_in_loop(x, y):
    for i in range(2):
        t = pair(y, x)
        v, x = t
    return x


def subscript_of_zero_cotangent(x, y):
    x[1] *= 2.0
    if y > 5.0:
        y = y * x[0]
    return y


def subscript_of_zero_cotangent_in_loop(x, y):
    for r in y:
        v = np.copy(y)
        v[1] += 1.0
    return np.sum(y)


def unused_array_gradient_shape(x, y):
    x = x * 2.0
    for i in range(2):
        if x[0] > 100.0:
            pass
    return y


def loop_in_else_after_constant(x, y):
    x = 1.2
    if y > 5.0:
        pass
    else:
        for i in range(2):
            x = x * y
    return x


def common_subexpression_across_loop(x, y):
    if np.sum(y) > 10.0:
        pass
    else:
        for i in range(3):
            y = y * x
    return np.sum(y)


def rebind_then_setitem(x, y):
    x = x - y
    x[1] *= 2.0
    return np.sum(x)


def setitem_after_conditional_rebind(x, y):
    if y[0] > 5.0:
        x = x * 2.0
    x[0] += y[1]
    return np.sum(x)


def conditional_rebind_after_setitem(x, y):
    x[0] += y[1]
    if y[0] > 5.0:
        x = x * 2.0
    return np.sum(x)


def setitem_then_call(x, y):
    x[0] *= 2.0
    x = smooth(x, 1.0)
    return np.sum(x)


def setitem_then_conditional_expression(x, y):
    x[0] *= 2.0
    return np.sum(x if y[0] > 0.0 else y)


def call_then_setitem(x, y):
    s = np.sum(smooth(x, y))
    x[0] *= 2.0
    return np.sum(x) * s


def conditional_copy_then_setitem(x, y):
    if y[0] > 0.0:
        x = np.copy(x * 2.0)
    x[0] += 1.0
    return np.sum(x * x)


def augassign_after_unpacked_call(x, y):
    a, x = pair(x, y)
    x += y
    return np.sum(x)


def augassign_after_conditional_view(x, y):
    v = (x[0] if y[0] > 0.0 else x[1]) * 1.0
    x *= 2.0
    return np.sum(v * x)


def setitem_into_fresh_local(x, y):
    v = x * 2.0
    v[0] += y[1]
    return np.sum(v * v)


def shape_save_in_nested_loop(x, y):
    v = y * 1.0
    for i in range(2):
        v = v + x
        for j in range(1):
            v = v + x
    return x + np.sum(v)


def shape_save_in_empty_loop(x, y):
    x = y * 1.0
    for i in range(0):
        x = x + 1.0
    return np.sum(x)


def identity(v):
    return v


def call_returning_argument_then_setitem(x, y):
    r = identity(x)
    x[0] = y[1]
    return np.sum(r * x)


def recompute_name_saved_by_another_loop(x, y):
    n = 0
    while n < 2:
        n += 1
        x += 0.5
    for i in range(2):
        x = pair(np.sum(y), y[i - 1])[1]
        v = x
    return np.sum(x) + np.sum(v)


# Found by a 2000-program run: x is an argument the loop reassigns, so its
# adjoint is consumed and redefined; accumulating into it in place mutated a
# read-only broadcast view.
def accumulate_into_reassigned_argument(x, y):
    v0 = x[::-1] * 1.0
    for j2, r1 in enumerate(v0):
        if np.sum((v0[::-1] if np.sum(x[1]) < 0.5 else v0)) < np.sum((r1[1] + v0[1])):
            y += scaled(r1[0], 0.5)
        else:
            x -= y[-1]
            v3 = x * 1.0
            v0, x = x, v0
        v4 = np.copy(x[1] * 1.0)
    if y[0] > 2.0:
        v5 = np.exp(np.tanh(scaled(v0[-1])))
        v5 = np.copy(np.sum(x[::-1], axis=0))
        v5[1:] *= y[1]
    else:
        if np.mean(x[0]) < -0.5:
            v6 = y * 1.0
            v7, v8 = (scaled(np.sum(x[1:] * x[:-1]), k=-0.7) * v0), smooth(((np.sum(x[1:] * x[:-1]) + v6[-1]) / (1.0 + pair(v6[-1], np.sum(y[1:] * y[:-1]))[0] * pair(v6[-1], np.sum(y[1:] * y[:-1]))[0])), np.sum(v0[1:] * v0[:-1]))
        else:
            v0 = (-((x + np.sum(y[1:] * y[:-1])) / (1.0 + scaled(x) * scaled(x))))
        for i9 in range(0):
            x *= (v0[-1] + x[i9])
        for j11, r10 in enumerate(v0):
            v12 = y[j11]
            v13 = (y[j11] - r10[j11])
    y[1] += (np.sum(x[1:] * x[:-1]) if (np.sum(y[1:] * y[:-1]) > 0.5 and np.sum(v0) < 0.5) else y[0])
    return np.sum(np.sum(x))


def placeholder_through_an_if_join(x, y):
    if ((x[0] + x[0]) > 1.0 or np.sum((x[1] / (1.0 + x * x))) > 0.5):
        x = nested(x[::-1], x)
        v0 = (x[0] + x[1])
        for i1 in range(2):
            v2 = smooth(x[::-1], x)
    if np.sum((0.3 - 2.0)) > np.sum(np.exp(np.tanh(x))):
        return np.sum(np.cos((x - x[::-1]))) + np.sum(x)
    else:
        x *= x[::-1]
        v5 = y
    return np.sum(v5)


def return_in_while_in_for_then_swap(x, y):
    v0 = np.sum(x)
    for i5 in range(1):
        n6 = 0
        while n6 < 1 and y < 1.0:
            n6 += 1
            return np.sum(x)
        v0, y = y, v0
    return np.sum((v0 - x[1]) * (v0 - x[1]))


def flag_set_in_the_branch_it_tests(x):
    done = False
    s = x
    for i in range(3):
        if done:
            s = s * 2.0
        else:
            s = np.sin(s)
            done = True
    return np.sum(s)


def returns_in_nested_whiles(x, y):
    n0 = 0
    while n0 < 4 and np.sum(x) < 0.0:
        n0 += 1
        n1 = 0
        while n1 < 1 and np.sum(x) > 5.0:
            n1 += 1
            return np.sum(y)
        return np.sum(x * x) + np.sum(y)
    return np.sum(x)


def return_in_a_loop_in_a_loop_else(x, y):
    v0 = -0.7
    for r2 in x:
        if np.sum(r2) > 5.0:
            break
    else:
        v0 *= np.sum(x[1:] * x[:-1])
        for i4 in range(1):
            return np.sum(y) + np.sum(v0)
    return np.sum(x) * v0


def return_in_an_inner_loop_else(x):
    s = x * 0.5
    for i in range(2):
        for j in range(2):
            s = np.sin(s)
            if np.sum(s) > 3.0:
                break
        else:
            return np.sum(s * 3.0)
        s = s * 2.0
    return np.sum(s)


def return_in_a_loop_that_never_runs_then_in_a_while(x, y):
    for i0 in range(0):
        if np.sum(y) < 1.0:
            return np.sum(np.sin(x))
    y *= x
    x = (x + x)
    v1 = np.exp(np.tanh((-x)))
    n2 = 0
    while n2 < 3 and (v1 + x) < 1.0:
        n2 += 1
        return np.sum(np.tanh((y * x))) + np.sum(v1) + np.sum(x)
    v1 = y
    return np.sum(x)


def folded_seed_through_a_reassigned_argument(x, y):
    x = x * 1.0
    v0 = x * 1.0
    return np.sum(x) + np.sum(v0) + np.sum(x)


# -- second derivatives (test_found_by_generator.py's bug2 table)

def power_in_a_loop(x, y):
    for i in range(1):
        x = y ** x
    return x


def square_of_a_sum(x, y):
    v = np.sum(x)
    return v * v * y


def square_and_identity(a):
    """A tuple-returning helper of this module: its calls are inlined."""
    return a * a, a


def unpacked_tuple_helper(x, y):
    p, q = square_and_identity(y)
    return p * q * x


def sine_and_cosine(a, b):
    return np.sin(a) * b, np.cos(b) + a


def function_of_a_tuple_entry(x, y):
    return np.sin(sine_and_cosine(x, x)[0]) * y


def square_of_a_sum_beside_a_loop(x, y):
    v = np.sum(y)
    for i in range(2):
        x = x * 1.1
    return v * v * x


def sum_in_a_returning_while(x, y):
    n = 0
    while n < 1:
        n += 1
        return np.sum(y) * np.cos(np.sum(y)) * x
    return x


def closure_over_a_rebound_argument(x, y):
    def local(a):
        return np.tanh(a) * np.sum(y)
    v0 = local(-1.2)
    y = np.cos(v0)
    n = 0
    while n < 1:
        n += 1
        return local(v0) + x
    return x
