"""The C target: one C file per distribution, scalar functions for float and double and
elementwise kernels over strided inputs, OpenMP-parallel above a size threshold."""
from __future__ import annotations

from .printer import F32, F64, FunctionPrinter

# Optimised, IEEE-exact arithmetic: no -ffast-math (it would break isnan and the
# convergence tests); -fno-math-errno lets sqrt and friends inline, changing no result.
CFLAGS = ("-O3", "-std=c99", "-fopenmp", "-fno-math-errno", "-Wno-unused-variable",
          "-Wno-unused-but-set-variable", "-Wno-unused-function")
LDFLAGS = ("-fopenmp",)
PARALLEL_MIN = 4096   # below this many elements a kernel runs on the calling thread


class CTarget:
    name = "c"
    template = "c_module.c.j2"
    qualifier = "static inline __attribute__((always_inline))"

    def render_functions(self, program, float32_compute: str) -> dict:
        """Source of every IR function for each dtype the kernels use."""
        out = {}
        for dtype in (F64, F32) if float32_compute == "float" else (F64,):
            printer = FunctionPrinter(dtype, self.qualifier)
            functions = [printer.function(f) for f in program.functions.values()]
            out[dtype.name] = printer.tables() + functions
        return out


def kernel_cdecl(kernel_name: str, dtype: str, n_in: int, n_out: int) -> str:
    """The exported C declaration of one elementwise kernel; cffi's cdef uses the same."""
    T = "double" if dtype == "float64" else "float"
    args = ["int64_t n"]
    args += [f"const {T}* in{i}, int64_t s{i}" for i in range(n_in)]
    args += [f"{T}* out{i}" for i in range(n_out)]
    return f"void irgen_{kernel_name}_{dtype}({', '.join(args)})"
