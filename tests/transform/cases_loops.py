"""Loops that rebind names to views and choose values by conditions: the
programs of test_loops.py. Each takes a float ``a`` and an array ``A`` of
shape (2, 3) and returns a float.

Two adjoint bugs made these silently wrong (issues 9 and 10):

* an ``if``'s adjoint (a conditional expression is one) writes the
  adjoints both arms changed at the end of each arm; another adjoint that
  was only a name for one of them (``d_t4`` is ``da`` in ``a = t - (a if c
  else s)``) then read the new value instead of the old;
* a loop's adjoint restores what the loop assigned; an adjoint read after
  it that was only a name for such a value (``da`` is ``s`` in ``return
  s * a``) read the restored, first value.
"""

import numpy as np


def issue_9(a, A):
    s3 = 0.0
    for i in range(2):
        a = s3 / (2.0 + np.cos(s3)) - (a if s3 + a >= 0.915 else s3)
        A = A.T[:, ::-1].reshape(2, 3)
        s3 += np.mean(A)
    return a + np.tanh(s3)


def issue_10_rescaled(a, A):
    s3 = 0.0
    for i in range(2):
        a = s3 / (2.0 + np.cos(s3)) - (a if s3 + a >= 0.915 else s3)
        A = A * 1.5
        s3 += np.mean(A)
    return a + np.tanh(s3)


def alternating_branches(a, A):
    s = 0.0
    for i in range(4):
        a = np.sin(s) * 0.5 - (a if i % 2 == 0 else s * s)
        A = A.T[::-1]
        s = s + np.mean(A) * a
    return a + s


def transposed(a, A):
    s = 0.0
    for i in range(3):
        a = np.sum(A[0]) * s - (a if s + a > 0.2 else s)
        A = A.T
        s = s + np.sum(A * A[0]) * 0.3
    return a * s + np.sum(A)


def stepped_slices(a, A):
    s = 0.0
    for i in range(2):
        a = s * np.cos(s) + (a if a > s else s - A[0, 0])
        A = A[::-1, ::2]
        s = s + np.sum(A ** 2)
    return a + s * np.sum(A)


def reversed_columns(a, A):
    s = 0.0
    for i in range(3):
        A = A[:, ::-1] * (1.0 + a)
        a = np.tanh(s) * 2.0 - (a if np.sum(A[:, 0]) > s else np.tanh(s) + s)
        s = s + np.mean(A[:, 1:]) * a
    return a + s


def reshaped(a, A):
    s = 0.0
    for i in range(2):
        A = A.reshape(3, 2)
        a = 2.0 * s + (a if a > 0.1 else s * np.sum(A[:, 1]))
        A = np.reshape(A, (2, 3)) + a
        s = s + np.mean(A)
    return a + np.sin(s)


def transpose_chain(a, A):
    s = 0.0
    for i in range(3):
        A = np.transpose(A)[::-1].T
        a = np.cos(s) * A[1, 2] + (a if a + s > 0.5 else s * s)
        s = s + np.sum(A * A) * 0.1 - a
    return a * s


def swapped_axes(a, A):
    s = 0.0
    for i in range(3):
        A = np.swapaxes(A, 0, 1)[::-1]
        a = s / (1.0 + s * s) - (a if s + a > 0.3 else s * 2.0)
        s = s + np.sum(A[0]) * a
    return a + s


def if_statement(a, A):
    s = 0.0
    for i in range(3):
        if s + a > 0.4:
            b = a
        else:
            b = s * A[0, 1]
        a = np.exp(-s * s) - b
        A = A.T.reshape(2, 3)
        s = s + np.mean(A) + 0.1 * a
    return a + s


def while_loop(a, A):
    s = 0.0
    n = 0
    while n < 3:
        a = s / (2.0 + np.cos(s)) - (a if s + a >= 0.5 else s)
        A = A.T[::-1]
        s = s + np.mean(A) + 0.2
        n += 1
    return a + np.tanh(s)


def while_value_bound(a, A):
    s = 0.0
    while s < 1.5:
        A = A[:, ::-1] * 1.1
        a = np.tanh(s) - (a if s > 0.6 else s * s)
        s = s + 0.4 + np.mean(A) ** 2
    return s * a + np.sum(A)


def nested_loops(a, A):
    s = 0.0
    for i in range(2):
        for j in range(2):
            A = A.T[::-1].reshape(2, 3)
            a = np.sin(s) - (a if s + a > 0.6 else s * A[i, j])
            s = s + np.mean(A) * 0.5
        s = s * a
    return a + s


def nested_while_in_for(a, A):
    s = 0.0
    for i in range(2):
        k = 0
        while k < i + 1:
            a = s * 0.5 - (a if s < a else s * A[0, k])
            A = A[::-1].T.reshape(2, 3)
            s = s + np.sum(A[1]) * 0.25
            k += 1
    return a + np.tanh(s)


def result_read_after_loop(a, A):
    s = 0.0
    for i in range(2):
        s = s + np.sum(A)
        A = A.reshape(3, 2).T[::-1] if s > 100.0 else A.T
    return s * a


def result_read_after_while(a, A):
    s = 0.0
    while s < 1.0:
        s = s + np.sum(A * A) + 0.3
        A = A.T[::-1]
    return a * s


def loop_target_read_after_loop(a, A):
    s = 0.0
    for k in [0.5, 1.5, 2.5]:
        s = s + np.sum(A)
        A = A.T
    return a * k + s
