"""The function transforms of SPEC section 1: grad and its relatives.

``grad`` generates (or takes from the cache) the gradient source of a
function and returns the compiled generated function itself — no wrapper
in front of it — so a call costs what the generated code costs.
"""

import functools
import inspect
import math

from s2sgrad import runtime
from s2sgrad.transform import colouring
from s2sgrad.backend import xp
from s2sgrad.codegen.compile import forget_with, register_source
from s2sgrad.frontend.parse import called_function
from s2sgrad.errors import ArgumentClassNeeded, S2SGradError, UndefinedNameError, UnsupportedSyntaxError
from s2sgrad.primitives import registry

__all__ = ["grad", "value_and_grad", "source", "jacobian", "hessian", "jvp", "hvp", "defgrad"]


def _check_function(fun, transform):
    if not callable(fun):
        raise TypeError(f"{transform} expects a function, got {type(fun).__name__} {fun!r}")
    if not inspect.isfunction(fun):
        what = getattr(fun, "__qualname__", None) or f"an instance of {type(fun).__qualname__}"
        raise TypeError(
            f"{transform} differentiates Python functions (def or lambda); got "
            f"{what} ({type(fun).__name__})"
        )
    refusal = getattr(fun, "__s2sgrad_by_tape__", None)
    if refusal is not None:  # (a second derivative the tape takes: not source to read)
        raise UnsupportedSyntaxError(
            f"a derivative of order 3 or more here (order 2 goes through the tape: "
            f"{refusal.construct})", refusal.filename, refusal.lineno, "differentiate",
            refusal.hint)


def _transform(fun, wrt, transform, **options):
    """The generated function itself — or, when ``fun`` uses a name that is
    not defined yet (decorating a function that calls one defined further
    down the module), a stand-in that generates on its first call."""
    from s2sgrad import pipeline

    _check_function(fun, transform)
    fun = called_function(fun)
    pipeline.wrt_names(fun, wrt)  # bad wrt: fail now, not on the first call
    by_class = _by_class(fun, wrt, options)
    if by_class is not None:
        return _dispatching(by_class, fun)
    try:
        entry = pipeline.gradient_code(fun, wrt, **options)
    except UndefinedNameError:
        return _deferred(fun, wrt, options)
    except ArgumentClassNeeded:
        return _dispatching(_ByClass(fun, wrt, options), fun)
    return pipeline.bind(entry, fun, qualname=f"{transform}({fun.__qualname__})")


class _ByClass:
    """Derivatives of a function calling methods of its arguments
    (``model.forward(x)``), generated when it is called, once per class of
    those arguments (the pipeline's :func:`~s2sgrad.pipeline.code_for_call`):
    ``by_class(args, kwargs)`` is ``(entry, generated function)`` for that
    call. ``fun`` may be such a derivative itself (the one made for the
    call's classes is differentiated). What it made for some classes it
    keeps, as ``grad`` keeps the function it returns: a method replaced
    afterwards is seen by the derivatives made after that (the cache checks
    what was inlined)."""

    def __init__(self, fun, wrt, options):
        self.fun = fun
        self.wrt = wrt
        self.options = options
        self.inner = getattr(fun, "__s2sgrad_by_class__", None)
        #: the classes of a call (see :meth:`classes`) -> (entry, its code bound)
        self.made = {}

    def classes(self, args, kwargs):
        """The classes of the arguments of ``args, kwargs`` that the function's
        derivatives are made for (the differentiated function's own)."""
        from s2sgrad import pipeline

        if self.inner is not None:
            return self.inner.classes(args, kwargs)
        return pipeline.classes_of_call(self.fun, args, kwargs)

    def __call__(self, args, kwargs):
        from s2sgrad import pipeline

        made = self.made.get(self.classes(args, kwargs))
        if made is None:
            target = self.fun if self.inner is None else called_function(self.inner(args, kwargs)[1])
            entry = pipeline.code_for_call(target, self.wrt, args, kwargs, **self.options)
            made = self.made[self.classes(args, kwargs)] = (entry, pipeline.bind(entry, target))
        return made


def _by_class(fun, wrt, options):
    """A :class:`_ByClass` of ``fun`` when it is a derivative made per class, else None."""
    return _ByClass(fun, wrt, options) if hasattr(fun, "__s2sgrad_by_class__") else None


def _dispatching(by_class, fun):
    """The function running, at each call, ``by_class``'s derivative for it."""

    def gradient_by_class(*args, **kwargs):
        if _SEED in kwargs:  # (a VJP's seed, under the name its code gives it)
            seed = kwargs.pop(_SEED)
            entry, run = by_class(args, kwargs)
            return run(*args, **kwargs, **{entry.seed_name: seed})
        return by_class(args, kwargs)[1](*args, **kwargs)

    gradient_by_class.__name__ = gradient_by_class.__qualname__ = f"grad_{fun.__name__}"
    gradient_by_class.__signature__ = inspect.signature(fun)
    gradient_by_class.__s2sgrad_by_class__ = by_class
    return gradient_by_class


