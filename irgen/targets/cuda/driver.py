"""The few CUDA driver calls irgen makes itself, through ctypes.

PyCUDA provides the context, the compiler and device memory; module loading and launches
go straight to the driver because a PyCUDA launch takes only a stream PyCUDA created, and
irgen launches on the caller's stream (torch's, CuPy's or a raw handle)."""
from __future__ import annotations

import ctypes
import functools

# enum values of cuda.h
POINTER_ATTRIBUTE_DEVICE_ORDINAL = 9
_c = ctypes


class CudaError(RuntimeError):
    pass


@functools.lru_cache(maxsize=None)
def lib():
    for name in ("libcuda.so.1", "libcuda.so", "nvcuda.dll"):
        try:
            cuda = ctypes.CDLL(name)
        except OSError:
            continue
        cuda.cuInit(0)          # idempotent; pointer queries may come before any context
        return cuda
    raise CudaError("the CUDA driver library (libcuda) was not found")


def check(status: int, what: str):
    if status:
        text = _c.c_char_p()
        lib().cuGetErrorString(status, _c.byref(text))
        raise CudaError(f"{what}: {text.value.decode() if text.value else 'error'} ({status})")


def pointer_device(ptr: int) -> int:
    """The ordinal of the device that holds ptr (device or managed memory)."""
    ordinal = _c.c_int()
    check(lib().cuPointerGetAttribute(_c.byref(ordinal), POINTER_ATTRIBUTE_DEVICE_ORDINAL,
                                      _c.c_uint64(ptr)), "cuPointerGetAttribute")
    return ordinal.value


def load_module(image: bytes) -> int:
    """Load a fatbin or cubin into the current context."""
    module = _c.c_void_p()
    check(lib().cuModuleLoadData(_c.byref(module), _c.c_char_p(image)), "cuModuleLoadData")
    return module.value


def get_function(module: int, name: str) -> int:
    f = _c.c_void_p()
    check(lib().cuModuleGetFunction(_c.byref(f), _c.c_void_p(module), name.encode()),
          f"cuModuleGetFunction({name})")
    return f.value


def blocks_per_sm(function: int, block: int) -> int:
    n = _c.c_int()
    check(lib().cuOccupancyMaxActiveBlocksPerMultiprocessor(
        _c.byref(n), _c.c_void_p(function), _c.c_int(block), _c.c_size_t(0)),
        "cuOccupancyMaxActiveBlocksPerMultiprocessor")
    return max(1, n.value)


def launch(function: int, grid: int, block: int, stream: int, args: list):
    """Launch with each argument a ctypes value (the kernel's parameter types)."""
    params = (_c.c_void_p * len(args))(*[_c.cast(_c.pointer(a), _c.c_void_p) for a in args])
    check(lib().cuLaunchKernel(_c.c_void_p(function), _c.c_uint(grid), 1, 1,
                               _c.c_uint(block), 1, 1, 0, _c.c_void_p(stream), params, None),
          "cuLaunchKernel")
