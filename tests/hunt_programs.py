"""Functions written the way users write them (the third adversarial hunt,
issue 10): numerical recipes, optimisation test functions, CS231n-style
layers, training loops and Python idioms. tests/test_hunt_corpus.py checks
each one: right against central differences, or refused clearly."""
import functools
import math

import numpy as np

CASES = []


def case(*args):
    def deco(f):
        CASES.append((f.__name__, f, list(args)))
        return f
    return deco


X3 = np.array([0.3, -1.1, 0.8])
X4 = np.array([0.7, -0.4, 1.3, 0.2])
M23 = np.array([[0.5, -0.2, 0.9], [1.1, 0.4, -0.6]])
M33 = np.array([[2.0, 0.3, -0.1], [0.3, 1.5, 0.2], [-0.1, 0.2, 1.0]])


# ---------------------------------------------------------------- p1

@case(2.0)
def newton_sqrt(a):
    x = a
    for _ in range(20):
        x = 0.5 * (x + a / x)
    return x

@case(2.0)
def newton_sqrt_while(a):
    x = a
    it = 0
    while abs(x * x - a) > 1e-12 and it < 50:
        x = x - (x * x - a) / (2 * x)
        it += 1
    return x

@case(0.7)
def fixed_point_cos(c):
    x = 0.0
    for i in range(200):
        xn = np.cos(c * x)
        if abs(xn - x) < 1e-14:
            break
        x = xn
    return x

@case(0.5)
def rk4_decay(k):
    y = 1.0
    h = 0.1
    def f(t, y):
        return -k * y + np.sin(t)
    t = 0.0
    for _ in range(10):
        k1 = f(t, y)
        k2 = f(t + h / 2, y + h * k1 / 2)
        k3 = f(t + h / 2, y + h * k2 / 2)
        k4 = f(t + h, y + h * k3)
        y = y + h / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
        t += h
    return y

@case(np.array([1.0, 0.0]), 0.8)
def leapfrog(q0, w):
    q = q0[0]
    p = q0[1]
    dt = 0.05
    for _ in range(40):
        p = p - 0.5 * dt * w ** 2 * q
        q = q + dt * p
        p = p - 0.5 * dt * w ** 2 * q
    return q ** 2 + p

@case(X3.copy())
def rk4_vector(y0):
    A = np.array([[-0.5, 0.2, 0.0], [0.1, -0.3, 0.4], [0.0, -0.2, -0.1]])
    y = y0
    h = 0.2
    for _ in range(5):
        k1 = A @ y
        k2 = A @ (y + 0.5 * h * k1)
        k3 = A @ (y + 0.5 * h * k2)
        k4 = A @ (y + h * k3)
        y = y + (h / 6.0) * (k1 + 2 * k2 + 2 * k3 + k4)
    return np.sum(y ** 2)

@case(1.3)
def newton_root_cubic(c):
    # root of x^3 + x - c via Newton, implicit function of c
    x = 1.0
    for _ in range(30):
        fx = x ** 3 + x - c
        x -= fx / (3 * x ** 2 + 1)
    return x

@case(X3.copy())
def softplus_stable(x):
    return np.sum(np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x))))

@case(X4.copy())
def logsumexp_max(x):
    m = np.max(x)
    return m + np.log(np.sum(np.exp(x - m)))

@case(M23.copy())
def logsumexp_keepdims(x):
    m = np.max(x, axis=1, keepdims=True)
    return np.sum(m + np.log(np.sum(np.exp(x - m), axis=-1, keepdims=True)))

@case(M23.copy())
def log_softmax_rows(z):
    z = z - z.max(axis=-1, keepdims=True)
    lsm = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    return -lsm[np.arange(2), [0, 2]].mean()

@case(np.array([0.5, -0.3, 2.0]))
def where_sqrt_guard(x):
    return np.sum(np.where(x > 0, np.sqrt(np.abs(x) + 0.0), 0.0))

@case(np.array([0.5, -0.3, 2.0]))
def where_log_trap(x):
    # NaN in the untaken branch: log of negative
    return np.sum(np.where(x > 0, np.log(np.where(x > 0, x, 1.0)), x ** 2))

@case(np.array([0.5, -0.3, 2.0]))
def where_log_untaken_nan(x):
    with np.errstate(invalid="ignore", divide="ignore"):
        y = np.where(x > 0, np.log(x), 0.0)
    return np.sum(y)

@case(X4.copy())
def clip_grad(x):
    return np.sum(np.clip(x, -0.5, 0.9) ** 2)

@case(X4.copy())
def clip_method(x):
    return np.sum(x.clip(min=-0.5) * x)

@case(X4.copy())
def bool_mask_sum(x):
    mask = x > 0
    return np.sum(x[mask] ** 2) - np.sum(x[~mask])

@case(X4.copy())
def bool_mask_assign(x):
    y = x.copy()
    y[y < 0] = 0.0
    return np.sum(y * x)

@case(X4.copy())
def bool_mask_mult(x):
    return np.sum(x * (x > 0.1))

@case(X4.copy())
def int_index_dup(x):
    idx = np.array([0, 2, 2, 3])
    return np.sum(x[idx] ** 2)

@case(M23.copy())
def int_index_2d(x):
    rows = np.array([0, 1, 1])
    cols = np.array([2, 0, 2])
    return np.sum(x[rows, cols] * np.array([1.0, 2.0, 3.0]))

@case(X3.copy(), M23.copy())
def newaxis_broadcast(v, M):
    return np.sum((M - v[np.newaxis, :]) ** 2)

@case(X3.copy(), X4.copy())
def none_outer(a, b):
    return np.sum(np.tanh(a[:, None] * b[None, :]))

@case(M23.copy())
def keepdims_norm(x):
    return np.sum(x / np.linalg.norm(x, axis=1, keepdims=True) * np.arange(3))

@case(M23.copy())
def neg_axis(x):
    return np.sum(np.mean(x, axis=-2) * np.std(x, axis=-1).sum())

@case(M23.copy(), M33.copy())
def einsum_ij_jk(a, b):
    return np.einsum("ij,jk->", a, b) + np.einsum("ij,ij", a, a)

@case(M33.copy())
def einsum_trace_diag(a):
    return np.einsum("ii", a) * np.sum(np.einsum("ii->i", a) ** 2)

@case(M23.copy())
def reshape_minus1(x):
    return np.sum(x.reshape(-1) * np.arange(6.0)) + np.sum(x.reshape(3, -1)[1] ** 2)

@case(M23.copy())
def ravel_flatten(x):
    return np.dot(x.ravel(), x.flatten()[::-1])

@case(X3.copy())
def transpose_1d(x):
    return x.T @ x + np.sum(x.T * 2)

@case(X4.copy())
def inplace_slice(x):
    y = np.zeros(4)
    y[:2] = x[2:]
    y[2:] += x[:2] * 3
    y[1:3] *= x[1:3]
    return np.sum(y ** 2)

@case(X4.copy())
def inplace_step_slice(x):
    y = x.copy()
    y[::2] -= y[1::2]
    y[-1] /= 2.0
    return np.sum(y * y)

class Acc:
    def __init__(self):
        self.total = 0.0

@case(X3.copy())
def aug_attr(x):
    a = Acc()
    for v in x:
        a.total += v ** 2
    return a.total

@case(X3.copy())
def aug_subscript_list(x):
    acc = [0.0, 0.0]
    for i in range(3):
        acc[i % 2] += x[i] * (i + 1)
    return acc[0] * acc[1]

