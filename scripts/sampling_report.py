"""Pictures of the samplers against their distributions: histograms of irgen's samples over
the densities (Gamma, Gamma in log space, von Mises, float64 and float32), and the Monte
Carlo mean of an implicit gradient converging to d/dalpha E[f(z)] by quadrature; with the
Kolmogorov-Smirnov p-value of each histogram's samples. Needs matplotlib (the `plot`
extra); writes results/sampling.png.

    python scripts/sampling_report.py
"""
import sys
from pathlib import Path

import numpy as np
from scipy import integrate, special, stats

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import irgen.generated.gamma as g  # noqa: E402
import irgen.generated.von_mises as v  # noqa: E402
from test_sampling import log_gamma_cdf  # noqa: E402  (the reference the tests use)

N = 1 << 20


def log_gamma_pdf(alpha):
    """Density of log z for z ~ Gamma(alpha, 1)."""
    return lambda y: np.exp(alpha * y - np.exp(y) - special.gammaln(alpha))


def panels():
    """(title, samples float64, samples float32, pdf, cdf, x range)."""
    out = []
    for alpha in (0.5, 5.0):
        a = np.full(N, alpha)
        out.append((f"Gamma({alpha:g}, 1)", g.sample(a, 1.0, seed=1),
                    g.sample(a.astype(np.float32), 1.0, seed=1),
                    stats.gamma(alpha).pdf, stats.gamma(alpha).cdf,
                    (0, stats.gamma(alpha).ppf(0.999))))
    alpha = 1e-3
    a = np.full(N, alpha)
    y64 = g.log_sample(a, 1.0, seed=1)
    out.append((f"log z, z ~ Gamma({alpha:g}, 1)", y64,
                g.log_sample(a.astype(np.float32), 1.0, seed=1), log_gamma_pdf(alpha),
                log_gamma_cdf(alpha, 1.0), tuple(np.quantile(y64, [0.001, 0.999]))))
    for mu, kappa in ((0.0, 0.5), (0.0, 5.0), (0.0, 50.0), (3.0, 2.0)):   # the last wraps
        k = np.full(N, kappa)
        ref = stats.vonmises(kappa, loc=mu)
        out.append((f"von Mises({mu:g}, {kappa:g})", v.sample(mu, k, seed=1),
                    v.sample(np.float32(mu), k.astype(np.float32), seed=1), ref.pdf,
                    lambda x, r=ref: np.mod(r.cdf(x) - r.cdf(-np.pi), 1.0), (-np.pi, np.pi)))
    return out


def gradient_curve():
    """Running mean of f'(z) dz/dalpha, f = log1p, z ~ Gamma(0.3, 1.5), and the quadrature
    value of d/dalpha E[f(z)]."""
    alpha, beta = 0.3, 1.5
    z, (da, _) = g.rsample(np.full(N, alpha), beta, seed=7)
    est = da / (1 + z)

    def mean(a):
        return integrate.quad(lambda t: np.log1p(t) * stats.gamma.pdf(t, a, scale=1 / beta),
                              0, np.inf, epsabs=0, epsrel=1e-12, limit=200)[0]
    h = 1e-4 * alpha
    want = (mean(alpha + h) - mean(alpha - h)) / (2 * h)
    n = np.arange(1, N + 1)
    running = np.cumsum(est) / n
    se = est.std() / np.sqrt(n)
    return n, running, se, want


def main():
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        sys.exit("matplotlib is needed: pip install -e '.[plot]'")
    items = panels()
    fig, axes = plt.subplots(2, 4, figsize=(17, 7.5))
    for ax, (title, z64, z32, pdf, cdf, (lo, hi)) in zip(axes.flat, items):
        bins = np.linspace(lo, hi, 81)
        ax.hist(z64, bins=bins, density=True, alpha=0.5, label="irgen float64")
        ax.hist(z32.astype(np.float64), bins=bins, density=True, histtype="step",
                color="k", label="irgen float32")
        x = np.linspace(lo, hi, 400)
        ax.plot(x, pdf(x), "r", lw=1.2, label="density")
        p64 = stats.kstest(z64[:100000], cdf).pvalue
        p32 = stats.kstest(z32[:100000].astype(np.float64), cdf).pvalue
        ax.set_title(f"{title}\nKS p = {p64:.2f} (float64), {p32:.2f} (float32)", fontsize=9)
        print(f"{title:32s} KS p-value on 1e5 samples: float64 {p64:.3f}, float32 {p32:.3f}")
    axes.flat[0].legend(fontsize=8, loc="upper right")
    n, running, se, want = gradient_curve()
    ax = axes.flat[-1]
    ax.semilogx(n, running, lw=1, label="mean of f'(z) dz/dalpha (irgen rsample)")
    ax.fill_between(n, want - 2 * se, want + 2 * se, color="0.85", label="quadrature +- 2 SE")
    ax.axhline(want, color="r", lw=1, label="d/dalpha E[log(1 + z)], quadrature")
    ax.set_ylim(want - 0.5 * abs(want), want + 0.5 * abs(want))
    ax.set_title("Gamma(0.3, 1.5): the implicit gradient is unbiased", fontsize=9)
    ax.set_xlabel("samples")
    ax.legend(fontsize=7, loc="upper right")
    print(f"gradient: Monte Carlo mean {running[-1]:.6f} +- {se[-1]:.6f}, quadrature {want:.6f}")
    fig.suptitle(f"irgen samplers: {N} samples each (seed 1), histograms over the densities")
    fig.tight_layout()
    out = ROOT / "results" / "sampling.png"
    out.parent.mkdir(exist_ok=True)
    fig.savefig(out, dpi=110)
    print(f"wrote {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