#: the keyword a VJP made per class (see :func:`_dispatching`) takes its seed
#: by (not an identifier: no parameter of the user's is called so)
_SEED = "<seed>"


def _deferred(fun, wrt, options):
    from s2sgrad import pipeline

    generated = []

    def deferred_gradient(*args, **kwargs):
        if not generated:
            generated.append(pipeline.bind(pipeline.gradient_code(fun, wrt, **options), fun))
        return generated[0](*args, **kwargs)

    deferred_gradient.__name__ = f"grad_{fun.__name__}"
    deferred_gradient.__qualname__ = deferred_gradient.__name__
    deferred_gradient.__signature__ = inspect.signature(fun)
    return deferred_gradient


def grad(fun=None, wrt=0):
    """The gradient of scalar-valued ``fun`` with respect to argument(s) ``wrt``.

    Usable as ``sg.grad(f)``, ``sg.grad(f, wrt=(0, "b"))``, ``@sg.grad`` and
    ``@sg.grad(wrt="w")``. The result has ``fun``'s signature.

    >>> import numpy as np, s2sgrad as sg
    >>> def f(x, y):
    ...     return x ** 2 * y + np.sin(y)
    >>> sg.grad(f)(3.0, 2.0)                  # 2 x y
    12.0
    >>> dx, dy = sg.grad(f, wrt=(0, "y"))(3.0, 0.0)
    >>> print(dx, dy)                         # 2 x y, x**2 + cos y
    0.0 10.0
    """
    if fun is None:
        return functools.partial(grad, wrt=wrt)
    try:
        gradient = _transform(fun, wrt, "grad")
    except UndefinedNameError:
        raise
    except UnsupportedSyntaxError as error:
        # a derivative the source path refuses to differentiate again (the
        # refusal names the user's line): the tape may still follow it
        primal = getattr(fun, "__s2sgrad_primal__", None)
        if primal is None or isinstance(wrt, (tuple, list)):
            raise
        return _second_order_by_tape(*primal, wrt, error, matrix=False)
    if inspect.isfunction(gradient) and not isinstance(wrt, (tuple, list)):
        gradient.__s2sgrad_primal__ = (fun, wrt)  # (what a second derivative goes back to)
    return gradient


def value_and_grad(fun=None, wrt=0):
    """Like :func:`grad` but returning ``(fun(...), gradient)``.

    >>> import numpy as np, s2sgrad as sg
    >>> def loss(w, x):
    ...     return np.sum((x @ w - 1.0) ** 2)
    >>> value, dw = sg.value_and_grad(loss)(np.array([1.0, 2.0]), np.eye(2))
    >>> print(value, dw)                      # 2 (x w - 1) x
    1.0 [0. 2.]
    """
    if fun is None:
        return functools.partial(value_and_grad, wrt=wrt)
    return _transform(fun, wrt, "value_and_grad", return_value=True)


def source(fun, wrt=0, order=1, mode="reverse"):
    """The generated Python source of the ``order``-th derivative of ``fun``.

    ``mode="forward"`` shows the Jacobian-vector product instead (at order
    2, forward over the reverse-mode gradient: the Hessian-vector product).

    >>> import numpy as np, s2sgrad as sg
    >>> def f(x, a):
    ...     return a * np.sin(x)
    >>> print(sg.source(f))                   # doctest: +ELLIPSIS
    def grad_f(x, a):
        ...
        return gradient_of(a * np.cos(x), x)
    <BLANKLINE>

    (``gradient_of`` gives the gradient ``x``'s type and dtype: ``np.cos`` of
    a Python float is a NumPy float, and a float32 ``x`` times a float64
    ``a`` is float64.)
    """
    from s2sgrad import pipeline

    if not isinstance(order, int) or isinstance(order, bool) or order < 1:
        raise ValueError(f"order must be a positive integer, got {order!r}")
    _check_mode(mode)
    _check_function(fun, "source")
    fun = called_function(fun)
    for _ in range(order - 1):
        fun = grad(fun, wrt)
    _check_function(fun, "source")  # (a derivative the tape takes has no source)
    return pipeline.gradient_code(fun, wrt, mode=mode).source


def _check_mode(mode):
    if mode not in ("reverse", "forward"):
        raise ValueError(f"mode must be 'reverse' or 'forward', got {mode!r}")


def _vjp_function(fun, wrt):
    """The generated vector-Jacobian product: ``(*args, seed) -> grads``."""
    return _transform(fun, wrt, "jacobian", seed=True)


