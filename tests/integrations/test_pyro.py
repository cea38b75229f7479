"""irgen.pyro against Pyro's own classes and against exact posteriors.

Conventions: in a model with nested plates, every class's draws, log densities, batch and
event shapes under to_event, expand, mask, observation and vectorised particles are those of
Pyro's class of the same distribution (for Truncated, of its base's); its draws are
reparameterized. Gradients: a draw inside pyro.sample, with its gradients, equals
irgen.torch's at the same seed. Inference: SVI with an irgen VonMises guide recovers the
exact posterior of a conjugate von Mises model (float32 and float64), its gradient variance
at least 10 times below the score-function estimator's of Pyro's VonMises guide; the
analytic KL TraceMeanField_ELBO takes agrees with quadrature; a truncated guide fits a
truncated posterior better than Pyro's positive guides."""
import math
import sys

import numpy as np
import pytest
from scipy import integrate, special, stats

torch = pytest.importorskip("torch")
pyro = pytest.importorskip("pyro")
import pyro.distributions as dist  # noqa: E402
from pyro import poutine  # noqa: E402
from pyro.distributions.torch_distribution import TorchDistributionMixin  # noqa: E402
from pyro.infer import Trace_ELBO, TraceMeanField_ELBO  # noqa: E402

import irgen.pyro as ipd  # noqa: E402
import irgen.torch as it  # noqa: E402
from cases import TORCH  # noqa: E402
from paths import ROOT  # noqa: E402

sys.path.insert(0, str(ROOT / "examples"))
import pyro_svi as E  # noqa: E402

BATCH = 3


def _params(values, dtype, grad=False):
    """One parameter per value, batch shape (3,), entries differing."""
    return [(v * (1 + 0.05 * torch.arange(BATCH, dtype=dtype))).requires_grad_(grad)
            for v in values]


def _families(dtype):
    """(name, a maker of irgen.pyro's distribution, a maker of Pyro's of the same shapes)."""
    out = []
    for name, case in sorted(TORCH.items()):
        values = case.torch_typical
        out.append((name, lambda c=getattr(ipd, name), v=values: c(*_params(v, dtype)),
                    lambda c=getattr(dist, name), v=values: c(*_params(v, dtype))))
    alpha = 1.5 + 0.1 * torch.arange(BATCH * 4, dtype=dtype).reshape(BATCH, 4)
    out.append(("Dirichlet", lambda: ipd.Dirichlet(alpha), lambda: dist.Dirichlet(alpha)))
    normal = _params((0.3, 1.5), dtype)
    out.append(("Truncated", lambda: ipd.Truncated(ipd.Normal(*normal), -0.5, 2.0),
                lambda: dist.Normal(*normal)))
    logits, a, b = torch.zeros(BATCH, 4, dtype=dtype), torch.full((BATCH, 4), 2.0,
                                                                   dtype=dtype), 1.5
    out.append(("MixtureSameFamily",
                lambda: ipd.MixtureSameFamily(dist.Categorical(logits=logits),
                                              ipd.Gamma(a, torch.tensor(b, dtype=dtype))),
                lambda: dist.MixtureSameFamily(dist.Categorical(logits=logits),
                                               dist.Gamma(a, torch.tensor(b, dtype=dtype)))))
    return out


def _shapes(make, observed):
    """What a model of nested plates records at each site: the value's shape and dtype, its
    log density's shape, the distribution's batch and event shapes, and where the log
    density is zero."""
    mask = torch.tensor([True, False, True])

    def model():
        with pyro.plate("outer", 4, dim=-3), pyro.plate("inner", 5, dim=-2):
            pyro.sample("plain", make())
            pyro.sample("event", make().to_event(1))
            pyro.sample("expanded", make().expand((2, BATCH)).to_event(1))
            pyro.sample("masked", make().mask(mask))
            pyro.sample("observed", make(), obs=observed)
        pyro.sample("unplated", make().to_event(1))

    trace = poutine.trace(model).get_trace()
    trace.compute_log_prob()
    out = {}
    for name, site in trace.nodes.items():
        if site["type"] == "sample" and not poutine.util.site_is_subsample(site):
            fn, value, lp = site["fn"], site["value"], site["log_prob"]
            out[name] = (value.shape, value.dtype, lp.shape, fn.batch_shape, fn.event_shape,
                         tuple((lp == 0).reshape(-1, lp.shape[-1]).any(0).tolist())
                         if lp.dim() else ())
    return out, trace


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
def test_each_class_follows_pyro_conventions(dtype):
    torch.manual_seed(0)
    for name, ours, theirs in _families(dtype):
        observed = theirs().sample()
        if name == "Truncated":
            observed = observed.clamp(-0.4, 1.9)
        got, trace = _shapes(ours, observed)
        want, _ = _shapes(theirs, observed)
        assert got == want, name
        d = ours()
        assert d.has_rsample and isinstance(d, TorchDistributionMixin), name
        assert d().shape == d.shape() == d.batch_shape + d.event_shape, name
        assert d.expand_by((2,)).batch_shape == (2,) + d.batch_shape, name
        for site in ("plain", "expanded", "unplated"):
            assert torch.isfinite(trace.nodes[site]["log_prob"]).all(), (name, site)


