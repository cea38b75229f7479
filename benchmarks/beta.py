"""Beta's reparameterization gradients: irgen against torch, accuracy and speed, one run.

torch.distributions.Beta.rsample differentiates through Dirichlet's backward: with
G = torch._dirichlet_grad(x, a, a + b), a closed-form approximation, dz/da = (1 - z) G(z, a) and
dz/db = -z G(1 - z, b). irgen's implicit_grad gives both from the
incomplete beta function. Accuracy: against mpmath at 40 digits on the draws of
tests/fixtures/beta.npz (a, b log-uniform over [1e-2, 1e3]). Speed: ns per element on 2^20
such draws, medians of repeated runs, torch on one thread beside irgen on one thread and on
all; the ratio is torch's time over irgen's (above 1: irgen is faster). irgen's time is for
both gradients, torch's for one or both as labelled.

    python benchmarks/beta.py [--n N] [--repeat R]
"""
import argparse
import os
import sys
from pathlib import Path

import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import irgen.generated.beta as be  # noqa: E402
from irgen.runtime import set_num_threads  # noqa: E402
from timing import cpu_name, median_ns  # noqa: E402


def errors(got, want):
    r = np.abs(got / want - 1)
    return f"max {np.max(r):.1e}, median {np.median(r):.1e}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1 << 20)
    ap.add_argument("--repeat", type=int, default=9)
    args = ap.parse_args()
    try:
        import torch
        torch.set_num_threads(1)
    except ImportError:
        torch = None
    fix = np.load(ROOT / "tests" / "fixtures" / "beta.npz")
    a, b = fix["draws/param"][:, 0], fix["draws/param"][:, 1]
    z, dz = fix["draws/z"], fix["draws/dz"]
    print(f"accuracy against mpmath, {z.size} draws, a, b log-uniform over [1e-2, 1e3] "
          f"(relative error):")
    da, db = be.implicit_grad(z, a, b)
    print(f"  irgen implicit_grad     dz/da {errors(da, dz[:, 0])}; dz/db {errors(db, dz[:, 1])}")
    if torch is not None:
        t = lambda v: torch.from_numpy(np.ascontiguousarray(v))  # noqa: E731
        ta = (1 - z) * torch._dirichlet_grad(t(z), t(a), t(a + b)).numpy()
        tb = -z * torch._dirichlet_grad(t(1 - z), t(b), t(a + b)).numpy()
        print(f"  torch._dirichlet_grad   dz/da {errors(ta, dz[:, 0])}; dz/db "
              f"{errors(tb, dz[:, 1])}")

    n, rep = args.n, args.repeat
    rng = np.random.default_rng(0)
    a = np.exp(rng.uniform(np.log(1e-2), np.log(1e3), n))
    b = np.exp(rng.uniform(np.log(1e-2), np.log(1e3), n))
    z = stats.beta.rvs(a, b, random_state=rng)
    keep = (z > 0) & (z < 1)
    a, b, z = a[keep], b[keep], z[keep]
    n = z.size
    print(f"\nspeed, {n} draws, {cpu_name()}, {os.cpu_count()} cores; ns per element, median of "
          f"{rep} runs; ratio = torch / irgen")
    outs = (np.empty(n), np.empty(n))
    set_num_threads(1)
    one = median_ns(lambda: be.implicit_grad(z, a, b, out=outs), n, rep)
    set_num_threads(os.cpu_count())
    every = median_ns(lambda: be.implicit_grad(z, a, b, out=outs), n, rep)
    print(f"  irgen implicit_grad, both gradients    1 thread {one:7.1f}   all {every:7.1f}")
    if torch is not None:
        tz, ta_, tb_, ts = (torch.from_numpy(v) for v in (z, a, b, a + b))
        t1 = median_ns(lambda: torch._dirichlet_grad(tz, ta_, ts), n, rep)
        t2 = median_ns(lambda: (torch._dirichlet_grad(tz, ta_, ts),
                                torch._dirichlet_grad(1 - tz, tb_, ts)), n, rep)
        print(f"  torch._dirichlet_grad, dz/da only      1 thread {t1:7.1f}   ratio "
              f"{t1 / one:5.2f}")
        print(f"  torch, dz/da and dz/db                 1 thread {t2:7.1f}   ratio "
              f"{t2 / one:5.2f}")


if __name__ == "__main__":
    main()
