"""CPU sampling benchmark: per-element time of irgen's samplers, side by side with NumPy's
and torch's on the same parameters, in one process.

Gamma(alpha, 1) with alpha log-uniform in [0.1, 10]; von Mises(0, kappa) with kappa
log-uniform in [1e-2, 1e3]; standard normals. Baselines: numpy.random.Generator
(standard_gamma, vonmises, standard_normal; one thread, its default PCG64 generator),
torch._standard_gamma and torch.randn where torch is installed. rsample (samples and
gradients) is compared with sampling by NumPy or torch followed by a separate gradient
call (irgen's implicit_grad after NumPy; torch._standard_gamma_grad after torch), and with
irgen's own sample + implicit_grad in two calls. Medians of repeated runs; the ratio is the
baseline's time over irgen's (above 1: irgen is faster). Writes
results/sampling_benchmark.md.

    python benchmarks/sampling.py [--n N] [--repeat R]
"""
import argparse
import os
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import irgen.generated.gamma as g  # noqa: E402
import irgen.generated.normal as nrm  # noqa: E402
import irgen.generated.von_mises as v  # noqa: E402
from irgen.runtime import set_num_threads  # noqa: E402
from timing import cpu_name, median_ns  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1 << 20)
    ap.add_argument("--repeat", type=int, default=9)
    args = ap.parse_args()
    n, rep = args.n, args.repeat
    rng = np.random.default_rng(0)
    alpha = np.exp(rng.uniform(np.log(0.1), np.log(10), n))
    kappa = np.exp(rng.uniform(np.log(1e-2), np.log(1e3), n))
    try:
        import torch
    except ImportError:
        torch = None
    cores = os.cpu_count()
    lines = [f"n = {n}, median of {rep} runs, {cpu_name()}, {cores} cores; ns per element "
             f"(lower is better); ratio = baseline / irgen", ""]

    def show(text):
        print(text, flush=True)
        lines.append(text)

    show(f"{'':44s}{'1 thread':>10s}{'all':>9s}{'ratio':>8s}")

    def row(label, one, every=None, irgen=None):
        """A row; a baseline's names the irgen time it is compared with."""
        ratio = f"{one / irgen:8.2f}" if irgen else ""
        every = f"{every:9.1f}" if every is not None else f"{'':9s}"
        show(f"{label:44s}{one:10.1f}{every}{ratio}")

    def irgen_both(f):
        set_num_threads(1)
        one = median_ns(f, n, rep)
        set_num_threads(0)
        every = median_ns(f, n, rep)
        set_num_threads(1)
        return one, every

    def torch_both(f):
        torch.set_num_threads(1)
        one = median_ns(f, n, rep)
        torch.set_num_threads(cores)
        every = median_ns(f, n, rep)
        torch.set_num_threads(1)
        return one, every

    for dt in (np.float64, np.float32):
        name = np.dtype(dt).name
        a = alpha.astype(dt)
        gen = np.random.default_rng(1)
        out = np.empty(n, dt)
        show(f"\nGamma, {name}")
        t_np = median_ns(lambda: gen.standard_gamma(a, dtype=dt), n, rep)
        t_ir = irgen_both(lambda: g.sample(a, 1.0, seed=1, out=out))
        row("irgen sample", *t_ir)
        row("  numpy Generator.standard_gamma", t_np, None, t_ir[0])
        z = g.sample(a, 1.0, seed=1)
        t_grad = irgen_both(lambda: g.implicit_grad(z, a, 1.0))[0]
        t_rs = irgen_both(lambda: g.rsample(a, 1.0, seed=1))
        if torch is not None:
            ta = torch.from_numpy(a)
            t_ts = torch_both(lambda: torch._standard_gamma(ta))
            row("  torch._standard_gamma", *t_ts, t_ir[0])
        row("irgen rsample (samples and both gradients)", *t_rs)
        row("  irgen sample + implicit_grad, two calls", t_ir[0] + t_grad, None, t_rs[0])
        row("  numpy sample + irgen implicit_grad", t_np + t_grad, None, t_rs[0])
        if torch is not None:
            tz = torch._standard_gamma(ta)
            t_tg = torch_both(lambda: torch._standard_gamma_grad(ta, tz))[0]
            row("  torch sample + _standard_gamma_grad", t_ts[0] + t_tg, None, t_rs[0])
        y = g.log_sample(a, 1.0, seed=1)
        row("irgen log_sample", *irgen_both(lambda: g.log_sample(a, 1.0, seed=1, out=y)))

        show(f"\nvon Mises, {name}")
        k = kappa.astype(dt)
        t_ir = irgen_both(lambda: v.sample(dt(0), k, seed=1, out=out))
        row("irgen sample", *t_ir)
        t_np = median_ns(lambda: gen.vonmises(0.0, k), n, rep)
        row("  numpy Generator.vonmises (float64 only)", t_np, None, t_ir[0])
        row("irgen rsample", *irgen_both(lambda: v.rsample(dt(0), k, seed=1)))

        show(f"\nNormal, {name}")
        t_ir = irgen_both(lambda: nrm.sample(dt(0), dt(1), seed=1, out=out))
        row("irgen sample", *t_ir)
        t_np = median_ns(lambda: gen.standard_normal(n, dtype=dt), n, rep)
        row("  numpy Generator.standard_normal", t_np, None, t_ir[0])
        if torch is not None:
            tdt = getattr(torch, name)
            t_tn = torch_both(lambda: torch.randn(n, dtype=tdt))
            row("  torch.randn", *t_tn, t_ir[0])
    show("")
    show("ratio: the baseline's time over irgen's on one thread (above 1: irgen is faster)")
    path = ROOT / "results" / "sampling_benchmark.md"
    path.parent.mkdir(exist_ok=True)
    path.write_text("# CPU sampling benchmark\n\nMade by `python benchmarks/sampling.py`.\n\n```\n"
                    + "\n".join(lines) + "\n```\n")
    print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
