"""CPU benchmark: per-element time of the implicit gradients, side by side with baselines.

Gamma: alpha log-uniform in [0.1, 10], z drawn from Gamma(alpha, 1). von Mises: kappa
log-uniform in [1e-2, 1e3], z drawn from von Mises(0, kappa). Baselines, run in the same
process on the same inputs: scipy central finite differences of the CDF in the parameter
divided by the density (what a user without irgen writes), and torch._standard_gamma_grad
where torch is installed (a closed-form approximation, relative error up to ~1e-3).
Medians of repeated runs; ratios are baseline time / irgen time. irgen is timed with new
output arrays (as torch allocates its result) and with out= arrays; its implicit_grad
writes both gradients (dz/dalpha and dz/dbeta), torch's only dz/dalpha.

    python benchmarks/cpu.py [--n N] [--repeat R]
"""
import argparse
import os
import sys
from pathlib import Path

import numpy as np
from scipy import special, stats

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import irgen.generated.gamma as g  # noqa: E402
import irgen.generated.von_mises as v  # noqa: E402
from irgen.runtime import set_num_threads  # noqa: E402
from timing import median_ns  # noqa: E402


def scipy_gamma_fd(z, a):
    h = 1e-6 * np.maximum(a, 1e-3)
    dF = (special.gammainc(a + h, z) - special.gammainc(a - h, z)) / (2 * h)
    return -dF / stats.gamma.pdf(z, a)


def scipy_vm_fd(z, k):
    h = 1e-6 * k
    dF = (stats.vonmises.cdf(z, k + h) - stats.vonmises.cdf(z, k - h)) / (2 * h)
    return -dF / stats.vonmises.pdf(z, k)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1 << 20)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    n, rep = args.n, args.repeat
    rng = np.random.default_rng(0)
    a = np.exp(rng.uniform(np.log(0.1), np.log(10), n))
    z = rng.gamma(a)
    k = np.exp(rng.uniform(np.log(1e-2), np.log(1e3), n))
    y = stats.vonmises.rvs(k, random_state=rng)
    try:
        import torch
        torch.set_num_threads(1)
    except ImportError:
        torch = None
    cores = os.cpu_count()
    print(f"n = {n}, median of {rep} runs, {cores} cores; ns per element (lower is better)\n")

    def compare(label, kernel, fd, fd_n):
        """irgen on one thread (new output arrays, and out= arrays), and on all threads,
        against scipy finite differences."""
        outs = kernel()
        set_num_threads(1)
        t1 = median_ns(kernel, n, rep)
        t_out = median_ns(lambda: kernel(out=outs), n, rep)
        set_num_threads(0)
        tn = median_ns(kernel, n, rep)
        tfd = median_ns(fd, fd_n, 3)
        print(f"{label}: irgen {t1:7.1f} (1 thread) {t_out:7.1f} (1 thread, out=) "
              f"{tn:7.1f} ({cores} threads) | scipy central FD {tfd:7.1f}  "
              f"ratio {tfd / t1:5.1f}x")
        return t1, t_out

    m = min(n, 1 << 18)
    for dtype in (np.float64, np.float32):
        za, aa, one = z.astype(dtype), a.astype(dtype), dtype(1)
        t1, t_out = compare(f"gamma implicit_grad {np.dtype(dtype).name}",
                            lambda out=None: g.implicit_grad(za, aa, one, out=out),
                            lambda: scipy_gamma_fd(z[:m], a[:m]), m)
        if torch is not None:
            tz, ta = torch.from_numpy(za), torch.from_numpy(aa)
            tt = median_ns(lambda: torch._standard_gamma_grad(ta, tz), n, rep)
            print(f"{'':29}torch._standard_gamma_grad (1 thread) {tt:7.1f}  "
                  f"ratio {tt / t1:5.2f}x ({tt / t_out:5.2f}x with out=)")
    m = min(n, 1 << 16)
    for dtype in (np.float64, np.float32):
        ya, ka, zero = y.astype(dtype), k.astype(dtype), dtype(0)
        compare(f"von Mises implicit_grad {np.dtype(dtype).name}",
                lambda out=None: v.implicit_grad(ya, zero, ka, out=out),
                lambda: scipy_vm_fd(y[:m], k[:m]), m)


if __name__ == "__main__":
    main()
