"""Two models a Pyro user would write, fitted by SVI with irgen's guides (irgen.pyro) and with
the best guides Pyro has for them, side by side.

(a) An angle with a von Mises prior, observed through von Mises noise:
        theta ~ VonMises(0.5, 2),   x_i ~ VonMises(theta, 4),   i = 1..20.
    The posterior is von Mises, VonMises(arg c, |c|) with c = 2 e^{0.5 i} + 4 sum_i e^{i x_i},
    so a von Mises guide can be exact. irgen's VonMises guide is reparameterized; Pyro's
    own VonMises has no rsample, so SVI takes the score-function estimator for it; Pyro's
    documented workaround is a ProjectedNormal guide on the unit circle (the model's angle
    then a unit vector). Reported: the fitted guides against the exact posterior, the ELBO's
    gap to the exact log evidence (the guide's KL divergence from the posterior), and the
    variance of the ELBO's gradient at the start and at the exact posterior.

(b) A positive latent, a half-normal prior, Normal observations:
        s ~ HalfNormal(1),   y_i ~ Normal(s, 1),   i = 1..10,   data drawn with s = 0.3.
    The posterior is a Normal truncated to (0, inf), so irgen's Truncated(Normal(m, v), 0, inf)
    guide can be exact; Pyro has no reparameterized truncated Normal, and its best positive
    guides are LogNormal (what AutoNormal fits on the log scale) and Gamma.

    python examples/pyro_svi.py [--steps N] [--quick] [--out results/pyro]

Needs the `pyro` extra (pyro-ppl, torch); matplotlib for the picture. Prints progress and
writes OUT/svi.md and OUT/svi.png."""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import pyro
import pyro.distributions as dist
import torch
from pyro.distributions.torch_distribution import TorchDistribution
from pyro.infer import SVI, Trace_ELBO
from pyro.optim import ClippedAdam
from scipy import special, stats
from pyro.distributions import constraints

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import irgen.pyro as ipd  # noqa: E402

MU0, K0, KX, N_ANGLES, THETA = 0.5, 2.0, 4.0, 20, 1.0
S0, SY, N_POSITIVE, S_TRUE = 1.0, 1.0, 10, 0.3
CURVE = (1.0, 3.0, 10.0, 30.0, 70.8, 200.0)      # guide concentrations of the variance curve


# (a) the angle ---------------------------------------------------------------------------

def angles(dtype=torch.float64, seed=0):
    """The observations, the exact posterior (loc, concentration) and the log evidence."""
    torch.manual_seed(seed)
    x = dist.VonMises(torch.tensor(THETA, dtype=dtype), torch.tensor(KX, dtype=dtype)).sample(
        (N_ANGLES,))
    xs = x.double().numpy()
    c = K0 * np.exp(1j * MU0) + KX * np.exp(1j * xs).sum()
    log_z = (np.log(special.i0e(abs(c))) + abs(c) - np.log(special.i0e(K0)) - K0
             - N_ANGLES * (math.log(2 * math.pi) + np.log(special.i0e(KX)) + KX))
    return x, (float(np.angle(c)), float(abs(c))), float(log_z)


def angle_model(x):
    t = torch.zeros((), dtype=x.dtype)
    theta = pyro.sample("theta", dist.VonMises(t + MU0, t + K0))
    with pyro.plate("data", len(x)):
        pyro.sample("x", dist.VonMises(theta, t + KX), obs=x)


def _angle_params(x, loc, conc):
    return (pyro.param("loc", torch.tensor(loc, dtype=x.dtype)),
            pyro.param("conc", torch.tensor(conc, dtype=x.dtype),
                       constraint=constraints.positive))


def irgen_guide(x, loc=0.0, conc=1.0):
    """irgen's von Mises: reparameterized in loc and concentration."""
    pyro.sample("theta", ipd.VonMises(*_angle_params(x, loc, conc)))


