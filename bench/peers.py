"""Optional peer columns: the same primal differentiated by autograd, JAX or PyTorch.

None of them is a dependency of s2sgrad or of the benchmarks: a peer's column
appears only when it can be imported. Each peer differentiates the workload's
own primal, re-executed from its source with ``np`` and ``math`` bound to the
peer's NumPy-like module, so every contestant runs the same program.
"""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import textwrap
from typing import Any, Callable


PEERS = ("autograd", "jax", "torch")


def available() -> tuple[str, ...]:
    """The peers importable here (a broken install counts as absent)."""
    found = []
    for name in PEERS:
        if importlib.util.find_spec(name) is None:
            continue
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 - a peer that fails to import is absent
            continue
        found.append(name)
    return tuple(found)


def rebind(func: Callable, **names: Any) -> Callable:
    """``func`` re-executed from its source with some of its global names rebound."""
    namespace = dict(func.__globals__, **names)
    source = textwrap.dedent(inspect.getsource(func))
    exec(compile(source, f"<{func.__name__} for a peer>", "exec"), namespace)
    return namespace[func.__name__]


def gradient(peer: str, primal: Callable, wrt: int | tuple[int, ...], args: tuple) -> Callable:
    """The peer's gradient function for ``primal``, called like it, returning
    gradients in the same structure as ``sg.grad(primal, wrt)``."""
    return {"autograd": _autograd, "jax": _jax, "torch": _torch}[peer](primal, wrt, args)


def _autograd(primal: Callable, wrt: Any, args: tuple) -> Callable:
    import autograd
    import autograd.numpy as anp

    return autograd.grad(rebind(primal, np=anp, math=anp), argnum=wrt)


def _jax(primal: Callable, wrt: Any, args: tuple) -> Callable:
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    static = tuple(i for i, a in enumerate(args) if isinstance(a, (int, bool)))
    compiled = jax.jit(jax.grad(rebind(primal, np=jnp, math=jnp), argnums=wrt), static_argnums=static)

    def call(*call_args):
        return jax.block_until_ready(compiled(*call_args))

    return call


class _TorchNumpy:
    """The NumPy spellings the workloads use, mapped onto torch."""

    def __init__(self, torch):
        self._torch = torch

    def __getattr__(self, name):
        return getattr(self._torch, name)

    def sum(self, x, axis=None, keepdims=False):
        return x.sum() if axis is None else self._torch.sum(x, dim=axis, keepdim=keepdims)

    def mean(self, x, axis=None, keepdims=False):
        return x.mean() if axis is None else self._torch.mean(x, dim=axis, keepdim=keepdims)

    def max(self, x, axis=None, keepdims=False):
        return x.max() if axis is None else self._torch.amax(x, dim=axis, keepdim=keepdims)


def _torch(primal: Callable, wrt: Any, args: tuple) -> Callable:
    import torch

    f = rebind(primal, np=_TorchNumpy(torch), math=_TorchNumpy(torch))
    wrt_tuple = wrt if isinstance(wrt, tuple) else (wrt,)

    def to_tensor(value, index):
        if isinstance(value, (int, bool)):
            return value
        tensor = torch.as_tensor(value, dtype=torch.float64 if isinstance(value, float) else None)
        return tensor.requires_grad_() if index in wrt_tuple else tensor

    def call(*call_args):
        tensors = [to_tensor(a, i) for i, a in enumerate(call_args)]
        grads = torch.autograd.grad(f(*tensors), [tensors[i] for i in wrt_tuple])
        out = tuple(
            float(g) if isinstance(call_args[i], float) else g.numpy() for i, g in zip(wrt_tuple, grads)
        )
        return out if isinstance(wrt, tuple) else out[0]

    return call



def hessian(peer: str, primal: Callable) -> Callable:
    """The peer's Hessian of ``primal`` in its first argument (a NumPy array
    out): autograd.hessian, jax.jit(jax.hessian), torch's functional hessian."""
    if peer == "autograd":
        import autograd
        import autograd.numpy as anp

        return autograd.hessian(rebind(primal, np=anp, math=anp))
    if peer == "jax":
        import jax
        import jax.numpy as jnp

        jax.config.update("jax_enable_x64", True)
        compiled = jax.jit(jax.hessian(rebind(primal, np=jnp, math=jnp)))
        return lambda x: jax.block_until_ready(compiled(x))
    import torch

    f = rebind(primal, np=_TorchNumpy(torch), math=_TorchNumpy(torch))
    return lambda x: torch.autograd.functional.hessian(f, torch.as_tensor(x)).numpy()


def hvp(peer: str, primal: Callable) -> Callable:
    """The peer's Hessian-vector product ``(x, v) -> H v`` of ``primal``: forward
    over reverse where the peer has it (autograd's make_hvp is reverse over
    reverse; jax.jvp of jax.grad under jit; torch's functional hvp)."""
    if peer == "autograd":
        import autograd
        import autograd.numpy as anp

        product = autograd.hessian_vector_product(rebind(primal, np=anp, math=anp))
        return product
    if peer == "jax":
        import jax
        import jax.numpy as jnp

        jax.config.update("jax_enable_x64", True)
        gradient = jax.grad(rebind(primal, np=jnp, math=jnp))
        compiled = jax.jit(lambda x, v: jax.jvp(gradient, (x,), (v,))[1])
        return lambda x, v: jax.block_until_ready(compiled(x, v))
    import torch

    f = rebind(primal, np=_TorchNumpy(torch), math=_TorchNumpy(torch))
    return lambda x, v: torch.autograd.functional.hvp(f, torch.as_tensor(x), torch.as_tensor(v))[1].numpy()
