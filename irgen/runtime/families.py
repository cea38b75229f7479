"""The array libraries whose arrays the run time takes and gives back (torch, CuPy), and
what it needs of each: whether an array lives on a GPU, its CUDA interface, how to make an
array like it, which stream is current. A library is recognised here and only here, by
isinstance against its array class, looked up among the modules already imported: irgen
imports none of these libraries, and an array of one means the library is loaded."""
from __future__ import annotations

import sys


class Family:
    module = ""       # the library's top-level module
    array = ""        # its array class, an attribute of that module

    def library(self):
        return sys.modules.get(self.module)

    def matches(self, obj) -> bool:
        lib = self.library()
        return lib is not None and isinstance(obj, getattr(lib, self.array))

    def is_cuda(self, a) -> bool:
        return hasattr(a, "__cuda_array_interface__")

    def cuda_interface(self, a) -> dict:
        return a.__cuda_array_interface__

    def empty(self, shape: tuple, dtype, device: int):
        raise NotImplementedError

    def current_stream(self, device: int):
        """The library's current stream on the device (None: the one the arrays name)."""
        return None

    def eye(self, n: int, like):
        return self.library().eye(n, dtype=like.dtype)


class Torch(Family):
    module, array = "torch", "Tensor"

    def is_cuda(self, a) -> bool:
        # the interface's getter raises RuntimeError on a tensor that requires grad
        return bool(a.is_cuda)

    def cuda_interface(self, a) -> dict:
        return (a.detach() if a.requires_grad else a).__cuda_array_interface__

    def empty(self, shape, dtype, device):
        torch = self.library()
        return torch.empty(shape, dtype=getattr(torch, dtype.name), device=f"cuda:{device}")

    def current_stream(self, device):
        return self.library().cuda.current_stream(device).cuda_stream

    def eye(self, n, like):
        return self.library().eye(n, dtype=like.dtype, device=like.device)


class CuPy(Family):
    module, array = "cupy", "ndarray"

    def empty(self, shape, dtype, device):
        cupy = self.library()
        with cupy.cuda.Device(device):
            return cupy.empty(shape, dtype)


FAMILIES = (Torch(), CuPy())


def of(obj) -> Family | None:
    """The family of an array, if it belongs to one."""
    for family in FAMILIES:
        if family.matches(obj):
            return family
    return None
