"""The CUDA path without a GPU: each generated .cu compiled as host C++ (the same device
functions and kernel bodies, elements one after another), and the CUDA run time driven
through it, with host memory standing in for device memory. Everything above the driver
calls runs as on a GPU: dtype promotion, broadcasting, strided inputs copied by the expand
kernels, scalars passed by value, out=, the launch arguments."""
import contextlib
import ctypes
import shutil
import subprocess
from pathlib import Path

import numpy as np

from irgen.targets.cuda import runtime as cuda_runtime

ROOT = Path(__file__).resolve().parent.parent
CXX = shutil.which("g++") or shutil.which("c++")
# -O1: the arithmetic is the same at every level (no fast-math, no contraction)
FLAGS = ["-x", "c++", "-O1", "-ffp-contract=off", "-fno-math-errno", "-w", "-shared", "-fPIC"]


class FakeCudaArray:
    """A NumPy array presented through __cuda_array_interface__."""

    def __init__(self, array, stream=None):
        self.array = array
        self.stream = stream

    @property
    def __cuda_array_interface__(self):
        a = self.array
        return {"shape": a.shape, "typestr": a.dtype.str, "version": 3,
                "data": (a.__array_interface__["data"][0], False),
                "strides": None if a.flags.c_contiguous else a.strides,
                "stream": self.stream}


_libs: dict = {}


def compile_host(cu_path: Path, out_dir: Path) -> ctypes.CDLL:
    so = out_dir / (cu_path.stem + "_host.so")
    if so not in _libs:
        subprocess.run([CXX, *FLAGS, str(cu_path), "-o", str(so), "-lm"], check=True)
        _libs[so] = ctypes.CDLL(str(so))
    return _libs[so]


def run_on_host(monkeypatch, build_dir: Path, launches: list | None = None):
    """Route the CUDA run time's launches to host builds of the .cu files (made in
    build_dir on first use); record each launch in `launches`."""
    monkeypatch.setattr(cuda_runtime.drv, "pointer_device", lambda ptr: 0)
    monkeypatch.setattr(cuda_runtime, "active", lambda device: contextlib.nullcontext())
    monkeypatch.setattr(cuda_runtime, "allocate",
                        lambda like, shape, dt, device: FakeCudaArray(np.empty(shape, dt)))

    def launch(self, device, name, n, per_block, stream, args):
        if launches is not None:
            launches.append((name, n, stream))
        getattr(compile_host(self.cu_path, build_dir), name)(*args)

    monkeypatch.setattr(cuda_runtime.CudaKernels, "launch", launch)


def host(x):
    """The NumPy array behind a result (or each of a tuple of results)."""
    if isinstance(x, tuple):
        return tuple(host(y) for y in x)
    return x.array


class OnDevice:
    """A generated module whose functions take NumPy arguments, pass them on as CUDA
    arrays, and give back NumPy results."""

    def __init__(self, module):
        self.module = module

    def __getattr__(self, name):
        f = getattr(self.module, name)

        def call(*args, **kw):
            return host(f(*[FakeCudaArray(np.ascontiguousarray(a))
                            if isinstance(a, np.ndarray) else a for a in args], **kw))
        return call