@case(X4.copy())
def chained_compare(x):
    s = 0.0
    for v in x:
        if -0.5 < v < 1.0:
            s += v ** 3
        else:
            s += 2 * v
    return s

@case(X4.copy())
def ternary(x):
    s = 0.0
    for v in x:
        s += v * v if v > 0 else -v
    return s

@case(X4.copy())
def walrus(x):
    total = 0.0
    if (n := np.sum(x ** 2)) > 1.0:
        total = n ** 0.5
    return total + n

@case(X4.copy())
def comprehension_cond(x):
    return sum([v ** 2 for v in x if v > 0])

@case(X4.copy())
def gen_expr(x):
    return sum(np.sin(v) * i for i, v in enumerate(x))

@case(X4.copy(), X4[::-1].copy())
def zip_pairs(a, b):
    return sum(p * q for p, q in zip(a, b))

@case(X4.copy())
def reversed_loop(x):
    s = 0.0
    for v in reversed(x):
        s = s * 0.5 + v
    return s

@case(X3.copy())
def nested_closure_loop(x):
    fs = []
    for k in range(3):
        def g(v, k=k):
            return v * k
        fs.append(g)
    return sum(g(x[i]) for i, g in enumerate(fs))

@case(X3.copy())
def closure_late_binding(x):
    fs = [lambda v: v * k for k in range(3)]
    return sum(f(x[0]) for f in fs)

@case(X4.copy())
def lambda_map(x):
    return sum(map(lambda v: v ** 2, x))

@case(X4.copy())
def sorted_key(x):
    vals = sorted(x, key=lambda v: abs(v))
    return vals[0] * 1.0 + vals[-1] * 2.0

@case(X4.copy())
def reduce_mul(x):
    return functools.reduce(lambda a, b: a * b, x)

@case(X4.copy())
def reduce_add_init(x):
    return functools.reduce(lambda acc, v: acc + v ** 2, x, 0.0)

@case(1.2, X3.copy())
def math_np_mix(a, x):
    return math.exp(a) * np.sum(np.sin(x)) + math.sqrt(a) * math.cos(a)

@case(X3.copy())
def python_int_mix(x):
    n = len(x)
    return np.sum(x ** 2) / n + 3 * x[0] + n // 2 * x[1]

@case(X3.astype(np.float32))
def float32_input(x):
    return np.sum(np.tanh(x) * 0.5) + np.float64(2.0) * x[0]

@case(np.array(0.7))
def zero_d(x):
    return x ** 2 + np.sin(x)

@case(X3.copy(), np.zeros(0))
def empty_array(x, e):
    return np.sum(x ** 2) + np.sum(e)

@case(X3.copy())
def empty_slice(x):
    return np.sum(x[3:]) + np.sum(x ** 2)

def kwonly(x, *, scale=2.0):
    return np.sum(x * scale) ** 2

@case(X3.copy())
def calls_kwonly(x):
    return kwonly(x, scale=0.5) + kwonly(x)

def default_array(x, w=np.array([1.0, -1.0, 0.5])):
    return np.sum(w * x ** 2)

@case(X3.copy())
def calls_default_array(x):
    return default_array(x)

default_array_direct = default_array
CASES.append(("default_array_direct", default_array, [X3.copy()]))

def fact_rec(x, n):
    if n == 0:
        return 1.0
    return x * fact_rec(x, n - 1)

@case(1.1)
def recursion_pow(x):
    return fact_rec(x, 5)

def tree_sum(x, lo, hi):
    if hi - lo == 1:
        return x[lo] ** 2
    mid = (lo + hi) // 2
    return tree_sum(x, lo, mid) + tree_sum(x, mid, hi)

@case(X4.copy())
def recursion_tree(x):
    return tree_sum(x, 0, 4)


# ---------------------------------------------------------------- p2

SCALE = 2.0
W = np.array([1.0, 2.0, 3.0])

@case(X3.copy())
def uses_global_scale(x):
    return SCALE * np.sum(x ** 2)

@case(X3.copy())
def uses_global_array(x):
    return np.sum(W * x ** 2)

@case(X3.copy(), X3.copy())
def alias_two_names(x, y):
    a = x.copy()
    b = a
    b *= y
    return np.sum(a)

@case(X3.copy())
def alias_list_holds(x):
    y = x * 1.0
    hist = [y]
    y += 1.0
    return np.sum(hist[0] * y)

@case(X3.copy())
def alias_tuple_unpack(x):
    a = x + 0.0
    b, c = a, a
    c[0] = 5.0
    return np.sum(b * x)

@case(X4.copy())
def view_write(x):
    y = x.copy()
    v = y[1:3]
    v *= 2.0
    return np.sum(y ** 2)

@case(M23.copy())
def row_view_write(x):
    y = x.copy()
    r = y[0]
    r += 1.0
    return np.sum(y * x)

@case(X4.copy())
def repeated_index_assign(x):
    y = np.zeros(4)
    y[[0, 0, 1]] = x[:3]
    return np.sum(y * np.arange(1.0, 5.0))

@case(X4.copy())
def repeated_index_iadd(x):
    y = x.copy()
    y[[0, 0, 1]] += x[1:]
    return np.sum(y ** 2)

@case(X4.copy())
def add_at(x):
    y = np.zeros(3)
    np.add.at(y, [0, 0, 2, 1], x)
    return np.sum(y ** 2)

@case(X4.copy())
def out_kwarg(x):
    y = np.empty(4)
    np.multiply(x, x, out=y)
    return np.sum(y)

@case(X4.copy())
def np_copyto(x):
    y = np.zeros(4)
    np.copyto(y, x * 2)
    return np.sum(y * x)

@case(X4.copy())
def mod_op(x):
    return np.sum((x * 3.0) % 1.0 * x)

@case(2.3, 0.7)
def divmod_py(a, b):
    q, r = divmod(a, b)
    return r * a + q

@case(X4.copy())
def power_edge(x):
    return np.sum(x ** 1) + np.sum(np.abs(x) ** 0.5)

@case(np.array([0.0, 1.0, 2.0]))
def power_at_zero(x):
    return np.sum(x ** 2.0) + np.sum(x ** 0.0) + np.sum(x ** 1)

def wraps_scale(fn):
    @functools.wraps(fn)
    def inner(*args, **kwargs):
        return 2.0 * fn(*args, **kwargs)
    return inner

@wraps_scale
def decorated(x):
    return np.sum(x ** 2)
CASES.append(("decorated", decorated, [X3.copy()]))

@case(X3.copy())
def partial_power(x):
    p = functools.partial(np.power, x)
    return np.sum(p(2.0))

@case(X3.copy())
def bound_method(x):
    s = x.sum
    return s() ** 2

@case(X3.copy())
def getattr_np(x):
    return np.sum(getattr(np, "sin")(x))

@case(X3.copy())
def returns_closure(x):
    def make(a):
        def g(b):
            return a * b
        return g
    h = make(x)
    return np.sum(h(x))

@case(np.array([0.33, -1.1, 0.8]))
def int_cast(x):
    return int(x[0] * 10) * x[1] + float(x[2]) ** 2

@case(np.array([1.5, 2.5, 0.5]))
def split_parts(x):
    a, b, c = np.split(x, 3)
    return np.sum(a * b + c)

@case(np.arange(6.0) / 3 + 0.1)
def array_split_uneven(x):
    parts = np.array_split(x, 4)
    return sum(np.sum(p ** 2) * (i + 1) for i, p in enumerate(parts))

@case(X4.copy())
def take_wrap(x):
    return np.sum(np.take(x, [0, 5, -1], mode="wrap") ** 2)