def pyro_guide(x, loc=0.0, conc=1.0):
    """Pyro's von Mises: no rsample, so SVI differentiates it by the score function."""
    pyro.sample("theta", dist.VonMises(*_angle_params(x, loc, conc)))


class CircleVonMises(TorchDistribution):
    """The prior on the unit circle: a von Mises density in arc length at u = (cos, sin)
    of the angle, what the ProjectedNormal workaround needs as its model's prior."""
    arg_constraints = {}
    support = constraints.sphere

    def __init__(self, loc, concentration, validate_args=None):
        self.loc, self.concentration = loc, concentration
        super().__init__(torch.Size(), torch.Size([2]), validate_args=validate_args)

    def log_prob(self, u):
        k = self.concentration
        return (k * (u[..., 0] * math.cos(self.loc) + u[..., 1] * math.sin(self.loc))
                - math.log(2 * math.pi) - math.log(special.i0e(k)) - k)

    def sample(self, sample_shape=torch.Size()):
        t = dist.VonMises(torch.tensor(self.loc), torch.tensor(self.concentration)).sample(
            sample_shape)
        return torch.stack([t.cos(), t.sin()], -1)


def circle_model(x):
    u = pyro.sample("u", CircleVonMises(MU0, K0))
    theta = torch.atan2(u[..., 1], u[..., 0])
    with pyro.plate("data", len(x)):
        pyro.sample("x", dist.VonMises(theta, torch.tensor(KX, dtype=x.dtype)), obs=x)


def projected_guide(x, loc=0.0, conc=1.0):
    """Pyro's workaround: a ProjectedNormal on the circle, its parameter a vector whose
    direction is the location (started where the von Mises guides start)."""
    c = pyro.param("direction", torch.tensor([conc * math.cos(loc), conc * math.sin(loc)],
                                             dtype=x.dtype))
    pyro.sample("u", dist.ProjectedNormal(c))


ANGLE_GUIDES = {"irgen VonMises (rsample)": (angle_model, irgen_guide),
                "Pyro VonMises (score function)": (angle_model, pyro_guide),
                "Pyro ProjectedNormal (rsample)": (circle_model, projected_guide)}


# (b) the positive latent -----------------------------------------------------------------

def positives(dtype=torch.float64, seed=0):
    """The observations, the exact posterior (the Normal's mean and sd before truncation at
    0) and the log evidence."""
    rng = np.random.default_rng(seed)
    y = S_TRUE + SY * rng.standard_normal(N_POSITIVE)
    precision = 1 / S0 ** 2 + N_POSITIVE / SY ** 2
    m, sd = y.sum() / SY ** 2 / precision, precision ** -0.5
    cov = SY ** 2 * np.eye(N_POSITIVE) + S0 ** 2
    log_z = (math.log(2) + stats.multivariate_normal(np.zeros(N_POSITIVE), cov).logpdf(y)
             + stats.norm.logcdf(m / sd))
    return torch.tensor(y, dtype=dtype), (float(m), float(sd)), float(log_z)


def positive_model(y):
    t = torch.zeros((), dtype=y.dtype)
    s = pyro.sample("s", dist.HalfNormal(t + S0))
    with pyro.plate("data", len(y)):
        pyro.sample("y", dist.Normal(s, t + SY), obs=y)


def _pair(y, first, second):
    return (pyro.param("a", torch.tensor(first, dtype=y.dtype)),
            pyro.param("b", torch.tensor(second, dtype=y.dtype),
                       constraint=constraints.positive))


def truncated_guide(y):
    """irgen's Normal truncated to (0, inf): the posterior's own family."""
    loc, scale = _pair(y, 1.0, 1.0)
    pyro.sample("s", ipd.Truncated(ipd.Normal(loc, scale), 0.0, math.inf))


def lognormal_guide(y):
    pyro.sample("s", dist.LogNormal(*_pair(y, 0.0, 1.0)))


def gamma_guide(y):
    a, b = _pair(y, 1.0, 1.0)
    pyro.sample("s", dist.Gamma(a.exp(), b))      # a: log concentration