def jacobian(fun, wrt=0):
    """``(*args) -> J`` with shape ``out.shape + arg.shape`` (tuple for tuple wrt).

    The mode follows the shapes: with fewer input entries than output
    entries, one batched forward pass along every input direction; else one
    reverse pass (a VJP) per output entry. The choice is made per input
    shapes on the first call that has them.

    >>> import numpy as np, s2sgrad as sg
    >>> def f(x):
    ...     return np.array([x[0] * x[1], np.sin(x[0])])
    >>> sg.jacobian(f)(np.array([0.0, 2.0]))
    array([[2., 0.],
           [1., 0.]])
    """
    _check_function(fun, "jacobian")
    vjp = _vjp_function(fun, wrt)
    read = _argument_reader(called_function(fun), wrt)
    forward = []  # the batched forward call, once built (None: it cannot be)
    modes = {}  # input shapes -> True for forward mode

    @functools.wraps(fun)
    def jacobian_fun(*args, **kwargs):
        values, _ = read(args, kwargs)
        key = _basis_key(values)
        use_forward = modes.get(key)
        if use_forward is None:
            out = _on_copies(fun, args, kwargs)
            use_forward = modes[key] = (
                not isinstance(out, runtime.STRUCTURES)
                and not any(isinstance(x, runtime.STRUCTURES) for x in values)
                and sum(int(xp.size(x)) for x in values) < xp.size(out)
                and _batched_forward(forward, fun, wrt) is not None)
        if use_forward:
            tangents, offsets = _batched_basis(values, key)
            derivative = forward[0](args, kwargs, tangents)
            out_shape = derivative.shape[1:]
            blocks = [_like(_forward_block(derivative, out_shape, x, b, offsets), x)
                      for b, x in enumerate(values)]
            return tuple(blocks) if isinstance(wrt, (tuple, list)) else blocks[0]
        out = xp.asarray(_on_copies(fun, args, kwargs))
        bound = inspect.signature(fun).bind(*args, **kwargs)
        bound.apply_defaults()
        rows = []
        for i in range(out.size):
            seed = xp.zeros(out.size, dtype=out.dtype if out.dtype.kind == "f" else float)
            seed[i] = 1.0
            rows.append(vjp(*args, **kwargs, **{_seed_name(vjp): seed.reshape(out.shape)}))
        return _stack_rows(rows, out.shape, bound, wrt, fun)

    del jacobian_fun.__wrapped__
    return jacobian_fun


def _on_copies(fun, args, kwargs):
    """``fun(*args, **kwargs)`` on copies of the arrays among them: a
    function may write into its arguments, and a derivative is taken at
    the caller's values afterwards."""
    return fun(*[_copied(a) for a in args], **{k: _copied(v) for k, v in kwargs.items()})


def _copied(value):
    if isinstance(value, xp.ndarray):
        return value.copy()
    if type(value) in (list, tuple):
        return type(value)(_copied(v) for v in value)
    if type(value) is dict:
        return {k: _copied(v) for k, v in value.items()}
    return value


def _batched_forward(built, fun, wrt):
    """The batched forward call of ``fun`` (built once into ``built``), or None."""
    if not built:
        try:
            built.append(_forward_function(fun, wrt, "jacobian", batched=True,
                                           tangent_only=True)[1])
        except S2SGradError:
            built.append(None)
    return built[0]


def _forward_block(derivative, out_shape, x, b, offsets):
    """The Jacobian block of argument ``b``, ``out.shape + x.shape``, from the
    batched tangent of the result (rows ``offsets[b]:offsets[b+1]`` are the
    derivatives along ``x``'s directions)."""
    rows = xp.asarray(derivative)
    if len(offsets) > 2:
        rows = rows[offsets[b]:offsets[b + 1]]
    shape = out_shape + getattr(x, "shape", ())
    if rows.shape[0] == 1:  # (one direction: moving its axis last is a reshape)
        return rows.reshape(shape)
    # (no -1: an argument with no entries has no directions)
    return rows.reshape(rows.shape[0], math.prod(rows.shape[1:])).T.reshape(shape)


def _seed_name(vjp):
    if hasattr(vjp, "__s2sgrad_by_class__"):
        return _SEED
    code = getattr(vjp, "__s2sgrad_generated__", vjp).__code__  # (see pipeline.bind)
    return code.co_varnames[code.co_argcount + code.co_kwonlyargcount - 1]


def _stack_rows(rows, out_shape, bound, wrt, fun):
    from s2sgrad import pipeline

    if isinstance(wrt, (tuple, list)):
        return tuple(_stack_rows([r[k] for r in rows], out_shape, bound, wrt[k], fun)
                     for k in range(len(wrt)))
    (name,), _ = pipeline.wrt_names(fun, wrt)
    return _stacked_like(rows, out_shape, bound.arguments[name])


def _stacked_like(rows, out_shape, argument):
    """The Jacobian block ``out_shape + argument.shape`` from one gradient
    per output entry; for a list, tuple or dict argument, that structure
    with a block per leaf (as JAX gives a pytree)."""
    if isinstance(argument, dict):
        return {key: _stacked_like([r[key] for r in rows], out_shape, value)
                for key, value in argument.items()}
    if isinstance(argument, (list, tuple)):
        items = [_stacked_like([r[i] for r in rows], out_shape, item)
                 for i, item in enumerate(argument)]
        kind = type(argument)
        return items if kind is list else kind(*items) if hasattr(argument, "_fields") \
            else kind(items)
    return _like(xp.reshape(xp.array(rows), out_shape + xp.shape(argument)), argument)


