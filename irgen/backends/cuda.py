"""The CUDA target: one .cu file per distribution, one element per thread.

Device functions come from the scalar printer the C family shares; only the qualifiers
differ (device functions, tables in constant memory), so the same file also compiles as
host C++, which lets a machine without a GPU run the numeric body of every kernel.
Kernels of distributions that declare branch groups order each block's tile of elements
by group before evaluating them, so that a warp's threads take the same branches and
about the same number of loop iterations (divergence, not arithmetic, is what a plain port
of series and continued fractions loses on a GPU)."""
from __future__ import annotations

import functools
import hashlib
import shutil
import subprocess

from .printer import F32, F64, FunctionPrinter

# Accurate math only (no --use_fast_math: no flush to zero, IEEE division and square root)
# and no fused multiply-adds, so that a thread does the arithmetic of the CPU kernels in
# the same order and roundings; only the math library differs (CUDA's, within 1-4 ulp).
NVCC_FLAGS = ("-O3", "--fmad=false", "-std=c++17",
              "-diag-suppress", "177,550")  # generated code leaves some variables unused
# Binaries for the data-centre GPUs of the last generations, and PTX that newer GPUs
# compile when the module is loaded.
ARCHS = (("compute_80", "sm_80"), ("compute_90", "sm_90"), ("compute_90", "compute_90"))
BLOCK = 256          # threads per block
TILE_ITEMS = 8       # elements per thread in a tile that is ordered by group


class CudaPrinter(FunctionPrinter):
    table_qualifier = "IRGEN_TABLE"


class CudaTarget:
    name = "cuda"
    template = "cuda_module.cu.j2"
    qualifier = "IRGEN_FN"

    def render_functions(self, program, float32_compute: str) -> dict:
        """Source of every IR function for each dtype the kernels compute in."""
        out = {}
        drawing = program.drawing
        for dtype in (F64, F32) if float32_compute == "float" else (F64,):
            printer = CudaPrinter(dtype, self.qualifier, drawing)
            functions = [printer.function(f) for f in program.functions.values()]
            out[dtype.name] = printer.tables() + functions
        return out


def dtypes(float32_compute: str) -> list[dict]:
    """Per array dtype: its C type, the type the kernels compute in, the function suffix."""
    f32 = ("double", "_f64") if float32_compute == "double" else ("float", "_f32")
    return [dict(name="float64", T="double", C="double", suffix="_f64"),
            dict(name="float32", T="float", C=f32[0], suffix=f32[1])]


@functools.lru_cache(maxsize=None)
def nvcc() -> str | None:
    return shutil.which("nvcc")


@functools.lru_cache(maxsize=None)
def nvcc_version() -> str:
    exe = nvcc()
    if exe is None:
        return ""
    try:
        out = subprocess.run([exe, "--version"], capture_output=True, text=True, timeout=60)
        return out.stdout.strip().splitlines()[-1]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "unknown"


def nvcc_command(source: str, output: str, archs=ARCHS) -> list[str]:
    gencode = [f"-gencode=arch={a},code={c}" for a, c in archs]
    return [nvcc() or "nvcc", "--fatbin", *NVCC_FLAGS, *gencode, source, "-o", output]


def fatbin_key(cu_source: str) -> str:
    """What decides the binary: the source, the options, the targets, nvcc's version."""
    h = hashlib.sha256()
    for part in (cu_source, " ".join(NVCC_FLAGS), repr(ARCHS), nvcc_version()):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:16]
