"""The XLA target's run time: the handlers' shared library compiled on first use against
jaxlib's FFI header, its kernel pointers bound to the C binary's kernels, and each handler
registered with JAX under a name of its own (irgen.jax calls them by that name); where JAX
has CUDA devices, the CUDA handlers too, under the same names for XLA's CUDA platform."""
from __future__ import annotations

import ctypes
import functools
import hashlib
import warnings
from pathlib import Path

from ..c.compile import compile_binary


@functools.lru_cache(maxsize=None)
def jax_headers():
    """(jaxlib's include folder, a hash of its FFI header) or None without jax."""
    try:
        import jax.ffi
    except ImportError:
        return None
    include = Path(jax.ffi.include_dir())
    header = include / "xla" / "ffi" / "api" / "c_api.h"
    return include, hashlib.sha256(header.read_bytes()).hexdigest()[:16]


def compile_handlers(source: Path, announce=True) -> Path:
    found = jax_headers()
    if found is None:
        raise ImportError("irgen's XLA handlers need jax (pip install 'irgen[jax]')")
    include, version = found
    return compile_binary(Path(source), announce=announce, include=(include,),
                          extra=f"xla-ffi {version}", libs=("dl", "pthread"))


class XlaKernels:
    """The handlers of one generated module, registered with JAX on first use."""

    def __init__(self, source: Path, kernels: dict):
        self.source = Path(source)
        self.kernels = kernels
        self._names = None

    def names(self, host) -> dict:
        """(kernel, dtype) -> the FFI target name, registering every handler the first time;
        host: the module's C kernels (their binary is loaded, and bound to)."""
        if self._names is None:
            import jax.ffi
            so = compile_handlers(self.source)
            lib = ctypes.CDLL(str(so))
            lib.irgen_xla_bind.argtypes = (ctypes.c_char_p, ctypes.c_ssize_t)
            lib.irgen_xla_bind.restype = ctypes.c_int
            ffi, clib = host.lib
            tag = so.stem.rsplit("_", 1)[-1]       # the binary's key: names are unique
            names = {}
            for kernel in self.kernels:
                for dtype in ("float64", "float32"):
                    symbol = f"irgen_{kernel}_{dtype}"
                    address = int(ffi.cast("intptr_t", getattr(clib, symbol)))
                    if not lib.irgen_xla_bind(symbol.encode(), address):
                        raise RuntimeError(f"{self.source.name} has no handler for {symbol}")
                    name = f"irgen_{self.source.stem}_{tag}_{kernel}_{dtype}"
                    jax.ffi.register_ffi_target(
                        name, jax.ffi.pycapsule(getattr(lib, f"irgen_xla_{kernel}_{dtype}")),
                        platform="cpu")
                    names[kernel, dtype] = name
            self._lib, self._names = lib, names
            if cuda_devices():
                try:
                    self.register_cuda(lib, names)
                except RuntimeError as e:     # the CPU handlers serve all the same
                    warnings.warn(f"irgen.jax: no CUDA handlers for {self.source.name}: {e}",
                                  RuntimeWarning, stacklevel=3)
        return self._names

    def register_cuda(self, lib, names: dict, driver=None, platform="CUDA", image=None):
        """Register the CUDA handlers under the CPU handlers' names, for XLA's CUDA platform:
        they launch the kernels of the module's fatbin (built by `irgen build` where nvcc is
        present, else compiled now). driver: the address of a stand-in for the CUDA
        driver's entry points (an irgen_cuda_driver structure), else the driver library;
        image: the binary to load instead of the fatbin (with a stand-in driver)."""
        import jax.ffi
        if image is None:
            image = cuda_image(self.source.with_name(
                self.source.name[:-len("_xla.c")] + ".cu"))
        lib.irgen_xla_cuda_setup.argtypes = (ctypes.c_char_p, ctypes.c_size_t, ctypes.c_void_p)
        status = lib.irgen_xla_cuda_setup(image, len(image), driver)
        if status:
            raise RuntimeError(f"{self.source.name}: the CUDA driver did not start ({status})")
        for (kernel, dtype), name in names.items():
            jax.ffi.register_ffi_target(
                name, jax.ffi.pycapsule(getattr(lib, f"irgen_xla_cuda_{kernel}_{dtype}")),
                platform=platform)


def cuda_devices() -> bool:
    """Whether JAX has CUDA devices."""
    import jax
    try:
        return bool(jax.devices("cuda"))
    except RuntimeError:
        return False


def cuda_image(cu_path: Path) -> bytes:
    """The fatbin of a generated .cu file, compiled with nvcc unless current."""
    from ..cuda.compile import compile_fatbin
    fatbin = compile_fatbin(cu_path)
    if fatbin is None:
        raise RuntimeError(f"{cu_path.name}: JAX's CUDA devices need its CUDA binary, and nvcc "
                           "was not found to compile it")
    return fatbin.read_bytes()
