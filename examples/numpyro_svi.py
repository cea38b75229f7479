"""NumPyro SVI with irgen's reparameterized guides (irgen.numpyro), on three models whose
posteriors are known exactly, so that what each guide learns can be checked.

(a) An angle: theta ~ VonMises(0.5, 2), x_i ~ VonMises(theta, 4), i = 1..20. The posterior
    is VonMises(arg c, |c|), c = 2 e^{0.5 i} + 4 sum_i e^{i x_i}. irgen's VonMises guide is
    reparameterized in both parameters; NumPyro's own VonMises reparameterizes only its
    location and its sampler is a while loop, which reverse mode cannot differentiate
    (numpyro issue 1726): its SVI stops with that error, reported here.
(b) A bounded rate: lam ~ Gamma(2, 1) truncated to [0, 3], y_i ~ Poisson(lam), i = 1..30.
    The posterior is Gamma(2 + sum y, 1 + 30) truncated to [0, 3]; the guide is irgen's
    Truncated(Gamma(a, b), 0, 3), which NumPyro cannot truncate (its truncation takes six
    symmetric families).
(c) A mean under a mixture prior: z ~ 0.5 N(-3, 0.5^2) + 0.5 N(3, 0.5^2), y ~ N(z, 1), y = 0.5
    observed once. The posterior is a mixture of two Normals; the guide is irgen's
    MixtureSameFamily(Categorical(logits), Normal(mu, sigma)), whose draws NumPyro's own
    mixture cannot differentiate.

    python examples/numpyro_svi.py [--steps N]

Needs the `numpyro` extra. Prints progress and the fitted guides against the exact
posteriors."""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import numpyro
import numpyro.distributions as dist
from numpyro.distributions import constraints
from numpyro.infer import SVI, Trace_ELBO

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import irgen.numpyro as ind  # noqa: E402

MU0, K0, KX, N_ANGLES = 0.5, 2.0, 4.0, 20
A0, B0, CAP, N_COUNTS = 2.0, 1.0, 3.0, 30
MEANS, PRIOR_SD, Y = (-3.0, 3.0), 0.5, 0.5


# (a) ---------------------------------------------------------------------------------------
def angles(seed=0):
    """The observations and the exact posterior (loc, concentration)."""
    x = dist.VonMises(1.0, KX).sample(jax.random.key(seed), (N_ANGLES,))
    c = K0 * np.exp(1j * MU0) + KX * np.exp(1j * np.asarray(x, float)).sum()
    return x, (float(np.angle(c)), float(abs(c)))


def angle_model(x):
    theta = numpyro.sample("theta", dist.VonMises(MU0, K0))
    with numpyro.plate("data", x.shape[0]):
        numpyro.sample("x", dist.VonMises(theta, KX), obs=x)


def angle_guide(x, family=ind.VonMises):
    loc = numpyro.param("loc", jnp.zeros((), x.dtype))
    conc = numpyro.param("conc", jnp.ones((), x.dtype), constraint=constraints.positive)
    numpyro.sample("theta", family(loc, conc))


# (b) ---------------------------------------------------------------------------------------
def counts(seed=0):
    """The observations and the exact posterior's Gamma (shape, rate) before truncation."""
    y = dist.Poisson(1.7).sample(jax.random.key(seed), (N_COUNTS,))
    return y, (A0 + float(y.sum()), B0 + N_COUNTS)


def rate_model(y):
    lam = numpyro.sample("lam", ind.Truncated(ind.Gamma(A0, B0), 0.0, CAP))
    with numpyro.plate("data", y.shape[0]):
        numpyro.sample("y", dist.Poisson(lam), obs=y)


def rate_guide(y):
    a = numpyro.param("a", 1.0, constraint=constraints.positive)
    b = numpyro.param("b", 1.0, constraint=constraints.positive)
    numpyro.sample("lam", ind.Truncated(ind.Gamma(a, b), 0.0, CAP))


