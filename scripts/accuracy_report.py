"""Accuracy of the implicit gradients against the mpmath fixtures, as a Markdown table and,
where matplotlib is installed, a plot of relative error against the parameter
(results/accuracy.png).

    python scripts/accuracy_report.py
"""
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

import irgen.generated.gamma as g  # noqa: E402
import irgen.generated.von_mises as v  # noqa: E402
from conftest import load_fixture  # noqa: E402

TARGETS = {  # (max relative, mean absolute) the tests assert; None: not asserted
    ("gamma", "draws"): (5e-14, 2.5e-15), ("gamma", "tails"): (5e-14, None),
    ("gamma", "grid"): (1e-13, None), ("gamma", "draws32"): (1e-5, 5e-7),
    ("von_mises", "draws"): (1e-12, None), ("von_mises", "tails"): (1e-10, None),
    ("von_mises", "draws32"): (1e-5, 2e-8), ("von_mises", "grid"): (1e-10, None),
}
LABELS = {"draws": "float64, z drawn", "tails": "float64, tails", "grid": "float64, grid",
          "draws32": "float32, z drawn"}
COLORS = {"draws": "tab:blue", "tails": "tab:orange", "grid": "tab:green",
          "draws32": "tab:red"}
RANGES = {"gamma": "alpha in [1e-3, 1e3]", "von_mises": "kappa in [1e-2, 1e3]"}


def errors(name, set_name, s):
    f32 = set_name.endswith("32")
    t = np.float32 if f32 else np.float64
    z, p = s["z"].astype(t), s["param"].astype(t)
    if name == "gamma":
        d, _ = g.implicit_grad(z, p, t(1))
    else:
        _, d = v.implicit_grad(z, t(0), p)
    # at the median of the symmetric von Mises dz/dkappa is exactly 0; mpmath's numerical
    # derivative gives ~1e-50 there, so those points are left out of relative errors
    keep = ~((name == "von_mises") & (s["z"] == 0.0))
    err = np.abs(d.astype(float) - s["dz"])[keep]
    return err / np.abs(s["dz"][keep]), err


def main():
    rows, points = [], []
    for name, what in (("gamma", "dz/dalpha"), ("von_mises", "dz/dkappa")):
        ref = load_fixture(name)
        for set_name in ("draws", "tails", "grid", "draws32"):
            if set_name not in ref:
                continue
            rel, ab = errors(name, set_name, ref[set_name])
            mx, mean = TARGETS[(name, set_name)]
            rng = RANGES[name]
            if set_name == "grid":
                rng = "alpha in [1e-3, 1e4]" if name == "gamma" else "kappa in [1e-3, 1e3]"
            rows.append(f"| {name} {what}, {LABELS[set_name]}, {rng} | {len(rel)} | "
                        f"{rel.max():.1e} / {ab.mean():.1e} | "
                        f"{mx:.2g} / {'-' if mean is None else f'{mean:.2g}'} |")
            keep = ~((name == "von_mises") & (ref[set_name]["z"] == 0.0))
            points.append((name, set_name, ref[set_name]["param"][keep], rel))
    print("| quantity | n | max rel / mean abs | target |")
    print("|---|---|---|---|")
    print("\n".join(rows))
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("\n(matplotlib not installed: no plot)")
        return
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    for ax, name, xlabel in ((axes[0], "gamma", "alpha"), (axes[1], "von_mises", "kappa")):
        for n, set_name, p, rel in points:
            if n != name:
                continue
            ax.scatter(p, np.maximum(rel, 1e-18), s=4, alpha=0.5, label=LABELS[set_name],
                       color=COLORS[set_name])
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel("relative error of the implicit gradient (0 shown as 1e-18)")
        ax.set_title(f"{name}: irgen against mpmath (40 digits)")
        ax.axhline(2.2e-16, color="grey", lw=0.8, ls="--")
        ax.legend(markerscale=3, fontsize=8)
    out = ROOT / "results" / "accuracy.png"
    out.parent.mkdir(exist_ok=True)
    fig.savefig(out, dpi=110)
    print(f"\nplot: {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
