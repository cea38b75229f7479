"""Small calls on one core, side by side in one run: the fixed cost of a call decides there.

Rows, per-call times (medians of calls taken in turn) at 1, 16, 256 and 4096 elements,
float32 and float64, Gamma with alpha log-uniform in [0.1, 10]:
- NumPy: irgen's implicit_grad against torch._standard_gamma_grad, cdf against
  scipy.special.gammainc, sample against numpy's Generator.gamma (Generator.standard_gamma
  in float32, which takes float32 shapes only through its float64 path: it is given float64);
- irgen.torch: rsample followed by backward, and log_prob followed by backward, against
  torch.distributions' own class, for Gamma, Beta, Normal and Dirichlet (rows of K = 4).
(x ratio) = baseline's time / irgen's (above 1: irgen is faster).

    python benchmarks/small_calls.py [--repeat R] [--out results/small_calls.md]
"""
import argparse
import os
import sys
from pathlib import Path

if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

import numpy as np  # noqa: E402
import scipy.special as sc  # noqa: E402
import torch  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import irgen.generated.gamma as gamma  # noqa: E402
import irgen.torch as it  # noqa: E402
from irgen.runtime import set_num_threads  # noqa: E402
from timing import cpu_name, interleaved_rounds  # noqa: E402

SIZES = (1, 16, 256, 4096)


def shapes(n, dtype):
    rng = np.random.default_rng(n)
    a = np.exp(rng.uniform(np.log(0.1), np.log(10), n)).astype(dtype)
    z = gamma.sample(a, 1.0, seed=n)
    return a, z


def numpy_rows(n, dtype):
    a, z = shapes(n, dtype)
    ta, tz = torch.from_numpy(a), torch.from_numpy(z)
    gen = np.random.default_rng(0)
    a64 = a.astype(np.float64)
    return [
        ("implicit_grad", "torch._standard_gamma_grad",
         lambda: gamma.implicit_grad(z, a, 1.0), lambda: torch._standard_gamma_grad(ta, tz)),
        ("cdf", "scipy.special.gammainc", lambda: gamma.cdf(z, a, 1.0),
         lambda: sc.gammainc(a, z)),
        ("sample", "Generator.gamma", lambda: gamma.sample(a, 1.0, seed=1),
         lambda: gen.standard_gamma(a) if dtype == np.float64 else gen.standard_gamma(a64)),
    ]


def torch_rows(n, dtype):
    tdt = torch.float32 if dtype == np.float32 else torch.float64
    rng = np.random.default_rng(n)
    rows = []

    def pair(name, ours_cls, theirs_cls, params, value):
        ps = [torch.tensor(p, dtype=tdt, requires_grad=True) for p in params]
        x = torch.tensor(value, dtype=tdt)

        def step(cls, how):
            def run():
                for p in ps:
                    p.grad = None
                d = cls(*ps)
                out = d.rsample() if how == "rsample" else d.log_prob(x)
                out.sum().backward()
            return run
        for how in ("rsample", "log_prob"):
            rows.append((f"{name} {how} + backward", f"torch.distributions.{name}",
                         step(ours_cls, how), step(theirs_cls, how)))

    a = np.exp(rng.uniform(np.log(0.1), np.log(10), n))
    b = np.exp(rng.uniform(np.log(0.1), np.log(10), n))
    pair("Gamma", it.Gamma, torch.distributions.Gamma, (a, np.ones(n)),
         rng.gamma(a))
    pair("Beta", it.Beta, torch.distributions.Beta, (a, b), rng.beta(a, b))
    pair("Normal", it.Normal, torch.distributions.Normal, (rng.normal(size=n), b),
         rng.normal(size=n))
    k = 4
    rows_n = max(1, n // k)
    alpha = np.exp(rng.uniform(np.log(0.1), np.log(10), (rows_n, k)))
    pair("Dirichlet", it.Dirichlet, torch.distributions.Dirichlet, (alpha,),
         rng.dirichlet(np.ones(k), rows_n))
    return rows


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=400,
                        help="calls of each function at 1 element (fewer at larger sizes)")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    set_num_threads(1)
    torch.set_num_threads(1)
    lines = [f"# Small calls on one core ({cpu_name()}; torch {torch.__version__}, "
             f"numpy {np.__version__})", "",
             "| call | dtype | elements | irgen | baseline | time | baseline / irgen |",
             "|---|---|---|---|---|---|---|"]
    print("\n".join(lines), flush=True)
    for make in (numpy_rows, torch_rows):
        for dtype in (np.float32, np.float64):
            for n in SIZES:
                repeat = max(20, args.repeat // max(1, n // 64))
                for what, baseline, ours, theirs in make(n, dtype):
                    t = interleaved_rounds([ours, theirs], repeat)
                    ratio = float(np.median(t[1] / t[0]))
                    line = (f"| {what} | {np.dtype(dtype).name} | {n} | "
                            f"{_fmt(np.median(t[0]))} | {baseline} | {_fmt(np.median(t[1]))} "
                            f"| {ratio:.2f}x |")
                    lines.append(line)
                    print(line, flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(lines) + "\n")


def _fmt(seconds):
    return f"{seconds * 1e6:.3g} us" if seconds < 1e-3 else f"{seconds * 1e3:.3g} ms"


if __name__ == "__main__":
    main()
