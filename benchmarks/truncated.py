"""Truncated and mixture sampling: irgen against scipy and torch, side by side in one run.

Truncation: irgen.compose.truncated's rsample (draws by the base's compiled quantile kernel,
and the implicit gradients in every parameter and both bounds) on NumPy
arrays, and irgen.torch's Truncated rsample + backward on CPU tensors; against
scipy.stats.truncnorm.rvs for Normal windows (draws only, no gradients) and, for Gamma
windows, scipy's inverse CDF (scipy.stats.gamma.ppf of a uniform between F(low) and
F(high): draws only, and only as accurate as that difference). Mixtures: irgen.torch's
MixtureSameFamily rsample + backward (Gamma components; diagonal Normal components,
through the distributional transform) against torch.distributions.MixtureSameFamily.sample
(torch has no rsample for either). Also the largest |F_T(z) - u| of irgen's draws. ns per draw, medians of runs taken in turn, one
thread; (x ratio) = that time / irgen's NumPy time (above 1: irgen is faster). With
--device cuda, the torch parts run on CUDA tensors (the combinators on the GPU) and the
NumPy and scipy parts are left out.

    python benchmarks/truncated.py [--n N] [--repeat R] [--device cpu|cuda]
"""
import argparse
import math
import sys
from pathlib import Path

import numpy as np
from scipy import stats

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import irgen.generated.gamma as gamma  # noqa: E402
import irgen.generated.normal as normal  # noqa: E402
import irgen.compose.truncated as truncation  # noqa: E402
from irgen.runtime import set_num_threads  # noqa: E402
from timing import cpu_name, interleaved_ns  # noqa: E402

WINDOWS = [
    (normal, (0.0, 1.0, -1.0, 2.0)), (normal, (0.0, 1.0, 3.0, math.inf)),
    (normal, (0.0, 1.0, 10.0, math.inf)), (normal, (1.0, 0.5, 21.0, 21.5)),
    (gamma, (0.01, 1.0, 0.0, math.inf)), (gamma, (0.01, 1.0, 1e-30, 1e-3)),
    (gamma, (3.0, 1.0, 1.0, 1e6)), (gamma, (50.0, 1.0, 0.0, 30.0)),
]


def _baseline(base, window, n):
    """scipy's draws for the window (no gradients)."""
    if base is normal:
        loc, scale, low, high = window
        a, b = (low - loc) / scale, (high - loc) / scale
        return lambda: stats.truncnorm.rvs(a, b, loc, scale, size=n, random_state=1)
    shape, rate, low, high = window
    g = stats.gamma(shape, scale=1 / rate)
    lo, hi = g.cdf(low), g.cdf(high)
    rng = np.random.default_rng(1)
    return lambda: g.ppf(lo + (hi - lo) * rng.random(n))


def _error(t, window, n):
    """max |F_T(z) - u| of one sample() call; u are the uniforms that call inverts (NumPy's
    generator seeded alike)."""
    z = t.sample(*window, size=n, seed=5)
    u = np.random.default_rng(5).random(n)
    return np.max(np.abs(t.cdf(z, *window) - u))


def _truncation(args, torch, it):
    """Per window: the NumPy combinator against scipy's draws (on the CPU), and irgen.torch's
    Truncated rsample + backward on the device."""
    n, cuda = args.n, args.device == "cuda"
    for base, window in WINDOWS:
        t = truncation.truncated(base)
        fs = [] if cuda else [lambda: t.rsample(*window, size=n, seed=1),
                              _baseline(base, window, n)]
        if torch is not None:
            family = it.Normal if base is normal else it.Gamma
            p = [torch.tensor(v, dtype=torch.float64, device=args.device, requires_grad=True)
                 for v in window]

            def torch_step():
                for q in p:
                    q.grad = None
                it.Truncated(family(p[0], p[1]), p[2], p[3]).rsample((n,)).sum().backward()
            fs.append(_synced(torch, torch_step, cuda))
        if not fs:
            return
        times = interleaved_ns(fs, n, args.repeat)
        line = f"  {base.name:6s} {str(window):28s}"
        if not cuda:
            t_ir, t_base = times[:2]
            err = _error(t, window, n)
            name = "truncnorm.rvs" if base is normal else "gamma.ppf   "
            line += (f" irgen rsample {t_ir:6.0f} (|F_T(z) - u| <= "
                     f"{err:.0e})   scipy {name} {t_base:6.0f} (x{t_base / t_ir:4.2f})")
        if torch is not None:
            line += f"   irgen.torch rsample + backward {times[-1]:6.0f}"
            if not cuda:
                line += f" (x{times[-1] / times[0]:4.2f})"
        print(line, flush=True)