def _like(value, argument):
    """A Jacobian, Hessian or product ``value`` in the dtype of the
    ``argument`` it is taken with respect to (a Python float's: float64),
    and of the argument's type when shaped like it (SPEC §1: a scalar
    function's Jacobian is its gradient; a scalar's Hessian a float)."""
    if xp.shape(value) == xp.shape(argument):
        return runtime.as_gradient(value, argument)
    dtype = argument.dtype if getattr(argument, "dtype", None) is not None \
        and argument.dtype.kind == "f" else xp.float64
    return xp.asarray(value, dtype=dtype)


def hessian(fun, wrt=0):
    """``(*args) -> H`` with shape ``arg.shape + arg.shape``.

    Forward over reverse: the batched forward transform of the generated
    gradient, run once along every direction of the arguments at once (a
    tuple ``wrt`` gives a tuple of tuples of blocks ``H[a][b]``, as JAX
    does). Where the gradient's code cannot be run forward, the Jacobian of
    the gradient.

    >>> import numpy as np, s2sgrad as sg
    >>> def f(x):
    ...     return x[0] ** 2 * x[1] + x[1] ** 3
    >>> sg.hessian(f)(np.array([1.0, 2.0]))   # [[2 x1, 2 x0], [2 x0, 6 x1]]
    array([[ 4.,  2.],
           [ 2., 12.]])
    """
    _check_function(fun, "hessian")
    try:
        return _forward_over_reverse_hessian(fun, wrt)
    except S2SGradError:
        pass
    first = grad(fun, wrt)
    try:
        return _structures_refused(jacobian(first, wrt), fun, wrt)
    except UnsupportedSyntaxError as error:  # (refused again: see grad)
        if isinstance(wrt, (tuple, list)):
            raise
        return _structures_refused(_second_order_by_tape(fun, wrt, wrt, error, matrix=True),
                                   fun, wrt)


def _structures_refused(hessian_fun, fun, wrt):
    """``hessian_fun`` (a Hessian the forward transform does not build)
    refusing a list, tuple or dict argument, as the forward one does."""
    read = _argument_reader(called_function(fun), wrt)

    @functools.wraps(hessian_fun)
    def checked(*args, **kwargs):
        values, names = read(args, kwargs)
        _refuse_structures(values, names, fun)
        return hessian_fun(*args, **kwargs)

    del checked.__wrapped__
    return checked


def _second_order_by_tape(fun, inner, outer, refusal, matrix):
    """``(*args) ->`` d/d(arg ``outer``) of ``grad(fun, inner)``, through the tape.

    Where the source path refuses to differentiate a generated gradient
    again (``refusal``), the tape may follow it: it does not care how a
    value was computed. ``fun`` runs on Tensors under two nested tapes, the
    inner one's gradient recorded by the outer one, whose Jacobian (or
    gradient, for ``matrix=False``) is the result. A value leaving the tape
    (``float()`` of a tensor, as ``math.sin`` does) would cut the path and
    give a wrong derivative, so it raises instead, and so does anything the
    tensors do not support: the source path's refusal is raised then.
    """
    from s2sgrad import pipeline
    from s2sgrad.tape import tensor as _tensor
    from s2sgrad.tape.tape import GradientTape

    params = list(inspect.signature(fun).parameters)
    (inner_name,), _ = pipeline.wrt_names(fun, inner)
    (outer_name,), _ = pipeline.wrt_names(fun, outer)

    @functools.wraps(fun)
    def second_derivative(*args, **kwargs):
        bound = inspect.signature(fun).bind(*args, **kwargs)
        bound.apply_defaults()
        values = dict(bound.arguments)
        tensors = {name: _tensor.constant(xp.asarray(values[name])) for name in {inner_name, outer_name}}
        values.update(tensors)
        _tensor._local.rule_depth += 1  # values escaping the tape raise instead of cutting it
        try:
            with GradientTape(persistent=True) as outer_tape:
                outer_tape.watch(tensors[outer_name])
                with GradientTape() as inner_tape:
                    inner_tape.watch(tensors[inner_name])
                    y = fun(*(values[p] for p in params))
                g = inner_tape.gradient(y, tensors[inner_name], unconnected_gradients="zero")
            source = tensors[outer_name]
            result = (outer_tape.jacobian(g, source, unconnected_gradients="zero") if matrix
                      else outer_tape.gradient(g, source, unconnected_gradients="zero"))
        except (S2SGradError, TypeError) as error:
            raise refusal from error
        except ValueError as error:
            # NumPy storing a Tensor into an array (x[i] = t) calls float(t),
            # whose refusal it reports as a ValueError of its own
            if isinstance(error.__cause__ or error.__context__, S2SGradError):
                raise refusal from error
            raise
        finally:
            _tensor._local.rule_depth -= 1
        result = result.numpy() if hasattr(result, "numpy") else xp.asarray(result)
        return _like(result, bound.arguments[outer_name])

    del second_derivative.__wrapped__
    second_derivative.__s2sgrad_by_tape__ = refusal
    return second_derivative


