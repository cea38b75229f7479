"""Dirichlet reparameterized sampling: irgen against torch, side by side in one run.

A VAE step with a Dirichlet latent draws z ~ Dirichlet(alpha) and backpropagates g . dz/dalpha.
irgen: irgen.generated.dirichlet.rsample (one kernel per batch of rows: the Gamma draws, their
implicit gradients and each row's normalisation) and vjp; torch:
torch.distributions.Dirichlet(alpha).rsample() and backward() (torch._sample_dirichlet and
torch._dirichlet_grad). Also the composition the row kernel replaces: Gamma's rsample kernel
(log_rsample for shapes below 0.1), then the normalisation in NumPy. ns per element of the
N x K batch, medians of runs taken in turn, one thread each; (x ratio) = that time / irgen's
(above 1: irgen is faster).

    python benchmarks/dirichlet.py [--rows N] [--k K] [--repeat R]
"""
import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import irgen.generated.dirichlet as dirichlet  # noqa: E402
import irgen.generated.gamma as gamma  # noqa: E402
from irgen.runtime import set_num_threads  # noqa: E402
from timing import cpu_name, interleaved_ns  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1 << 15)
    ap.add_argument("--k", type=int, default=32)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    set_num_threads(1)
    rng = np.random.default_rng(0)
    print(f"{args.rows} rows of K = {args.k}, {cpu_name()}, one thread; ns per element, "
          f"median of {args.repeat}; (x ratio) = that time / irgen's")
    try:
        import torch
        torch.set_num_threads(1)
    except ImportError:
        torch = None
    for low, high in ((0.1, 10.0), (1e-3, 0.1)):
        alpha = np.exp(rng.uniform(np.log(low), np.log(high), (args.rows, args.k)))
        g = rng.normal(size=alpha.shape)
        n = alpha.size

        def ours():
            z, v = dirichlet.rsample(alpha, seed=1)
            return dirichlet.vjp(z, v, g)
        def composed():
            if low >= 0.1:
                G, (dG, _) = gamma.rsample(alpha, 1.0, seed=1)
                s = G.sum(-1, keepdims=True)
                z, v = G / s, dG / s
            else:
                y, (dy, _) = gamma.log_rsample(alpha, 1.0, seed=1)
                top = y.max(-1, keepdims=True)
                z = np.exp(y - top)
                z /= z.sum(-1, keepdims=True)
                v = dy * z
            return dirichlet.vjp(z, v, g)
        fs = [ours, composed]
        if torch is not None:
            ta, tg = torch.tensor(alpha, requires_grad=True), torch.tensor(g)

            def theirs():
                ta.grad = None
                (torch.distributions.Dirichlet(ta).rsample() * tg).sum().backward()
            fs.append(theirs)
        t_ir, t_c, *t_t = interleaved_ns(fs, n, args.repeat)
        line = (f"  alpha log-uniform in [{low:g}, {high:g}]: irgen rsample + vjp {t_ir:7.1f}"
                f"   Gamma kernels + NumPy {t_c:7.1f} (x{t_c / t_ir:4.2f})")
        if t_t:
            line += f"   torch rsample + backward {t_t[0]:7.1f} (x{t_t[0] / t_ir:4.2f})"
        print(line, flush=True)


if __name__ == "__main__":
    main()
