"""Variance of the Beta reparameterization gradient: through Beta's own CDF (irgen's implicit
gradient) against the usual route through two Gamma samples, z = Ga / (Ga + Gb) with
dz/da = z (1 - z) (dGa/da) / Ga (Gamma's implicit gradient, as TensorFlow Probability and
PyTorch compute Beta's rsample).

Both estimate d/da E[f(z)] without bias. The CDF route is the conditional expectation of the
Gamma route given z, so its variance is lower (Rao-Blackwell); this measures by how much,
for f(z) = z and f(z) = z^2, over a grid of shapes, with the same number of draws, in one
run. Prints the ratio (Gamma route's variance over the CDF route's; above 1: the CDF route
is better), writes results/beta_variance.md and, with matplotlib, results/beta_variance.png.

    python benchmarks/beta_variance.py [--n N]
"""
import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import irgen.generated.beta as be  # noqa: E402
import irgen.generated.gamma as ga  # noqa: E402

SHAPES = (0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)


def through_cdf(a, b, n, seed):
    z, (da, _) = be.rsample(a, b, size=n, seed=seed)
    return z, da


def through_gammas(a, b, n, seed):
    g, (dg, _) = ga.rsample(a, 1.0, size=n, seed=seed)
    h = ga.sample(b, 1.0, size=n, seed=seed + 1)
    z = g / (g + h)
    return z, z * (1 - z) * dg / g


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1 << 18)
    args = ap.parse_args()
    lines = [f"Var of the estimate of d/da E[f(z)], z ~ Beta(a, b), {args.n} draws each; "
             f"ratio = Gamma route / CDF route (above 1: irgen's CDF route is better)", "",
             "| a | b | f | CDF route | two Gammas | ratio | both means vs exact |",
             "|---|---|---|---|---|---|---|"]
    print("\n".join(lines), flush=True)
    curves = {}
    for b in (1.0, 10.0):
        for i, a in enumerate(SHAPES):
            z1, d1 = through_cdf(a, b, args.n, 100 + i)
            z2, d2 = through_gammas(a, b, args.n, 200 + i)
            s = a + b
            d_second = ((2 * a + 1) * s * (s + 1) - a * (a + 1) * (2 * s + 1)) / (s * (s + 1)) ** 2
            for name, df, exact in (("z", lambda z: 1.0, b / s ** 2),
                                    ("z^2", lambda z: 2 * z, d_second)):
                g1, g2 = df(z1) * d1, df(z2) * d2
                v1, v2 = g1.var(), g2.var()
                se = max(g1.std(), g2.std()) / np.sqrt(args.n)
                check = f"{(g1.mean() - exact) / se:+.1f} / {(g2.mean() - exact) / se:+.1f} se"
                row = f"| {a:g} | {b:g} | {name} | {v1:.3e} | {v2:.3e} | {v2 / v1:.2f} | {check} |"
                print(row, flush=True)
                lines.append(row)
                curves.setdefault((b, name), []).append((a, v1, v2))
    out = ROOT / "results" / "beta_variance.md"
    out.write_text("\n".join(lines) + "\n\n`python benchmarks/beta_variance.py`\n")
    print(f"wrote {out}")
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("matplotlib not installed: no plot")
        return
    fig, ax = plt.subplots(figsize=(6.5, 4))
    for i, b in enumerate((1.0, 10.0)):
        for name, style in (("z", "o-"), ("z^2", "s--")):
            a, v1, v2 = map(np.array, zip(*curves[(b, name)]))
            ax.semilogx(a, v2 / v1, style, color=f"C{i}", label=f"b = {b:g}, f = {name}")
    ax.axhline(1.0, color="gray", lw=0.8)
    ax.set_xlabel("a")
    ax.set_ylabel("variance through two Gammas / through Beta's CDF")
    ax.set_title("Beta(a, b): gradient of E[f(z)] in a, same draws count")
    ax.legend(fontsize=8)
    fig.tight_layout()
    png = ROOT / "results" / "beta_variance.png"
    fig.savefig(png, dpi=120)
    print(f"wrote {png}")


if __name__ == "__main__":
    main()
