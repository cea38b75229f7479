"""The rules the array boundary follows on every target: kernels take float32 or float64,
arguments promote as in NumPy with Python numbers weak, shapes broadcast as in NumPy."""
from __future__ import annotations

import numpy as np

from . import families

FLOATS = (np.dtype(np.float64), np.dtype(np.float32))


def is_cuda_array(a) -> bool:
    family = families.of(a)
    if family is not None:
        return family.is_cuda(a)
    return hasattr(a, "__cuda_array_interface__")


_HOST = (np.ndarray, np.generic, int, float, type(None))


def on_device(args, out) -> bool:
    """Whether a call goes to the GPU: some argument or output is a CUDA array."""
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return any(not isinstance(a, _HOST) and is_cuda_array(a) for a in (*args, *outs))


def is_python_number(a) -> bool:
    """A weak argument: it takes the dtype of the arrays beside it."""
    return isinstance(a, (int, float)) and not isinstance(a, bool)


def float_dtype(dt, name: str) -> np.dtype:
    """dt, if a kernel takes it; else a TypeError naming the argument."""
    dt = np.dtype(dt)
    if dt not in FLOATS:
        raise TypeError(f"{name}: expected float32 or float64 values, got {dt}")
    return dt


def kernel_dtype(typed: list) -> np.dtype:
    """The kernel dtype of arguments given as their dtypes, or as Python numbers."""
    first = typed[0]
    if isinstance(first, np.dtype) and all(t is first or t == first for t in typed):
        return first          # the common case, without NumPy's promotion machinery
    dt = np.result_type(*typed)
    return dt if dt in FLOATS else np.dtype(np.float64)


def _listed(names, shapes) -> str:
    """Arguments and their shapes, for messages."""
    return ", ".join(f"{n}{tuple(s)}" for n, s in zip(names, shapes))


def size_tuple(size) -> tuple:
    """A sampler's size= as a shape: a whole number or a sequence of them."""
    return (int(size),) if np.ndim(size) == 0 else tuple(int(n) for n in size)


def broadcast(kernel: str, names, shapes, size=None) -> tuple:
    """The broadcast shape of the arguments; with size (a sampler's), size itself, to
    which the arguments must broadcast."""
    shape = tuple(shapes[0]) if shapes else ()
    if not all(tuple(s) == shape for s in shapes[1:]):       # equal shapes: no work
        try:
            shape = np.broadcast_shapes(*shapes)
        except ValueError:
            raise ValueError(f"{kernel}: arguments do not broadcast together: "
                             f"{_listed(names, shapes)}") from None
    if size is None:
        return shape
    size = size_tuple(size)
    if any(n < 0 for n in size):
        raise ValueError(f"{kernel}: size {size} has a negative dimension")
    try:
        if np.broadcast_shapes(shape, size) == size:
            return size
    except ValueError:
        pass
    raise ValueError(f"{kernel}: arguments {_listed(names, shapes)} do not broadcast to "
                     f"size {size}")


def row_shape(kernel: str, names, shapes, size=None, out=None) -> tuple:
    """The shape of a simplex kernel's arguments: their broadcast shape, whose last axis is
    a row of K >= 2 entries; for a sampler, the batch shape given by size (else by out=
    without its last axis) and that row."""
    shape = broadcast(kernel, names, shapes)
    if len(shape) == 0 or shape[-1] < 2:
        raise ValueError(f"{kernel}: {_listed(names, shapes)}: the last axis needs K >= 2 "
                         f"entries")
    if size is None and out is not None:
        size = out_shape(out)[:-1]
    if size is None:
        return shape
    return broadcast(kernel, names, shapes, size_tuple(size) + shape[-1:])


def out_shape(out):
    """The shape of out= (its first array, for several results): a sampler's default size."""
    first = out[0] if isinstance(out, (tuple, list)) else out
    if is_cuda_array(first):
        return tuple(first.__cuda_array_interface__["shape"])
    return np.shape(first)


def sampler_options(kind: str, size, seed, dtype, out) -> tuple:
    """(size, dtype, seed words) of a kernel call: for a sampler the size (by default the
    shape of out=), the dtype asked for, and the seed's key and the stream offset of its
    first element (0: a whole call); for other kernels none."""
    if kind == "map":
        return None, None, []
    if size is None and out is not None:
        size = out_shape(out)
    return size, dtype, [seed_value(seed), 0]


def requested_dtype(dtype, typed: list) -> np.dtype:
    """A sampler's dtype: the one asked for, else the arguments' promotion."""
    if dtype is None:
        return kernel_dtype(typed)
    return float_dtype(dtype, "dtype")


def seed_value(seed) -> int:
    """A seed as the 64-bit key of the generator; None draws a fresh one."""
    if seed is None:
        return int(np.random.SeedSequence().generate_state(1, np.uint64)[0])
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed: expected an integer, got {type(seed).__name__}")
    if not 0 <= int(seed) < 2 ** 64:
        raise ValueError(f"seed: {seed} is outside [0, 2^64)")
    return int(seed)
