"""The paper's Figure 1: the variance of gradient estimators on toy cross-entropy problems,
implicit reparameterization (irgen) against RSVI (Naesseth et al. 2017).

Dirichlet: 100 dimensions; the posterior p = Dirichlet(1 + counts) of a uniform Dirichlet
prior after 100 categorical observations (counts drawn once, seed 0); q = Dirichlet with
every concentration alpha; the gradient of E_q[log p(z)] in alpha, from one draw of z per
estimate. irgen: the Dirichlet row kernel's draws and implicit gradients (one kernel call)
and the vector-Jacobian product; RSVI: Marsaglia and Tsang's sampler reparameterized, its
correction term, and shape augmentation B = 0 (alpha >= 1 only), 1, 5, 10 and 20.

von Mises: 10 dimensions, prior p = vonMises(0, 2) in each, q = vonMises(0, kappa) in each;
the gradient of E_q[log p(z)] in kappa. irgen: von Mises rsample's implicit gradients; RSVI:
Best and Fisher's sampler (wrapped Cauchy proposal) reparameterized through its accepted
uniforms, with its correction term (no shape augmentation exists for it).

Both estimators are unbiased (tests/integrations/test_paper.py checks them against the exact gradient);
what differs is the variance and the time. Variances from S single-draw estimates per
parameter value; times per estimate measured side by side.

    python examples/paper/variance.py [--quick]

writes results/paper/variance.md and results/paper/variance.png."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
from scipy import special

sys.path.insert(0, str(Path(__file__).resolve().parent))
import baselines as B  # noqa: E402
import report  # noqa: E402

import irgen.compose.dirichlet as dirichlet  # noqa: E402
import irgen.generated.von_mises as von_mises  # noqa: E402

K, N, D = 100, 100, 10
PRIOR_KAPPA = 2.0
AUGMENT = (0, 1, 5, 10, 20)


def dirichlet_problem(seed=0):
    """c = beta - 1 = the counts of the 100 observations, and log p(z) given log z."""
    rng = np.random.default_rng(seed)
    counts = rng.multinomial(N, rng.dirichlet(np.ones(K)))
    beta = 1.0 + counts
    const = special.gammaln(beta.sum()) - special.gammaln(beta).sum()
    c = beta - 1.0
    return c, lambda logz: logz @ c + const


def dirichlet_exact(alpha, c):
    """d/dalpha E_q[sum c_i log z_i] = sum(c) (psi'(alpha) - K psi'(K alpha))."""
    return c.sum() * (special.polygamma(1, alpha) - K * special.polygamma(1, K * alpha))


def dirichlet_implicit(alpha, c, S, seed):
    """S single-draw estimates from irgen: z, v from the row kernel; g . dz/dalpha_j =
    v_j (g_j - sum g z) with g = c / z, summed over the shared alpha's j."""
    z, v = dirichlet.rsample(np.full(K, alpha), size=S, seed=seed)
    return np.sum(dirichlet.vjp(z, v, c / z), axis=-1)


def dirichlet_rsvi(alpha, c, f, augment, S, rng):
    return B.rsvi_dirichlet_grad(alpha, K, c, f, augment, S, rng)


def von_mises_exact(kappa):
    """d/dkappa E_q[sum 2 cos z_d] = 2 D A'(kappa), A = I1 / I0, A' = 1 - A / kappa - A^2."""
    a = special.i1e(kappa) / special.i0e(kappa)
    return PRIOR_KAPPA * D * (1 - a / kappa - a * a)


def vm_f(theta):
    return PRIOR_KAPPA * np.sum(np.cos(theta), axis=-1)


def vm_fprime(theta):
    return -PRIOR_KAPPA * np.sin(theta)


def von_mises_implicit(kappa, S, seed):
    z, (_, dz) = von_mises.rsample(0.0, np.full((S, D), kappa), seed=seed)
    return np.sum(vm_fprime(z) * dz, axis=-1)


