"""discover -> generate -> write -> compile, with a content-hash cache.

`generate` is pure: a distribution in, file texts out. `build` writes the texts that changed
(atomically) and compiles binaries that are missing. A generated module records a hash of
its inputs (the DSL files and irgen's own code generator), so an unchanged build skips
generation, and `check` regenerates in memory and diffs against what is on disk."""
from __future__ import annotations

import difflib
import hashlib
import importlib.util
import math
import os
import sys
import sysconfig
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import jinja2
import numpy as np

from . import ir, targets
from .dsl import Distribution, DSLFunction, Interval, Simplex
from .errors import DeclarationError, DSLError, UserError
from .kernels import build_kernels
from .program import Program
from .rows import build_row_kernels
from .targets.base import shared_templates
from .targets.c.compile import binary_key

PACKAGE = Path(__file__).resolve().parent
BUILTIN = PACKAGE / "distributions"


def template_dir() -> Path:
    """The shared templates (the Python modules', and what the C-family targets include)."""
    return shared_templates()


def _env():
    return jinja2.Environment(loader=jinja2.FileSystemLoader(str(template_dir())),
                              undefined=jinja2.StrictUndefined, trim_blocks=True,
                              lstrip_blocks=True, keep_trailing_newline=True)


# ------------------------------------------------------------------ discovery

def _user_frame(tb, path: Path) -> str:
    """file:line of the innermost frame of a traceback in the user's code (not irgen's, not
    Python's own library), else the DSL file itself."""
    system = {Path(sysconfig.get_paths()[k]).resolve() for k in ("stdlib", "platstdlib")}
    where = _display_path(path)
    for frame in traceback.extract_tb(tb):
        f = Path(frame.filename)
        if frame.filename.startswith("<") or not f.is_file():
            continue
        f = f.resolve()
        if PACKAGE in f.parents or any(d in f.parents for d in system):
            continue
        where = f"{_display_path(f)}:{frame.lineno}"
    return where


def load_file(path) -> list[Distribution]:
    """Execute a DSL file and return the distributions it declares. A file that cannot be
    read or run, or that declares nothing, is a UserError (a Python syntax error a
    DSLError), located in the user's code."""
    shown = str(path)
    path = Path(path).resolve()
    if not path.is_file():
        raise UserError(f"{shown}: {'is a folder' if path.is_dir() else 'no such file'}; "
                        f"name the DSL files to build")
    name = "irgen_dsl_" + hashlib.sha1(str(path).encode()).hexdigest()[:10]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except DSLError:
        raise
    except SyntaxError as e:           # of this file or of one it imports
        raise DSLError(e.msg, e.filename or str(path), e.lineno or 1,
                       max((e.offset or 1) - 1, 0)) from None
    except Exception as e:
        sys.modules.pop(name, None)
        message = str(e).splitlines()[0] if str(e) else ""
        kind = "" if isinstance(e, DeclarationError) else type(e).__name__
        raise UserError(": ".join(filter(None, (kind, message))),
                        _user_frame(e.__traceback__, path)) from e
    found = [v for v in vars(module).values() if isinstance(v, (Distribution, Simplex))]
    if not found:
        raise UserError("declares no distribution (a DSL file assigns Distribution(...) "
                        "to a name at module level)", _display_path(path))
    parts = {id(d.log_space) for d in found if getattr(d, "log_space", None) is not None}
    # a simplex's component is built from its own file
    parts |= {id(d.component) for d in found if isinstance(d, Simplex)}
    found = [d for d in found if id(d) not in parts]    # built with the distribution they serve
    for d in found:
        d.file = str(path)
    return found


def builtin_files() -> list[Path]:
    return sorted(p for p in BUILTIN.glob("*.py") if not p.name.startswith("_"))


def declared_at(dist) -> str:
    """file:line of a declaration."""
    file, line = getattr(dist, "declared_at", (None, 0))
    return f"{_display_path(file or dist.file)}" + (f":{line}" if line else "")


def discover(paths=None) -> list[Distribution]:
    dists = []
    for p in paths or builtin_files():
        dists.extend(load_file(p))
    seen = {}
    for d in dists:
        if d.name in seen:
            raise UserError(f"a second distribution named {d.name!r} (the first is at "
                            f"{declared_at(seen[d.name])}); names must differ", declared_at(d))
        seen[d.name] = d
    return dists


# ------------------------------------------------------------------ generation

def _display_path(path) -> str:
    path = Path(path).resolve()
    for base in (PACKAGE.parent, Path.cwd()):
        try:
            return path.relative_to(base).as_posix()
        except ValueError:
            pass
    return path.name


def _dsl_files(dist) -> set:
    """The DSL files a distribution's functions come from (a simplex's: its component's)."""
    if isinstance(dist, Simplex):
        return {Path(dist.file).resolve()} | _dsl_files(dist.component)
    files = {Path(dist.file).resolve()}
    module = sys.modules.get(dist.cdf.fn.__module__)
    for v in vars(module).values() if module else ():
        if isinstance(v, DSLFunction):
            files.add(Path(v.file).resolve())
    return files


