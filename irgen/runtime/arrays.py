"""The array boundary of generated modules: a module's kernels, handed call by call to the
target whose run time takes the arrays (irgen/targets: CUDA arrays to the CUDA target,
everything else to the host's C target), each target's kernels loaded on first use."""
from __future__ import annotations

from pathlib import Path

from .. import targets
from ..abi import Kernel


class KernelSet:
    """The kernels of one generated module: name -> Kernel (irgen/abi.py)."""

    def __init__(self, py_file: str, name: str, kernels: dict):
        self.folder, self.name = Path(py_file).parent, name
        self.kernels = {k: v if isinstance(v, Kernel) else Kernel(*v)
                        for k, v in kernels.items()}
        self._runtimes: dict = {}
        self._host = None

    def source(self, target) -> Path:
        """The target's generated file beside the module."""
        return self.folder / (self.name + target.suffix)

    def runtime(self, target):
        """The target's kernels, loaded on first use."""
        found = self._runtimes.get(target.name)
        if found is None:
            found = self._runtimes[target.name] = target.runtime(self.source(target),
                                                                 self.kernels)
        return found

    def call(self, kernel: str, args: tuple, out=None, stream=None, size=None, seed=None,
             dtype=None):
        """Run a kernel where its arrays are; size, seed and dtype are for samplers."""
        if out is None and size is None and dtype is None:     # the common case, on the host
            found = self.host.fast_call(kernel, args, seed)
            if found is not NotImplemented:
                return found
        return self.runtime(targets.for_call(args, out)).call(kernel, args, out, stream, size,
                                                               seed, dtype)

    def call_rows(self, kernel: str, args: tuple, out=None, stream=None, size=None, seed=None,
                  dtype=None):
        """Run a simplex's kernel (the arguments' last axis is a row) where its arrays are."""
        return self.runtime(targets.for_call(args, out)).call_rows(kernel, args, out, stream,
                                                                    size, seed, dtype)

    # the host's kernels, for callers that hold host memory (irgen.torch, tests)
    @property
    def host(self):
        host = self._host
        if host is None:
            host = self._host = self.runtime(targets.all_targets()[0])
        return host

    @property
    def lib(self):
        return self.host.lib

    @property
    def c_path(self) -> Path:
        return self.host.c_path

    def address_function(self, kernel: str, dtype: str):
        return self.host.address_function(kernel, dtype)