def test_draws_are_reparameterized_inside_pyro_sample():
    for name, case in sorted(TORCH.items()):
        params = _params(case.torch_typical, torch.float64, grad=True)

        def guide(c=getattr(ipd, name)):
            return pyro.sample("z", c(*params))

        z = poutine.trace(guide).get_trace().nodes["z"]["value"]
        assert z.requires_grad, name
        z.sum().backward()
        assert all(p.grad is not None and torch.isfinite(p.grad).all() for p in params), name


def test_rsample_under_pyro_equals_irgen_torch():
    """The same seed, the same draw and the same gradients through pyro.sample as through
    irgen.torch's class."""
    for name, case in sorted(TORCH.items()):
        results = []
        for cls in (getattr(ipd, name), getattr(it, name)):
            params = _params(case.torch_typical, torch.float64, grad=True)
            pyro.set_rng_seed(7)
            if cls.__module__ == "irgen.pyro":
                z = poutine.trace(lambda: pyro.sample("z", cls(*params))).get_trace() \
                    .nodes["z"]["value"]
            else:
                z = cls(*params).rsample()
            (z * torch.arange(1.0, BATCH + 1, dtype=z.dtype)).sum().backward()
            results.append([z.detach()] + [p.grad for p in params])
        for a, b in zip(*results):
            assert torch.equal(a, b), name


def test_truncated_and_mixtures_take_pyros_distributions():
    a, b = torch.tensor(2.0, requires_grad=True), torch.tensor(1.5, requires_grad=True)
    t = ipd.Truncated(dist.Gamma(a, b), 0.5, 2.0)
    assert isinstance(t, ipd.Truncated) and isinstance(t, TorchDistributionMixin)
    torch.manual_seed(3)
    z = t.rsample((1000,))
    assert ((z >= 0.5) & (z <= 2.0)).all()
    z.mean().backward()
    assert torch.isfinite(a.grad) and torch.isfinite(b.grad)
    torch.manual_seed(3)
    same = ipd.Truncated(ipd.Gamma(a, b), 0.5, 2.0).rsample((1000,))
    assert torch.equal(z.detach(), same.detach())
    m = ipd.MixtureSameFamily(dist.Categorical(logits=torch.zeros(2)),
                              dist.Normal(torch.tensor([-1.0, 1.0]), 0.5).to_event(0))
    assert m.rsample((5,)).shape == (5,)
    with pytest.raises(TypeError):
        ipd.Truncated(dist.Poisson(torch.tensor(2.0)), 0.0, 3.0)


def test_poutine_handlers():
    x, _, _ = E.angles(torch.float64)
    pyro.clear_param_store()
    guide_trace = poutine.trace(E.irgen_guide).get_trace(x)
    theta = guide_trace.nodes["theta"]["value"]
    replayed = poutine.trace(poutine.replay(E.angle_model, trace=guide_trace)).get_trace(x)
    assert replayed.nodes["theta"]["value"] is theta
    fixed = torch.tensor(0.7, dtype=torch.float64)
    conditioned = poutine.trace(poutine.condition(E.irgen_guide, {"theta": fixed})).get_trace(x)
    conditioned.compute_log_prob()
    assert conditioned.nodes["theta"]["value"] is fixed
    loc, conc = pyro.param("loc"), pyro.param("conc")
    want = stats.vonmises(conc.item(), loc=loc.item()).logpdf(0.7)
    assert conditioned.nodes["theta"]["log_prob"].item() == pytest.approx(want, rel=1e-13)
    scaled = poutine.trace(poutine.scale(E.irgen_guide, 0.25)).get_trace(x)
    scaled.compute_log_prob()
    lp = ipd.VonMises(loc, conc).log_prob(scaled.nodes["theta"]["value"])
    assert torch.allclose(scaled.nodes["theta"]["log_prob"], 0.25 * lp, rtol=1e-12)
    blocked = poutine.trace(poutine.block(E.irgen_guide, hide=["theta"])).get_trace(x)
    assert "theta" not in blocked.nodes


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64], ids=["float32", "float64"])
def test_svi_recovers_the_exact_von_mises_posterior(dtype):
    x, (loc, conc), _ = E.angles(dtype)
    params, _ = E.fit(E.angle_model, E.irgen_guide, x, steps=1000, particles=32, seed=0,
                      progress=False)
    assert params["loc"].dtype == dtype
    assert abs(float(params["loc"]) - loc) < 0.02
    assert abs(float(params["conc"]) / conc - 1) < 0.05


