"""The CUDA target: one .cu file per distribution, one element per thread.

Device functions come from the scalar printer the C family shares; only the qualifiers
differ (device functions, tables in constant memory), so the same file also compiles as
host C++, which lets a machine without a GPU run the numeric body of every kernel.
Kernels of distributions that declare branch groups order each block's tile of elements
by group before evaluating them, so that a warp's threads take the same branches and
about the same number of loop iterations (divergence, not arithmetic, is what a plain port
of series and continued fractions loses on a GPU). `irgen build` compiles the file with
nvcc where it is present (compile.py); the run time (runtime.py) takes CUDA arrays."""
from __future__ import annotations

from pathlib import Path

from ...runtime.promotion import on_device
from ..base import Target

BLOCK = 256          # threads per block
TILE_ITEMS = 8       # elements per thread in a tile that is ordered by group


def dtypes(float32_compute: str) -> list[dict]:
    """Per array dtype: its C type, the type the kernels compute in, the function suffix."""
    f32 = ("double", "_f64") if float32_compute == "double" else ("float", "_f32")
    return [dict(name="float64", T="double", C="double", suffix="_f64"),
            dict(name="float32", T="float", C=f32[0], suffix=f32[1])]


class CudaTarget(Target):
    name = "cuda"
    suffix = ".cu"
    template = "cuda_module.cu.j2"
    qualifier = "IRGEN_FN"
    binary_optional = True

    def printer(self, dtype, program):
        from .printer import CudaPrinter
        return CudaPrinter(dtype, self.qualifier, program.drawing)

    def context(self, common: dict) -> dict:
        return dict(dtypes=[dict(d, **common["extra"][d["name"]])
                            for d in dtypes(common["float32"])],
                    block=BLOCK, export='extern "C" ', philox64=False, tile_items=TILE_ITEMS)

    def compile(self, source: Path) -> str:
        import time

        from .compile import compile_fatbin
        t0 = time.perf_counter()
        fatbin = compile_fatbin(source)
        if fatbin is None:
            return "no nvcc: CUDA source compiled on first GPU use"
        return f"CUDA binary ready ({time.perf_counter() - t0:.1f} s)"

    def accepts(self, args, out) -> bool:
        return on_device(args, out)

    def runtime(self, source: Path, kernels: dict):
        from .runtime import CudaKernels
        return CudaKernels(source, kernels)
