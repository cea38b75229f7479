"""The array boundary on the GPU: any object with `__cuda_array_interface__` (PyCUDA's
GPUArray, torch CUDA tensors, CuPy arrays, ...), with the CPU's rules for dtypes and
broadcasting. Nothing here touches the GPU: it reads the interfaces and decides, for each
input, how a kernel reads it."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ...runtime import families
from ...runtime.promotion import float_dtype, is_cuda_array, is_python_number, requested_dtype


@dataclass(frozen=True)
class DeviceView:
    """What an interface says about one device array."""
    obj: object
    ptr: int
    shape: tuple
    strides: tuple       # in elements
    dtype: np.dtype
    stream: int | None   # the producer's stream (the interface's version 3), if it names one

    @property
    def size(self):
        return math.prod(self.shape)

    @property
    def contiguous(self):
        expect, want = 1, []
        for n in reversed(self.shape):
            want.append(expect)
            expect *= n
        return all(s == w for s, w, n in zip(self.strides, reversed(want), self.shape) if n > 1)


def interface(a) -> dict:
    family = families.of(a)
    return family.cuda_interface(a) if family is not None else a.__cuda_array_interface__


def view(a, name: str) -> DeviceView:
    cai = interface(a)
    dtype = float_dtype(cai["typestr"], name)
    if cai.get("mask") is not None:
        raise TypeError(f"{name}: masked device arrays are not supported")
    shape = tuple(int(n) for n in cai["shape"])
    if cai.get("strides") is None:
        strides, step = [], 1
        for n in reversed(shape):
            strides.append(step)
            step *= n
        strides = tuple(reversed(strides))
    else:
        byte_strides = tuple(int(s) for s in cai["strides"])
        if any(s % dtype.itemsize for s in byte_strides):
            raise ValueError(f"{name}: strides are not a whole number of elements")
        strides = tuple(s // dtype.itemsize for s in byte_strides)
    stream = cai.get("stream")
    return DeviceView(a, int(cai["data"][0]), shape, strides, dtype,
                      None if stream is None else int(stream))


def promote(args, names, dtype=None):
    """The kernel dtype (`dtype` where given) and, per argument, a DeviceView or a host
    scalar (a NumPy value). Python numbers are weak, as on the CPU; host arrays of more
    than one element are refused (they would need a copy to the device)."""
    typed, items = [], []
    for a, n in zip(args, names):
        if is_cuda_array(a):
            v = view(a, n)
            typed.append(v.dtype)
            items.append(v)
        elif is_python_number(a):
            typed.append(a)
            items.append(float(a))
        else:
            h = np.asarray(a)
            if h.size != 1:
                raise TypeError(f"{n}: a host array of shape {h.shape} beside CUDA arrays; "
                                f"move it to the device (host scalars are fine)")
            typed.append(float_dtype(h.dtype, n))
            items.append(h)
    return requested_dtype(dtype, typed), items


def shape_of(item) -> tuple:
    return item.shape if isinstance(item, DeviceView) else np.shape(item)


def broadcast_layout(v: DeviceView, shape: tuple) -> tuple[tuple, tuple]:
    """(shape, element strides) that read v broadcast to shape: stride 0 along the
    dimensions v lacks or has once."""
    lead = len(shape) - len(v.shape)
    strides = [0] * lead + [s if n != 1 else 0 for s, n in zip(v.strides, v.shape)]
    return tuple(shape), tuple(strides)


@dataclass(frozen=True)
class Read:
    """How a kernel reads one input: a device pointer with stride 0 or 1, a value (pointer
    0), or a copy first (`expand`: a contiguous array of `count` elements in the kernel
    dtype, from the layout of `source`)."""
    ptr: int = 0
    stride: int = 0
    value: float = 0.0
    expand: DeviceView | None = None
    count: int = 0


def plan_read(item, dt: np.dtype, shape: tuple) -> Read:
    if not isinstance(item, DeviceView):
        return Read(value=float(np.asarray(item).reshape(())))
    if item.dtype == dt:
        if item.size == 1:
            return Read(ptr=item.ptr, stride=0)
        if item.shape == shape and item.contiguous:
            return Read(ptr=item.ptr, stride=1)
    n = 1 if item.size == 1 else math.prod(shape)
    return Read(expand=item, count=n)


def check_outputs(kernel, out, names, shape, dt) -> list[DeviceView]:
    outs = [out] if is_cuda_array(out) else list(out)
    if len(outs) != len(names):
        raise ValueError(f"{kernel}: out= needs {len(names)} array(s) ({', '.join(names)})")
    views = []
    for o, n in zip(outs, names):
        v = view(o, f"out for {n}") if is_cuda_array(o) else None
        if v is None or v.shape != shape or v.dtype != dt or not v.contiguous:
            raise ValueError(f"{kernel}: out for {n} must be a C-contiguous {dt.name} CUDA "
                             f"array of shape {shape}")
        views.append(v)
    return views