def test_gradient_variance_far_below_the_score_function():
    x, (loc, conc), _ = E.angles(torch.float64)
    variances = [E.gradient_variance(E.angle_model, lambda d, g=g: g(d, loc, conc), x,
                                     estimates=200)
                 for g in (E.irgen_guide, E.pyro_guide)]
    assert variances[1] > 10 * variances[0], variances


def test_mean_field_kl_against_quadrature():
    """TraceMeanField_ELBO takes the analytic KL between irgen's VonMises guide and Pyro's
    VonMises prior; it must be the divergence, and the ELBO it gives Trace_ELBO's."""
    p = ipd.VonMises(torch.tensor(0.9, dtype=torch.float64), torch.tensor(6.0,
                                                                         dtype=torch.float64))
    q = dist.VonMises(torch.tensor(0.5, dtype=torch.float64), torch.tensor(2.0,
                                                                          dtype=torch.float64))
    kl = float(torch.distributions.kl_divergence(p, q))

    def log_density(t, mu, k):
        return k * math.cos(t - mu) - math.log(2 * math.pi * special.i0e(k)) - k

    want, _ = integrate.quad(lambda t: math.exp(log_density(t, 0.9, 6.0))
                             * (log_density(t, 0.9, 6.0) - log_density(t, 0.5, 2.0)),
                             -math.pi, math.pi, epsabs=1e-13)
    assert kl == pytest.approx(want, rel=1e-10)
    x, (loc, conc), _ = E.angles(torch.float64)
    pyro.clear_param_store()
    pyro.set_rng_seed(0)

    def guide(data):
        E.irgen_guide(data, loc, conc)

    losses = [elbo(num_particles=20000, vectorize_particles=True, max_plate_nesting=1)
              .loss(E.angle_model, guide, x) for elbo in (TraceMeanField_ELBO, Trace_ELBO)]
    # at the exact posterior Trace_ELBO's estimate is exact (log p - log q is constant);
    # the mean-field one has the expected log likelihood's Monte Carlo error, ~0.005
    assert losses[0] == pytest.approx(losses[1], abs=0.025)


def test_truncated_guide_fits_a_truncated_posterior():
    y, (m, sd), log_z = E.positives(torch.float64)
    gaps = {}
    for name, guide in (("irgen", E.truncated_guide), ("lognormal", E.lognormal_guide)):
        params, _ = E.fit(E.positive_model, guide, y, steps=400, particles=16, seed=0,
                          progress=False)
        gaps[name] = log_z - E.elbo_estimate(E.positive_model, guide, y, params, draws=20000)
        if name == "irgen":
            assert abs(float(params["a"]) - m) < 0.05 and abs(float(params["b"]) / sd - 1) < 0.1
    assert gaps["irgen"] < 0.01 and gaps["lognormal"] > 5 * max(gaps["irgen"], 0.005), gaps
    assert np.isfinite(list(gaps.values())).all()


def test_from_module_makes_a_users_distribution_a_pyro_one(tmp_path):
    """The log-logistic example (a DSL file of the user's) as a Pyro distribution: in a
    plate, reparameterized, its gradients the generated module's implicit gradients."""
    from irgen.build import build, load_generated
    build([ROOT / "examples" / "loglogistic.py"], tmp_path, log=lambda *a: None,
          cuda_binaries=False)
    module = load_generated(tmp_path, "loglogistic")
    LogLogistic = ipd.from_module(module)
    params = [torch.tensor([1.0, 3.0], dtype=torch.float64, requires_grad=True),
              torch.tensor([2.0, 0.5], dtype=torch.float64, requires_grad=True)]

    def guide():
        with pyro.plate("draws", 300, dim=-2):
            return pyro.sample("z", LogLogistic(*params))

    pyro.set_rng_seed(4)
    trace = poutine.trace(guide).get_trace()
    z = trace.nodes["z"]["value"]
    assert z.shape == (300, 2) and isinstance(trace.nodes["z"]["fn"], TorchDistributionMixin)
    z.sum().backward()
    want = module.implicit_grad(z.detach().numpy(), *(p.detach().numpy() for p in params))
    for p, w in zip(params, want):
        assert np.allclose(p.grad.numpy(), w.sum(0), rtol=1e-12)
