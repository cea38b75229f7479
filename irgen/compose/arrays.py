"""The array operations the combinators are written in, for NumPy arrays here and for torch
tensors (CPU or CUDA) in irgen.torch.arrays, so that one writing of truncation and mixtures
serves both, and runs where the tensors are.

namespace(*values) picks the one for its arguments: NumPy's, or one an integration
registered for its array type (irgen.torch registers torch's when it is imported; this
package imports no integration). The names follow NumPy's (which torch
mostly shares: where, log, expm1, logaddexp, clip, ...: any other attribute is NumPy's own);
what differs is a method: casting, copying, indices of a mask, floating-point limits,
random numbers, and calls of a generated module's kernels."""
from __future__ import annotations

import numpy as np
from scipy import special


_REGISTERED: list = []       # (array type, namespace), from integrations
_NUMPY_LIKE = (np.ndarray, np.generic, int, float, list, tuple, type(None))


def register(array_type, xp) -> None:
    """Use the namespace xp for calls with an argument of array_type."""
    _REGISTERED.append((array_type, xp))


def namespace(*values):
    """The namespace of the arguments' arrays: a registered one where some argument is of
    its type, else NUMPY (a TypeError for arrays no namespace takes)."""
    for array_type, xp in _REGISTERED:
        if any(isinstance(v, array_type) for v in values):
            return xp
    for v in values:
        if not isinstance(v, _NUMPY_LIKE):
            raise TypeError(f"irgen.compose takes NumPy arrays, or the arrays of an "
                            f"integration imported first (import irgen.torch for torch "
                            f"tensors); got {type(v).__name__}")
    return NUMPY


class NumPyArrays:
    float32, float64 = np.float32, np.float64

    def __getattr__(self, name):
        return getattr(np, name)

    @staticmethod
    def arrays(*values, dtype=None):
        """values broadcast together, in one floating dtype (the promoted one, at least
        float32, where dtype is None)."""
        arrays = np.broadcast_arrays(*(np.asarray(v) for v in values))
        dtype = dtype or np.result_type(*arrays, np.float32)
        return [a.astype(dtype) for a in arrays]

    @staticmethod
    def astype(a, dtype):
        return np.asarray(a).astype(dtype)

    @staticmethod
    def broadcast_to(a, shape):
        return np.broadcast_to(np.asarray(a), shape)

    @staticmethod
    def repeated(a) -> bool:
        """Whether a is one value repeated by broadcasting (every stride 0)."""
        return all(st == 0 for st in a.strides)

    @staticmethod
    def copy(a):
        return np.array(a)            # a writable array also for a scalar

    @staticmethod
    def full(shape, value, like):
        return np.full(shape, value, like.dtype)

    @staticmethod
    def eye(n, like):
        return np.eye(n, dtype=like.dtype)

    @staticmethod
    def flatnonzero(mask):
        return np.flatnonzero(mask)

    @staticmethod
    def finfo(dtype):
        return np.finfo(dtype)

    @staticmethod
    def logsumexp(a, axis):
        return special.logsumexp(a, axis=axis, keepdims=True)

    @staticmethod
    def take_along_axis(a, index, axis):
        return np.take_along_axis(a, index, axis=axis)

    @staticmethod
    def quiet():
        """Floating-point warnings off: the combinators produce infinities and NaN on
        purpose (log 0, bad input) and select them away."""
        return np.errstate(all="ignore")

    # -- random numbers
    @staticmethod
    def generator(seed, like):
        return np.random.default_rng(seed)

    @staticmethod
    def uniform(generator, shape, like):
        """float64 uniforms in (0, 1)."""
        u = generator.random(shape)
        return np.where(u == 0, 0.5 * np.finfo(np.float64).tiny, u)

    @staticmethod
    def seed(generator) -> int:
        """A seed for a generated sampler, from the generator."""
        return int(generator.integers(0, 2 ** 63))

    # -- a generated module's kernels
    @staticmethod
    def call(module, name, *args, **options):
        """module's function `name` on the arrays as they are."""
        return getattr(module, name)(*args, **options)

    @staticmethod
    def kernel(module, name, *args):
        """The outputs of module's kernel `name` (a tuple where there are several)."""
        return getattr(module, name)(*args)

    @staticmethod
    def sample(module, params, seed):
        return module.sample(*params, seed=seed)


NUMPY = NumPyArrays()