def von_mises_rsvi(kappa, S, rng):
    return B.rsvi_von_mises_grad(kappa, D, vm_fprime, vm_f, S, rng)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="fewer estimates and values (< 2 min)")
    ap.add_argument("--out", type=Path, default=report.OUT,
                    help="folder for the table and the pictures (default results/paper)")
    args = ap.parse_args(argv)
    report.OUT = args.out
    S = 1000 if args.quick else 20000
    points = 9 if args.quick else 25
    repeat = 3 if args.quick else 7
    say = report.Progress()
    report.one_core()
    rng = np.random.default_rng(1)
    c, f = dirichlet_problem()

    alphas = np.exp(np.linspace(np.log(0.2), np.log(10.0), points))
    dvar = {name: [] for name in ["irgen (implicit)"] + [f"RSVI B={b}" for b in AUGMENT]}
    dse = {name: [] for name in dvar}
    for i, alpha in enumerate(alphas):
        est = {"irgen (implicit)": dirichlet_implicit(alpha, c, S, seed=100 + i)}
        for b in AUGMENT:
            if alpha + b >= 1:
                est[f"RSVI B={b}"] = dirichlet_rsvi(alpha, c, f, b, S, rng)
        for name in dvar:
            v, se = variance_and_error(est.get(name))
            dvar[name].append(v)
            dse[name].append(se)
        say(f"Dirichlet alpha = {alpha:.3g}: variance irgen {dvar['irgen (implicit)'][-1]:.3g}"
            f", RSVI B=20 {dvar['RSVI B=20'][-1]:.3g} ({S} estimates each)")

    kappas = np.exp(np.linspace(np.log(0.1), np.log(100.0), points))
    vvar = {"irgen (implicit)": [], "RSVI (Best-Fisher)": []}
    for i, kappa in enumerate(kappas):
        vvar["irgen (implicit)"].append(np.var(von_mises_implicit(kappa, S, seed=200 + i)))
        vvar["RSVI (Best-Fisher)"].append(np.var(von_mises_rsvi(kappa, S, rng)))
        say(f"von Mises kappa = {kappa:.3g}: variance irgen {vvar['irgen (implicit)'][-1]:.3g}"
            f", RSVI {vvar['RSVI (Best-Fisher)'][-1]:.3g}")

    # time per estimate, side by side, at alpha = 1.5 and kappa = 2
    Ts = 200 if args.quick else 2000
    dtimes = report.ns_per_element(
        {"irgen (implicit)": lambda: dirichlet_implicit(1.5, c, Ts, seed=7),
         **{f"RSVI B={b}": (lambda b=b: dirichlet_rsvi(1.5, c, f, b, Ts, rng))
            for b in AUGMENT}}, Ts, repeat)
    vtimes = report.ns_per_element(
        {"irgen (implicit)": lambda: von_mises_implicit(2.0, Ts, seed=8),
         "RSVI (Best-Fisher)": lambda: von_mises_rsvi(2.0, Ts, rng)}, Ts, repeat)
    say("timed one estimate of each method")

    shown = [0, points // 4, points // 2, 3 * points // 4, points - 1]
    drows = [[name] + [_fmt(dvar[name][j]) for j in shown]
             + [f"{dtimes[name] / 1e3:.1f}", f"{dtimes[name] / dtimes['irgen (implicit)']:.1f}"]
             for name in dvar]
    vrows = [[name] + [_fmt(vvar[name][j]) for j in shown]
             + [f"{vtimes[name] / 1e3:.1f}", f"{vtimes[name] / vtimes['irgen (implicit)']:.1f}"]
             for name in vvar]
    ratio = np.array(dvar["irgen (implicit)"]) / np.array(dvar["RSVI B=20"])
    ratio_se = ratio * np.hypot(np.array(dse["irgen (implicit)"]) / dvar["irgen (implicit)"],
                                np.array(dse["RSVI B=20"]) / dvar["RSVI B=20"])
    worst = int(np.argmax(ratio))
    text = "\n".join([
        "# Figure 1: gradient variance, implicit reparameterization against RSVI", "",
        f"`python examples/paper/variance.py{' --quick' if args.quick else ''}` on "
        f"{report.machine()}; {report.versions()}. Variance of {S} single-draw estimates "
        "of the gradient at each parameter value; time per estimate (one draw of the whole "
        f"vector) in microseconds on one core, medians of {repeat} interleaved rounds, and "
        "over irgen's.", "",
        f"Dirichlet ({K} dimensions, alpha shared), d/dalpha E_q[log p(z)]; alpha = "
        + ", ".join(f"{alphas[j]:.3g}" for j in shown) + " (time at alpha = 1.5):", "",
        report.table(["estimator"] + [f"alpha = {alphas[j]:.3g}" for j in shown]
                     + ["us / estimate", "time / irgen's"], drows), "",
        f"irgen's variance over RSVI B=20's, the largest of the {points} values of alpha: "
        f"{ratio[worst]:.3f} +- {ratio_se[worst]:.3f} (one standard error) at alpha = "
        f"{alphas[worst]:.3g}; at alpha = {alphas[-1]:.3g}: {ratio[-1]:.3f}.", "",
        f"von Mises ({D} dimensions, kappa shared), d/dkappa E_q[log p(z)], prior "
        f"vonMises(0, {PRIOR_KAPPA:g}) (time at kappa = 2):", "",
        report.table(["estimator"] + [f"kappa = {kappas[j]:.3g}" for j in shown]
                     + ["us / estimate", "time / irgen's"], vrows), ""])
    path = report.write("variance.md", text)
    print(text)
    picture = plot(alphas, dvar, kappas, vvar)
    say(f"wrote {report.shown(path)}"
        + (f" and {report.shown(picture)}" if picture else " (no matplotlib)"))
    return dvar, vvar, dtimes, vtimes, ratio, ratio_se


def variance_and_error(g):
    """The sample variance of the estimates and its standard error, sqrt((m4 - v^2) / S);
    NaN where the estimator does not apply."""
    if g is None:
        return np.nan, np.nan
    d = g - g.mean()
    v = np.mean(d * d)
    return float(v), float(np.sqrt(max(np.mean(d ** 4) - v * v, 0.0) / len(g)))


def _fmt(v):
    return "-" if not np.isfinite(v) else f"{v:.3g}"


def plot(alphas, dvar, kappas, vvar):
    plt = report.pyplot()
    if plt is None:
        return None
    fig, axes = plt.subplots(1, 2, figsize=(11, 4), constrained_layout=True)
    for ax, x, var, label, title in (
            (axes[0], alphas, dvar, "alpha", f"Dirichlet, {K} dimensions"),
            (axes[1], kappas, vvar, "kappa", f"von Mises, {D} dimensions")):
        for name, values in var.items():
            style = dict(lw=2.5, color="k") if name.startswith("irgen") else dict(lw=1.2)
            ax.plot(x, values, marker="o", ms=3, label=name, **style)
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel(label)
        ax.set_ylabel("variance of the gradient estimate")
        ax.set_title(title)
        ax.legend(fontsize=8)
    path = report.OUT / "variance.png"
    fig.savefig(path, dpi=110)
    return path


if __name__ == "__main__":
    main()
