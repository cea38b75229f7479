"""Ahead-of-time CUDA binaries of generated .cu files.

`irgen build` compiles each .cu with nvcc, where nvcc is present, into a fatbin in the
per-user cache (cache.py; machine code for the GPU generations in ARCHS, PTX for newer ones).
Its name carries a hash of the source, the options, the targets and nvcc's version, so a
stale binary is never loaded. Without one, the run time compiles the source through PyCUDA
(see cuda_runtime)."""
from __future__ import annotations

import subprocess
import tempfile
from pathlib import Path

from ..backends import cuda
from . import cache


def fatbin_path(cu_path: Path) -> Path:
    key = cuda.fatbin_key(cu_path.read_text())
    return cache.folder(cu_path) / f"_{cu_path.stem}_{key}.fatbin"


def compile_fatbin(cu_path: Path) -> Path | None:
    """The current fatbin of cu_path, compiled unless it exists; None without nvcc."""
    cu_path = Path(cu_path)
    if cuda.nvcc() is None:
        return None
    out = fatbin_path(cu_path)
    if out.exists():
        return out
    with cache.locked(out.with_name(f"{cu_path.stem}.cu.lock")):
        if out.exists():
            return out
        with tempfile.TemporaryDirectory(prefix="irgen-nvcc-") as tmp:
            staged = Path(tmp) / out.name
            r = subprocess.run(cuda.nvcc_command(str(cu_path), str(staged)),
                               capture_output=True, text=True)
            if r.returncode:
                raise RuntimeError(f"nvcc failed on {cu_path}:\n{r.stderr[-4000:]}")
            cache.install(staged, out, f"_{cu_path.stem}_*.fatbin")
    return out