@case(M33.copy())
def norms(a):
    return np.linalg.norm(a, 1) + np.linalg.norm(a, np.inf) + np.linalg.norm(a, "nuc")

FLAGS = np.array([1.0, 0.0, 2.0])

@case(X3.copy())
def module_array_if(x):
    if FLAGS[0] > 0:
        return np.sum(x * FLAGS)
    return np.sum(x)

@case(X3.copy(), M23.copy())
def matvec_adj(v, A):
    return np.sum((A @ v) ** 2) + v @ A.T @ A @ v

@case(X3.copy())
def nested_def_later(x):
    def g(t):
        return t * c
    c = 3.0
    return np.sum(g(x))

@case(X3.copy())
def star_shape(x):
    z = np.ones((*x.shape, 2))
    return np.sum(z * x[:, None])

@case(X3.copy())
def dict_accum(x):
    d = {}
    for i in range(3):
        d[i] = x[i] ** 2
    return sum(d.values())

@case(X3.copy())
def list_append(x):
    out = []
    for v in x:
        out.append(v * 2)
    return sum(out) ** 2

@case(X3.copy())
def builtin_max(x):
    return max(x[0], x[1], 0.0) + min(x) * 2

@case(X3.copy())
def abs_max(x):
    return abs(x).max() + np.abs(x).argmax()

def astype_f(x):
    return np.sum(x.astype(np.float32).astype(np.float64) * x)

@case(X3.copy())
def try_except(x):
    try:
        y = np.sum(x ** 2)
    except ZeroDivisionError:
        y = 0.0
    return y

@case(X3.copy())
def print_fstring(x):
    s = np.sum(x)
    msg = f"sum={s:.3f}"
    return s ** 2

@case(X3.copy())
def assert_stmt(x):
    assert x.shape == (3,), "bad shape"
    return np.sum(x ** 3)

@case(X3.copy())
def while_break(x):
    s = 0.0
    i = 0
    while True:
        s += x[i % 3] * 0.5 ** i
        i += 1
        if i >= 7:
            break
    return s

@case(X3.copy())
def for_else(x):
    s = 0.0
    for v in x:
        if v > 5.0:
            break
        s += v
    else:
        s *= 2.0
    return s

@case(X3.copy())
def nested_loops_continue(x):
    s = 0.0
    for i in range(3):
        for j in range(3):
            if i == j:
                continue
            s += x[i] * x[j]
    return s

@case(X3.copy())
def tuple_slice_seq(x):
    t = (x[0], x[1], x[2])
    u = t[1:] + (3 * x[0],)
    return sum(u) * t[::-1][0]

@case(X3.copy())
def list_mul(x):
    l = [x] * 3
    return np.sum(l[0] * l[2])

@case(X3.copy())
def starred_assign(x):
    first, *rest = x
    return first * sum(rest)

@case(X3.copy())
def enumerate_start(x):
    return sum(i * v for i, v in enumerate(x, start=1))

@case(X4.copy())
def np_sort_vals(x):
    s = np.sort(x)
    return s[-1] * 2 + s[0]

@case(X4.copy())
def argsort_gather(x):
    return np.sum(x[np.argsort(x)] * np.arange(4.0))

@case(X4.copy())
def cumsum_diff(x):
    return np.sum(np.diff(np.cumsum(x ** 2)) ** 2)

@case(M23.copy())
def stack_concat(x):
    z = np.concatenate([x, x ** 2], axis=0)
    s = np.stack([x[0], x[1]], axis=1)
    return np.sum(z) * np.sum(s ** 2)

@case(M23.copy())
def vstack_hstack(x):
    return np.sum(np.vstack([x, x]) ** 2) + np.sum(np.hstack([x[0], x[1]]) * 2)

@case(X3.copy())
def outer_tile(x):
    return np.sum(np.tile(x, 2) * np.repeat(x, 2))

@case(X4.copy())
def pad_edge(x):
    return np.sum(np.pad(x, 2, mode="edge") * np.arange(8.0))

@case(M33.copy())
def tri(a):
    return np.sum(np.triu(a) ** 2) + np.sum(np.tril(a, -1))

@case(M33.copy(), X3.copy())
def solve_inv(A, b):
    x = np.linalg.solve(A, b)
    return x @ x + np.trace(np.linalg.inv(A))

@case(M33.copy())
def slogdet_chol(A):
    s, ld = np.linalg.slogdet(A)
    L = np.linalg.cholesky(A)
    return ld + np.sum(np.log(np.diag(L)))

@case(M33.copy())
def eigh_vals(A):
    w, v = np.linalg.eigh(A)
    return np.sum(w ** 2) + np.sum(v[:, 0] ** 2)


# ---------------------------------------------------------------- p3

# --- optimisation benchmark functions (SciPy go_benchmarks / VLSE style)
@case(np.array([0.5, -0.3, 1.2, 0.8]))
def rosenbrock(x):
    return np.sum(100.0 * (x[1:] - x[:-1] ** 2.0) ** 2.0 + (1 - x[:-1]) ** 2.0)

@case(np.array([0.5, -0.3, 1.2]))
def ackley(x):
    n = x.size
    return (-20.0 * np.exp(-0.2 * np.sqrt(np.sum(x ** 2) / n))
            - np.exp(np.sum(np.cos(2 * np.pi * x)) / n) + 20 + np.e)

@case(np.array([0.5, -0.3, 1.2]))
def rastrigin(x):
    return 10.0 * len(x) + sum(x ** 2 - 10.0 * np.cos(2 * np.pi * x))

@case(np.array([0.5, -0.3, 1.2]))
def griewank(x):
    i = np.arange(1, len(x) + 1)
    return np.sum(x ** 2 / 4000.0) - np.prod(np.cos(x / np.sqrt(i))) + 1.0

@case(np.array([0.5, -0.3]))
def styblinski_tang(x):
    return np.sum(x ** 4 - 16 * x ** 2 + 5 * x) / 2.0

@case(np.array([0.5, -0.3, 0.2]))
def levy(x):
    w = 1 + (x - 1.0) / 4.0
    term1 = np.sin(np.pi * w[0]) ** 2
    term3 = (w[-1] - 1) ** 2 * (1 + np.sin(2 * np.pi * w[-1]) ** 2)
    wi = w[:-1]
    s = np.sum((wi - 1) ** 2 * (1 + 10 * np.sin(np.pi * wi + 1) ** 2))
    return term1 + s + term3

@case(np.array([0.5, -0.3]))
def beale(x):
    x1, x2 = x
    return ((1.5 - x1 + x1 * x2) ** 2 + (2.25 - x1 + x1 * x2 ** 2) ** 2
            + (2.625 - x1 + x1 * x2 ** 3) ** 2)

@case(np.array([0.5, -0.3]))
def goldstein_price(x):
    x1 = x[0]; x2 = x[1]
    fact1a = (x1 + x2 + 1) ** 2
    fact1b = 19 - 14 * x1 + 3 * x1 ** 2 - 14 * x2 + 6 * x1 * x2 + 3 * x2 ** 2
    fact1 = 1 + fact1a * fact1b
    fact2a = (2 * x1 - 3 * x2) ** 2
    fact2b = 18 - 32 * x1 + 12 * x1 ** 2 + 48 * x2 - 36 * x1 * x2 + 27 * x2 ** 2
    fact2 = 30 + fact2a * fact2b
    return fact1 * fact2

