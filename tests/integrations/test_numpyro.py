"""irgen.numpyro against NumPyro's own classes and against exact posteriors
(examples/numpyro_svi.py's three models)."""
import sys

import numpy as np
import pytest
from scipy import stats

jax = pytest.importorskip("jax")
numpyro = pytest.importorskip("numpyro")
import jax.numpy as jnp  # noqa: E402
import numpyro.distributions as dist  # noqa: E402
from numpyro import handlers  # noqa: E402

import irgen.numpyro as ind  # noqa: E402
from cases import TORCH  # noqa: E402  (the classes and their typical arguments)
from paths import ROOT  # noqa: E402

sys.path.insert(0, str(ROOT / "examples"))
import numpyro_svi as E  # noqa: E402


def _params(values):
    return [v * (1 + 0.05 * jnp.arange(3.0)) for v in values]


@pytest.mark.parametrize("name", sorted(TORCH))
def test_each_class_follows_numpyros_conventions(name):
    values = _params(TORCH[name].torch_typical)
    ours, theirs = getattr(ind, name)(*values), getattr(dist, name)(*values)
    assert (ours.batch_shape, ours.event_shape) == (theirs.batch_shape, theirs.event_shape)
    assert ours.has_rsample and set(ours.reparametrized_params) == set(ours.arg_constraints)
    assert set(ours.arg_constraints) == set(theirs.arg_constraints)

    def model():
        with numpyro.plate("outer", 4, dim=-2):
            a = numpyro.sample("a", getattr(ind, name)(*values))
        b = numpyro.sample("b", getattr(ind, name)(*values).expand((5, 3)).to_event(1))
        return a, b

    trace = handlers.trace(handlers.seed(model, 0)).get_trace()
    assert trace["a"]["value"].shape == (4, 3) and trace["b"]["value"].shape == (5, 3)
    x = theirs.sample(jax.random.key(1), (2,))
    assert ours.log_prob(x).shape == theirs.log_prob(x).shape == (2, 3)
    # a distribution is a pytree: it crosses jit
    lp = jax.jit(lambda d, x: d.log_prob(x))(ours, x)
    assert np.array_equal(lp, ours.log_prob(x), equal_nan=True)
    assert np.allclose(ours.mean, theirs.mean, equal_nan=True)
    # entropy: NumPyro's closed form where it has one; von Mises against scipy
    if name == "VonMises":
        want = [stats.vonmises(float(k)).entropy() for k in values[1]]
        assert np.allclose(ours.entropy(), want, rtol=1e-5)
    elif type(theirs).entropy is not dist.Distribution.entropy:
        assert np.allclose(ours.entropy(), theirs.entropy(), rtol=1e-6)
    # icdf: the quantile kernel, where the CDF has an inverse on the real line
    q = jnp.array([0.1, 0.5, 0.93])
    z = ours.icdf(q)
    assert z.shape == (3,) and np.allclose(ours.cdf(z), q, rtol=1e-5), name


def test_dirichlet_truncated_and_mixture_shapes():
    alpha = jnp.array([[1.0, 2.0, 3.0], [0.5, 0.5, 4.0]])
    d = ind.Dirichlet(alpha)
    z = d.sample(jax.random.key(0), (4,))
    assert z.shape == (4, 2, 3) and d.log_prob(z).shape == (4, 2)
    assert np.allclose(d.log_prob(z), dist.Dirichlet(alpha).log_prob(z), rtol=1e-5)
    assert np.allclose(d.entropy(), [stats.dirichlet(np.asarray(a)).entropy() for a in alpha],
                       rtol=1e-5)
    t = ind.Truncated(ind.Gamma(jnp.array([2.0, 5.0]), 1.0), 0.5, 3.0)
    z = t.sample(jax.random.key(1), (1000,))
    assert z.shape == (1000, 2) and bool(((z >= 0.5) & (z <= 3.0)).all())
    q = jnp.array([0.2, 0.7])
    assert np.allclose(t.cdf(t.icdf(q)), q, rtol=1e-5)
    assert np.allclose(t.cdf(jnp.array([0.4, 3.5])), [0.0, 1.0])
    m = ind.MixtureSameFamily(dist.Categorical(logits=jnp.zeros((2, 3))),
                              ind.Normal(jnp.zeros((2, 3)), 1.0))
    assert m.sample(jax.random.key(2), (5,)).shape == (5, 2) and m.has_rsample
    with pytest.raises(TypeError):
        ind.Truncated(dist.Gamma(2.0, 1.0), 0.5, 3.0)