def _forward_function(fun, wrt, transform, batched=False, tangent_only=False):
    """The generated JVP of ``fun`` and a ``call(args, kwargs, tangents)`` running it
    (``batched``: each tangent carries a leading axis of directions;
    ``tangent_only``: it returns the tangent alone, computing no more of the
    value than the tangent needs)."""
    from s2sgrad import pipeline

    _check_function(fun, transform)
    fun = called_function(fun)
    pipeline.wrt_names(fun, wrt)
    options = dict(mode="forward", batched=batched, tangent_only=tangent_only)
    by_class = _by_class(fun, wrt, options)
    if by_class is None:
        try:
            entry = pipeline.gradient_code(fun, wrt, **options)
        except ArgumentClassNeeded:
            by_class = _ByClass(fun, wrt, options)
    if by_class is not None:

        def call_by_class(args, kwargs, tangents):
            entry, forward = by_class(args, kwargs)
            return forward(*args, **kwargs, **dict(zip(entry.seed_name, tangents)))

        return _dispatching(by_class, fun), call_by_class
    forward = pipeline.bind(entry, fun)
    tangent_names = entry.seed_name

    def call(args, kwargs, tangents):
        if not kwargs:
            return forward(*args, **dict(zip(tangent_names, tangents)))
        kwargs = dict(kwargs)
        kwargs.update(zip(tangent_names, tangents))
        return forward(*args, **kwargs)

    return forward, call


def _argument_values(fun, wrt, args, kwargs):
    """The values of the wrt arguments in a call ``fun(*args, **kwargs)``."""
    return _argument_reader(fun, wrt)(args, kwargs)


def _argument_reader(fun, wrt):
    """``read(args, kwargs) -> (values, names)`` of the wrt arguments of
    ``fun``: positional arguments read directly (no signature binding on the
    hot path of a call), anything else bound to the signature."""
    from s2sgrad import pipeline

    names, _ = pipeline.wrt_names(fun, wrt)
    signature = inspect.signature(fun)
    params = list(signature.parameters.values())
    positions = [next(i for i, p in enumerate(params) if p.name == name) for name in names]
    plain = all(params[i].kind in (params[i].POSITIONAL_ONLY, params[i].POSITIONAL_OR_KEYWORD)
                for i in positions)
    last = max(positions)

    def read(args, kwargs):
        if plain and len(args) > last and not kwargs:
            return [args[i] for i in positions], names
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        return [bound.arguments[name] for name in names], names

    return read


def _split_direction(args, transform, fun):
    """``(args, v)`` of a call ``transform(fun)(*args, v)``."""
    if not args:
        raise TypeError(f"{transform}({fun.__qualname__}) is called with the arguments of "
                        f"{fun.__qualname__}, then the direction v; it got no positional argument")
    return list(args[:-1]), args[-1]


def _direction_argument(read, args, kwargs, transform, fun):
    """``(value, name)`` of the argument a direction is along, read by
    ``read`` (:func:`_argument_reader`) from the call's other arguments."""
    try:
        (x,), (name,) = read(args, kwargs)
    except TypeError as error:
        raise TypeError(f"{transform}({fun.__qualname__}) is called with the arguments of "
                        f"{fun.__qualname__}, then the direction v (its last positional "
                        f"argument): {error}") from None
    return x, name


def _check_tangent(v, x, name, fun):
    if xp.shape(v) != xp.shape(x):
        raise ValueError(f"the direction v has shape {xp.shape(v)}, but argument {name!r} of "
                         f"{fun.__qualname__} has shape {xp.shape(x)}")


def _forward_over_reverse_hessian(fun, wrt):
    """The Hessian from the forward transform of the generated gradient: one
    batched pass along every direction of every wrt argument at once (or,
    where the gradient's code has no batched form, one pass per direction)."""
    gradient = _transform(fun, wrt, "hessian")
    try:
        _, call = _forward_function(gradient, wrt, "hessian", batched=True, tangent_only=True)
    except S2SGradError:
        return _hessian_direction_by_direction(fun, wrt, gradient)
    blocks = isinstance(wrt, (tuple, list))
    read = _argument_reader(called_function(fun), wrt)
    plans = {}  # argument shape -> its colouring.Plan, or None (dense)

    @functools.wraps(fun)
    def hessian_fun(*args, **kwargs):
        values, names = read(args, kwargs)
        if not blocks and type(values[0]) is xp.ndarray:
            x = values[0]
            plan = plans.get((x.shape, x.dtype), False)
            if plan:
                derivative = call(args, kwargs, [plan.seeds])
                H = plan.hessian(_batched_like(derivative, plan.count + 1, x))
                if H is not None:
                    return _like(H.reshape(x.shape + x.shape), x)
                plans[x.shape, x.dtype] = None  # (the probe disagreed: dense from now on)
            elif plan is False:
                H, plans[x.shape, x.dtype] = _hessian_and_plan(call, args, kwargs, x)
                return H
        _refuse_structures(values, names, fun)
        tangents, offsets = _batched_basis(values)
        derivative = call(args, kwargs, tangents)
        k = offsets[-1]
        if not blocks:
            derivative = _batched_like(derivative, k, values[0])
            return _assemble_batched(derivative, values[0], values[0], 0, offsets)
        derivative = [_batched_like(d, k, x) for d, x in zip(derivative, values)]
        return tuple(tuple(_assemble_batched(derivative[a], values[a], values[b], b, offsets)
                           for b in range(len(values))) for a in range(len(values)))

    del hessian_fun.__wrapped__
    return hessian_fun


