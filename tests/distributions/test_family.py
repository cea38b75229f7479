"""The small distributions of the family: LogNormal, Gumbel, Kumaraswamy, Chi2,
InverseGamma and Weibull.

CDFs and densities against scipy.stats (Kumaraswamy, which scipy lacks, against its closed
form in mpmath at 50 digits); implicit gradients against each distribution's explicit
reparameterization z = g(u, theta) where it has one, and for Chi2 and InverseGamma against
-(dF/dtheta) / q by mpmath; samplers by Kolmogorov-Smirnov (p > 1e-3, fixed seeds); bad
input; and the CUDA source compiled as host code drawing the C kernels' samples bit for
bit."""
import mpmath
import numpy as np
import pytest
from scipy import stats

import irgen.generated.chi2 as c2
import irgen.generated.gumbel as gu
import irgen.generated.inverse_gamma as ig
import irgen.generated.kumaraswamy as ku
import irgen.generated.lognormal as ln
import irgen.generated.weibull as wb
from agreement import assert_same_stream
from cuda_on_host import CXX, FakeCudaArray, host, run_on_host

RNG = np.random.default_rng(17)
N = 20000


def lognormal_params(n):
    return RNG.normal(0, 2, n), np.exp(RNG.uniform(np.log(0.05), np.log(5), n))


def gumbel_params(n):
    return RNG.normal(0, 3, n), np.exp(RNG.uniform(np.log(0.05), np.log(20), n))


def kumaraswamy_params(n):
    return (np.exp(RNG.uniform(np.log(0.1), np.log(20), n)),
            np.exp(RNG.uniform(np.log(0.1), np.log(20), n)))


def test_lognormal_against_scipy():
    mu, sigma = lognormal_params(2000)
    x = np.exp(mu + sigma * RNG.normal(0, 1.5, mu.size))
    ref = stats.lognorm(s=sigma, scale=np.exp(mu))
    assert np.allclose(ln.cdf(x, mu, sigma), ref.cdf(x), rtol=1e-13, atol=1e-300)
    assert np.allclose(ln.log_prob(x, mu, sigma), ref.logpdf(x), rtol=1e-12, atol=1e-12)


def weibull_params(n):
    return (np.exp(RNG.uniform(np.log(0.2), np.log(20), n)),
            np.exp(RNG.uniform(np.log(0.1), np.log(10), n)))


def test_weibull_against_scipy():
    k, lam = weibull_params(2000)
    ref = stats.weibull_min(k, scale=lam)
    x = ref.ppf(RNG.uniform(1e-9, 1 - 1e-9, k.size))
    assert np.allclose(wb.cdf(x, k, lam), ref.cdf(x), rtol=1e-13, atol=1e-300)
    assert np.allclose(wb.log_prob(x, k, lam), ref.logpdf(x), rtol=1e-12, atol=1e-12)


def test_gumbel_against_scipy():
    mu, beta = gumbel_params(2000)
    x = mu + beta * RNG.normal(0, 2, mu.size)
    ref = stats.gumbel_r(loc=mu, scale=beta)
    # the rounding of (x - mu) / beta limits both equally (2.5e-13 against mpmath here)
    assert np.allclose(gu.cdf(x, mu, beta), ref.cdf(x), rtol=1e-12, atol=1e-300)
    assert np.allclose(gu.log_prob(x, mu, beta), ref.logpdf(x), rtol=1e-12, atol=1e-12)


def test_kumaraswamy_against_mpmath():
    """Over (0, 1), and at 1 - 10^-k, where x^a rounds to 1 in float64 and a small b keeps
    F well below 1 (a = 0.2, b = 0.03 at 1 - 1e-16: F = 0.68)."""
    a, b = kumaraswamy_params(500)
    x = RNG.uniform(0, 1, a.size)
    x[:150] = 1 - 10.0 ** -RNG.integers(1, 17, 150)
    b[:50] = np.exp(RNG.uniform(np.log(0.01), np.log(0.1), 50))
    with mpmath.workdps(50):
        F = [float(-mpmath.expm1(bi * mpmath.log1p(-mpmath.mpf(xi) ** ai)))
             for xi, ai, bi in zip(x, a, b)]
        lq = [float(mpmath.log(ai * bi * mpmath.mpf(xi) ** (ai - 1)
                               * (1 - mpmath.mpf(xi) ** ai) ** (bi - 1)))
              for xi, ai, bi in zip(x, a, b)]
    assert np.allclose(ku.cdf(x, a, b), F, rtol=1e-13, atol=0)
    assert np.allclose(ku.log_prob(x, a, b), lq, rtol=1e-12, atol=1e-12)


