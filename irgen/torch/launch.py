"""Kernel calls on torch tensors.

A training step makes small calls (a batch of latents: a thousand values), where the array
boundary's general rules (promotion, broadcasting copies, NumPy views, output checks) cost
as much as the kernel. CPU tensors of one float dtype go to the C function by address
(each contiguous in the result's shape, or a single value); CUDA tensors, mixed dtypes and
shapes that do not broadcast through the module's own functions (their rules, messages
and CUDA path)."""
from __future__ import annotations

import numpy as np
import torch

_DTYPES = {torch.float32: "float32", torch.float64: "float64"}
_NUMPY = {torch.float32: np.float32, torch.float64: np.float64}
_functions: dict = {}


def _function(kernels, kernel: str, dtype):
    """How the kernel runs on CPU tensors of dtype: (boundary.c's module and plan, or None
    and the C function taking addresses; its number of outputs; whether it samples; the
    NumPy dtype of its results)."""
    key = (kernels, kernel, dtype)
    found = _functions.get(key)
    if found is None:
        k = kernels.kernels[kernel]
        plan = kernels.host.plan(kernel)
        call = plan if plan else (None, kernels.address_function(kernel, _DTYPES[dtype]))
        found = _functions[key] = (*call, len(k.outputs), k.kind != "map", _NUMPY[dtype])
    return found


def host(t: torch.Tensor):
    """What the generated kernels take for a tensor: a NumPy view of a CPU tensor's memory,
    a CUDA tensor as it is."""
    t = t.detach()
    return t if t.is_cuda else t.numpy()


def tensor(a) -> torch.Tensor:
    """A kernel's result as a tensor: a CUDA one is already, a NumPy one is wrapped (not
    copied)."""
    return a if isinstance(a, torch.Tensor) else torch.from_numpy(np.asarray(a))


def _addresses(tensors, dtype, shape):
    """Each tensor's address and element stride as the kernel reads it: a single value as it
    is (stride 0), anything else contiguous in the result's shape (a broadcast or a strided
    one copied, as the array boundary copies it); and the tensors that hold that memory.
    None where a tensor is of another dtype or device, or does not broadcast."""
    addresses, keep = [], []
    for t in tensors:
        if t.dtype != dtype or not t.is_cpu:
            return None
        if t.numel() == 1:
            addresses += [t.data_ptr(), 0]
            continue
        if t.shape != shape:
            try:
                t = t.expand(shape)
            except RuntimeError:
                return None
        if not t.is_contiguous():
            t = t.contiguous()
            keep.append(t)
        addresses += [t.data_ptr(), 1]
    return addresses, keep


def _direct(kernels, kernel, tensors, size, seed, held, rest):
    """The outputs of a call by address, or None where the call is not the common case.
    The outputs are rows of one new array (one allocation, not one per output), each a
    tensor of its own: not a view, so that a caller may change it in place as it could
    torch's own results; with rest, the first output and one tensor of all the others
    (for a caller that keeps them to itself). held: the first output's ends by dtype
    (module.held), or None."""
    dtype = tensors[0].dtype
    if dtype not in _DTYPES:
        return None
    shape = tensors[0].shape
    if size is not None:
        shape = torch.Size(size)
    elif any(t.shape != shape for t in tensors[1:]):
        try:
            shape = torch.broadcast_shapes(*(t.shape for t in tensors))
        except RuntimeError:
            return None
    found = _addresses(tensors, dtype, shape)
    if found is None:
        return None
    addresses, keep = found        # keep: copies that must live through the call
    fast, function, n_out, samples, np_dtype = _function(kernels, kernel, dtype)
    if rest:        # two allocations, neither indexed: cheaper than _outputs' rows
        first = torch.from_numpy(np.empty(tuple(shape), np_dtype))
        others = torch.from_numpy(np.empty((n_out - 1,) + tuple(shape), np_dtype))
        start, step = others.data_ptr(), others.stride(0) * others.element_size()
        outs = [first, others]
        addresses += [first.data_ptr()] + [start + i * step for i in range(n_out - 1)]
    else:
        outs, at = _outputs(n_out, shape, np_dtype)
        addresses += at
    n = shape.numel()
    low, high = held[_DTYPES[dtype]] if held else (None, None)
    if fast is not None:
        fast.call_at(function, dtype is torch.float32, n, seed, tuple(addresses), low, high)
        return outs
    if n:                                          # the whole stream, from offset 0
        function(*([n, seed, 0] if samples else [n]), *addresses)
    _hold(outs[0], held)
    return outs