@case(np.array([0.2, 0.4, 0.6, 0.1]))
def hartmann_like(x):
    alpha = np.array([1.0, 1.2, 3.0])
    A = np.array([[3.0, 10, 30, 1.0], [0.1, 10, 35, 2.0], [3.0, 10, 30, 0.5]])
    P = 1e-4 * np.array([[3689, 1170, 2673, 100], [4699, 4387, 7470, 200], [1091, 8732, 5547, 300.0]])
    outer = 0.0
    for ii in range(3):
        inner = 0.0
        for jj in range(4):
            xj = x[jj]
            Aij = A[ii, jj]
            Pij = P[ii, jj]
            inner = inner + Aij * (xj - Pij) ** 2
        new = alpha[ii] * np.exp(-inner)
        outer = outer + new
    return -outer

@case(np.array([0.5, -0.3]))
def six_hump(x):
    x1, x2 = x[0], x[1]
    return (4 - 2.1 * x1 ** 2 + x1 ** 4 / 3) * x1 ** 2 + x1 * x2 + (-4 + 4 * x2 ** 2) * x2 ** 2

@case(np.array([0.5, -0.3, 0.9]))
def michalewicz(x, m=10):
    i = np.arange(1, x.size + 1)
    return -np.sum(np.sin(x) * np.sin(i * x ** 2 / np.pi) ** (2 * m))

@case(np.array([0.5, -0.3, 0.9]))
def schwefel_like(x):
    return 418.9829 * len(x) - np.sum(x * np.sin(np.sqrt(np.abs(x) + 1.0)))

@case(np.array([1.5, 2.5]))
def branin(x):
    a, b, c = 1.0, 5.1 / (4 * np.pi ** 2), 5 / np.pi
    r, s, t = 6.0, 10.0, 1 / (8 * np.pi)
    return a * (x[1] - b * x[0] ** 2 + c * x[0] - r) ** 2 + s * (1 - t) * np.cos(x[0]) + s

# --- CS231n-style layers
@case(np.array([[0.2, -0.5, 1.0], [0.3, 0.8, -0.1]]), np.array([[0.1, 0.2], [-0.3, 0.4], [0.5, -0.6]]), np.array([0.01, -0.02]))
def affine_relu_loss(x, w, b):
    out = x.reshape(x.shape[0], -1).dot(w) + b
    out = np.maximum(0, out)
    return np.sum(out ** 2)

@case(np.array([[0.2, -0.5, 1.0], [0.3, 0.8, -0.1]]))
def softmax_loss(x):
    y = np.array([2, 0])
    shifted_logits = x - np.max(x, axis=1, keepdims=True)
    Z = np.sum(np.exp(shifted_logits), axis=1, keepdims=True)
    log_probs = shifted_logits - np.log(Z)
    probs = np.exp(log_probs)
    N = x.shape[0]
    loss = -np.sum(log_probs[np.arange(N), y]) / N
    return loss

@case(np.array([[0.2, -0.5, 1.0], [0.3, 0.8, -0.1]]))
def svm_loss(x):
    y = np.array([2, 0])
    N = x.shape[0]
    correct_class_scores = x[np.arange(N), y]
    margins = np.maximum(0, x - correct_class_scores[:, np.newaxis] + 1.0)
    margins[np.arange(N), y] = 0
    loss = np.sum(margins) / N
    return loss

@case(np.array([[0.2, -0.5, 1.0], [0.3, 0.8, -0.1], [1.1, 0.2, 0.4]]), np.array([1.0, 0.5, 2.0]), np.array([0.0, 0.1, -0.1]))
def batchnorm_forward(x, gamma, beta):
    eps = 1e-5
    sample_mean = np.mean(x, axis=0)
    sample_var = np.var(x, axis=0)
    x_hat = (x - sample_mean) / np.sqrt(sample_var + eps)
    out = gamma * x_hat + beta
    return np.sum(out * np.arange(9.0).reshape(3, 3))

@case(np.array([[0.2, -0.5, 1.0], [0.3, 0.8, -0.1]]), np.array([1.0, 0.5, 2.0]))
def layernorm(x, gamma):
    mu = x.mean(axis=1, keepdims=True)
    var = ((x - mu) ** 2).mean(axis=1, keepdims=True)
    return np.sum(gamma * (x - mu) / np.sqrt(var + 1e-5) * np.array([[1.0], [2.0]]))

@case(np.random.default_rng(1).standard_normal((1, 1, 4, 4)), np.random.default_rng(2).standard_normal((2, 1, 3, 3)))
def conv_naive(x, w):
    N, C, H, W = x.shape
    F, _, HH, WW = w.shape
    stride, pad = 1, 1
    xp = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")
    H_out = 1 + (H + 2 * pad - HH) // stride
    W_out = 1 + (W + 2 * pad - WW) // stride
    out = np.zeros((N, F, H_out, W_out))
    for n in range(N):
        for f in range(F):
            for i in range(H_out):
                for j in range(W_out):
                    out[n, f, i, j] = np.sum(xp[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW] * w[f])
    return np.sum(out ** 2)

@case(np.random.default_rng(3).standard_normal((1, 1, 4, 4)))
def max_pool_naive(x):
    N, C, H, W = x.shape
    out = np.zeros((N, C, 2, 2))
    for i in range(2):
        for j in range(2):
            out[:, :, i, j] = np.max(x[:, :, 2 * i:2 * i + 2, 2 * j:2 * j + 2], axis=(2, 3))
    return np.sum(out * np.arange(4.0).reshape(1, 1, 2, 2))

@case(np.array([[0.2, -0.5], [0.3, 0.8]]), np.array([[0.1, 0.2], [-0.3, 0.4]]), np.array([[0.5, -0.6], [0.2, 0.1]]))
def rnn_steps(x, Wx, Wh):
    h = np.zeros(2)
    hs = []
    for t in range(x.shape[0]):
        h = np.tanh(x[t] @ Wx + h @ Wh)
        hs.append(h)
    return np.sum(np.stack(hs) ** 2)

@case(np.array([[0.2, -0.5, 0.4], [0.3, 0.8, -0.2]]))
def dropout_fixed_mask(x):
    rng = np.random.default_rng(0)
    mask = (rng.random(x.shape) < 0.5) / 0.5
    return np.sum((x * mask) ** 2)

# --- training loops / losses
@case(np.array([0.1, -0.2, 0.3]))
def logistic_regression(w):
    X = np.array([[1.0, 0.5, -1.0], [0.2, -0.3, 0.8], [-1.1, 0.4, 0.3], [0.6, 0.9, -0.2]])
    y = np.array([1.0, 0.0, 1.0, 0.0])
    z = X @ w
    p = 1.0 / (1.0 + np.exp(-z))
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))

@case(np.array([0.1, -0.2, 0.3]))
def gd_inner_loop(w0):
    X = np.array([[1.0, 0.5, -1.0], [0.2, -0.3, 0.8], [-1.1, 0.4, 0.3]])
    y = np.array([1.0, 2.0, 0.5])
    w = w0.copy()
    for step in range(5):
        r = X @ w - y
        g = 2 * X.T @ r / len(y)
        w -= 0.1 * g
    return np.sum((X @ w - y) ** 2)

@case(np.array([0.1, -0.2, 0.3]))
def momentum_loop(w0):
    A = np.diag([1.0, 2.0, 3.0])
    w = w0
    v = np.zeros_like(w)
    for _ in range(4):
        g = A @ w
        v = 0.9 * v - 0.1 * g
        w = w + v
    return 0.5 * w @ A @ w

@case(np.array([0.1, -0.2, 0.3]))
def huber(r):
    delta = 0.25
    a = np.abs(r)
    return np.sum(np.where(a <= delta, 0.5 * r ** 2, delta * (a - 0.5 * delta)))

