"""The C target's run time: a generated C file's shared library (compiled on first use,
compile.py) opened with cffi, and kernel calls on host arrays: dtype rules, broadcasting,
out=.

float32 inputs give float32 kernels and results, float64 give float64; Python scalars
take the dtype of the arrays beside them (NumPy's rules). Arguments broadcast like NumPy.
A scalar or an already-contiguous argument is passed without a copy (stride 0 or 1)."""
from __future__ import annotations

import math
import os
from pathlib import Path

import numpy as np

from ...abi import RAW_GENERATORS, kernel_cdecl, packed_cdecl
from ...runtime.promotion import (broadcast, float_dtype, is_python_number, requested_dtype,
                                  row_shape, sampler_options)
from .compile import compile_binary

# the kernel dtypes, and the cffi buffer type each is passed as
_BUFFERS = {np.dtype(np.float64): "double[]", np.dtype(np.float32): "float[]"}
_loaded: dict = {}
_threads = [0]


def cdef(kernels: dict, addresses=False) -> str:
    decls = ["void irgen_set_threads(int n);", "int irgen_get_threads(void);",
             *RAW_GENERATORS]
    for name, k in kernels.items():
        for dtype in ("float64", "float32"):
            decls.append(kernel_cdecl(name, dtype, len(k.inputs), len(k.outputs), k.kind,
                                      k.rows, addresses) + ";")
            if not k.rows:
                decls.append(packed_cdecl(name, dtype) + ";")
    return "\n".join(decls)


def load(c_path, kernels: dict, addresses=False):
    """The cffi (ffi, lib) pair for a generated C file, compiling it if needed; with
    addresses, its kernels declared to take arrays as integer addresses."""
    import cffi

    c_path = Path(c_path)
    key = (str(c_path.resolve()), addresses)
    if key not in _loaded:
        so_path = compile_binary(c_path)
        ffi = cffi.FFI()
        ffi.cdef(cdef(kernels, addresses))
        lib = ffi.dlopen(str(so_path))
        if _threads[0]:
            lib.irgen_set_threads(_threads[0])
        _loaded[key] = (ffi, lib)
    return _loaded[key]


def set_num_threads(n: int):
    """Threads the CPU kernels may use for large arrays (0: all cores)."""
    _threads[0] = int(n)
    for _, lib in _loaded.values():
        lib.irgen_set_threads(int(n))


def get_num_threads() -> int:
    for _, lib in _loaded.values():
        return lib.irgen_get_threads()
    return _threads[0] or (os.cpu_count() or 1)


def _typed(args, names):
    """The arguments as promotion sees them: Python numbers weak, arrays by dtype."""
    return [a.dtype if type(a) is np.ndarray and a.dtype in _BUFFERS
            else a if is_python_number(a) else float_dtype(np.asarray(a).dtype, n)
            for a, n in zip(args, names)]


