"""cdf and log_prob against scipy.stats; the generated C against the DSL run as Python."""
import numpy as np
import pytest
from scipy import stats

import irgen.generated.gamma as g
import irgen.generated.normal as n
import irgen.generated.von_mises as v
from irgen import build

rng = np.random.default_rng(7)


def test_normal_against_scipy():
    mu, sigma = rng.normal(size=500), np.exp(rng.uniform(-3, 3, 500))
    x = mu + sigma * rng.uniform(-35, 35, 500)
    # at 35 sigma, one rounding of (x - mu) / sigma moves the CDF by 2 t^2 eps ~ 5e-13
    assert np.allclose(n.cdf(x, mu, sigma), stats.norm.cdf(x, mu, sigma), rtol=5e-12, atol=0)
    assert np.allclose(n.log_prob(x, mu, sigma), stats.norm.logpdf(x, mu, sigma), rtol=1e-13)


def test_gamma_against_scipy():
    a = np.exp(rng.uniform(np.log(1e-3), np.log(1e4), 500))
    b = np.exp(rng.uniform(-2, 2, 500))
    x = stats.gamma.rvs(a, scale=1 / b, random_state=rng)
    keep = x > 1e-300
    x, a, b = x[keep], a[keep], b[keep]
    assert np.allclose(g.cdf(x, a, b), stats.gamma.cdf(x, a, scale=1 / b), rtol=1e-11, atol=0)
    # both sum terms of size alpha |log x| (up to 1e5): absolute agreement to that scale
    scale = 1 + a * np.abs(np.log(x * b)) + x * b
    lp, ref = g.log_prob(x, a, b), stats.gamma.logpdf(x, a, scale=1 / b)
    assert np.all(np.abs(lp - ref) <= 1e-14 * scale + 1e-13 * np.abs(ref))


def test_von_mises_against_scipy():
    # scipy's own CDF is Hill's algorithm: about 12 digits up to kappa = 10, fewer above
    # (and absolute errors of 2e-13 in the tails); mpmath fixtures check the rest
    k = np.exp(rng.uniform(np.log(1e-2), np.log(10), 500))
    mu = rng.uniform(-3, 3, 500)
    x = rng.uniform(-np.pi, np.pi, 500) + mu
    assert np.allclose(v.cdf(x, mu, k), stats.vonmises.cdf(x, k, loc=mu), rtol=1e-10, atol=1e-12)
    assert np.allclose(v.log_prob(x, mu, k), stats.vonmises.logpdf(x, k, loc=mu), rtol=1e-12)


@pytest.mark.parametrize("name", ["normal", "gamma", "von_mises"])
def test_generated_c_matches_dsl_python(name):
    """The DSL functions run as ordinary Python are the reference for the generated code."""
    (dist,) = [d for d in build.discover() if d.name == name]
    mod = {"normal": n, "gamma": g, "von_mises": v}[name]
    r = np.random.default_rng(3)
    for _ in range(200):
        p = [float(np.exp(r.uniform(-2, 3)))] * len(dist.params)
        if name != "gamma":
            p[0] = float(r.normal())
        if name == "gamma":
            x = float(r.gamma(p[0]) / p[1]) + 1e-300
        elif name == "normal":
            x = p[0] + p[1] * float(r.normal())
        else:
            x = float(r.uniform(-np.pi, np.pi))
        for role, got in (("cdf", mod.cdf), ("log_prob", mod.log_prob)):
            want = getattr(dist, role)(x, *p)
            assert float(got(x, *p)) == pytest.approx(want, rel=1e-13, abs=1e-300)


def test_dsl_runs_on_mpmath():
    import mpmath
    from irgen.dsl import precision
    from irgen.lib.incomplete_gamma import gamma_p
    with mpmath.workdps(40), precision("mpmath"):
        got = gamma_p(mpmath.mpf(2.5), mpmath.mpf(1.75))
        want = mpmath.gammainc(2.5, 0, 1.75, regularized=True)
        assert isinstance(got, mpmath.mpf)
        assert abs(got - want) < mpmath.mpf(10) ** -30
