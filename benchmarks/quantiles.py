"""Quantile kernels against scipy, side by side in one run, on one thread.

icdf of the built-ins against scipy.special's inverses (Gamma: gammaincinv, Beta:
betaincinv, Student-t: stdtrit, Normal: ndtri), with each one's largest error against
mpmath's findroot on the committed fixtures (tests/fixtures/quantiles.npz) where they cover
the family; users' DSL distributions (the log-logistic and noncentral chi-squared
examples, built into a temporary folder) against scipy.stats' generic rv_continuous.ppf of
the same CDF (root finding on _cdf); and truncated Normal and Gamma rsample with all gradients (irgen.compose.truncated,
which draws through the compiled quantile) against scipy's truncnorm.rvs and gamma.ppf of a
uniform between F(low) and F(high), draws alone. ns per element, medians of runs taken in
turn; (x ratio) = scipy's time / irgen's (above 1: irgen is faster).

    python benchmarks/quantiles.py [--n N] [--repeat R] [--out results/quantiles.md]
"""
import argparse
import math
import sys
import tempfile
from pathlib import Path

import numpy as np
from scipy import special, stats

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from irgen import build  # noqa: E402
from irgen.compose.truncated import truncated  # noqa: E402
import irgen.generated.beta as beta  # noqa: E402
import irgen.generated.gamma as gamma  # noqa: E402
import irgen.generated.normal as normal  # noqa: E402
import irgen.generated.student_t as student_t  # noqa: E402
from irgen.runtime import set_num_threads  # noqa: E402
from timing import cpu_name, interleaved_ns  # noqa: E402


def _log_uniform(rng, lo, hi, n):
    return np.exp(rng.uniform(np.log(lo), np.log(hi), n))


def _fixture_errors(module, scipy_inverse):
    """(irgen's, scipy's) largest |z - z_mpmath| / |z_mpmath| in ulps on the fixtures."""
    path = ROOT / "tests" / "fixtures" / "quantiles.npz"
    data = np.load(path)
    if f"{module.name}:u" not in data.files:
        return None
    u, want = data[f"{module.name}:u"], data[f"{module.name}:z"]
    # (the fixtures hold the shape parameters; a rate or scale left out is 1)
    params = [data.get(f"{module.name}:p{i}", 1.0) for i in range(len(module.params))]
    # in units of what the problem itself allows: an ulp of z, times |d log z / d log F|
    # (1 + |log F|), the error a correct log F's rounding moves z by (near u = 1/2 a
    # Normal quantile is near 0, where relative error means nothing)
    level = np.where(u > 0.5, np.log1p(-u), np.log(u))
    unit = np.finfo(np.float64).eps * np.abs(want) * np.maximum(
        1, data[f"{module.name}:cond"] * (1 + np.abs(level)))
    ours = np.abs(module.icdf(u, *params) - want) / unit
    with np.errstate(all="ignore"):
        theirs = np.abs(scipy_inverse(u, *params) - want) / unit
    return float(np.nanmax(ours)), float(np.nanmax(np.where(np.isnan(theirs), np.inf, theirs)))


def _builtins(args, rng, rows):
    n = args.n
    u = rng.random(n)
    a, b = _log_uniform(rng, 0.1, 10, n), _log_uniform(rng, 0.1, 10, n)
    df = _log_uniform(rng, 0.5, 100, n)
    cases = [
        ("Gamma icdf, alpha log-uniform in [0.1, 10]", gamma, (a, 1.0),
         "scipy.special.gammaincinv", lambda: special.gammaincinv(a, u),
         lambda u, a, r: special.gammaincinv(a, u) / r),
        ("Beta icdf, a and b log-uniform in [0.1, 10]", beta, (a, b),
         "scipy.special.betaincinv", lambda: special.betaincinv(a, b, u),
         lambda u, a, b: special.betaincinv(a, b, u)),
        ("Student-t icdf, df log-uniform in [0.5, 100]", student_t, (df, 0.0, 1.0),
         "scipy.special.stdtrit", lambda: special.stdtrit(df, u),
         lambda u, df, mu, s: mu + s * special.stdtrit(df, u)),
        ("Normal icdf", normal, (0.0, 1.0), "scipy.special.ndtri", lambda: special.ndtri(u),
         lambda u, mu, s: mu + s * special.ndtri(u)),
    ]
    for label, module, params, base_name, base, inverse in cases:
        fs = [lambda m=module, p=params: m.icdf(u, *p), base]
        t_ir, t_sc = interleaved_ns(fs, n, args.repeat)
        errs = _fixture_errors(module, inverse)
        err = (f"; worst error on the mpmath fixtures: irgen {errs[0]:.2g}, scipy "
               f"{errs[1]:.2g} (conditioned ulps)" if errs else "")
        print(f"  {label}: irgen {t_ir:7.0f}   {base_name} {t_sc:7.0f} "
              f"(x{t_sc / t_ir:5.2f}){err}", flush=True)
        rows.append((label, f"{t_ir:.0f}", base_name, f"{t_sc:.0f}", f"{t_sc / t_ir:.2f}x",
                     f"{errs[0]:.1f} / {errs[1]:.1f}" if errs else "-"))