def test_kl_divergences_are_numpyros_and_the_von_mises_one_is_exact():
    """kl_divergence between irgen.numpyro classes, or one of them and NumPyro's own class,
    is NumPyro's closed form; the von Mises one (which NumPyro lacks) against quadrature;
    TraceMeanField_ELBO takes them (with nothing observed, its loss is the divergence)."""
    from numpyro.distributions.kl import kl_divergence as kl
    from scipy import integrate
    pairs = [("Normal", (0.3, 1.2), (1.0, 0.7)), ("Gamma", (2.0, 3.0), (1.0, 0.5)),
             ("Beta", (2.0, 3.0), (0.7, 1.5))]
    for name, a, b in pairs:
        want = kl(getattr(dist, name)(*a), getattr(dist, name)(*b))
        for p, q in [(getattr(ind, name)(*a), getattr(ind, name)(*b)),
                     (getattr(ind, name)(*a), getattr(dist, name)(*b)),
                     (getattr(dist, name)(*a), getattr(ind, name)(*b))]:
            assert np.allclose(kl(p, q), want, rtol=1e-6), name
    alpha, beta = jnp.array([1.0, 2.0, 0.5]), jnp.array([2.0, 2.0, 1.0])
    assert np.allclose(kl(ind.Dirichlet(alpha), ind.Dirichlet(beta)),
                       kl(dist.Dirichlet(alpha), dist.Dirichlet(beta)), rtol=1e-6)
    with pytest.raises(NotImplementedError):
        kl(ind.Gamma(2.0, 1.0), ind.Normal(0.0, 1.0))
    got = kl(ind.VonMises(0.3, jnp.array([0.5, 5.0])), ind.VonMises(-0.2, 2.0))
    for k, g in zip((0.5, 5.0), np.asarray(got)):
        p, q = stats.vonmises(k, loc=0.3), stats.vonmises(2.0, loc=-0.2)
        want = integrate.quad(lambda x: p.pdf(x) * (p.logpdf(x) - q.logpdf(x)),
                              -np.pi, np.pi, epsabs=1e-12)[0]
        assert abs(g - want) < 1e-5 * max(1.0, want)

    def model():
        numpyro.sample("z", ind.Gamma(2.0, 1.0))

    def guide():
        numpyro.sample("z", ind.Gamma(3.0, 2.0))

    loss = numpyro.infer.TraceMeanField_ELBO().loss(jax.random.key(0), {}, model, guide)
    assert np.allclose(loss, kl(dist.Gamma(3.0, 2.0), dist.Gamma(2.0, 1.0)), rtol=1e-6)


@pytest.mark.parametrize("x64", [False, True], ids=["float32", "float64"])
def test_svi_recovers_the_exact_von_mises_posterior(x64):
    with jax.enable_x64(x64):
        x, (loc, conc) = E.angles()
        params, _ = E.fit(E.angle_model, E.angle_guide, x, steps=1000, progress=False)
        assert params["loc"].dtype == (jnp.float64 if x64 else jnp.float32)
    assert abs(float(params["loc"]) - loc) < 0.02
    assert abs(float(params["conc"]) / conc - 1) < 0.05


def test_svi_learns_a_truncated_gamma():
    y, (a, b) = E.counts()
    params, _ = E.fit(E.rate_model, E.rate_guide, y, steps=1000, progress=False)
    assert abs(float(params["a"]) / a - 1) < 0.05 and abs(float(params["b"]) / b - 1) < 0.05


def test_svi_learns_a_mixture():
    w, m, s = E.mixture_posterior()
    params, _ = E.fit(E.mixture_model, E.mixture_guide, jnp.array(E.Y), steps=1000, lr=0.1,
                      final_lr=0.001, progress=False)
    order = np.argsort(np.asarray(params["mu"]))
    assert np.allclose(np.asarray(jax.nn.softmax(params["logits"]))[order], w, atol=0.03)
    assert np.allclose(np.asarray(params["mu"])[order], m, atol=0.05)
    assert np.allclose(np.asarray(params["sigma"])[order], s, rtol=0.05)