def _hessian_and_plan(call, args, kwargs, x):
    """The Hessian of the first call with argument shape ``x.shape`` (the
    dense batched pass), and the colouring plan later calls of that shape
    use (None where the Hessian is not sparse enough to gain by it, or the
    pattern cannot be found)."""
    k = int(x.size)
    tangents, offsets = _batched_basis([x])
    dense = _batched_like(call(args, kwargs, tangents), k, x)
    H = _assemble_batched(dense, x, x, 0, offsets)
    if k < colouring.FEWEST_DIRECTIONS:
        return H, None
    try:
        with xp.errstate(all="ignore"):
            marked = call(args, kwargs, [colouring.nan_basis(k, x.shape, tangents[0].dtype)])
        marked = _batched_like(marked, k, x)
    except Exception:  # noqa: BLE001 - a pass that fails on NaN directions: dense
        return H, None
    pattern = colouring.pattern_of(xp.reshape(dense, (k, -1)), xp.reshape(marked, (k, -1)))
    plan = colouring.Plan(pattern, tangents[0].dtype, x.shape)
    return H, plan if plan.worth_it() else None


def _basis_key(values):
    """What the directions of ``values`` depend on: types, shapes, dtypes."""
    return tuple((type(x), getattr(x, "shape", None), getattr(x, "dtype", None)) for x in values)


def _batched_basis(values, key=None):
    """Tangents along every direction of every argument at once: argument
    ``b``'s tangent is ``(k,) + shape``, ones on its own rows of the k
    (k = the arguments' total size), zeros elsewhere; and the row offsets.
    Made once per shapes and dtypes (read-only: the generated code never
    writes into a tangent it is given)."""
    key = _basis_key(values) if key is None else key
    found = _BASES.get(key)
    if found is None:
        if len(_BASES) > 64:
            _BASES.clear()
        found = _BASES[key] = _new_batched_basis(values)
    return found


_BASES = {}


def _new_batched_basis(values):
    sizes = [int(xp.size(x)) for x in values]
    offsets = [0]
    for n in sizes:
        offsets.append(offsets[-1] + n)
    k = offsets[-1]
    tangents = []
    for b, x in enumerate(values):
        t = xp.zeros((k, sizes[b]), dtype=xp.result_type(x, 1.0))
        t[offsets[b]:offsets[b + 1]] = xp.eye(sizes[b], dtype=t.dtype)
        t = t.reshape((k,) + xp.shape(x))
        t.flags.writeable = False
        tangents.append(t)
    return tangents, offsets


def _batched_like(derivative, k, argument):
    """A batched tangent of the gradient of ``argument`` as ``(k,) + shape``:
    the tangent of a constant gradient is one 0.0 per direction (or 0.0)."""
    shape = (k,) + tuple(xp.shape(argument))
    if xp.shape(derivative) == shape:
        return derivative
    derivative = xp.asarray(derivative)
    if derivative.ndim <= 1:
        derivative = derivative.reshape((-1,) + (1,) * len(xp.shape(argument)))
    return xp.broadcast_to(derivative, shape)


def _assemble_batched(derivative, row_arg, column_arg, b, offsets):
    """``H[i..., j...]`` for argument ``b``'s columns (a float for two
    floats), in the row argument's dtype (of its type for a scalar's)."""
    if isinstance(row_arg, float) and isinstance(column_arg, float):  # (NumPy float64s too)
        return _like(xp.asarray(derivative)[offsets[b]], row_arg)
    return _like(_forward_block(derivative, xp.shape(row_arg), column_arg, b, offsets), row_arg)


def _hessian_direction_by_direction(fun, wrt, gradient):
    """The Hessian from the forward transform of the gradient, one pass per direction."""
    _, call = _forward_function(gradient, wrt, "hessian", tangent_only=True)
    blocks = isinstance(wrt, (tuple, list))
    read = _argument_reader(called_function(fun), wrt)

    @functools.wraps(fun)
    def hessian_fun(*args, **kwargs):
        values, names = read(args, kwargs)
        _refuse_structures(values, names, fun)
        zeros = [_zero_tangent(x) for x in values]
        columns = [[] for _ in values]  # per argument b: d(gradient)/d(x_b) along each direction
        for b, x in enumerate(values):
            for direction in _basis(x):
                tangents = list(zeros)
                tangents[b] = direction
                columns[b].append(call(args, kwargs, tangents))
        if not blocks:
            return _assemble(columns[0], values[0], values[0])
        return tuple(tuple(_assemble([c[a] for c in columns[b]], values[a], values[b])
                           for b in range(len(values))) for a in range(len(values)))

    del hessian_fun.__wrapped__
    return hessian_fun


