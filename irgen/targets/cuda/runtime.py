"""Running the CUDA kernels of a generated module on CUDA arrays.

Imported only when a CUDA array reaches a generated function, so CPU users never need
PyCUDA. Kernels run in the device's primary context (the one torch and CuPy use), on the
caller's stream (see stream_handle). Outputs are allocated by the library of the first input
(a torch tensor gives torch tensors, through torch's caching allocator; a CuPy array CuPy
arrays; anything else PyCUDA GPUArrays)."""
from __future__ import annotations

import contextlib
import ctypes
import functools
import math
from pathlib import Path

import numpy as np

from ...runtime import families
from ...runtime.promotion import broadcast, row_shape, sampler_options
from . import BLOCK, TILE_ITEMS
from . import driver as drv
from .arrays import (DeviceView, broadcast_layout, check_outputs,
                          plan_read, promote, shape_of, view)
from .compile import NVCC_FLAGS, fatbin_path

_CTYPES = {np.dtype(np.float64): ctypes.c_double, np.dtype(np.float32): ctypes.c_float}
_LETTER = {np.dtype(np.float64): "d", np.dtype(np.float32): "f"}


class _Layout(ctypes.Structure):
    _fields_ = [("shape", ctypes.c_int64 * 8), ("stride", ctypes.c_int64 * 8)]


@functools.lru_cache(maxsize=None)
def _pycuda():
    import pycuda.driver as pd
    pd.init()
    return pd


@functools.lru_cache(maxsize=None)
def _primary(device: int):
    """The device's primary context, retained for the life of the process."""
    return _pycuda().Device(device).retain_primary_context()


@contextlib.contextmanager
def active(device: int):
    """Make the device's primary context current for the duration. It is pushed even when
    the driver already has it current (torch or JAX may have made it so), because PyCUDA
    allocates only in contexts on its own stack."""
    _primary(device).push()
    try:
        yield
    finally:
        _pycuda().Context.pop()


@functools.lru_cache(maxsize=None)
def multiprocessors(device: int) -> int:
    pd = _pycuda()
    return pd.Device(device).get_attribute(pd.device_attribute.MULTIPROCESSOR_COUNT)


def stream_handle(stream, views, device: int) -> int:
    """A CUstream handle from what the caller gave: a handle, or a stream object of torch
    (.cuda_stream), CuPy (.ptr) or PyCUDA (.handle); by default the stream the inputs'
    interfaces name (CuPy's current one), torch's current stream for torch tensors (its
    interface names none), else the legacy default stream."""
    if stream is None:
        named = next((v.stream for v in views if v.stream is not None), None)
        if named is not None:
            return named
        family = families.of(views[0].obj) if views else None
        current = family.current_stream(device) if family is not None else None
        return current if current is not None else 0
    if isinstance(stream, int):
        return stream
    for attr in ("cuda_stream", "ptr", "handle"):
        if hasattr(stream, attr):
            return int(getattr(stream, attr))
    raise TypeError(f"stream: expected a stream handle or a torch, CuPy or PyCUDA stream, "
                    f"got {type(stream).__name__}")


def allocate(like, shape: tuple, dt: np.dtype, device: int):
    """An uninitialised device array from the library `like` comes from (PyCUDA's
    GPUArray for any other)."""
    family = families.of(like)
    if family is not None:
        return family.empty(shape, dt, device)
    import pycuda.gpuarray as ga
    return ga.empty(shape, dt)


