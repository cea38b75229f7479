"""irgen build | list | show"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from . import build as B
from .errors import DSLError


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="irgen", description=__doc__.strip())
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
    g.add_argument("--c", action="store_true", help="the generated C")
    g.add_argument("--cuda", action="store_true", help="the generated CUDA")
    args = ap.parse_args(argv)
    try:
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
            print(f"irgen: no distribution named {args.name!r}; try `irgen list`",
                  file=sys.stderr)
            return 2
        if args.c or args.cuda:
            print(B.generate(match[0])[f"{args.name}.{'c' if args.c else 'cu'}"])
        else:
            print(B.ir_dump(match[0]))
        return 0
    except DSLError as e:
        print(f"irgen: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
