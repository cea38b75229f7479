"""The C target: one C file per distribution, lane-parallel (SIMD) functions for float and
double, and elementwise kernels over strided inputs that feed them a vector of elements at
a time, OpenMP-parallel above a size threshold."""
from __future__ import annotations

from .lanes import LanePrinter, draw_helpers, helpers, lane_types
from .printer import F32, F64

# Optimised, IEEE-exact arithmetic: no -ffast-math (it would break isnan and the
# convergence tests); -fno-math-errno lets sqrt and friends inline, changing no result;
# no contraction into fused multiply-adds, so every lane width rounds alike. The binary is
# built on the machine that runs it, so it may use all of that machine's vector units.
CFLAGS = ("-O3", "-std=c99", "-march=native", "-ffp-contract=off", "-fopenmp",
          "-fno-math-errno", "-Wno-unused-variable", "-Wno-unused-but-set-variable",
          "-Wno-unused-function", "-Wno-psabi")
LDFLAGS = ("-fopenmp",)
PARALLEL_MIN = 4096   # below this many elements a kernel runs on the calling thread


class CTarget:
    name = "c"
    template = "c_module.c.j2"
    qualifier = "static inline __attribute__((always_inline))"

    def render_functions(self, program, float32_compute: str) -> dict:
        """Helpers and source of every IR function for each dtype the kernels use."""
        out = {}
        drawing = program.drawing
        for dtype in (F64, F32) if float32_compute == "float" else (F64,):
            printer = LanePrinter(dtype, self.qualifier, drawing)
            functions = [printer.function(f) for f in program.functions.values()]
            draws = [draw_helpers(dtype)] if drawing else []
            out[dtype.name] = [helpers(dtype)] + draws + printer.tables() + functions
        return out


def lanes(compute_dtype: str) -> dict:
    """Template names of the vector types of a compute dtype."""
    V, M, W = lane_types(F64 if compute_dtype == "float64" else F32)
    return {"V": V, "M": M, "W": W}


def kernel_cdecl(kernel_name: str, dtype: str, n_in: int, n_out: int, kind="map",
                 rows=False, addresses=False) -> str:
    """The exported C declaration of one kernel; cffi's cdef uses the same. A simplex's
    kernels take the length of a row after the count of elements; samplers then the seed.
    addresses: the arrays as integers (intptr_t), for callers that hold addresses; every
    ABI the kernels are built for passes the two alike."""
    T = "double" if dtype == "float64" else "float"
    const_in, out = ("intptr_t", "intptr_t") if addresses else (f"const {T}*", f"{T}*")
    args = ["int64_t n"] + (["int64_t row"] if rows else [])
    args += ["uint64_t seed"] if kind != "map" else []
    args += [f"{const_in} in{i}, int64_t s{i}" for i in range(n_in)]
    args += [f"{out} out{i}" for i in range(n_out)]
    return f"void irgen_{kernel_name}_{dtype}({', '.join(args)})"


# the raw generators every C module exports (templates/random.c.j2), for tests
RAW_GENERATORS = (
    "void irgen_philox4x32_10(int64_t n, const uint32_t* ctr, const uint32_t* key, "
    "uint32_t* out);",
    "void irgen_philox4x64_10(int64_t n, const uint64_t* ctr, const uint64_t* key, "
    "uint64_t* out);")
