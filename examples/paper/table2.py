"""The paper's Table 2: accuracy and speed of dz/dalpha for Gamma and dz/dkappa for von
Mises, by every method on the same inputs in one run.

Accuracy against mpmath at 40 digits: the test suite's committed fixtures
(tests/fixtures/{gamma,von_mises}.npz, made by `python scripts/make_fixtures.py`): alpha
log-uniform in [1e-3, 1e3] and kappa in [1e-2, 1e3], z drawn from the distribution (float32
rows: the same kind of draws rounded to float32, the references at the rounded inputs).
Rows: irgen's generated kernels; central finite differences of the CDF (scipy's gammainc,
scipy.stats.vonmises.cdf) with the relative step found by a grid search for the lowest
mean absolute error; Knowles' approximation (examples/paper/baselines.py);
torch._standard_gamma_grad (Jankowiak and Obermeyer's approximation) where torch is
installed; jax.lax.random_gamma_grad where JAX is, and TensorFlow Probability's von Mises
gradient where it is (its JAX substrate). Time: ns per element on one core, the fixture
inputs tiled to N elements, medians of interleaved rounds.

    python examples/paper/table2.py [--quick]

writes results/paper/table2.md and results/paper/table2_accuracy.png (the relative error of
each method against the parameter and the CDF level of z, the fixtures' tails included in
float64)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import baselines as B  # noqa: E402
import report  # noqa: E402
from conftest import load_fixture  # noqa: E402

import irgen.generated.gamma as gamma  # noqa: E402
import irgen.generated.von_mises as von_mises  # noqa: E402

DTYPES = {"float64": np.float64, "float32": np.float32}
STEPS = {"float64": 10.0 ** -np.arange(1, 13), "float32": 10.0 ** -np.arange(1, 7)}


def _optional(name):
    try:
        return __import__(name)
    except ImportError:
        return None


def methods(dist: str, dtype: str, z, p, steps: dict) -> dict:
    """name -> function of (z, p) giving dz/dparameter in z's dtype."""
    t = DTYPES[dtype]
    if dist == "gamma":
        found = {"irgen": lambda z, p: gamma.implicit_grad(z, p, t(1))[0],
                 f"finite differences (step {steps[dist, dtype]:.0e})":
                     lambda z, p: B.fd_gamma(z, p, steps[dist, dtype]),
                 "Knowles (2015)": B.knowles_gamma}
        torch = _optional("torch")
        if torch is not None:
            found["torch._standard_gamma_grad"] = lambda z, p: torch._standard_gamma_grad(
                torch.from_numpy(p), torch.from_numpy(z)).numpy()
        jax = _optional("jax")
        if jax is not None:
            jax.config.update("jax_enable_x64", True)
            import jax.numpy as jnp
            grad = jax.jit(jax.lax.random_gamma_grad)
            found["jax.lax.random_gamma_grad"] = lambda z, p: np.asarray(
                grad(jnp.asarray(p), jnp.asarray(z)).block_until_ready())
        return found
    found = {"irgen": lambda z, p: von_mises.implicit_grad(z, t(0), p)[1],
             f"finite differences (step {steps[dist, dtype]:.0e})":
                 lambda z, p: B.fd_von_mises(z, p, steps[dist, dtype])}
    tfp = _tfp()
    if tfp is not None:
        found["TensorFlow Probability (JAX)"] = tfp
    return found


def _tfp():
    """TensorFlow Probability's von Mises dz/dkappa (its CDF's series or normal
    approximation, differentiated by JAX), where its JAX substrate is installed and
    imports with the JAX at hand."""
    try:
        import jax
        import jax.numpy as jnp
        from tensorflow_probability.substrates import jax as tfp
        cdf = tfp.distributions.von_mises.von_mises_cdf     # loaded here, lazily
    except Exception:           # absent, or built for another JAX (AttributeError)
        return None
    jax.config.update("jax_enable_x64", True)

    @jax.jit
    def grad(z, k):
        dF = jax.grad(lambda k: jnp.sum(cdf(z, k)))(k)
        return -dF / jnp.exp(tfp.distributions.VonMises(0.0, k).log_prob(z))
    return lambda z, p: np.asarray(grad(jnp.asarray(z), jnp.asarray(p)).block_until_ready())


def errors(got, want, keep):
    got = np.asarray(got, dtype=float)[keep]
    want = want[keep]
    err = np.abs(got - want)
    rel = err / np.abs(want)
    bad = ~np.isfinite(got)
    return (float(np.mean(np.where(bad, np.inf, err))),
            float(np.max(np.where(bad, np.inf, rel))), rel)