@case(np.array([0.6, 0.2, 0.9]))
def bce_clip(p):
    y = np.array([1.0, 0.0, 1.0])
    p = np.clip(p, 1e-7, 1 - 1e-7)
    return -np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))

@case(np.array([[0.2, -0.5, 1.0], [0.3, 0.8, -0.1]]))
def cross_entropy_onehot(logits):
    onehot = np.eye(3)[[2, 0]]
    e = np.exp(logits - logits.max(axis=1)[:, None])
    p = e / e.sum(axis=1)[:, None]
    return -np.sum(onehot * np.log(p)) / logits.shape[0]

@case(np.array([0.3, 0.5]))
def gaussian_nll(params):
    mu, log_sigma = params
    data = np.array([0.1, 0.4, -0.2, 0.9])
    sigma = np.exp(log_sigma)
    return np.sum(0.5 * ((data - mu) / sigma) ** 2 + log_sigma + 0.5 * np.log(2 * np.pi))

@case(np.array([0.3, 0.5, -0.1]))
def kl_div(q):
    p = np.array([0.2, 0.5, 0.3])
    qs = np.exp(q) / np.sum(np.exp(q))
    return np.sum(p * np.log(p / qs))

@case(np.array([[0.3, 0.5], [-0.1, 0.2], [0.7, -0.4]]))
def pairwise_dist(x):
    d = x[:, None, :] - x[None, :, :]
    r2 = np.sum(d ** 2, axis=-1)
    return np.sum(np.exp(-r2))

@case(np.array([[0.3, 0.5], [-0.1, 0.2], [0.7, -0.4]]))
def lennard_jones(pos):
    n = pos.shape[0]
    e = 0.0
    for i in range(n):
        for j in range(i + 1, n):
            r = np.linalg.norm(pos[i] - pos[j]) + 1.0
            e += 4 * (r ** -12 - r ** -6)
    return e

@case(np.array([0.3, 0.5, -0.1, 0.4]))
def polyval_horner(c):
    x = 0.7
    r = 0.0
    for ci in c[::-1]:
        r = r * x + ci
    return r ** 2 + np.polyval(c, 0.3)

@case(np.array([0.3, 0.5, -0.1, 0.4]))
def trapz_integral(y):
    xs = np.linspace(0, 1, 4)
    return np.trapezoid(y ** 2, xs) if hasattr(np, "trapezoid") else np.trapz(y ** 2, xs)

@case(np.array([0.3, 0.5, -0.1, 0.4]))
def interp_vals(y):
    return np.sum(np.interp([0.2, 1.5, 2.7], np.arange(4.0), y) ** 2)

@case(np.array([0.3, 0.5, -0.1, 0.4]))
def convolve_1d(y):
    return np.sum(np.convolve(y, np.array([1.0, -2.0, 1.0]), mode="valid") ** 2)

@case(np.array([0.3, 0.5, -0.1, 0.4]))
def gradient_np(y):
    return np.sum(np.gradient(y) ** 2)

@case(np.array([0.3, 0.5, -0.1, 0.4]))
def outer_kron(y):
    return np.sum(np.kron(y[:2], y[2:]) ** 2) + np.sum(np.outer(y, y).diagonal())

@case(np.array([[2.0, 0.5], [0.5, 1.0]]))
def matrix_power_expm(A):
    E = np.eye(2)
    term = np.eye(2)
    for k in range(1, 8):
        term = term @ A / k
        E = E + term
    return np.trace(E)

@case(np.array([0.3, 0.5, -0.1, 0.4]))
def roll_flip(y):
    return np.sum(np.roll(y, 1) * np.flip(y)) + np.sum(y[::-1] * np.roll(y, -2))

@case(np.array([0.3, 0.5, -0.1, 0.4]))
def sort_topk(y):
    return np.sum(np.sort(y)[-2:])

@case(np.array([0.3, 0.5, -0.1, 0.4]))
def cumprod_loss(y):
    return np.sum(np.cumprod(1.0 + y))

@case(np.array([0.3, 0.5, -0.1, 0.45]))
def select_piecewise(y):
    return np.sum(np.select([y < 0, y < 0.4], [y ** 2, np.sin(y)], default=y * 3))

@case(np.array([0.3, 0.5, -0.1, 0.4]))
def piecewise_np(y):
    return np.sum(np.piecewise(y, [y < 0, y >= 0], [lambda v: v ** 2, lambda v: 2 * v]))

@case(np.array([0.35, 0.5, -0.1, 0.4]))
def nan_guard(y):
    z = np.where(np.isfinite(1.0 / (y - 0.3)), y, 0.0)
    return np.sum(z ** 2)

@case(np.array([0.3, 0.5, -0.1, 0.4]))
def masked_mean(y):
    m = np.array([True, False, True, True])
    return np.sum(y * m) / m.sum() + y[m].mean()

@case(np.array([0.3, 0.5, -0.1, 0.4]))
def nonzero_index(y):
    idx = np.nonzero(y > 0)[0]
    return np.sum(y[idx] ** 3)

@case(np.array([0.3, 0.5, -0.1, 0.4]))
def where_one_arg(y):
    (idx,) = np.where(y > 0)
    return np.sum(y[idx] ** 3)

@case(np.array([0.3, 0.5, -0.1, 0.4]))
def argmax_pick(y):
    return y[np.argmax(y)] * 2 + y[y.argmin()]

@case(np.array([0.3, 0.5, -0.1, 0.4]))
def take_along(y):
    M = np.stack([y, y ** 2])
    idx = np.argsort(M, axis=1)
    return np.sum(np.take_along_axis(M, idx, axis=1) * np.arange(4.0))

@case(np.array([0.3, 0.5, -0.1, 0.4]))
def meshgrid_use(y):
    A, B = np.meshgrid(y, y[:2])
    return np.sum(A * B ** 2)

@case(np.array([0.3, 0.5, -0.1, 0.4]))
def linspace_endpoint(y):
    t = np.linspace(0.0, y[0], 5)
    return np.sum(np.sin(t))

@case(np.array([0.3, 0.5, -0.1, 0.4]))
def np_array_of_scalars(y):
    v = np.array([y[0] * y[1], np.sin(y[2]), 1.0])
    return np.sum(v ** 2)

@case(np.array([0.3, 0.5, -0.1, 0.4]))
def np_asarray_list(y):
    v = np.asarray([y[0], y[1] ** 2])
    return v @ v

@case(np.array([0.3, 0.5, -0.1, 0.4]))
def item_scalar(y):
    return y[0].item() * y[1] + y.sum()

@case(np.array([0.3, 0.5, -0.1, 0.4]))
def tolist_loop(y):
    s = 0.0
    for v in y.tolist():
        s += v ** 2
    return s + np.sum(y)


# ---------------------------------------------------------------- p4

@case(X3.copy())
def list_append_stack(x):
    out = []
    for i in range(3):
        out.append(x * i)
    return np.sum(np.stack(out) ** 2)

@case(X3.copy())
def list_append_sum(x):
    terms = []
    for v in x:
        terms.append(np.sin(v))
    return sum(terms)

@case(X3.copy(), M33.copy())
def rnn_hs(x, W):
    h = np.zeros(3)
    hs = []
    for t in range(3):
        h = np.tanh(W @ h + x[t])
        hs.append(h)
    return np.sum(hs[-1]) + np.sum(hs[0] ** 2)

@case(X3.copy(), M33.copy())
def rnn_h_matmul_first(x, W):
    h = x
    for t in range(3):
        h = np.tanh(h @ W)
    return np.sum(h)