def test_chi2_and_inverse_gamma_against_scipy():
    k = np.exp(RNG.uniform(np.log(0.05), np.log(200), 2000))
    x = stats.chi2(k).ppf(RNG.uniform(1e-6, 1 - 1e-6, k.size))
    assert np.allclose(c2.cdf(x, k), stats.chi2(k).cdf(x), rtol=1e-12, atol=1e-300)
    assert np.allclose(c2.log_prob(x, k), stats.chi2(k).logpdf(x), rtol=1e-11, atol=1e-11)
    a = np.exp(RNG.uniform(np.log(0.05), np.log(200), 2000))
    b = np.exp(RNG.uniform(-3, 3, a.size))
    ref = stats.invgamma(a, scale=b)
    x = ref.ppf(RNG.uniform(1e-6, 1 - 1e-6, a.size))
    assert np.allclose(ig.cdf(x, a, b), ref.cdf(x), rtol=1e-12, atol=1e-300)
    assert np.allclose(ig.log_prob(x, a, b), ref.logpdf(x), rtol=1e-11, atol=1e-11)


def implicit_by_mpmath(F, logq, z, theta, i):
    """-(dF/dtheta_i) / q at z, by mpmath at 40 digits."""
    with mpmath.workdps(40):
        t = [mpmath.mpf(float(v)) for v in theta]

        def at(v):
            s = list(t)
            s[i] = v
            return F(mpmath.mpf(float(z)), *s)
        return float(-mpmath.diff(at, t[i]) / mpmath.exp(logq(mpmath.mpf(float(z)), *t)))


def test_chi2_and_inverse_gamma_gradients_against_mpmath():
    def chi2_F(x, k):
        return mpmath.gammainc(k / 2, 0, x / 2, regularized=True)

    def chi2_logq(x, k):
        return (k / 2 - 1) * mpmath.log(x) - x / 2 - k / 2 * mpmath.log(2) - mpmath.loggamma(k / 2)

    def ig_F(x, a, b):
        return mpmath.gammainc(a, b / x, mpmath.inf, regularized=True)

    def ig_logq(x, a, b):
        return a * mpmath.log(b) - mpmath.loggamma(a) - (a + 1) * mpmath.log(x) - b / x

    for k in (0.1, 1.0, 3.0, 40.0):
        for z in c2.sample(k, size=4, seed=int(k * 10)):
            got = c2.implicit_grad(z, k)            # one parameter: one array, no tuple
            assert got == pytest.approx(implicit_by_mpmath(chi2_F, chi2_logq, z, (k,), 0),
                                        rel=1e-11)
    for a, b in ((0.3, 2.0), (2.5, 0.5), (30.0, 7.0)):
        for z in ig.sample(a, b, size=4, seed=int(a * 10)):
            da, db = ig.implicit_grad(z, a, b)
            assert da == pytest.approx(implicit_by_mpmath(ig_F, ig_logq, z, (a, b), 0),
                                       rel=1e-11)
            assert db == pytest.approx(z / b, rel=1e-15)


