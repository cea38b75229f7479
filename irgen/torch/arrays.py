"""irgen.compose's array operations on torch tensors: the combinators (truncation, mixtures)
run on the tensors' device, CPU or CUDA, with the generated kernels called on the tensors'
memory (launch.py). Random numbers come from torch's generators, so torch.manual_seed makes
runs repeat. Nothing here records autograd: irgen.torch's Functions take the derivatives
from the combinators' gradient methods."""
from __future__ import annotations

import contextlib

import torch

from ..compose.arrays import register
from . import launch


class TorchArrays:
    float32, float64 = torch.float32, torch.float64

    def __getattr__(self, name):
        return getattr(torch, name)

    @staticmethod
    def arrays(*values, dtype=None):
        """values broadcast together as tensors on the first tensor's device, in one floating
        dtype (the promoted one, at least float32, where dtype is None); numbers take it."""
        first = next(v for v in values if isinstance(v, torch.Tensor))
        tensors = [v.detach() if isinstance(v, torch.Tensor)     # numbers exactly, as float64
                   else torch.as_tensor(v, dtype=torch.float64, device=first.device)
                   for v in values]
        if dtype is None:
            dtype = torch.float32
            for v, t in zip(values, tensors):
                if isinstance(v, torch.Tensor):
                    dtype = torch.promote_types(dtype, t.dtype)
        # contiguous once here (as NumPy's astype is), not at every kernel call after
        return [t.to(dtype).contiguous() for t in torch.broadcast_tensors(*tensors)]

    @staticmethod
    def asarray(a):
        """a tensor as it is, detached (nothing here records autograd); numbers as float64
        (the dtype is settled by arrays())."""
        if isinstance(a, torch.Tensor):
            return a.detach()
        return torch.as_tensor(a, dtype=torch.float64)

    @staticmethod
    def astype(a, dtype):
        return a.to(dtype)

    @staticmethod
    def broadcast_to(a, shape):
        return a.expand(shape)

    @staticmethod
    def repeated(a) -> bool:
        return all(st == 0 for st in a.stride())

    @staticmethod
    def copy(a):
        return a.clone()

    @staticmethod
    def full(shape, value, like):
        return torch.full(shape, value, dtype=like.dtype, device=like.device)

    @staticmethod
    def eye(n, like):
        return torch.eye(n, dtype=like.dtype, device=like.device)

    @staticmethod
    def flatnonzero(mask):
        return torch.nonzero(mask.reshape(-1)).reshape(-1)

    @staticmethod
    def finfo(dtype):
        return torch.finfo(dtype)

    @staticmethod
    def logsumexp(a, axis):
        return torch.logsumexp(a, dim=axis, keepdim=True)

    @staticmethod
    def take_along_axis(a, index, axis):
        return torch.take_along_dim(a, index, dim=axis)

    @staticmethod
    def quiet():
        return contextlib.nullcontext()       # torch does not warn on inf and NaN

    # -- random numbers
    @staticmethod
    def generator(seed, like):
        """torch's default generator of like's device, or a new one seeded with seed."""
        if seed is None:
            return None
        return torch.Generator(device=like.device).manual_seed(int(seed) % 2 ** 63)

    @staticmethod
    def uniform(generator, shape, like):
        u = torch.rand(tuple(shape), generator=generator, dtype=torch.float64,
                       device=like.device)
        return torch.where(u == 0, 0.5 * torch.finfo(torch.float64).tiny, u)

    @staticmethod
    def seed(generator) -> int:
        device = generator.device if generator is not None else "cpu"
        return int(torch.randint(0, 2 ** 63 - 1, (), generator=generator, device=device))

    # -- a generated module's kernels
    @staticmethod
    def call(module, name, *args, **options):
        """module's function `name` on tensors (CPU ones as NumPy views of their memory,
        CUDA ones as they are), its results as tensors."""
        out = getattr(module, name)(*(launch.host(a) if isinstance(a, torch.Tensor) else a
                                      for a in args), **options)
        return (tuple(launch.tensor(o) for o in out) if isinstance(out, tuple)
                else launch.tensor(out))

    @staticmethod
    def kernel(module, name, *args):
        outs = launch.call(module, name, [t.detach() for t in args])
        return outs[0] if len(outs) == 1 else tuple(outs)

    @staticmethod
    def sample(module, params, seed):
        return launch.call(module, "sample", [t.detach() for t in params],
                           params[0].shape, seed)[0]


TORCH = TorchArrays()
register(torch.Tensor, TORCH)       # irgen.compose's combinators on tensors use it