@case(X3.copy())
def dict_params(x):
    p = {"a": x[0], "b": x[1:]}
    return p["a"] * np.sum(p["b"] ** 2)

@case(X3.copy())
def dict_loop_items(x):
    p = {"a": x[0], "b": x[1]}
    s = 0.0
    for k, v in p.items():
        s += v ** 2
    return s

@case(X3.copy())
def tuple_return_helper(x):
    def fwd(v):
        out = np.tanh(v)
        cache = (v, out)
        return out, cache
    out, _ = fwd(x)
    return np.sum(out)

@case(X3.copy())
def while_converge(x):
    y = x.copy()
    n = 0
    while np.max(np.abs(y)) > 0.1:
        y = y * 0.5
        n += 1
    return np.sum(y ** 2)

@case(X3.copy())
def while_scalar_newton(x):
    t = 1.0
    a = np.sum(x ** 2)
    for _ in range(50):
        t_new = t - (t * t - a) / (2 * t)
        if abs(t_new - t) < 1e-15:
            break
        t = t_new
    return t

@case(X3.copy())
def nested_if_elif(x):
    s = 0.0
    for v in x:
        if v > 0.5:
            s += v ** 2
        elif v > 0:
            s += np.sin(v)
        elif v > -1.0:
            s -= v
        else:
            s += v ** 3
    return s

@case(X3.copy())
def early_return(x):
    if np.sum(x) > 10:
        return 0.0
    for v in x:
        if v < -1.0:
            return v ** 2
    return np.sum(x)

@case(X3.copy())
def return_in_loop_value(x):
    for i in range(3):
        if x[i] > 0.5:
            return x[i] * i
    return 0.0

@case(1.3)
def py_float_math(a):
    return math.log(a) + math.atan2(a, 2.0) + math.hypot(a, 1.0) + a ** 0.5

@case(1.3)
def py_float_loop(a):
    s = 0.0
    for k in range(1, 6):
        s += a ** k / math.factorial(k)
    return s

@case(1.3, 0.4)
def two_floats(a, b):
    return a * b + a / b - b ** a

@case(X3.astype(np.float32), X3.astype(np.float32))
def float32_both(a, b):
    return np.sum(a * b) + np.float32(0.5) * np.sum(a)

@case(X3.astype(np.float32))
def float32_mean_std(a):
    return a.std() + a.mean() * 3 + np.linalg.norm(a)

@case(M23.astype(np.float32))
def float32_matmul(a):
    W = np.ones((3, 2))
    return np.sum(np.tanh(a @ W))

@case(np.array(0.5), np.array(1.2))
def zero_d_two(a, b):
    return np.sin(a) * b + a @ b if False else np.sin(a) * b

@case(np.array(0.5))
def zero_d_index(a):
    return a[()] ** 2 + a.item() * 0 + np.sum(a)

@case(X3.copy())
def empty_loop(x):
    s = np.sum(x)
    for i in range(0):
        s = s * x[i]
    return s

@case(X3.copy())
def stack_empty_list(x):
    parts = [x[i] for i in range(3) if x[i] > 100]
    return np.sum(x) + len(parts)

@case(X3.copy())
def kw_call_np(x):
    return np.sum(a=x ** 2) + np.mean(x, axis=0, keepdims=False)

@case(X3.copy())
def axis_kw_neg(x):
    m = np.stack([x, 2 * x], axis=-1)
    return np.sum(m.sum(axis=-1) ** 2) + np.sum(np.max(m, axis=-2))

@case(M23.copy())
def transpose_axes(x):
    t = np.transpose(x[None], (2, 0, 1))
    return np.sum(t * np.arange(3.0)[:, None, None])

@case(M23.copy())
def swapaxes_moveaxis(x):
    return np.sum(np.swapaxes(x, 0, 1) @ x) + np.sum(np.moveaxis(x[:, :, None], -1, 0) ** 3)

@case(M23.copy())
def squeeze_expand(x):
    y = np.expand_dims(x, axis=0)
    return np.sum(np.squeeze(y, axis=0) ** 2) + np.sum(y[0, :, 1])

@case(M23.copy())
def ellipsis_index(x):
    return np.sum(x[..., 1] ** 2) + np.sum(x[..., None] * 2)

@case(M23.copy())
def neg_step_2d(x):
    return np.sum(x[::-1, ::2] * np.array([[1.0, 2.0], [3.0, 4.0]]))

@case(M23.copy())
def fancy_and_slice(x):
    return np.sum(x[[1, 0], 1:] ** 2) + np.sum(x[:, [2, 2]])

@case(M23.copy())
def bool_rows(x):
    keep = np.array([True, False])
    return np.sum(x[keep] ** 2) + np.sum(x[:, x[0] > 0])

@case(M23.copy())
def setitem_fancy(x):
    y = np.zeros((2, 3))
    y[[0, 1], [2, 0]] = x[0, :2]
    y[:, 1] = x[1, 1]
    return np.sum(y ** 2 + x * y)

@case(M23.copy() + 0.05)
def setitem_bool(x):
    y = x.copy()
    y[y > 0.5] = 0.5
    y[x < 0] *= -1.0
    return np.sum(y ** 2)

@case(X4.copy())
def repeated_set_dups(x):
    y = np.zeros(3)
    y[[0, 0, 2]] = x[:3]
    return np.sum(y * np.array([1.0, 2.0, 3.0]))

@case(X4.copy())
def repeated_sub_dups(x):
    y = x[:3] * 1.0
    y[[1, 1]] -= x[2:]
    return np.sum(y ** 2)

@case(X4.copy())
def repeated_mul_dups(x):
    y = x[:3] * 1.0
    y[[1, 1]] *= x[2:]
    return np.sum(y ** 2)

@case(X4.copy())
def attr_aug_obj(x):
    class S:
        pass
    s = S()
    s.v = x * 1.0
    s.v = s.v * 2
    return np.sum(s.v)

@case(X4.copy())
def subscript_aug_list(x):
    l = [x[0], x[1]]
    l[0] *= x[2]
    l[1] -= x[3]
    return l[0] * l[1]

@case(X4.copy())
def subscript_aug_dict(x):
    d = {"a": x[0], "b": x[1]}
    d["a"] += x[2] ** 2
    return d["a"] * d["b"]

@case(X4.copy())
def nested_function_recursive_closure(x):
    def power(v, n):
        return 1.0 if n == 0 else v * power(v, n - 1)
    return power(x[0], 3) + power(x[1], 2)

@case(X4.copy())
def helper_default_kw(x):
    def act(v, slope=0.1):
        return np.where(v > 0, v, slope * v)
    return np.sum(act(x)) + np.sum(act(x, slope=0.3) ** 2)

@case(X4.copy())
def star_args_helper(x):
    def add(*vals):
        return sum(vals)
    return add(x[0], x[1] ** 2, x[2])

@case(X4.copy())
def kwargs_helper(x):
    def f(v, **opts):
        return v * opts.get("scale", 1.0)
    return np.sum(f(x, scale=3.0))

@case(X4.copy())
def generator_helper(x):
    def gen(v):
        for e in v:
            yield e ** 2
    return sum(gen(x))

@case(X4.copy())
def chained_methods(x):
    return x.reshape(2, 2).T.dot(x[:2]).sum() + x.mean().item() * 0

@case(X4.copy())
def method_calls(x):
    return x.max() + x.min() + x.prod() + x.cumsum()[-1] + x.var() + x.dot(x)

@case(X4.copy())
def round_floor_piecewise(x):
    return np.sum(np.floor(x * 2) * x) + np.sum(np.round(x, 1))