def _refuse_structures(values, names, fun):
    """A Hessian is taken with respect to floats and float arrays: a list,
    tuple or dict argument is a TypeError naming it."""
    for x, name in zip(values, names):
        if isinstance(x, runtime.STRUCTURES):
            raise TypeError(
                f"hessian differentiates with respect to a float or a float array; argument "
                f"{name!r} of {fun.__qualname__} is a {type(x).__name__} (pass np.asarray of it, "
                f"or take sg.jacobian of sg.grad)")


def _zero_tangent(x):
    return 0.0 if isinstance(x, (float, int)) else xp.zeros(xp.shape(x), xp.result_type(x, 1.0))


def _basis(x):
    """The unit directions of argument ``x`` (a float for a Python float)."""
    if isinstance(x, (float, int)):
        yield 1.0
        return
    shape = xp.shape(x)
    eye = xp.eye(int(xp.prod(shape, dtype=int)), dtype=xp.result_type(x, 1.0))
    for row in eye:
        yield row.reshape(shape)


def _assemble(columns, row_arg, column_arg):
    """``H[i..., j...]`` from the columns ``H[..., j]`` (one per direction j),
    in the row argument's dtype (of its type for a scalar's Hessian)."""
    stacked = xp.stack([xp.asarray(c) for c in columns], axis=-1)
    return _like(xp.reshape(stacked, xp.shape(row_arg) + xp.shape(column_arg)), row_arg)


def _positional(fun, args, kwargs):
    """The arguments of a call ``fun(*args, **kwargs)`` as one positional
    list, defaults filled in: a contracted gradient (see
    :func:`_contracted_gradient`) takes them so, before its own extra
    parameters."""
    if not kwargs and len(args) == fun.__code__.co_argcount:
        return args
    bound = inspect.signature(fun).bind(*args, **kwargs)
    bound.apply_defaults()
    return list(bound.arguments.values())


def _contracted_gradient(inner, fun, extra):
    """A generated function ``(*params, *extra) -> grad of sum(inner(...) * extra[-1])``.

    Products with a Jacobian come from differentiating generated code once
    more: ``H·v`` is the gradient of ``grad(f)·v`` and ``J·v`` the gradient
    of ``vjp(u)·v`` with respect to ``u`` (reverse over reverse). The
    wrapper is written as source (registered like generated code), so the
    pipeline reads it as it reads any function. Returns None when the
    function cannot be expressed this way (keyword-only or variadic
    parameters).
    """
    from s2sgrad.frontend.names import Namer

    code = fun.__code__
    if code.co_kwonlyargcount or code.co_flags & (inspect.CO_VARARGS | inspect.CO_VARKEYWORDS):
        return None
    params = list(code.co_varnames[: code.co_argcount])
    namer = Namer(params + ["np", "inner"])
    extra_names = [namer.fresh(e) for e in extra]
    call_args = ", ".join(params)
    seed = ""
    generated = getattr(inner, "__s2sgrad_generated__", inner)  # (see pipeline.bind)
    if generated.__kwdefaults__ is not None or generated.__code__.co_kwonlyargcount:
        seed_name = generated.__code__.co_varnames[generated.__code__.co_argcount +
                                                   generated.__code__.co_kwonlyargcount - 1]
        seed = f", {seed_name}={extra_names[0]}"
    source = (f"def contracted({', '.join(params + extra_names)}):\n"
              f"    return np.sum(inner({call_args}{seed}) * {extra_names[-1]})\n")
    filename = register_source(f"contracted {fun.__qualname__}", source)
    namespace = {"np": xp, "inner": inner, "__name__": "s2sgrad.contracted"}
    exec(compile(source, filename, "exec"), namespace)
    forget_with(namespace["contracted"].__code__, filename)
    return namespace["contracted"], params, extra_names


def jvp(fun, wrt=0):
    """``(*args, v) -> (fun(*args), J·v)``: the derivative along ``v``.

    Forward mode: the generated JVP runs the primal and the tangent side by
    side, once. Functions it cannot run forward fall back to reverse over
    reverse (the gradient of ``vjp(u)·v`` with respect to ``u``), and those
    whose VJP cannot be differentiated again to the Jacobian.

    >>> import numpy as np, s2sgrad as sg
    >>> def f(x):
    ...     return np.sum(x ** 3)
    >>> value, tangent = sg.jvp(f)(np.array([1.0, 2.0]), np.array([1.0, 0.5]))
    >>> print(value, tangent)                 # f(x), 3 x**2 . v
    9.0 9.0
    """
    _check_function(fun, "jvp")
    if isinstance(wrt, (tuple, list)):
        raise TypeError("jvp takes one argument to differentiate (wrt=int or name)")
    try:
        _, call = _forward_function(fun, wrt, "jvp")
    except UndefinedNameError:
        call = None  # (generated on the first call, when the names are defined)
    except S2SGradError:
        return _jvp_by_reverse(fun, wrt)
    target = called_function(fun)
    read = _argument_reader(target, wrt)

    def jvp_fun(*args, **kwargs):
        nonlocal call
        args, v = _split_direction(args, "jvp", target)
        x, name = _direction_argument(read, args, kwargs, "jvp", target)
        _check_tangent(v, x, name, target)
        if call is None:
            _, call = _forward_function(fun, wrt, "jvp")
        return call(args, kwargs, [v])

    return jvp_fun


