"""The XLA target's run time: the handlers' shared library compiled on first use against
jaxlib's FFI header, its kernel pointers bound to the C binary's kernels, and each handler
registered with JAX under a name of its own (irgen.jax calls them by that name)."""
from __future__ import annotations

import ctypes
import functools
import hashlib
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
                          extra=f"xla-ffi {version}")


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
        return self._names