# (c) ---------------------------------------------------------------------------------------
def mixture_posterior():
    """The exact posterior: (weights, means, standard deviations) of its two Normals."""
    means, v = np.array(MEANS), 1 / (1 / PRIOR_SD ** 2 + 1)
    # N(z; m, s^2) N(y; z, 1) = N(y; m, s^2 + 1) N(z; v (m / s^2 + y), v)
    log_w = -0.5 * (Y - means) ** 2 / (PRIOR_SD ** 2 + 1)
    w = np.exp(log_w - log_w.max())
    return w / w.sum(), v * (means / PRIOR_SD ** 2 + Y), np.full(2, math.sqrt(v))


def mixture_model(y):
    prior = dist.MixtureSameFamily(dist.Categorical(logits=jnp.zeros(2)),
                                   dist.Normal(jnp.array(MEANS), PRIOR_SD))
    z = numpyro.sample("z", prior)
    numpyro.sample("y", dist.Normal(z, 1.0), obs=y)


def mixture_guide(y):
    logits = numpyro.param("logits", jnp.zeros(2))
    mu = numpyro.param("mu", jnp.array(MEANS))           # the guide starts at the prior
    sigma = numpyro.param("sigma", jnp.full(2, PRIOR_SD), constraint=constraints.positive)
    numpyro.sample("z", ind.MixtureSameFamily(dist.Categorical(logits=logits),
                                              ind.Normal(mu, sigma)))


# fitting -----------------------------------------------------------------------------------
def fit(model, guide, data, steps=1000, particles=32, lr=0.3, final_lr=0.003, seed=1,
        label="", progress=True):
    """SVI with Adam, its step size decayed geometrically from lr to final_lr; the fitted
    parameters (constrained) and the seconds per step."""
    decay = (final_lr / lr) ** (1 / steps)
    svi = SVI(model, guide, numpyro.optim.Adam(lambda i: lr * decay ** i),
              Trace_ELBO(num_particles=particles))
    state = svi.init(jax.random.key(seed), data)
    step = jax.jit(svi.update)
    start = time.perf_counter()
    for i in range(steps):
        state, loss = step(state, data)
        if progress and (i + 1) % max(1, steps // 5) == 0:
            print(f"  {label}: step {i + 1}/{steps}, loss {float(loss):.3f}", flush=True)
    jax.block_until_ready(state)
    return svi.get_params(state), (time.perf_counter() - start) / steps


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, default=1000)
    args = parser.parse_args(argv)

    print("(a) the angle")
    x, (loc, conc) = angles()
    params, seconds = fit(angle_model, angle_guide, x, args.steps, label="irgen VonMises")
    print(f"  exact posterior VonMises({loc:.4f}, {conc:.3f}); irgen's guide "
          f"VonMises({float(params['loc']):.4f}, {float(params['conc']):.3f}), "
          f"{seconds * 1e3:.2f} ms per step")
    try:
        fit(angle_model, lambda d: angle_guide(d, dist.VonMises), x, 10,
            label="NumPyro VonMises", progress=False)
        print("  NumPyro's VonMises guide: fitted")
    except ValueError as e:
        print(f"  NumPyro's VonMises guide: {str(e).splitlines()[0]}")

    print("(b) the bounded rate")
    y, (a, b) = counts()
    params, seconds = fit(rate_model, rate_guide, y, args.steps, label="irgen Truncated")
    print(f"  exact posterior Gamma({a:.1f}, {b:.1f}) on [0, {CAP}]; irgen's guide "
          f"Gamma({float(params['a']):.2f}, {float(params['b']):.2f}) on [0, {CAP}], "
          f"{seconds * 1e3:.2f} ms per step")

    print("(c) the mean under a mixture prior")
    w, m, s = mixture_posterior()
    params, seconds = fit(mixture_model, mixture_guide, jnp.array(Y), args.steps, lr=0.1,
                          final_lr=0.001, label="irgen MixtureSameFamily")
    fitted = jax.nn.softmax(params["logits"])
    order = np.argsort(np.asarray(params["mu"]))
    print(f"  exact posterior: weights {np.round(w, 3)}, means {np.round(m, 3)}, sds "
          f"{np.round(s, 3)}")
    print(f"  irgen's guide:   weights {np.round(np.asarray(fitted)[order], 3)}, means "
          f"{np.round(np.asarray(params['mu'])[order], 3)}, sds "
          f"{np.round(np.asarray(params['sigma'])[order], 3)}, "
          f"{seconds * 1e3:.2f} ms per step")


if __name__ == "__main__":
    main()