@case(X4.copy())
def sign_abs(x):
    return np.sum(np.sign(x) * x ** 2) + np.sum(np.abs(x) ** 3)

@case(X4.copy())
def isclose_guard(x):
    return np.sum(np.where(np.isclose(x, 0.0), 0.0, np.sin(x) / x))

@case(X4.copy())
def sinc_np(x):
    return np.sum(np.sinc(x))

@case(X4.copy())
def maximum_minimum_pair(x):
    return np.sum(np.maximum(x, x[::-1]) - np.minimum(x, 0.1) ** 2)

@case(X4.copy() + 0.01)
def fmax_nan(x):
    y = np.where(x > 0, x, np.nan)
    return np.sum(np.fmax(y, 0.2))

@case(X4.copy())
def nansum_mask(x):
    y = np.where(x > 0, x, np.nan)
    return np.nansum(y ** 2) + np.nanmean(y)

@case(X4.copy())
def nan_to_num_guard(x):
    return np.sum(np.nan_to_num(np.log(np.abs(x))))

@case(X4.copy())
def logaddexp_loss(x):
    return np.sum(np.logaddexp(0, -x))

@case(X4.copy())
def expit_manual(x):
    return np.sum(np.where(x >= 0, 1 / (1 + np.exp(-x)), np.exp(x) / (1 + np.exp(x))))

@case(X4.copy())
def arctan2_hypot(x):
    return np.sum(np.arctan2(x, 1.0 + x ** 2)) + np.hypot(x[0], x[1])

@case(X4.copy())
def sqrt_eps(x):
    return np.sum(np.sqrt(x ** 2 + 1e-8))

@case(X4.copy())
def norm_axis_none(x):
    return np.linalg.norm(x) ** 2 + np.linalg.norm(x.reshape(2, 2), axis=0).sum()

@case(X4.copy())
def prod_with_zero(x):
    y = x.copy()
    y[1] = 0.0
    return np.prod(y + x * 0.5)

@case(X4.copy())
def power_neg_base_int(x):
    return np.sum(x ** 3) + np.sum(x ** -2) + np.sum(np.power(x, 2))

@case(X4.copy())
def float_power_int(x):
    return np.sum(np.float_power(np.abs(x) + 1, 1.5))

@case(X4.copy() + 0.013)
def mod_remainder(x):
    return np.sum(np.mod(x * 5, 1.3) * x) + np.sum(np.fmod(x * 3, 0.7))

@case(X4.copy())
def floor_divide_np(x):
    return np.sum((x * 7) // 2 * x) + np.sum(x % 0.3)


# ---------------------------------------------------------------- p5

def kw_only_target(x, *, c=1.5):
    return np.sum(np.sin(c * x))
CASES.append(("kw_only_target", kw_only_target, [X3.copy()]))

def default_arr_target(x, w=np.array([0.5, -1.0, 2.0])):
    return np.sum(w * np.exp(x))
CASES.append(("default_arr_target", default_arr_target, [X3.copy()]))

@case(X4.copy())
def einsum_outer_batch(x):
    A = x.reshape(2, 2)
    return np.einsum("ij,kj->ik", A, A).sum() + np.einsum("i,i->", x, x)

@case(M23.copy(), M23.copy())
def einsum_elementwise(a, b):
    return np.einsum("ij,ij->i", a, b) @ np.array([1.0, -2.0])

@case(np.arange(8.0).reshape(2, 2, 2) / 7 + 0.1)
def einsum_ellipsis(t):
    return np.sum(np.einsum("...ij,...jk->...ik", t, t) ** 2)

@case(np.arange(8.0).reshape(2, 2, 2) / 7 + 0.1)
def batched_matmul(t):
    return np.sum(t @ t.transpose(0, 2, 1))

@case(M33.copy())
def det_inv(a):
    return np.linalg.det(a) * np.sum(np.linalg.inv(a) ** 2)

@case(M33.copy())
def qr_r(a):
    q, r = np.linalg.qr(a)
    return np.sum(np.abs(np.diag(r)))

@case(M23.copy())
def svd_vals(a):
    return np.sum(np.linalg.svd(a, compute_uv=False) ** 2)

@case(M33.copy())
def pinv_loss(a):
    return np.sum(np.linalg.pinv(a) ** 2)

@case(M33.copy(), X3.copy())
def lstsq_loss(a, b):
    x = np.linalg.lstsq(a, b, rcond=None)[0]
    return x @ x

@case(M33.copy())
def matrix_power_loss(a):
    return np.trace(np.linalg.matrix_power(a, 3))

@case(X3.copy())
def cross_loss(x):
    return np.sum(np.cross(x, np.array([1.0, 2.0, 0.5])) ** 2)

@case(X4.copy())
def while_loop_forward(x):
    s = 0.0
    k = 0
    while k < 4:
        s = s * 0.9 + x[k] ** 2
        k += 1
    return s

@case(X4.copy())
def break_inside_for(x):
    s = 0.0
    for v in x:
        s += v
        if s > 0.5:
            break
    return s * x[0]

@case(X4.copy())
def continue_inside_while(x):
    i = 0
    s = 0.0
    while i < 4:
        i += 1
        if x[i - 1] < 0:
            continue
        s += np.exp(x[i - 1])
    return s

@case(X4.copy())
def loop_inplace_slice(x):
    y = np.zeros(5)
    for i in range(4):
        y[i + 1] = y[i] * 0.5 + x[i]
    return np.sum(y ** 2)

@case(X4.copy())
def loop_accumulate_array(x):
    acc = np.zeros(2)
    for i in range(2):
        acc += x[2 * i:2 * i + 2] * (i + 1)
    return np.sum(acc ** 3)

@case(X4.copy())
def loop_matrix_build(x):
    M = np.zeros((2, 2))
    for i in range(2):
        for j in range(2):
            M[i, j] = x[2 * i + j] * (i - j + 1)
    return np.sum(M @ M)

@case(X4.copy())
def scan_cumulative(x):
    out = np.empty_like(x)
    c = 0.0
    for i in range(len(x)):
        c = 0.5 * c + x[i]
        out[i] = c
    return np.sum(out ** 2)

@case(X4.copy())
def list_of_arrays_loop(x):
    parts = [x[:2], x[2:]]
    total = 0.0
    for p in parts:
        total = total + np.sum(p ** 2)
    return total

@case(X4.copy())
def zip_parts(x):
    a = [x[0], x[1]]
    b = [x[2], x[3]]
    return sum(u * v for u, v in zip(a, b))

@case(X4.copy())
def enumerate_weights(x):
    s = 0.0
    for i, v in enumerate(x):
        s += (i + 1) * v ** 2
    return s

@case(X4.copy())
def dict_comprehension(x):
    d = {i: x[i] ** 2 for i in range(4)}
    return d[0] + d[3] * d[1]

@case(X4.copy())
def list_comp_nested(x):
    M = [[x[i] * x[j] for j in range(2)] for i in range(2)]
    return M[0][1] + M[1][1] * 2

@case(X4.copy())
def tuple_swap(x):
    a, b = x[0], x[1]
    for _ in range(3):
        a, b = b, a + b
    return a * b

@case(X4.copy())
def ternary_array(x):
    y = x if np.sum(x) > 0 else -x
    return np.sum(y ** 3)

@case(X4.copy())
def math_on_elements(x):
    return math.sin(x[0]) * math.exp(x[1]) + math.sqrt(x[2] ** 2 + 1)

@case(X4.copy())
def python_sum_of_array(x):
    return sum(x) ** 2 + sum(x * x)

@case(X4.copy())
def builtin_abs_min_max(x):
    return abs(x[0]) + max(x) + min(x[1], x[2])

@case(X4.copy())
def round_half(x):
    return np.sum(x * np.round(x * 0)) + np.sum(x)

@case(X4.astype(np.float32))
def float32_loop(x):
    s = np.float32(0.0)
    for v in x:
        s = s + v * v
    return s

@case(X4.astype(np.float32))
def float32_inplace(x):
    y = x.copy()
    y[1:] += y[:-1]
    return np.sum(y ** 2)

@case(X4.astype(np.float32))
def float32_where(x):
    return np.sum(np.where(x > 0, x, 0.1 * x))

@case(X4.astype(np.float32))
def float32_solve(x):
    A = np.eye(2, dtype=np.float32) * 2 + x.reshape(2, 2) * 0.1
    return np.sum(np.linalg.solve(A, np.ones(2, dtype=np.float32)))

@case(np.array(0.3))
def zero_d_loop(x):
    s = x
    for _ in range(3):
        s = np.sin(s) + x
    return s

@case(np.array(0.3))
def zero_d_array_ops(x):
    return np.sum(np.stack([x, x * 2])) + np.exp(x)

@case(X3.copy())
def arange_weights(x):
    return np.sum(x * np.arange(len(x)) ** 2)

@case(X3.copy())
def ones_like_mult(x):
    return np.sum(np.ones_like(x) * x + np.zeros_like(x)) + np.sum(np.full_like(x, 2.0) * x ** 2)

@case(X3.copy())
def np_eye_dot(x):
    return x @ (np.eye(3) * 2) @ x

@case(X3.copy())
def outer_trace(x):
    return np.trace(np.outer(x, x)) + np.sum(np.diag(x) @ x)

@case(X3.copy())
def tril_indices_use(x):
    M = np.outer(x, x)
    i, j = np.tril_indices(3)
    return np.sum(M[i, j])

@case(X3.copy())
def triu_mask(x):
    M = np.outer(x, x + 1)
    return np.sum(M[np.triu(np.ones((3, 3), dtype=bool))])

@case(X3.copy())
def atleast_2d(x):
    return np.sum(np.atleast_2d(x).T @ np.atleast_2d(x))

@case(X3.copy())
def column_stack_use(x):
    return np.sum(np.column_stack([x, x ** 2]) ** 2)

@case(X3.copy())
def append_insert(x):
    return np.sum(np.append(x, x[0] * 2) ** 2)

@case(X3.copy())
def concatenate_scalars(x):
    return np.sum(np.concatenate([x, [x[0] * x[1]]]) ** 2)

@case(X3.copy())
def split_loop(x):
    parts = np.split(np.concatenate([x, x]), 2)
    return sum(np.sum(p * (i + 1)) for i, p in enumerate(parts))

@case(X3.copy())
def flip_udlr(x):
    M = np.outer(x, x)
    return np.sum(np.fliplr(M) * np.flipud(M))

@case(X3.copy())
def rot90_loss(x):
    M = np.outer(x, np.arange(1.0, 4.0))
    return np.sum(np.rot90(M) * M)

@case(X3.copy())
def diagonal_offset(x):
    M = np.outer(x, x)
    return np.sum(np.diagonal(M, 1)) + np.trace(M, -1)

@case(X3.copy())
def ptp_std(x):
    return np.ptp(x) + np.std(x, ddof=1)

@case(X3.copy())
def median_quantile(x):
    return np.median(x) + np.quantile(x, 0.3)

@case(X3.copy())
def average_weights(x):
    return np.average(x, weights=np.array([1.0, 2.0, 3.0])) ** 2

@case(X3.copy())
def cumsum_axis(x):
    M = np.outer(x, x)
    return np.sum(np.cumsum(M, axis=1) ** 2) + np.sum(np.cumprod(M, axis=0))

@case(X3.copy())
def var_keepdims(x):
    M = np.stack([x, x ** 2])
    return np.sum(M.var(axis=1, keepdims=True) * M)

@case(X3.copy())
def amax_tuple_axis(x):
    T = np.stack([np.outer(x, x), np.outer(x, 2 * x + 1)])
    return np.sum(np.amax(T, axis=(1, 2))) + np.sum(np.min(T, axis=-1))

@case(X3.copy())
def max_ties(x):
    y = np.array([x[0], x[0], x[1]])
    return np.max(y)

@case(X3.copy())
def logsumexp_axis0(x):
    M = np.stack([x, -x])
    m = M.max(axis=0)
    return np.sum(m + np.log(np.exp(M - m).sum(axis=0)))

@case(X3.copy())
def softmax_jac_sum(x):
    e = np.exp(x - x.max())
    p = e / e.sum()
    return p @ np.array([1.0, 2.0, 3.0])

@case(X3.copy())
def gelu_tanh(x):
    return np.sum(0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3))))