def _outputs(count, shape, np_dtype):
    """count new tensors of shape, rows of one allocation, each a tensor of its own (not a
    view), and their addresses."""
    block = np.empty((count,) + tuple(shape), np_dtype)
    # block[i, ...] is an array also where shape is () (iterating would give scalars)
    outs = [torch.from_numpy(block[i, ...]) for i in range(count)]
    start, step = outs[0].data_ptr(), block.strides[0]
    return outs, [start + i * step for i in range(count)]


def _hold(z, held):
    """z held inside the support, in place, where a draw rounded to an end of it (held: the
    module's ends by dtype, or None)."""
    if held:
        low, high = held[str(z.dtype).removeprefix("torch.")]
        if low is not None or high is not None:
            z.clamp_(min=low, max=high)


def call_rows(module, kernel: str, tensors, shape=None, seed=None) -> list:
    """A simplex's kernel on tensors whose last axis is a row (a sampler's with shape, the
    shape of its draws, batch and row, and seed); its outputs as a list of tensors. CPU
    tensors of one float dtype go to the C function by address, each contiguous in the
    call's shape; anything else through the module's own rows functions."""
    kernels = module._kernels
    k = kernels.kernels[kernel]
    outs = _direct_rows(kernels, kernel, k, tensors, shape, seed)
    if outs is None:
        options = {} if k.kind == "map" else {"size": shape[:-1], "seed": seed}
        outs = getattr(module, kernel)(*map(host, tensors), **options)
        outs = [tensor(o) for o in (outs if isinstance(outs, tuple) else (outs,))]
    return outs


def _direct_rows(kernels, kernel, k, tensors, shape, seed):
    """call_rows by address, or None where the call is not the common case."""
    dtype = tensors[0].dtype
    if dtype not in _DTYPES or any(t.dtype != dtype or not t.is_cpu for t in tensors):
        return None
    if shape is None:
        try:
            shape = torch.broadcast_shapes(*(t.shape for t in tensors))
        except RuntimeError:
            return None
    shape = torch.Size(shape)
    if len(shape) == 0 or shape[-1] < 2:
        return None                    # the module's functions say what is wrong
    addresses, keep = [], []
    for t in tensors:                  # every row read whole: contiguous in the call's shape
        try:
            t = t.expand(shape).contiguous()
        except RuntimeError:
            return None
        keep.append(t)
        addresses += [t.data_ptr(), 1]
    outs, at = _outputs(len(k.outputs), shape[:-1] if k.kind == "map" else shape,
                        _NUMPY[dtype])
    addresses += at
    n = shape.numel()
    if n:
        function = _function(kernels, kernel, dtype)[1]
        function(n, shape[-1], *([] if k.kind == "map" else [seed, 0]), *addresses)
    return outs


def _flat(outs) -> list:
    """A method's results, (z, (dz/dp, ...)) or a single one, as one list."""
    if not isinstance(outs, tuple):
        return [outs]
    return [t for o in outs for t in _flat(o)]


def call(module, kernel: str, tensors, size=None, seed=None, hold=False, rest=False) -> list:
    """A kernel of a generated module on tensors (a sampler's with its size, the shape of its
    results, and seed); its outputs as a list of tensors on the inputs' device. hold: the
    draws (the first output) held inside the support, where they rounded to an end (the
    module's `held`). rest: the first output and one tensor stacking the others. A
    composition of generated modules (irgen.compose: truncation) has the same kernels as
    methods that take tensors as they are."""
    options = {} if size is None and seed is None else {"size": size, "seed": seed}
    kernels = getattr(module, "_kernels", None)
    if kernels is None:
        outs = _flat(getattr(module, kernel)(*tensors, **options))
    else:
        outs = _direct(kernels, kernel, tensors, size, seed, module.held if hold else None,
                       rest)
        if outs is not None:
            return outs
        outs = kernels.call(kernel, tuple(map(host, tensors)), **options)
        outs = [tensor(o) for o in (outs if isinstance(outs, tuple) else (outs,))]
    if rest:
        outs = [outs[0], torch.stack(outs[1:])]
    _hold(outs[0], module.held if hold else None)
    return outs
