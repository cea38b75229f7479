"""Compile (once) the shared library of a generated C file, for the machine at hand.

The library is plain C built by the system compiler and opened with cffi's ABI mode
(runtime.py): no Python headers or setuptools are needed, only a C compiler (with OpenMP),
so it builds wherever Python runs. The binary's name carries a hash of everything that
decides its content: the C source, the compiler flags, the compiler's version and the
processor (the code is compiled for the machine that runs it, -march=native). A stale
binary is never loaded, and an unchanged one is never rebuilt. Binaries live in the
per-user cache (runtime/cache.py), built by `irgen build` or the first time a module's
kernels are called, with one line on stderr saying so."""
from __future__ import annotations

import ctypes.util
import functools
import hashlib
import importlib.machinery
import importlib.util
import platform
import subprocess
import sys
import sysconfig
import tempfile
import time
from pathlib import Path

from ...runtime import cache

# Optimised, IEEE-exact arithmetic: no -ffast-math (it would break isnan and the
# convergence tests); -fno-math-errno lets sqrt and friends inline, changing no result;
# no contraction into fused multiply-adds, so every lane width rounds alike. The binary is
# built on the machine that runs it, so it may use all of that machine's vector units.
CFLAGS = ("-O3", "-std=c99", "-march=native", "-ffp-contract=off", "-fopenmp",
          "-fno-math-errno", "-Wno-unused-variable", "-Wno-unused-but-set-variable",
          "-Wno-unused-function", "-Wno-psabi")
LDFLAGS = ("-fopenmp",)


@functools.lru_cache(maxsize=None)
def _compiler() -> tuple:
    """The C compiler Python was built with (its first word), else cc. Resolved once:
    sysconfig's first call is not thread-safe (a thread could read cc while another read
    gcc, and the binary's key would change from run to run)."""
    return tuple((sysconfig.get_config_var("CC") or "cc").split()[:1])


@functools.lru_cache(maxsize=None)
def compiler_version() -> str:
    try:
        return subprocess.run([*_compiler(), "--version"], capture_output=True, text=True,
                              timeout=30).stdout.splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "unknown"


@functools.lru_cache(maxsize=None)
def host_cpu() -> str:
    """The processor model and its instruction-set flags."""
    try:
        with open("/proc/cpuinfo") as f:
            info = f.read().split("\n\n")[0]
        return "\n".join(line for line in info.splitlines()
                         if line.startswith(("model name", "flags", "Features")))
    except OSError:
        return platform.machine() + " " + platform.processor()


@functools.lru_cache(maxsize=None)
def platform_options() -> tuple[tuple, tuple]:
    """(extra compiler flags, libraries): glibc's vector math library where it exists."""
    if (platform.system() == "Linux" and platform.machine() in ("x86_64", "AMD64")
            and ctypes.util.find_library("mvec")):
        return ("-DIRGEN_HAVE_MVEC",), ("mvec", "m")
    return (), ("m",)


def binary_key(c_source: str, extra: str = "") -> str:
    h = hashlib.sha256()
    flags, libs = platform_options()
    for part in (c_source, " ".join(CFLAGS + LDFLAGS + flags + libs), compiler_version(),
                 host_cpu()) + ((extra,) if extra else ()):
        h.update(part.encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def binary_path(c_path: Path, extra: str = "") -> tuple[Path, str]:
    module = f"_{c_path.stem}_{binary_key(c_path.read_text(), extra)}"
    return cache.folder(c_path) / (module + ".so"), module


def compile_binary(c_path: Path, verbose=False, announce=True, include=(), extra="",
                   libs=()) -> Path:
    """Build the shared library for c_path unless a current one exists; return its path.
    announce: say on stderr what is compiled and how long it took. include: header folders
    the source needs; extra: what else decides the binary (the headers' version), for its
    key; libs: libraries to link beside the platform's."""
    c_path = Path(c_path)
    so_path, module = binary_path(c_path, extra + "".join(f" -l{lib}" for lib in libs))
    flags, platform_libs = platform_options()
    libs = (*platform_libs, *libs)

    def command(built: Path) -> list:
        return [*_compiler(), *CFLAGS, *flags, *(f"-I{d}" for d in include), "-fPIC",
                "-shared", str(c_path.resolve()), "-o", str(built), *LDFLAGS,
                *(f"-l{lib}" for lib in libs)]
    return build_once(c_path, so_path, command, f"_{c_path.stem}_*.so",
                      f"{c_path.name} for this machine" if announce else None, verbose)


def build_once(source: Path, path: Path, command, siblings: str, what=None,
               verbose=False) -> Path:
    """path, built from source unless it exists: command(out) is the compiler's command line
    writing to out, in a temporary folder; the result is moved into place by a rename
    (cache.install, which removes the older binaries named by the glob siblings). A lock
    file per source makes a second process wait for the first one's compiler. what: what
    to announce on stderr as compiled, with how long it took (None: nothing)."""
    if path.exists():
        return path
    with cache.locked(path.with_name(f"{source.stem}.lock")):
        if path.exists():            # built by another process while this one waited
            return path
        if what:
            print(f"irgen: compiling {what} into {path.parent} (first use) ...", end="",
                  file=sys.stderr, flush=True)
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory(prefix="irgen-") as tmp:
            built = Path(tmp) / path.name
            cmd = command(built)
            if verbose:
                print(" ".join(cmd))
            try:
                done = subprocess.run(cmd, capture_output=True, text=True)
            except OSError:          # no compiler
                if what:
                    print(" failed", file=sys.stderr)
                raise
            if done.returncode != 0:
                if what:
                    print(" failed", file=sys.stderr)
                raise RuntimeError(f"compiling {source} failed:\n{' '.join(cmd)}\n"
                                   f"{done.stderr}")
            cache.install(built, path, siblings)
        if what:
            print(f" done in {time.perf_counter() - t0:.1f} s", file=sys.stderr, flush=True)
    return path


def load_extension(name: str, path: Path):
    """The Python extension module `name` in the binary at path, imported."""
    loader = importlib.machinery.ExtensionFileLoader(name, str(path))
    spec = importlib.util.spec_from_file_location(name, path, loader=loader)
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module