POSITIVE_GUIDES = {"irgen Truncated(Normal, 0, inf)": truncated_guide,
                   "Pyro LogNormal": lognormal_guide,
                   "Pyro Gamma": gamma_guide}


# fitting and measuring -------------------------------------------------------------------

def fit(model, guide, data, steps=1000, particles=32, lr=0.3, final_lr=0.003, seed=0,
        label="", progress=True):
    """SVI with ClippedAdam, lr decayed geometrically to final_lr; returns the unconstrained
    parameters' final values and the seconds per step (after the first ten)."""
    pyro.clear_param_store()
    pyro.set_rng_seed(seed)
    elbo = Trace_ELBO(num_particles=particles, vectorize_particles=True, max_plate_nesting=1)
    svi = SVI(model, guide, ClippedAdam({"lr": lr, "lrd": (final_lr / lr) ** (1 / steps)}),
              elbo)
    warm = min(10, steps // 2)          # steps not timed: the first calls load kernels
    for i in range(steps):
        if i == warm:
            start = time.perf_counter()
        loss = svi.step(data)
        if progress and (i + 1) % max(1, steps // 5) == 0:
            print(f"  {label}: step {i + 1}/{steps}, loss {loss:.3f}", flush=True)
    seconds = (time.perf_counter() - start) / (steps - warm)
    return {k: v.detach().clone() for k, v in pyro.get_param_store().items()}, seconds


def elbo_estimate(model, guide, data, params, draws=20000, seed=1):
    """The ELBO at params, by `draws` vectorised particles (no gradients)."""
    _set(params)
    pyro.set_rng_seed(seed)
    elbo = Trace_ELBO(num_particles=draws, vectorize_particles=True, max_plate_nesting=1)
    with torch.no_grad():
        return -elbo.loss(model, guide, data)


def _set(params):
    store = pyro.get_param_store()
    store.clear()
    for k, v in params.items():
        store[k] = v.clone()


def gradient_variance(model, guide, data, params=None, estimates=500, seed=2):
    """The variance of one-draw estimates of the ELBO's gradient in the unconstrained
    parameters, summed over them (the trace of its covariance), at params (or the guide's
    initial values)."""
    pyro.clear_param_store()
    if params is not None:
        _set(params)
    pyro.set_rng_seed(seed)
    elbo = Trace_ELBO()
    grads = []
    for _ in range(estimates):
        loss = elbo.differentiable_loss(model, guide, data)
        unconstrained = [p.unconstrained() for p in pyro.get_param_store().values()]
        grads.append(torch.cat([g.reshape(-1) for g in torch.autograd.grad(loss,
                                                                            unconstrained)]))
    return float(torch.stack(grads).var(0).sum())


def _angle_summary(params):
    """(location, concentration) of a fitted angle guide; the ProjectedNormal's as the
    circular mean and the concentration of the von Mises with its mean resultant length."""
    if "direction" in params:
        d = params["direction"]
        u = dist.ProjectedNormal(d).sample((200000,))
        r = u.mean(0)
        length = float(r.norm())
        return float(torch.atan2(r[1], r[0])), _kappa_of(length)
    return float(params["loc"]), float(params["conc"])


def _kappa_of(length):
    """The von Mises concentration whose mean resultant length I1/I0 is length."""
    from scipy.optimize import brentq
    return brentq(lambda k: special.i1e(k) / special.i0e(k) - length, 1e-8, 1e6)


def run_angles(steps=1000, dtype=torch.float64, estimates=500, progress=True):
    x, (loc, conc), log_z = angles(dtype)
    rows = []
    for name, (model, guide) in ANGLE_GUIDES.items():
        params, seconds = fit(model, guide, x, steps, label=name, progress=progress)
        fitted = _angle_summary(params)
        gap = log_z - elbo_estimate(model, guide, x, params)
        at_start = gradient_variance(model, guide, x, estimates=estimates)
        at_exact = (float("nan") if "direction" in params else
                    gradient_variance(model, lambda d: guide(d, loc, conc), x,
                                      estimates=estimates))
        rows.append(dict(guide=name, loc=fitted[0], conc=fitted[1], gap=gap,
                         var_start=at_start, var_exact=at_exact, ms=seconds * 1e3))
    return rows, (loc, conc), log_z


def variance_curve(concentrations, dtype=torch.float64, estimates=500):
    """The gradient variance of irgen's guide and of Pyro's score-function guide at the exact
    posterior's location and each concentration: (concentrations, irgen's, Pyro's)."""
    x, (loc, _), _ = angles(dtype)
    rows = []
    for k in concentrations:
        rows.append([gradient_variance(angle_model, lambda d, g=g: g(d, loc, k), x,
                                       estimates=estimates)
                     for g in (irgen_guide, pyro_guide)])
    ours, theirs = zip(*rows)
    return list(concentrations), list(ours), list(theirs)


def run_positives(steps=1000, dtype=torch.float64, progress=True):
    y, (m, sd), log_z = positives(dtype)
    exact_mean = float(stats.truncnorm(-m / sd, np.inf, m, sd).mean())
    rows = []
    for name, guide in POSITIVE_GUIDES.items():
        params, seconds = fit(positive_model, guide, y, steps, label=name, progress=progress)
        gap = log_z - elbo_estimate(positive_model, guide, y, params)
        _set(params)
        pyro.set_rng_seed(3)
        with torch.no_grad():
            tr = pyro.poutine.trace(guide).get_trace(y)
            mean = float(tr.nodes["s"]["fn"].sample((200000,)).mean())
        rows.append(dict(guide=name, mean=mean, gap=gap, ms=seconds * 1e3, params=params))
    return rows, (m, sd, exact_mean), log_z


# report ----------------------------------------------------------------------------------

def report(angle_rows, exact, curve, positive_rows, positive_exact, steps, out):
    loc, conc = exact
    m, sd, mean = positive_exact
    irgen_row = angle_rows[0]
    score_row = angle_rows[1]
    lines = [
        "# Pyro SVI with irgen's guides (examples/pyro_svi.py)", "",
        f"Measured by `python examples/pyro_svi.py --steps {steps}` (float64; SVI with "
        "ClippedAdam, 32 vectorised particles, learning rate 0.3 decayed to 0.003; "
        "ELBOs from 20000 draws; gradient variances from 500 one-draw estimates, summed "
        f"over the unconstrained parameters). torch {torch.__version__}, "
        f"pyro-ppl {pyro.__version__}.", "",
        "## (a) An angle: von Mises prior, von Mises observations", "",
        f"Exact posterior: VonMises({loc:.4f}, {conc:.3f}).", "",
        "| guide | fitted location | fitted concentration | KL(q, posterior) (nats) "
        "| grad variance at start | at the exact posterior | ms per step |",
        "|---|---|---|---|---|---|---|"]
    for r in angle_rows:
        exact_var = "-" if math.isnan(r["var_exact"]) else f"{r['var_exact']:.3g}"
        lines.append(f"| {r['guide']} | {r['loc']:.4f} | {r['conc']:.3f} | {r['gap']:.4f} "
                     f"| {r['var_start']:.3g} | {exact_var} | {r['ms']:.2f} |")
    lines += [
        "", f"Gradient variance, Pyro's score-function guide over irgen's, at the same "
            f"parameters: {score_row['var_start'] / irgen_row['var_start']:.0f}x at the "
            f"start, {score_row['var_exact'] / irgen_row['var_exact']:.0f}x at the exact "
            "posterior. The ProjectedNormal's location and concentration are its circular "
            "mean and the von Mises concentration of its mean resultant length; its "
            "gradient is in its own parameter (a 2-vector), so its variances compare only "
            "roughly.", "",
        "The same at the exact location and other concentrations (the picture's middle "
        "panel):", "",
        "| guide concentration | irgen | Pyro score function | ratio |", "|---|---|---|---|"]
    lines += [f"| {k:.3g} | {a:.3g} | {b:.3g} | {b / a:.0f}x |" for k, a, b in zip(*curve)]
    lines += [
        "", "## (b) A positive latent: half-normal prior, Normal observations", "",
        f"Exact posterior: Normal({m:.4f}, {sd:.4f}) truncated to (0, inf), mean {mean:.4f}.",
        "", "| guide | mean | KL(q, posterior) (nats) | ms per step |", "|---|---|---|---|"]
    for r in positive_rows:
        lines.append(f"| {r['guide']} | {r['mean']:.4f} | {r['gap']:.4f} | {r['ms']:.2f} |")
    lines += ["", "KL(q, posterior) = log evidence - ELBO, with the exact log evidence; "
              "its Monte Carlo error is about 1e-3 nats.", ""]
    out.mkdir(parents=True, exist_ok=True)
    (out / "svi.md").write_text("\n".join(lines))
    print("\n".join(lines))


def plot(angle_rows, exact, curve, positive_rows, positive_exact, out):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        print("(no matplotlib: no picture)")
        return
    fig, (left, middle, right) = plt.subplots(1, 3, figsize=(16, 4))
    t = np.linspace(exact[0] - 0.8, exact[0] + 0.8, 400)
    left.plot(t, stats.vonmises(exact[1], loc=exact[0]).pdf(t), "k", lw=3, label="exact")
    for r in angle_rows:
        left.plot(t, stats.vonmises(r["conc"], loc=r["loc"]).pdf(t), label=r["guide"])
    left.set(xlabel="theta (rad)", ylabel="density", title="(a) the angle's posterior")
    left.legend(fontsize=7)
    k, ours, theirs = curve
    middle.loglog(k, ours, "o-", label="irgen VonMises (rsample)")
    middle.loglog(k, theirs, "s-", label="Pyro VonMises (score function)")
    middle.axvline(exact[1], color="k", lw=0.8, ls=":")
    middle.set(xlabel="guide concentration (location exact; dotted: exact)",
               ylabel="variance of the ELBO gradient", title="(a) gradient variance")
    middle.legend(fontsize=7)
    m, sd, _ = positive_exact
    s = np.linspace(1e-4, m + 4 * sd, 400)
    right.plot(s, stats.truncnorm(-m / sd, np.inf, m, sd).pdf(s), "k", lw=3, label="exact")
    for r in positive_rows:
        p = r["params"]
        a, b = float(p["a"]), float(p["b"])
        if r["guide"].startswith("irgen"):
            pdf = stats.truncnorm(-a / b, np.inf, a, b).pdf(s)
        elif "LogNormal" in r["guide"]:
            pdf = stats.lognorm(b, scale=math.exp(a)).pdf(s)
        else:
            pdf = stats.gamma(math.exp(a), scale=1 / b).pdf(s)
        right.plot(s, pdf, label=r["guide"])
    right.set(xlabel="s", title="(b) the positive latent's posterior")
    right.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(out / "svi.png", dpi=120)
    print(f"wrote {out / 'svi.png'}")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="200 steps, 100 estimates")
    parser.add_argument("--out", type=Path, default=ROOT / "results" / "pyro")
    args = parser.parse_args(argv)
    steps, estimates = (200, 100) if args.quick else (args.steps, 500)
    print("(a) the angle")
    angle_rows, exact, _ = run_angles(steps, estimates=estimates)
    print("(a) gradient variance against the guide's concentration")
    curve = variance_curve(CURVE, estimates=estimates)
    print("(b) the positive latent")
    positive_rows, positive_exact, _ = run_positives(steps)
    report(angle_rows, exact, curve, positive_rows, positive_exact, steps, args.out)
    plot(angle_rows, exact, curve, positive_rows, positive_exact, args.out)


if __name__ == "__main__":
    main()