def _jvp_by_reverse(fun, wrt):
    jac = None
    built = None
    try:
        built = _contracted_gradient(_vjp_function(fun, wrt), fun, ["u", "v"])
    except S2SGradError:
        built = None
    if built is not None:
        contracted, params, _ = built
        try:
            along = grad(contracted, wrt=len(params))
        except S2SGradError:
            built = None

    def jvp_fun(*args, **kwargs):
        nonlocal jac, built
        args, v = _split_direction(args, "jvp", fun)
        value = _on_copies(fun, args, kwargs)
        if built is not None:
            u = xp.zeros_like(xp.asarray(value, dtype=float))
            try:
                return value, _like(along(*_positional(fun, args, kwargs), u, v), value)
            except S2SGradError:
                built = None
        if jac is None:
            jac = jacobian(fun, wrt)
        J = jac(*args, **kwargs)
        v = xp.asarray(v)
        return value, _like(xp.tensordot(J, v, axes=v.ndim) if v.ndim else J * v, value)

    return jvp_fun


def hvp(fun, wrt=0):
    """``(*args, v) -> H·v``, the Hessian-vector product.

    One forward-over-reverse pass: the forward transform of the generated
    gradient, along ``v``, so the Hessian is never formed. Where the
    gradient's code cannot be run forward, the gradient of ``grad(f)·v``
    (reverse over reverse), and failing that the Hessian.

    >>> import numpy as np, s2sgrad as sg
    >>> def f(x):
    ...     return np.sum(x ** 3)
    >>> sg.hvp(f)(np.array([1.0, 2.0]), np.array([1.0, 0.5]))   # 6 x * v
    array([6., 6.])
    """
    _check_function(fun, "hvp")
    if isinstance(wrt, (tuple, list)):
        raise TypeError("hvp takes one argument to differentiate (wrt=int or name)")
    try:
        gradient = _transform(fun, wrt, "hvp")
        _, call = _forward_function(gradient, wrt, "hvp", tangent_only=True)
    except S2SGradError:
        return _hvp_by_reverse(fun, wrt)
    target = called_function(fun)
    read = _argument_reader(target, wrt)

    def hvp_fun(*args, **kwargs):
        args, v = _split_direction(args, "hvp", target)
        x, name = _direction_argument(read, args, kwargs, "hvp", target)
        _check_tangent(v, x, name, target)
        # (the forward code reads the gradient's float path, whose value
        # may be a constant: H·v takes x's type here)
        product = call(args, kwargs, [v])
        if xp.shape(product) != xp.shape(x):  # (a constant gradient's tangent: 0.0)
            product = xp.broadcast_to(product, xp.shape(x))
        return _like(product, x)

    return hvp_fun


def _hvp_by_reverse(fun, wrt):
    hess = None
    product = None
    try:
        built = _contracted_gradient(grad(fun, wrt), fun, ["v"])
        if built is not None:
            contracted, params, _ = built
            index = wrt if isinstance(wrt, int) else params.index(wrt)
            product = grad(contracted, wrt=index)
    except S2SGradError:
        product = None

    def hvp_fun(*args, **kwargs):
        nonlocal hess, product
        args, v = _split_direction(args, "hvp", fun)
        if product is not None:
            try:
                return product(*_positional(fun, args, kwargs), v)
            except S2SGradError:
                product = None  # e.g. a loop: its gradient is not differentiable again
        if hess is None:
            hess = hessian(fun, wrt)
        H = hess(*args, **kwargs)
        (x,), _ = _argument_values(fun, wrt, args, kwargs)
        v = xp.asarray(v)
        return _like(xp.tensordot(H, v, axes=v.ndim) if v.ndim else H * v, x)

    return hvp_fun


def defgrad(primitive):
    """Register the decorated rule ``(g, ans, *args) -> grads`` for ``primitive``.

    s2sgrad then treats calls to ``primitive`` as one operation and never
    reads its source. The rule follows the registry's conventions (see
    ``s2sgrad.primitives.registry``); a rule body with control flow is called
    as a function instead of being inlined. Registering bumps the registry's
    generation (``registry.defvjp`` does), so gradients generated before are
    generated again on their next ``grad``.

    >>> import numpy as np, s2sgrad as sg
    >>> def softplus(x):                      # treated as one operation
    ...     return np.logaddexp(0.0, x)
    >>> @sg.defgrad(softplus)
    ... def softplus_grad(g, ans, x):
    ...     return g / (1.0 + np.exp(-x))
    >>> def f(x):
    ...     return softplus(2.0 * x)
    >>> print(sg.grad(f)(0.0))
    1.0
    """
    if not callable(primitive):
        raise TypeError(f"defgrad expects the function to register, got {primitive!r}")

    def register(rule):
        if not callable(rule):
            raise TypeError("defgrad(...) decorates the rule function")
        registry.defvjp(primitive)(rule)
        return rule

    return register