def _synced(torch, f, cuda):
    """f, waiting for the device's work where it is a GPU."""
    if not cuda:
        return f

    def g():
        f()
        torch.cuda.synchronize()
    return g


def _mixtures(args, torch, it):
    """irgen.torch's MixtureSameFamily rsample + backward against torch's sample (torch has
    no rsample for mixtures), Gamma components and diagonal Normal ones."""
    from torch.distributions import Categorical, Independent
    from torch.distributions import Gamma as TorchGamma
    from torch.distributions import MixtureSameFamily as TorchMixture
    from torch.distributions import Normal as TorchNormal
    n, cuda = args.n, args.device == "cuda"
    f64 = dict(dtype=torch.float64, device=args.device)
    logits = torch.tensor([0.2, -0.4, 1.0], **f64, requires_grad=True)
    a = torch.tensor([0.4, 3.0, 20.0], **f64, requires_grad=True)
    b = torch.tensor([1.0, 2.0, 4.0], **f64, requires_grad=True)

    def ours():
        it.MixtureSameFamily(Categorical(logits=logits), it.Gamma(a, b)).rsample(
            (n,)).sum().backward()

    def theirs():
        TorchMixture(Categorical(logits=logits), TorchGamma(a, b)).sample((n,))
    t_ir, t_t = interleaved_ns([_synced(torch, f, cuda) for f in (ours, theirs)], n,
                               args.repeat)
    print(f"  Gamma mixture, K = 3: irgen.torch MixtureSameFamily rsample + backward "
          f"{t_ir:6.0f}   torch MixtureSameFamily sample (no gradients) {t_t:6.0f} "
          f"(x{t_t / t_ir:4.2f})")
    K, dim = 4, 8
    gen = torch.Generator().manual_seed(0)
    mu = torch.randn(K, dim, generator=gen, dtype=torch.float64).to(args.device)
    sigma = (0.5 + torch.rand(K, dim, generator=gen, dtype=torch.float64)).to(args.device)
    mu.requires_grad_()
    sigma.requires_grad_()
    logits = torch.zeros(K, **f64, requires_grad=True)

    def ours_diagonal():
        it.MixtureSameFamily(Categorical(logits=logits), Independent(
            it.Normal(mu, sigma), 1)).rsample((n,)).sum().backward()

    def theirs_diagonal():
        TorchMixture(Categorical(logits=logits), Independent(
            TorchNormal(mu, sigma), 1)).sample((n,))
    t_ir, t_t = interleaved_ns([_synced(torch, f, cuda) for f in (ours_diagonal,
                                                                  theirs_diagonal)],
                               n, args.repeat)
    print(f"  diagonal Normal mixture, K = {K}, D = {dim}: irgen.torch rsample + backward "
          f"(the distributional transform) {t_ir:6.0f}   torch sample (no gradients) "
          f"{t_t:6.0f} (x{t_t / t_ir:4.2f})")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--device", default="cpu", choices=("cpu", "cuda"),
                    help="where irgen.torch's and torch's parts run (cuda: those only)")
    args = ap.parse_args()
    set_num_threads(1)
    try:
        import torch
        import irgen.torch as it
        torch.set_num_threads(1)
    except ImportError:
        torch = it = None
    where = cpu_name() + ", one thread"
    if args.device == "cuda":
        where = torch.cuda.get_device_name() + " (CUDA tensors; the host: " + where + ")"
    print(f"{args.n} draws, {where}; ns per draw, median of {args.repeat}; "
          f"(x ratio) = that time / irgen's (NumPy on the CPU)")
    _truncation(args, torch, it)
    if torch is not None:
        _mixtures(args, torch, it)


if __name__ == "__main__":
    main()
