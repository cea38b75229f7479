"""The rules the array boundary follows on every target: kernels take float32 or float64,
arguments promote as in NumPy with Python numbers weak, shapes broadcast as in NumPy."""
from __future__ import annotations

import numpy as np

FLOATS = (np.dtype(np.float64), np.dtype(np.float32))


def is_cuda_array(a) -> bool:
    return hasattr(a, "__cuda_array_interface__")


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
    dt = np.result_type(*typed)
    return dt if dt in FLOATS else np.dtype(np.float64)


def broadcast(kernel: str, names, shapes) -> tuple:
    try:
        return np.broadcast_shapes(*shapes)
    except ValueError:
        listed = ", ".join(f"{n}{s}" for n, s in zip(names, shapes))
        raise ValueError(f"{kernel}: arguments do not broadcast together: {listed}") from None
