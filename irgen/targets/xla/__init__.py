"""The XLA target: per distribution, handlers for XLA's typed foreign function interface
(its C API, xla/ffi/api/c_api.h, which jaxlib ships) around the C and CUDA targets' kernels,
so that jitted JAX programs call the kernels on XLA's buffers with no host round trip. The
handlers hold no numerics: each unpacks XLA's call frame (buffers, their element counts, a
sampler's seed) and calls the C kernel of its name and dtype through a pointer bound when
the C binary is loaded, or launches the CUDA kernel of that name on XLA's stream
(runtime.py). The file is compiled on first use with jaxlib's headers;
irgen.jax registers the handlers with JAX and defines the derivatives."""
from __future__ import annotations

from ..base import Target
from ..cuda import BLOCK, TILE_ITEMS


class XlaTarget(Target):
    name = "xla"
    suffix = "_xla.c"
    template = "xla_module.c.j2"

    def render(self, program, common: dict) -> str:
        handlers = []
        for k in common["kernels"]:
            for dtype in ("float64", "float32"):
                decl = k.cdecl[dtype]          # void irgen_NAME_DTYPE(int64_t n, ...)
                symbol = f"irgen_{k.name}_{dtype}"
                drawing = k.kind != "map"
                handlers.append(dict(
                    name=f"{k.name}_{dtype}", symbol=symbol,
                    pointer=decl.replace(symbol, f"(*k_{k.name}_{dtype})", 1),
                    T="double" if dtype == "float64" else "float",
                    xla_dtype="F64" if dtype == "float64" else "F32",
                    n_in=len(k.inputs), n_args=len(k.inputs) + drawing,
                    n_out=len(k.outputs), drawing=drawing, rows=bool(k.rows),
                    grouped=k.grouped))
        return self.environment().get_template(self.template).render(
            source=common["source"], handlers=handlers, block=BLOCK, tile_items=TILE_ITEMS)

    def compile(self, source) -> str:
        from .runtime import compile_handlers, jax_headers
        if jax_headers() is None:
            return "XLA handlers: jax absent, compiled on first use"
        import time
        t0 = time.perf_counter()
        compile_handlers(source, announce=False)
        return f"XLA handlers ready ({time.perf_counter() - t0:.1f} s)"

    def runtime(self, source, kernels: dict):
        from .runtime import XlaKernels
        return XlaKernels(source, kernels)