def test_implicit_gradients_equal_the_explicit_reparameterizations():
    """z = exp(mu + sigma e); z = mu - beta log(-log u); z = lam (-log u)^(1/k);
    z = (1 - u^(1/b))^(1/a)."""
    mu, sigma = lognormal_params(N)
    z = np.exp(mu + sigma * RNG.normal(size=N))
    dmu, dsigma = ln.implicit_grad(z, mu, sigma)
    assert np.allclose(dmu, z, rtol=1e-12, atol=0)
    assert np.allclose(dsigma, z * (np.log(z) - mu) / sigma, rtol=1e-10, atol=1e-12 * z)

    mu, beta = gumbel_params(N)
    z = mu - beta * np.log(-np.log(RNG.uniform(size=N)))
    dmu, dbeta = gu.implicit_grad(z, mu, beta)
    assert np.all(dmu == 1) and np.allclose(dbeta, (z - mu) / beta, rtol=1e-14, atol=0)

    k, lam = weibull_params(N)
    z = lam * (-np.log(RNG.uniform(size=N))) ** (1 / k)
    ok = z > 1e-300
    z, k, lam = z[ok], k[ok], lam[ok]
    dk, dlam = wb.implicit_grad(z, k, lam)
    # dz/dk passes through 0 at z = lam: its error on the scale z / k of its other factor
    assert np.max(np.abs(dk + z * np.log(z / lam) / k) / (z / k)) < 1e-12
    assert np.allclose(dlam, z / lam, rtol=1e-13, atol=0)

    a, b = kumaraswamy_params(N)
    u = RNG.uniform(size=N)
    w = u ** (1 / b)
    z = (1 - w) ** (1 / a)
    ok = (z > 1e-300) & (z < 1) & (w > 1e-300)
    z, a, b, w = z[ok], a[ok], b[ok], w[ok]
    w = 1 - z ** a                      # the w that z itself stands for
    da, db = ku.implicit_grad(z, a, b)
    want_a = -z * np.log(z) / a
    want_b = z * w * np.log(w) / (a * b * (1 - w))
    assert np.max(np.abs(da - want_a) / (z / a)) < 1e-9
    assert np.max(np.abs(db - want_b) / np.maximum(np.abs(want_b), z / b)) < 1e-9


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_samplers_fit(dtype):
    cases = [
        (ln, (0.3, 0.7), stats.lognorm(s=0.7, scale=np.exp(0.3)).cdf),
        (ln, (-2.0, 2.5), stats.lognorm(s=2.5, scale=np.exp(-2.0)).cdf),
        (gu, (1.0, 2.0), stats.gumbel_r(loc=1.0, scale=2.0).cdf),
        (ku, (0.5, 0.5), lambda x: 1 - (1 - x ** 0.5) ** 0.5),
        (ku, (5.0, 2.0), lambda x: 1 - (1 - x ** 5.0) ** 2.0),
        (c2, (0.7,), stats.chi2(0.7).cdf),
        (c2, (12.0,), stats.chi2(12.0).cdf),
        (ig, (0.8, 2.0), stats.invgamma(0.8, scale=2.0).cdf),
        (ig, (6.0, 0.5), stats.invgamma(6.0, scale=0.5).cdf),
        (wb, (1.7, 2.0), stats.weibull_min(1.7, scale=2.0).cdf),
        (wb, (0.3, 0.5), stats.weibull_min(0.3, scale=0.5).cdf),
    ]
    for mod, params, cdf in cases:
        z = mod.sample(*params, size=N, seed=41, dtype=dtype)
        assert z.dtype == dtype and np.all(np.isfinite(z))
        assert stats.kstest(z.astype(np.float64), cdf).pvalue > 1e-3, (mod.name, params)


def test_rsample_gradients_equal_the_explicit_ones():
    mu, sigma = lognormal_params(N)
    z, (dmu, dsigma) = ln.rsample(mu, sigma, seed=3)
    assert np.allclose(dmu, z, rtol=1e-12, atol=0)
    assert np.allclose(dsigma, z * (np.log(z) - mu) / sigma, rtol=1e-9, atol=1e-12 * z)
    a, b = kumaraswamy_params(N)
    z, (da, db) = ku.rsample(a, b, seed=3)
    ok = (z > 1e-300) & (z < 1)
    assert np.max(np.abs(da[ok] + z[ok] * np.log(z[ok]) / a[ok]) / (z[ok] / a[ok])) < 1e-9


def test_invalid_parameters_give_nan():
    for mod in (ln, gu, ku, c2, ig, wb):
        for bad in (np.nan, -1.0, 0.0, np.inf):
            # the last parameter of each is positive: every bad value is bad there
            params = (1.0,) * (len(mod.params) - 1) + (bad,)
            assert np.isnan(mod.sample(*params, seed=1))
            assert np.all(np.isnan(mod.implicit_grad(0.5, *params)))


