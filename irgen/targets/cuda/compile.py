"""Ahead-of-time CUDA binaries of generated .cu files.

`irgen build` compiles each .cu with nvcc, where nvcc is present, into a fatbin in the
per-user cache (runtime/cache.py; machine code for the GPU generations in ARCHS, PTX for
newer ones). Its name carries a hash of the source, the options, the targets and nvcc's
version, so a stale binary is never loaded. Without one, the run time compiles the source
through PyCUDA (runtime.py)."""
from __future__ import annotations

import functools
import hashlib
import shutil
import subprocess
import tempfile
from pathlib import Path

from ...runtime import cache

# Accurate math only (no --use_fast_math: no flush to zero, IEEE division and square root)
# and no fused multiply-adds, so that a thread does the arithmetic of the CPU kernels in
# the same order and roundings; only the math library differs (CUDA's, within 1-4 ulp).
NVCC_FLAGS = ("-O3", "--fmad=false", "-std=c++17",
              "-diag-suppress", "177,550")  # generated code leaves some variables unused
# Binaries for the data-centre GPUs of the last generations, and PTX that newer GPUs
# compile when the module is loaded.
ARCHS = (("compute_80", "sm_80"), ("compute_90", "sm_90"), ("compute_90", "compute_90"))


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


def nvcc_command(source: str, output: str, archs=ARCHS, kind="--fatbin") -> list[str]:
    """nvcc on source with the build's options; kind: what it makes (--ptx: PTX only)."""
    gencode = [f"-gencode=arch={a},code={c}" for a, c in archs]
    return [nvcc() or "nvcc", kind, *NVCC_FLAGS, *gencode, source, "-o", output]


def fatbin_key(cu_source: str) -> str:
    """What decides the binary: the source, the options, the targets, nvcc's version."""
    h = hashlib.sha256()
    for part in (cu_source, " ".join(NVCC_FLAGS), repr(ARCHS), nvcc_version()):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def fatbin_path(cu_path: Path) -> Path:
    key = fatbin_key(cu_path.read_text())
    return cache.folder(cu_path) / f"_{cu_path.stem}_{key}.fatbin"


def compile_fatbin(cu_path: Path) -> Path | None:
    """The current fatbin of cu_path, compiled unless it exists; None without nvcc."""
    cu_path = Path(cu_path)
    if nvcc() is None:
        return None
    out = fatbin_path(cu_path)
    if out.exists():
        return out
    with cache.locked(out.with_name(f"{cu_path.stem}.cu.lock")):
        if out.exists():
            return out
        with tempfile.TemporaryDirectory(prefix="irgen-nvcc-") as tmp:
            staged = Path(tmp) / out.name
            r = subprocess.run(nvcc_command(str(cu_path), str(staged)),
                               capture_output=True, text=True)
            if r.returncode:
                raise RuntimeError(f"nvcc failed on {cu_path}:\n{r.stderr[-4000:]}")
            cache.install(staged, out, f"_{cu_path.stem}_*.fatbin")
    return out