class HostKernels:
    """The kernels of one generated C file, loaded on first use, called on host arrays."""

    def __init__(self, c_path: Path, kernels: dict):
        self.c_path = Path(c_path)
        self.kernels = kernels
        self._lib = None
        self._functions = {}
        self._plans = {}

    @property
    def lib(self):
        if self._lib is None:
            self._lib = load(self.c_path, self.kernels)
        return self._lib

    def call(self, kernel: str, args: tuple, out=None, stream=None, size=None, seed=None,
             dtype=None):
        """Run a kernel; size, seed and dtype are for samplers."""
        in_names, out_names, kind, size, seed_words, dt, arrays = self._host_arguments(
            kernel, args, out, size, seed, dtype)
        shape = broadcast(kernel, in_names, [a.shape for a in arrays], size)
        ffi, _ = self.lib
        ctype = _BUFFERS[dt]
        keep, cargs = [], [math.prod(shape)] + seed_words
        for a in arrays:
            if a.size == 1:
                a, stride = a.reshape(1), 0
            elif a.shape == shape and a.flags.c_contiguous:
                stride = 1
            else:
                a, stride = np.ascontiguousarray(np.broadcast_to(a, shape)), 1
            keep.append(a)
            cargs += [ffi.from_buffer(ctype, a), stride]
        return self._run(kernel, dt, shape, cargs, out, out_names)

    def fast_call(self, kernel: str, args: tuple, seed=None):
        """The call's results by the fast path (boundary.c) where it is the common case
        (arrays of one float dtype and shape, or Python numbers; a sampler's integer seed;
        no out=, size= or dtype=), else NotImplemented. Only a call with a NumPy array can
        be one, and only such a call makes the plan, which loads the C kernels (a call on
        CUDA arrays does not)."""
        plan = self._plans.get(kernel)
        if plan is None:
            if not any(type(a) is np.ndarray for a in args):
                return NotImplemented
            plan = self.plan(kernel)
        if not plan:
            return NotImplemented
        return plan[0].call(plan[1], args, seed)

    def plan(self, kernel: str):
        """The kernel's fast path: (boundary.c's module, its plan), or () where it has none."""
        plan = self._plans.get(kernel)
        if plan is None:
            plan = self._plans[kernel] = self._plan(kernel)
        return plan

    def _plan(self, kernel: str):
        """(the fast path's module, its plan: the packed entry points' addresses, the
        counts of inputs and outputs, whether it samples), or () where it has none."""
        from .boundary import extension

        k = self.kernels[kernel]
        fast = None if k.rows else extension()
        if fast is None:
            return ()
        return fast, (*self.packed(kernel), len(k.inputs), len(k.outputs), k.kind != "map")

    def packed(self, kernel: str) -> tuple[int, int]:
        """The addresses of an elementwise kernel's packed entry points (abi.packed_cdecl),
        float64 and float32: f(n, words, pointers, strides)."""
        return self.entries(kernel, "_packed")

    def entries(self, kernel: str, suffix: str = "") -> tuple[int, int]:
        """The addresses of a kernel's C functions (kernel_cdecl's, or with suffix another
        entry point's), float64 and float32."""
        ffi, lib = self.lib
        return tuple(int(ffi.cast("uintptr_t", getattr(lib, f"irgen_{kernel}_{dt}{suffix}")))
                     for dt in ("float64", "float32"))

    def call_rows(self, kernel: str, args: tuple, out=None, stream=None, size=None, seed=None,
                  dtype=None):
        """Run a simplex's kernel: the arguments' last axis is a row; a sampler's size is the
        batch shape, and the log density gives one value per row."""
        in_names, out_names, kind, _, seed_words, dt, arrays = self._host_arguments(
            kernel, args, None, None, seed, dtype)
        shape = row_shape(kernel, in_names, [a.shape for a in arrays], size,
                          None if kind == "map" else out)
        ffi, _ = self.lib
        arrays = [np.ascontiguousarray(np.broadcast_to(a, shape)) for a in arrays]
        cargs = [math.prod(shape), shape[-1]] + seed_words
        for a in arrays:
            cargs += [ffi.from_buffer(_BUFFERS[dt], a), 1]
        return self._run(kernel, dt, shape[:-1] if kind == "map" else shape, cargs, out,
                         out_names)

    def _host_arguments(self, kernel, args, out, size, seed, dtype):
        """(input and output names, kind, a sampler's size and seed words, the kernel
        dtype, the arguments as arrays of it) of a call on the CPU."""
        k = self.kernels[kernel]
        size, dtype, seed_words = sampler_options(k.kind, size, seed, dtype, out)
        dt = requested_dtype(dtype, _typed(args, k.inputs))
        return (k.inputs, k.outputs, k.kind, size, seed_words, dt,
                [np.asarray(a, dtype=dt) for a in args])

    def _run(self, kernel, dt, shape, cargs, out, out_names):
        """Call the kernel with the outputs after the arguments; return them."""
        ffi, _ = self.lib
        outs = self._outputs(kernel, out, out_names, shape, dt)
        cargs += [ffi.from_buffer(_BUFFERS[dt], o, require_writable=True) for o in outs]
        if math.prod(shape):
            self._function(kernel, dt)(*cargs)
        if out is not None:
            return out
        if shape == ():
            outs = [o[()] for o in outs]
        return outs[0] if len(outs) == 1 else tuple(outs)

    def _function(self, kernel, dt):
        key = (kernel, dt)
        f = self._functions.get(key)
        if f is None:
            f = self._functions[key] = getattr(self.lib[1], f"irgen_{kernel}_{dt.name}")
        return f

    def address_function(self, kernel: str, dtype: str):
        """A kernel's C function in float32 or float64 taking its arrays as integer
        addresses, for callers that hold them (irgen.torch: no cffi pointer objects to
        make per call); its arguments are otherwise kernel_cdecl's."""
        return getattr(load(self.c_path, self.kernels, addresses=True)[1],
                       f"irgen_{kernel}_{dtype}")

    @staticmethod
    def _outputs(kernel, out, names, shape, dt):
        if out is None:
            return [np.empty(shape, dt) for _ in names]
        outs = [out] if isinstance(out, np.ndarray) else list(out)
        if len(outs) != len(names):
            raise ValueError(f"{kernel}: out= needs {len(names)} array(s) ({', '.join(names)})")
        for o, n in zip(outs, names):
            if not isinstance(o, np.ndarray) or o.shape != shape or o.dtype != dt \
                    or not o.flags.c_contiguous or not o.flags.writeable:
                raise ValueError(f"{kernel}: out for {n} must be a writeable C-contiguous "
                                 f"{dt.name} array of shape {shape}")
        return outs