class CudaKernels:
    """The CUDA kernels of one generated module, loaded per device on first use."""

    def __init__(self, cu_path: Path, kernels: dict, flags=None):
        """flags: nvcc options to compile the source with instead of loading the fatbin
        (benchmarks compare variants this way)."""
        self.cu_path = Path(cu_path)
        self.kernels = kernels
        self.flags = flags
        self._modules: dict = {}        # device -> (module handle, {name: (function, grid cap)})

    def _image(self, device: int) -> bytes:
        binary = fatbin_path(self.cu_path)
        if binary.exists() and self.flags is None:
            return binary.read_bytes()
        from pycuda.compiler import compile as nvcc_compile  # cached by source, options, nvcc
        major, minor = _pycuda().Device(device).compute_capability()
        return nvcc_compile(self.cu_path.read_text(), options=list(self.flags or NVCC_FLAGS),
                            arch=f"sm_{major}{minor}", no_extern_c=True)

    def function(self, device: int, name: str):
        """(function handle, most blocks worth launching) in the current context."""
        if device not in self._modules:
            self._modules[device] = (drv.load_module(self._image(device)), {})
        module, functions = self._modules[device]
        if name not in functions:
            f = drv.get_function(module, name)
            functions[name] = (f, multiprocessors(device) * drv.blocks_per_sm(f, BLOCK))
        return functions[name]

    def launch(self, device, name, n, per_block, stream, args):
        f, cap = self.function(device, name)
        drv.launch(f, max(1, min(math.ceil(n / per_block), cap)), BLOCK, stream, args)

    def call(self, kernel: str, args: tuple, out, stream, size=None, seed=None, dtype=None):
        """As KernelSet.call; size, seed and dtype are for samplers."""
        k = self.kernels[kernel]
        in_names, grouped, kind = k.inputs, k.grouped, k.kind
        size, dtype, seed_words = sampler_options(kind, size, seed, dtype, out)
        dt, items = promote(args, in_names, dtype)
        shape = broadcast(kernel, in_names, [shape_of(i) for i in items], size)
        n = math.prod(shape)
        per_block = BLOCK * (TILE_ITEMS if grouped else 1)
        return self._run(kernel, items, dt, shape, [ctypes.c_int64(n)], seed_words, out,
                         stream, (n, per_block))

    def call_rows(self, kernel: str, args: tuple, out, stream, size=None, seed=None,
                  dtype=None):
        """As KernelSet.call_rows. A sampler's block takes whole rows, as many as fill a
        tile (one tile per row, and the row in tiles, where rows are longer); the log
        density takes a row per warp."""
        k = self.kernels[kernel]
        in_names, kind = k.inputs, k.kind
        _, dtype, seed_words = sampler_options(kind, None, seed, dtype, None)
        dt, items = promote(args, in_names, dtype)
        for item, name in zip(items, in_names):
            if not isinstance(item, DeviceView):
                raise TypeError(f"{kernel}: {name} must be a CUDA array beside CUDA arrays")
        shape = row_shape(kernel, in_names, [i.shape for i in items], size,
                          None if kind == "map" else out)
        rows, row = math.prod(shape[:-1]), shape[-1]
        tile = BLOCK * TILE_ITEMS
        per_block = BLOCK // 32 if kind == "map" else max(1, tile // row)
        return self._run(kernel, items, dt, shape,
                         [ctypes.c_int64(math.prod(shape)), ctypes.c_int64(row)], seed_words,
                         out, stream, (rows, per_block),
                         shape[:-1] if kind == "map" else shape)

    def _run(self, kernel, items, dt, shape, head, seed_words, out, stream, blocks,
             out_shape=None):
        """Launch with the arguments `head`, the seed, the inputs as read for `shape` and
        the outputs (of out_shape, by default shape); blocks is (count, per block) that
        sizes the grid."""
        out_names = self.kernels[kernel].outputs
        out_shape = shape if out_shape is None else out_shape
        views = [i for i in items if isinstance(i, DeviceView)]
        out_views = (check_outputs(kernel, out, out_names, out_shape, dt) if out is not None
                     else [])
        devices = {drv.pointer_device(v.ptr) for v in views + out_views if v.size}
        if len(devices) > 1:
            raise ValueError(f"{kernel}: arrays on different devices {sorted(devices)}")
        device = devices.pop() if devices else 0
        T = _CTYPES[dt]
        with active(device):
            handle = stream_handle(stream, views, device)
            outs = [v.obj for v in out_views] or \
                [allocate(views[0].obj, out_shape, dt, device) for _ in out_names]
            if not math.prod(shape):
                return self._result(outs, out)
            # a sampler's seed and offset by value; no words in device memory (null)
            keep, cargs = [], head + [ctypes.c_uint64(w) for w in seed_words] + \
                ([ctypes.c_void_p(None)] if seed_words else [])
            for item in items:
                r = plan_read(item, dt, shape)
                if r.expand is not None:
                    tmp = allocate(r.expand.obj, (r.count,), dt, device)
                    keep.append(tmp)
                    self._expand(device, r.expand, tmp, dt, shape if r.count > 1 else (),
                                 handle)
                    r = plan_read(view_of(tmp), dt, (r.count,))
                cargs += [ctypes.c_void_p(r.ptr), ctypes.c_int64(r.stride), T(r.value)]
            cargs += [ctypes.c_void_p(view_of(o).ptr) for o in outs]
            self.launch(device, f"irgen_{kernel}_{dt.name}", *blocks, handle, cargs)
        return self._result(outs, out)

    def _expand(self, device, src: DeviceView, dst, dt, shape, stream):
        """Copy src, broadcast to shape and converted to dt, into the contiguous dst."""
        if len(shape) > 8:
            raise ValueError("more than 8 dimensions")
        dims, strides = broadcast_layout(src, shape) if shape else ((), ())
        layout = _Layout()
        for d, (n, s) in enumerate(zip(dims, strides)):
            layout.shape[d], layout.stride[d] = n, s
        count = math.prod(shape)
        name = f"irgen_expand_{_LETTER[src.dtype]}_{_LETTER[dt]}"
        self.launch(device, name, count, BLOCK, stream,
                    [ctypes.c_int64(count), ctypes.c_int(len(dims)), layout,
                     ctypes.c_void_p(src.ptr), ctypes.c_void_p(view_of(dst).ptr)])

    @staticmethod
    def _result(outs, out):
        if out is not None:
            return out
        return outs[0] if len(outs) == 1 else tuple(outs)


def view_of(a) -> DeviceView:
    return view(a, "array")