# the modules of a target that run kernels rather than generate them
_RUN_TIME = {"runtime", "compile", "driver", "arrays"}


def input_hash(dist) -> str:
    """Hash of everything generation reads: the DSL files the distribution's functions come
    from, and irgen's own front end, transforms, backends and templates."""
    files = _dsl_files(dist)
    # not the run time (irgen's, or a target's), the compositions of generated modules, the
    # integrations nor the installed built-ins: they generate nothing
    files |= {p.resolve() for p in PACKAGE.rglob("*.py")
              if not {"runtime", "compose", "torch", "pyro", "jax", "numpyro", "names.py",
                      "generated"}
              & set(p.relative_to(PACKAGE).parts)
              and not (p.parent.parent.name == "targets" and p.stem in _RUN_TIME)}
    files |= set(template_dir().glob("*.j2"))
    for target in targets.all_targets():
        files |= {f for d in target.template_dirs() for f in d.glob("*.j2")}
    # by name and content, not by path, so that a checkout and a wheel install agree
    parts = sorted(f.name.encode() + b"\0" + hashlib.sha256(f.read_bytes()).digest()
                   for f in files)
    return hashlib.sha256(b"".join(parts)).hexdigest()[:16]


def _support_value(dist) -> str:
    """The support as the Python literal (low, high, kind)."""
    if isinstance(dist, Simplex):
        return ""
    s = dist.support

    def lit(x):
        return repr(float(x)) if x not in (float("inf"), -float("inf")) else \
            ("-" if x < 0 else "") + 'float("inf")'
    kind = "interval" if isinstance(s, Interval) else "periodic"
    return f'({lit(s.low)}, {lit(s.high)}, "{kind}")'


def _held_ends(dist) -> dict:
    """Per array dtype, the numbers nearest the ends of a bounded support inside it (None:
    no end), where draws that rounded to an end are held: the smallest normal number above
    an end at 0, as torch's samplers. rsample_log_prob's kernels hold theirs there, and the
    module states them for irgen.torch, which holds rsample's there."""
    s = None if isinstance(dist, Simplex) else dist.support
    ends = {}
    for name, t in (("float64", np.float64), ("float32", np.float32)):
        if not isinstance(s, Interval):
            ends[name] = (None, None)
            continue
        lo = None if s.low == -math.inf else (
            np.finfo(t).tiny if s.low == 0 else np.nextafter(t(s.low), t(math.inf)))
        hi = None if s.high == math.inf else np.nextafter(t(s.high), t(-math.inf))
        ends[name] = tuple(None if v is None else float(v) for v in (lo, hi))
    return ends


def _support_text(dist):
    s = dist.support
    kind = "interval" if isinstance(s, Interval) else "periodic, angles wrapped"
    return f"[{s.low:g}, {s.high:g}] ({kind})"


def _kernels(dist, program) -> tuple[list, str, dict]:
    """(kernels, float32 compute mode, template values per array dtype) of a distribution or
    a simplex (whose float32 arrays are drawn in log space below its own threshold)."""
    if isinstance(dist, Simplex):
        float32 = dist.component.float32
        lo64, lo32 = dist.log_space_below
        below = {"float64": lo64, "float32": lo64 if float32 == "double" else lo32}
        eps = {"float64": "DBL_EPSILON", "float32": "FLT_EPSILON"}
        return (build_row_kernels(dist, program), float32,
                {d: {"below": repr(float(v)), "eps": eps[d]} for d, v in below.items()})
    return build_kernels(dist, program), dist.float32, {"float64": {}, "float32": {}}


def _kernels_of(dist, program):
    """_kernels, with a declaration that does not fit its functions located at its line."""
    try:
        return _kernels(dist, program)
    except DeclarationError as e:
        raise UserError(str(e), declared_at(dist)) from None


def generate(dist) -> dict[str, str]:
    """File name -> text for one distribution: the C and CUDA sources and the Python
    module."""
    program = Program()
    kernels, float32, extra = _kernels_of(dist, program)
    held = _held_ends(dist)
    source = _display_path(dist.file)
    # the ends of the support inside it, per dtype, as C literals (rsample_log_prob's holds)
    held_hex = {d: tuple(None if v is None else v.hex() for v in e) for d, e in held.items()}
    common = dict(source=source, kernels=kernels, extra=extra, float32=float32,
                  held_hex=held_hex, rejecting=program.rejecting)
    files = {f"{dist.name}{t.suffix}": t.render(program, common)
             for t in targets.all_targets()}
    env = _env()
    doc = (dist.doc or "").strip()
    title, _, rest = doc.partition("\n")
    simplex = isinstance(dist, Simplex)
    py_text = env.get_template("simplex_module.py.j2" if simplex else "module.py.j2").render(
        source=source, input_hash=input_hash(dist), name=dist.name, title=title or dist.name,
        doc=rest.strip(), params=(dist.param,) if simplex else dist.params,
        support="" if simplex else _support_text(dist), kernels=kernels,
        support_value=_support_value(dist), held=held,
        component=dist.component.name if simplex else "")
    files[f"{dist.name}.py"] = py_text
    return files


