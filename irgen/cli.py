"""irgen build | list | show | kernels | cache

A mistake in what is asked (a DSL construct irgen refuses, a Python syntax error, a missing
file, an exception raised while a DSL file loads, an output folder that cannot be written)
is reported in one line, located where it can be, with exit status 1; a source line and a
caret may follow. A traceback means a bug in irgen (or --debug)."""
from __future__ import annotations

import argparse
import sys
import traceback
import warnings
from pathlib import Path

from . import build as B
from . import targets
from .errors import DSLError, UserError
from .runtime import cache


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="irgen", description=__doc__.split("\n")[0])
    ap.add_argument("--debug", action="store_true",
                    help="show Python tracebacks for mistakes in the input too")
    sub = ap.add_subparsers(dest="cmd", required=True)
    b = sub.add_parser("build", help="generate and compile distributions")
    b.add_argument("paths", nargs="*", help="DSL files (default: the built-in distributions)")
    b.add_argument("--out", default="generated", help="output folder (default: ./generated)")
    b.add_argument("--check", action="store_true",
                   help="do not write; exit 1 with a diff if generated sources are stale")
    b.add_argument("--force", action="store_true", help="regenerate even if inputs are unchanged")
    b.add_argument("--no-cuda-binary", action="store_true",
                   help="skip compiling the CUDA sources with nvcc ahead of time")
    ls = sub.add_parser("list", help="list distributions and their parameters")
    ls.add_argument("paths", nargs="*")
    sh = sub.add_parser("show", help="print the IR or the generated C or CUDA of a distribution")
    sh.add_argument("name")
    sh.add_argument("paths", nargs="*")
    g = sh.add_mutually_exclusive_group()
    g.add_argument("--ir", action="store_true", help="the IR after forward mode (default)")
    g.add_argument("--target", choices=[t.name for t in targets.all_targets()],
                   help="the generated source of a target")
    g.add_argument("--c", dest="target", action="store_const", const="c",
                   help="the generated C (--target c)")
    g.add_argument("--cuda", dest="target", action="store_const", const="cuda",
                   help="the generated CUDA (--target cuda)")
    sub.add_parser("kernels", help="the kernel set, as a Markdown table")
    c = sub.add_parser("cache", help="where compiled binaries are kept (IRGEN_CACHE_DIR)")
    c.add_argument("--clear", action="store_true", help="remove every cached binary")
    return ap


def main(argv=None) -> int:
    args = _parser().parse_args(argv)
    try:
        # Python's warnings while DSL files load (a SyntaxWarning) are shown after a command
        # that succeeds, one line each; where it fails, its error says what matters
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("default")
            status = _run(args)
        for w in dict.fromkeys((w.filename, w.lineno, w.category.__name__, str(w.message))
                               for w in seen):
            print("{}:{}: {}: {}".format(*w), file=sys.stderr)
        return status
    except (DSLError, UserError) as e:
        if args.debug:
            raise
        located = isinstance(e, DSLError) or e.where
        print(str(e) if located else f"irgen: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception:
        traceback.print_exc()
        print("irgen: this is a bug in irgen, not in your input; please report it with the "
              "traceback above and the DSL file", file=sys.stderr)
        return 2


def _run(args) -> int:
    if args.cmd == "kernels":
        from .kernels import table_markdown
        print(table_markdown())
        return 0
    if args.cmd == "cache":
        if args.clear:
            print(f"removed {cache.clear()} files from {cache.root()}")
        else:
            print(cache.root())
        return 0
    if args.cmd == "build":
        if args.check:
            return 0 if B.check(args.paths, args.out) else 1
        B.build(args.paths, args.out, force=args.force,
                cuda_binaries=not args.no_cuda_binary)
        return 0
    dists = B.discover(args.paths)
    if args.cmd == "list":
        for d in dists:
            title = (d.doc or "").strip().split("\n")[0]
            print(f"{d.name}({', '.join(d.param_names)})  {title}  [{Path(d.file).name}]")
        return 0
    match = [d for d in dists if d.name == args.name]
    if not match:
        raise UserError(f"no distribution named {args.name!r}; `irgen list` names them")
    if args.target:
        print(B.generate(match[0])[f"{args.name}{targets.get(args.target).suffix}"])
    else:
        print(B.ir_dump(match[0]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