@case(X3.copy())
def elu(x):
    return np.sum(np.where(x > 0, x, np.exp(np.minimum(x, 0)) - 1))

@case(X3.copy())
def swish_sigmoid(x):
    s = 1 / (1 + np.exp(-x))
    return np.sum(x * s)

@case(X3.copy())
def leaky_relu_max(x):
    return np.sum(np.maximum(0.01 * x, x))

@case(X3.copy())
def cosine_similarity(x):
    y = np.array([1.0, 0.5, -0.3])
    return x @ y / (np.linalg.norm(x) * np.linalg.norm(y))

@case(X3.copy())
def normalize_l2(x):
    return np.sum((x / np.sqrt(np.sum(x ** 2) + 1e-12)) * np.array([1.0, 2.0, 3.0]))

@case(X3.copy())
def cholesky_logdet(x):
    A = np.outer(x, x) + np.eye(3) * 2
    L = np.linalg.cholesky(A)
    return 2 * np.sum(np.log(np.diag(L)))

@case(X3.copy())
def gp_nll(x):
    K = np.exp(-0.5 * (x[:, None] - x[None, :]) ** 2) + 0.1 * np.eye(3)
    y = np.array([0.3, -0.2, 0.5])
    alpha = np.linalg.solve(K, y)
    return 0.5 * y @ alpha + 0.5 * np.linalg.slogdet(K)[1]

@case(X3.copy())
def eigh_top(x):
    A = np.outer(x, x) + np.diag([1.0, 2.0, 3.0])
    w, v = np.linalg.eigh(A)
    return w[-1]

@case(X3.copy())
def horner_poly(x):
    coeffs = [1.0, -0.5, 0.25, 0.1]
    y = np.zeros_like(x)
    for c in coeffs:
        y = y * x + c
    return np.sum(y)

@case(1.2)
def recursive_fib_like(x):
    def f(n, a):
        if n <= 1:
            return a
        return f(n - 1, a) * 0.5 + f(n - 2, a) ** 2
    return f(4, x)

@case(0.9)
def euler_ode(k):
    y = 1.0
    for _ in range(20):
        y += 0.05 * (-k * y + math.sin(y))
    return y

@case(np.array([1.0, 0.5]))
def verlet_pendulum(s):
    theta, omega = s[0], s[1]
    dt = 0.05
    for _ in range(20):
        omega = omega - dt * np.sin(theta)
        theta = theta + dt * omega
    return theta ** 2 + omega ** 2

@case(np.array([1.3, 0.5]))
def secant_iteration(p):
    a = p[0]
    x0, x1 = 0.0, 1.0
    for _ in range(8):
        f0 = x0 ** 3 - a
        f1 = x1 ** 3 - a
        if f1 == f0:
            break
        x0, x1 = x1, x1 - f1 * (x1 - x0) / (f1 - f0)
    return x1 * p[1]