def load_generated(out_dir, name: str):
    """Import the generated module `name` from out_dir, outside any package and without
    registering it, so that modules of the same name from different folders can coexist."""
    path = Path(out_dir) / f"{name}.py"
    spec = importlib.util.spec_from_file_location(f"irgen_generated_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ensure_binaries(dist_name: str, out_dir: Path, optional=True) -> str:
    """Compile each target's binary of a generated module into the cache unless a current
    one exists (quietly: the build's log says it); optional: also those the run time can
    do without. What each did, for the log."""
    done = [t.compile(out_dir / f"{dist_name}{t.suffix}")
            for t in targets.all_targets() if optional or not t.binary_optional]
    return ", ".join(d for d in done if d)


def ir_dump(dist) -> str:
    program = Program()
    _kernels_of(dist, program)
    return "\n\n".join(ir.dump(f) for f in program.functions.values())


# ------------------------------------------------------------------ writing

def write_atomic(path: Path, text: str) -> bool:
    """Write text to path through a temporary file and a rename; skip if unchanged."""
    if path.exists() and path.read_text() == text:
        return False
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)
    return True


def _cached(dist: Distribution, out_dir: Path) -> bool:
    py = out_dir / f"{dist.name}.py"
    suffixes = [".py"] + [t.suffix for t in targets.all_targets()]
    if not all((out_dir / f"{dist.name}{ext}").exists() for ext in suffixes):
        return False
    head = py.read_text().split("\n", 2)[1]
    return head == f"# irgen-input: {input_hash(dist)}"


INIT = ('# Generated by irgen: do not edit. Regenerate with `irgen build`.\n'
        '"""Distributions built by irgen: {names}."""\n')


def _writable(out_dir: Path):
    """Create out_dir; a UserError where it cannot be created or written."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
        probe = out_dir / f".irgen-probe.{os.getpid()}.tmp"
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        raise UserError(f"{out_dir}: cannot write the output folder "
                        f"({e.strerror or type(e).__name__})") from None


def build(paths=None, out_dir="generated", log=print, force=False,
          cuda_binaries=True) -> list[str]:
    out_dir = Path(out_dir)
    dists = discover(paths)
    _writable(out_dir)
    made = []                        # (name, what generation did, its seconds)
    for dist in dists:
        t0 = time.perf_counter()
        status = "up to date"
        if force or not _cached(dist, out_dir):
            changed = [n for n, text in generate(dist).items()
                       if write_atomic(out_dir / n, text)]
            status = f"generated {', '.join(changed)}" if changed else "regenerated, unchanged"
        made.append((dist.name, status, time.perf_counter() - t0))

    # the compilers run as processes of their own, so threads build the binaries in parallel;
    # what the binaries' keys read about the platform is resolved first, in this thread
    binary_key("")
    with ThreadPoolExecutor(max_workers=max(1, min(len(made), os.cpu_count() or 1))) as pool:
        futures = [pool.submit(ensure_binaries, name, out_dir, cuda_binaries)
                   for name, _, _ in made]
        for i, ((name, status, seconds), future) in enumerate(zip(made, futures), 1):
            log(f"[{i}/{len(made)}] {name}: {status} ({seconds:.1f} s), {future.result()}")
    init = out_dir / "__init__.py"
    if not init.exists() or init.read_text().startswith("# Generated by irgen"):
        names = sorted({d.name for d in dists} | _existing(out_dir))
        write_atomic(init, INIT.format(names=", ".join(names)))
    return [d.name for d in dists]


def _existing(out_dir: Path) -> set:
    host = targets.all_targets()[0].suffix
    return {p.stem for p in out_dir.glob("*.py")
            if p.name != "__init__.py" and (out_dir / (p.stem + host)).exists()}


def check(paths=None, out_dir="generated", log=print) -> bool:
    """True when every generated file on disk equals a fresh generation."""
    out_dir = Path(out_dir)
    ok = True
    for dist in discover(paths):
        for name, text in generate(dist).items():
            path = out_dir / name
            old = path.read_text() if path.exists() else ""
            if old != text:
                ok = False
                diff = difflib.unified_diff(old.splitlines(True), text.splitlines(True),
                                            f"{path} (on disk)", f"{path} (generated)", n=2)
                log("".join(list(diff)[:200]))
    if not ok:
        log("generated sources are stale: run `irgen build`")
    return ok
