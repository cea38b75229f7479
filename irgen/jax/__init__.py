"""irgen's kernels in JAX (the `jax` extra): jittable XLA custom calls with derivatives.

    import jax, irgen.jax
    gamma = irgen.jax.gamma                       # any built-in, by its module's name
    z = gamma.rsample(key, alpha, beta, shape=(1024,))
    jax.grad(lambda a: f(gamma.rsample(key, a, 1.0)).mean())(alpha)
    irgen.jax.from_module(module)                 # a user's generated module

Each distribution's functions (functions.py): cdf, log_cdf, log_sf, log_prob (each
differentiable in x and every parameter), cdf_grad, log_prob_grad, implicit_grad, and
sample / rsample taking a JAX PRNG key (the same key gives the same draws; rsample's
tangent is the implicit reparameterization gradient). They run through the XLA target's
handlers (irgen/targets/xla), compiled on first use against jaxlib's FFI header; no host
callback."""
from __future__ import annotations

import importlib

from .functions import Functions, seed_words

_loaded: dict = {}


def from_module(module) -> Functions:
    """The JAX functions of a generated module (or its import name)."""
    if isinstance(module, str):
        module = importlib.import_module(module)
    found = _loaded.get(id(module))
    if found is None:
        found = _loaded[id(module)] = Functions(module)
    return found


def __getattr__(name):
    if name.startswith("_"):
        raise AttributeError(name)
    try:
        module = importlib.import_module(f"irgen.generated.{name}")
    except ModuleNotFoundError:
        raise AttributeError(f"irgen.jax has no distribution {name!r}") from None
    return from_module(module)


__all__ = ["Functions", "from_module", "seed_words"]