@pytest.mark.skipif(CXX is None, reason="needs a C++ compiler")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_cuda_samplers_draw_the_same_bits(dtype, monkeypatch, tmp_path):
    run_on_host(monkeypatch, tmp_path)
    k = np.exp(RNG.uniform(np.log(0.05), np.log(200), 3000))
    for mod, params in ((ln, lognormal_params(3000)), (gu, gumbel_params(3000)),
                        (ku, kumaraswamy_params(3000)), (c2, (k,)), (ig, (k, k[::-1])),
                        (wb, weibull_params(3000))):
        cols = [p.astype(dtype) for p in params]
        for kernel in ("sample", "rsample"):
            f = getattr(mod, kernel)
            assert_same_stream(kernel, f(*cols, seed=5),
                               host(f(*[FakeCudaArray(c) for c in cols], seed=5)))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_lower_tails_where_the_variable_underflows(dtype):
    """Far in a lower tail a power of x underflows long before log F does (Weibull(50, 3)
    at x = 0.5: (x / 3)^50 = 1e-39, subnormal in float32; Kumaraswamy(100, 100) at 1e-30;
    a Gamma or Chi2 whose beta x underflows; InverseGamma's beta / x far up): log F (or
    log S) against mpmath at 40 digits, and dz/dshape finite and equal to the explicit
    reparameterization's where there is one. These gave -inf and NaN gradients (0 / 0),
    which truncation at such a bound carried into every gradient."""
    import irgen.generated.gamma as ga
    mpmath.mp.dps = 40
    f32 = dtype == np.float32
    rtol = 1e-6 if f32 else 1e-14
    mp = lambda v: mpmath.mpf(float(v))  # noqa: E731
    x, k, lam = dtype(0.5), dtype(50.0), dtype(3.0)
    want = mpmath.log(-mpmath.expm1(-(mp(x) / mp(lam)) ** mp(k)))
    assert float(wb.log_cdf(x, k, lam)) == pytest.approx(float(want), rel=rtol)
    dk = wb.implicit_grad(x, k, lam)[0]
    assert float(dk) == pytest.approx(-0.5 * np.log(0.5 / 3.0) / 50.0, rel=10 * rtol)
    x, a, b = dtype(1e-30), dtype(100.0), dtype(100.0)
    want = mpmath.log(-mpmath.expm1(mp(b) * mpmath.log1p(-mp(x) ** mp(a))))
    assert float(ku.log_cdf(x, a, b)) == pytest.approx(float(want), rel=rtol)
    da = ku.implicit_grad(x, a, b)[0]          # z = (1 - (1 - u)^(1/b))^(1/a): -z log z / a
    assert float(da) == pytest.approx(-float(mp(x) * mpmath.log(mp(x)) / mp(a)), rel=10 * rtol)
    if f32:
        return                                  # below: double's subnormal range
    x = np.nextafter(0.0, 1.0)
    for got, (s, y) in ((ga.log_cdf(x, 3.0, 0.5), (3.0, mp(x) / 2)),
                        (c2.log_cdf(x, 3.0), (1.5, mp(x) / 2))):
        assert got == pytest.approx(float(mpmath.log(mpmath.gammainc(s, 0, y,
                                                                     regularized=True))),
                                    rel=1e-14)
    assert ga.implicit_grad(x, 3.0, 0.5)[0] == 0.0 and c2.implicit_grad(x, 3.0) == 0.0
    big = 1e300
    want = mpmath.log(mpmath.gammainc(3.0, 0, mpmath.mpf(1e-20) / mp(big), regularized=True))
    assert ig.log_sf(big, 3.0, 1e-20) == pytest.approx(float(want), rel=1e-14)
    assert np.isfinite(ig.implicit_grad(big, 3.0, 1e-20)[0])
    assert ln.log_prob(0.0, 0.0, 1.0) == -np.inf and ln.log_prob(np.float32(0), 0.0, 1.0) == -np.inf
