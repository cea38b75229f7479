"""irgen.torch's native autograd nodes (native.cpp): built on first use against the torch at
hand, into the binary cache beside the kernels, and loaded as a Python extension.

The build takes about 20 s once per torch version and machine, announced on stderr. Where it
cannot be made (no C++ compiler, no torch headers) or IRGEN_TORCH_NATIVE=0 is set, the
Python autograd Functions (functions.py) take every call, with the same results."""
from __future__ import annotations

import functools
import hashlib
import os
import sys
import sysconfig
from pathlib import Path

import torch

from ..runtime import cache
from ..targets.c.compile import build_once, load_extension

SOURCE = Path(__file__).with_name("native.cpp")
ENV = "IRGEN_TORCH_NATIVE"
# no -ffast-math (NaN tests); the kernels' own arithmetic is in the generated C, not here
CXXFLAGS = ("-O2", "-std=c++17", "-fPIC", "-shared", "-w")


def _compiler() -> list:
    return (sysconfig.get_config_var("CXX") or "c++").split()[:1]


def _command(torch_dir: Path, out: Path, name: str) -> list:
    include = torch_dir / "include"
    lib = torch_dir / "lib"
    return [*_compiler(), *CXXFLAGS, f"-DIRGEN_NATIVE_NAME={name}",
            f"-D_GLIBCXX_USE_CXX11_ABI={int(torch._C._GLIBCXX_USE_CXX11_ABI)}",
            f"-I{include}", f"-I{include / 'torch' / 'csrc' / 'api' / 'include'}",
            f"-I{sysconfig.get_paths()['include']}", str(SOURCE), "-o", str(out),
            f"-L{lib}", "-lc10", "-ltorch", "-ltorch_cpu", "-ltorch_python",
            f"-Wl,-rpath,{lib}"]


@functools.lru_cache(maxsize=None)
def extension():
    """The compiled module (rsample(...) and the other entry points), or None where it
    cannot be had."""
    if os.environ.get(ENV, "1") == "0":
        return None
    torch_dir = Path(torch.__file__).resolve().parent
    if not (torch_dir / "include" / "torch" / "csrc" / "autograd" / "custom_function.h").exists():
        return None
    suffix = sysconfig.get_config_var("EXT_SUFFIX") or ".so"
    try:
        key = hashlib.sha256("\0".join((
            SOURCE.read_text(), torch.__version__, str(torch_dir), sys.version, suffix,
            " ".join(CXXFLAGS), " ".join(_compiler()))).encode()).hexdigest()[:16]
        name = f"_irgen_torch_native_{key}"
        path = cache.folder(SOURCE) / (name + suffix)
        build_once(SOURCE, path, lambda out: _command(torch_dir, out, name),
                   "_irgen_torch_native_*", f"irgen.torch's native nodes for torch "
                   f"{torch.__version__}")
        return load_extension(name, path)
    except (OSError, ImportError, RuntimeError) as e:
        print(f"irgen: torch calls take the Python autograd path: {str(e).splitlines()[0]}",
              file=sys.stderr)
        return None