def _user(args, rng, rows):
    """Users' DSL distributions, built into a temporary folder, against rv_continuous.ppf
    of the same CDF (scipy's generic root finding on _cdf, what a distribution of one's own
    gets there): the log-logistic example (no quantile_guess: the generic start) and the
    noncentral chi-squared example (a Poisson mixture of Gamma CDFs, no closed-form
    quantile; checked against scipy's own ncx2.ppf)."""
    with tempfile.TemporaryDirectory() as out:
        build.build([str(ROOT / "examples" / f) for f in ("loglogistic.py",
                                                         "noncentral_chi2.py")],
                    out, log=lambda *a: None, cuda_binaries=False)
        ll = build.load_generated(Path(out), "loglogistic")
        nc = build.load_generated(Path(out), "noncentral_chi2")

        class LogLogistic(stats.rv_continuous):
            def _cdf(self, x, c):
                return 1 / (1 + x ** -c)

        class Noncentral(stats.rv_continuous):
            def _cdf(self, x, k, lam):
                return stats.ncx2.cdf(x, k, lam)

        n_small = max(args.n // 1024, 32)       # the generic ppf is slow
        u = rng.random(n_small)
        c = _log_uniform(rng, 0.5, 20, n_small)
        k, lam = _log_uniform(rng, 0.5, 20, n_small), _log_uniform(rng, 0.1, 50, n_small)
        exact = (u / (1 - u)) ** (1 / c)
        cases = [("log-logistic, beta log-uniform in [0.5, 20]",
                  lambda: ll.icdf(u, 1.0, c), LogLogistic(a=0.0, name="ll").ppf, (u, c),
                  exact, "the closed form"),
                 ("noncentral chi-squared, k in [0.5, 20], lam in [0.1, 50]",
                  lambda: nc.icdf(u, k, lam), Noncentral(a=0.0, name="nc").ppf, (u, k, lam),
                  stats.ncx2.ppf(u, k, lam), "scipy's ncx2.ppf")]
        for what, ours, generic, gargs, want, against in cases:
            t_ir, t_sc = interleaved_ns([ours, lambda g=generic, a=gargs: g(*a)], n_small,
                                        max(3, args.repeat // 3))
            err = np.max(np.abs(ours() - want) / want)
            label = f"User DSL {what}: icdf"
            print(f"  {label}: irgen {t_ir:7.0f}   rv_continuous.ppf {t_sc:9.0f} "
                  f"(x{t_sc / t_ir:7.1f}); largest relative difference from {against} "
                  f"{err:.1e}", flush=True)
            rows.append((label, f"{t_ir:.0f}", "generic rv_continuous.ppf", f"{t_sc:.0f}",
                         f"{t_sc / t_ir:.0f}x", f"{err:.1e} (from {against})"))


WINDOWS = [(normal, (0.0, 1.0, -1.0, 2.0)), (normal, (0.0, 1.0, 3.0, math.inf)),
           (normal, (0.0, 1.0, 10.0, math.inf)), (normal, (0.0, 1.0, -math.inf, -6.0)),
           (gamma, (3.0, 1.0, 1.0, 10.0)), (gamma, (0.5, 1.0, 5.0, math.inf))]


def _truncation(args, rows):
    n = args.n
    for base, window in WINDOWS:
        t = truncated(base)
        if base is normal:
            loc, scale, low, high = window
            a, b = (low - loc) / scale, (high - loc) / scale

            def theirs():
                return stats.truncnorm.rvs(a, b, loc, scale, size=n, random_state=1)
            base_name = "truncnorm.rvs"
        else:
            shape, rate, low, high = window
            g = stats.gamma(shape, scale=1 / rate)
            lo, hi = g.cdf(low), g.cdf(high)
            r = np.random.default_rng(1)

            def theirs():
                return g.ppf(lo + (hi - lo) * r.random(n))
            base_name = "gamma.ppf of a uniform"
        t_ir, t_sc = interleaved_ns([lambda: t.rsample(*window, size=n, seed=1), theirs], n,
                                    args.repeat)
        label = f"Truncated {base.name} {window}: rsample with all gradients"
        print(f"  {label}: irgen {t_ir:6.0f}   {base_name} (draws only) {t_sc:6.0f} "
              f"(x{t_sc / t_ir:4.2f})", flush=True)
        rows.append((label, f"{t_ir:.0f}", f"{base_name} (draws only)", f"{t_sc:.0f}",
                     f"{t_sc / t_ir:.2f}x", "-"))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=2 ** 16)
    ap.add_argument("--repeat", type=int, default=9)
    ap.add_argument("--out", default=str(ROOT / "results" / "quantiles.md"))
    args = ap.parse_args()
    set_num_threads(1)
    rng = np.random.default_rng(0)
    print(f"{cpu_name()}, one thread, {args.n} elements; ns per element, median of "
          f"{args.repeat}", flush=True)
    rows = []
    _builtins(args, rng, rows)
    _user(args, rng, rows)
    _truncation(args, rows)
    lines = [f"# Quantile kernels against scipy ({cpu_name()}, one thread, {args.n} elements)",
             "", "`python benchmarks/quantiles.py`; ns per element, medians of runs taken in "
             "turn; ratio: scipy's time / irgen's (above 1: irgen is faster). Errors: the "
             "largest on the mpmath fixtures, irgen / scipy, in ulps of z times "
             "max(1, |d log z / d log F| (1 + |log F|)), the error a correct log F's "
             "rounding moves z by.", "",
             "| what | irgen | baseline | baseline time | ratio | error |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {w} | {t} | {b} | {bt} | {r} | {e} |" for w, t, b, bt, r, e in rows]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
