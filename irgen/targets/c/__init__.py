"""The C target: one C file per distribution, lane-parallel (SIMD) functions for float and
double, and elementwise kernels over strided inputs that feed them a vector of elements at
a time, OpenMP-parallel above a size threshold. The file is compiled for the machine that
runs it (compile.py), by `irgen build` or on first use, and called through cffi
(runtime.py): the host's target, which takes every call no device target takes."""
from __future__ import annotations

from pathlib import Path

from ..base import Target

PARALLEL_MIN = 4096   # below this many elements a kernel runs on the calling thread


class CTarget(Target):
    name = "c"
    suffix = ".c"
    template = "c_module.c.j2"
    qualifier = "static inline __attribute__((always_inline))"

    def printer(self, dtype, program):
        from .lanes import LanePrinter
        return LanePrinter(dtype, self.qualifier, program.drawing, program.looping)

    def preamble(self, dtype, drawing) -> list[str]:
        from .helpers import draw_helpers, helpers
        return [helpers(dtype)] + ([draw_helpers(dtype)] if drawing else [])

    def context(self, common: dict) -> dict:
        from ..cfamily import F32, F64
        from .lanes import lane_types
        # (array dtype, its C type) -> the dtype the kernels compute in
        computes = [("float64", "double", F64),
                    ("float32", "float", F64 if common["float32"] == "double" else F32)]
        dtypes = []
        for name, T, c in computes:
            V, M, W = lane_types(c)
            dtypes.append(dict(name=name, T=T, suffix=c.suffix,
                               io=f"{T[0]}_{'d' if c.name == 'float64' else 'f'}",
                               V=V, M=M, W=W, **common["extra"][name]))
        return dict(dtypes=dtypes, export="", philox64=True, parallel_min=PARALLEL_MIN)

    def compile(self, source: Path) -> str:
        import time

        from .compile import compile_binary
        t0 = time.perf_counter()
        compile_binary(source, announce=False)
        return f"binary ready ({time.perf_counter() - t0:.1f} s)"

    def accepts(self, args, out) -> bool:
        return True

    def runtime(self, source: Path, kernels: dict):
        from .runtime import HostKernels
        return HostKernels(source, kernels)
