"""Where compiled binaries live: a per-user cache, never beside the sources.

A generated module may sit where its user cannot write (an installed package's
site-packages), so the shared libraries and fatbins built from it go to the folder named by
IRGEN_CACHE_DIR, else to the platform's per-user cache: $XDG_CACHE_HOME/irgen or
~/.cache/irgen on Linux, ~/Library/Caches/irgen on macOS, %LOCALAPPDATA%\\irgen on Windows.

Each folder of generated sources has a subfolder of its own (its name and a hash of its
path), where a binary's name carries the hash of everything that decides its content; a new
binary replaces the older ones of the same source there. Binaries are built in a temporary
folder and renamed into place, and a lock file per source makes a second process wait for
the first one's compiler instead of running its own, so processes that start together
neither corrupt the cache nor compile twice."""
from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import sys
from pathlib import Path

try:
    import fcntl
except ImportError:         # Windows: atomic renames alone keep the cache whole
    fcntl = None

ENV = "IRGEN_CACHE_DIR"


def root() -> Path:
    """The cache folder (not created here)."""
    if os.environ.get(ENV):
        return Path(os.environ[ENV]).expanduser()
    if sys.platform == "win32":
        base = Path(os.environ.get("LOCALAPPDATA") or Path.home() / "AppData" / "Local")
    elif sys.platform == "darwin":
        base = Path.home() / "Library" / "Caches"
    else:
        base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "irgen"


def folder(source: Path) -> Path:
    """The cache subfolder for the binaries of a generated source file, created."""
    parent = Path(source).resolve().parent
    tag = hashlib.sha256(str(parent).encode()).hexdigest()[:10]
    path = root() / f"{parent.name}-{tag}"
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OSError(f"irgen cannot create its binary cache folder {path} "
                      f"({e.strerror or e}); set {ENV} to a folder it may write") from e
    return path


@contextlib.contextmanager
def locked(path: Path):
    """Hold an exclusive lock on the file `path` (created) for the duration."""
    if fcntl is None:
        yield
        return
    with open(path, "a") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def install(built: Path, path: Path, siblings: str):
    """Move a built binary into place by a rename (no reader sees half a file) and remove
    the older binaries of the same source (named by the glob `siblings`)."""
    staged = path.with_name(path.name + f".{os.getpid()}.tmp")
    shutil.copyfile(built, staged)
    os.replace(staged, path)
    for old in path.parent.glob(siblings):
        if old != path:
            with contextlib.suppress(OSError):
                old.unlink()


def clear() -> int:
    """Remove every cached binary; the number of files removed."""
    base = root()
    if not base.is_dir():
        return 0
    files = [p for p in base.rglob("*") if p.is_file()]
    shutil.rmtree(base, ignore_errors=True)
    return len(files)