def best_step(dist, dtype, z, p, want, keep):
    """The relative step of the central differences with the lowest mean absolute error."""
    fd = B.fd_gamma if dist == "gamma" else B.fd_von_mises
    scores = {}
    for h in STEPS[dtype]:
        with np.errstate(all="ignore"):
            scores[h] = errors(fd(z, p, h), want, keep)[0]
    return min(scores, key=scores.get)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true", help="2^14 elements, 3 rounds (< 2 min)")
    ap.add_argument("--n", type=int, help="elements timed (default 2^20, --quick 2^14)")
    ap.add_argument("--out", type=Path, default=report.OUT,
                    help="folder for the table and the pictures (default results/paper)")
    args = ap.parse_args(argv)
    report.OUT = args.out
    n = args.n or (1 << 14 if args.quick else 1 << 20)
    repeat = 3 if args.quick else 9
    say = report.Progress()
    report.one_core()
    sets = {("gamma", "float64"): "draws", ("gamma", "float32"): "draws32",
            ("von_mises", "float64"): "draws", ("von_mises", "float32"): "draws32"}
    rows, maps, steps = [], {}, {}
    for (dist, dtype), set_name in sets.items():
        ref = load_fixture(dist)[set_name]
        t = DTYPES[dtype]
        z, p, want = ref["z"].astype(t), ref["param"].astype(t), ref["dz"]
        # at the von Mises median dz/dkappa is exactly 0: no relative error there
        keep = ~((dist == "von_mises") & (ref["z"] == 0.0))
        steps[dist, dtype] = best_step(dist, dtype, z, p, want, keep)
        found = methods(dist, dtype, z, p, steps)
        say(f"{dist} {dtype}: {len(z)} points against mpmath; finite-difference step "
            f"{steps[dist, dtype]:.0e}; timing {', '.join(found)} on {n} elements")
        tiles = -(-n // len(z))
        zt, pt = np.tile(z, tiles)[:n], np.tile(p, tiles)[:n]
        times = report.ns_per_element({k: (lambda f=f: f(zt, pt)) for k, f in found.items()},
                                      n, repeat)
        # the map adds the tails (CDF levels 1e-12 to 1e-4 on either side) to the draws
        tails = load_fixture(dist)["tails"] if dtype == "float64" else None
        for name, f in found.items():
            with np.errstate(all="ignore"):
                mean_abs, max_rel, rel = errors(f(z, p), want, keep)
                where = (ref["param"][keep], ref["F"][keep], rel)
                if tails is not None:
                    tz, tp = tails["z"], tails["param"]
                    tkeep = ~((dist == "von_mises") & (tz == 0.0))
                    trel = errors(f(tz, tp), tails["dz"], tkeep)[2]
                    where = tuple(np.concatenate([w, x]) for w, x in
                                  zip(where, (tp[tkeep], tails["F"][tkeep], trel)))
            maps[dist, dtype, name] = where
            rows.append([f"{dist} d{'z/dalpha' if dist == 'gamma' else 'z/dkappa'}", dtype,
                         name, f"{mean_abs:.1e}", f"{max_rel:.1e}", f"{times[name]:.1f}",
                         f"{times[name] / times['irgen']:.2f}"])
    skipped = []
    if _optional("jax") is None:
        skipped.append("jax.lax.random_gamma_grad (JAX is not installed)")
    if _tfp() is None:
        skipped.append("TensorFlow Probability's von Mises gradient (its JAX substrate is "
                       "not installed, or does not import with the JAX installed)")
    text = "\n".join([
        "# Table 2: accuracy and speed of the implicit gradients", "",
        f"`python examples/paper/table2.py{' --quick' if args.quick else ''}` on "
        f"{report.machine()}; "
        f"{report.versions(*(() if _tfp() is None else ('tensorflow_probability',)))}. "
        "Errors against mpmath at 40 digits "
        "(tests/fixtures: Gamma alpha log-uniform in [1e-3, 1e3], von Mises kappa in "
        "[1e-2, 1e3], z drawn from the distribution); time in ns per element on one core, "
        f"{n} elements, medians of {repeat} interleaved rounds; the last column is the "
        "time over irgen's.", "",
        report.table(["gradient", "dtype", "method", "mean abs error", "max rel error",
                      "ns / element", "time / irgen's"], rows), ""]
        + ([f"Not run: {'; '.join(skipped)}.", ""] if skipped else []))
    path = report.write("table2.md", text)
    print(text)
    picture = accuracy_map(maps)
    say(f"wrote {report.shown(path)}"
        + (f" and {report.shown(picture)}" if picture else " (no matplotlib)"))
    return rows


def accuracy_map(maps):
    """Relative error against the parameter and the CDF level, one panel per method."""
    plt = report.pyplot()
    if plt is None:
        return None
    panels = [k for k in maps if k[1] == "float64"] + [k for k in maps if k[1] == "float32"]
    cols = max(sum(1 for k in panels if k[:2] == (d, t)) for d, t, _ in panels)
    groups = list(dict.fromkeys(k[:2] for k in panels))
    fig, axes = plt.subplots(len(groups), cols, figsize=(3.6 * cols, 3.2 * len(groups)),
                             squeeze=False, constrained_layout=True)
    for row, group in enumerate(groups):
        names = [k for k in panels if k[:2] == group]
        for col in range(cols):
            ax = axes[row, col]
            if col >= len(names):
                ax.axis("off")
                continue
            dist, dtype, name = names[col]
            param, F, rel = maps[names[col]]
            shown = np.log10(np.clip(np.nan_to_num(rel, nan=1.0, posinf=1.0), 1e-17, 1.0))
            sc = ax.scatter(param, np.clip(F, 1e-16, 1 - 1e-16), c=shown, s=3, cmap="viridis",
                            vmin=-17, vmax=0)
            ax.set_xscale("log")
            ax.set_yscale("logit")
            ax.set_title(f"{dist} {dtype}\n{name}", fontsize=8)
            ax.set_xlabel("alpha" if dist == "gamma" else "kappa", fontsize=8)
            ax.set_ylabel("CDF level of z", fontsize=8)
            ax.tick_params(labelsize=7)
        fig.colorbar(sc, ax=axes[row, :], label="log10 relative error", shrink=0.8)
    path = report.OUT / "table2_accuracy.png"
    fig.savefig(path, dpi=100)
    return path


if __name__ == "__main__":
    main()
