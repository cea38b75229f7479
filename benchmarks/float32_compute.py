"""What computing float32 kernels in double costs, and what it buys.

Builds Gamma and von Mises twice into a temporary folder, with float32="double" (float32
in and out, double inside) and float32="float" (every operation in float), and compares on
the float32 fixture draws their accuracy against mpmath and their time per element (median
of interleaved runs, one thread). Gamma ships in float, von Mises in double.

    python benchmarks/float32_compute.py
"""
import dataclasses
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from conftest import load_fixture  # noqa: E402
from irgen import build  # noqa: E402
from irgen.runtime import set_num_threads  # noqa: E402


def interleaved_ns(fs, n, repeat=11):
    """Median time of each function, their runs interleaved so load affects all alike."""
    times = [[] for _ in fs]
    for f in fs:
        f()
    for _ in range(repeat):
        for i, f in enumerate(fs):
            t = time.perf_counter()
            f()
            times[i].append(time.perf_counter() - t)
    return [float(np.median(ts)) / n * 1e9 for ts in times]


def main():
    set_num_threads(1)
    tmp = Path(tempfile.mkdtemp(prefix="irgen-f32-"))
    print("float32 kernels, computing in double or in float; one thread\n")
    for name in ("gamma", "von_mises"):
        (dist,) = [d for d in build.discover() if d.name == name]
        mods = {}
        for inside in ("double", "float"):
            variant = dataclasses.replace(dist, name=f"{name}_{inside}", float32=inside)
            for fname, text in build.generate(variant).items():
                (tmp / fname).write_text(text)
            mods[f"{inside} inside"] = build.load_generated(tmp, f"{name}_{inside}")
        s = load_fixture(name)["draws32"]
        z, p = s["z"].astype(np.float32), s["param"].astype(np.float32)
        reps = max(1, 400000 // len(z))
        zb, pb = np.tile(z, reps), np.tile(p, reps)
        one, zero = np.float32(1), np.float32(0)
        if name == "gamma":
            grad = {k: (lambda z, p, m=m: m.implicit_grad(z, p, one)[0]) for k, m in mods.items()}
        else:
            grad = {k: (lambda z, p, m=m: m.implicit_grad(z, zero, p)[1]) for k, m in mods.items()}
        ns = interleaved_ns([lambda g=g: g(zb, pb) for g in grad.values()], len(zb))
        for (label, g), t in zip(grad.items(), ns):
            d = g(z, p).astype(float)
            ok = np.isfinite(d)
            rel = np.abs(d - s["dz"])[ok] / np.abs(s["dz"])[ok]
            print(f"{name:10s} {label:14s} max rel {rel.max():.1e}  mean abs "
                  f"{np.abs(d - s['dz'])[ok].mean():.1e}  non-finite {np.count_nonzero(~ok):4d}"
                  f"  {t:7.1f} ns/element")


if __name__ == "__main__":
    main()
