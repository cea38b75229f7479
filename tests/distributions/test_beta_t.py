"""Beta and Student-t: the regularized incomplete beta function in the DSL.

Beta's implicit gradients against mpmath at 40 digits (tests/fixtures/beta.npz, made by
scripts/make_fixtures.py: draws with a, b log-uniform over [1e-2, 1e3], tails at CDF levels
1e-12..1e-4, and log z for small shapes, where z underflows); unbiasedness of the rsample
gradient against d/da E[z] = b / (a + b)^2; lower variance than the route through two Gamma
samples; Student-t's CDF and density against mpmath and scipy, its df gradient against mpmath;
samplers by Kolmogorov-Smirnov; bad input; and the CUDA source compiled as host code drawing
the C kernels' bits."""

import mpmath
import numpy as np
import pytest
from scipy import special, stats

import irgen.generated.beta as be
import irgen.generated.gamma as ga
import irgen.generated.student_t as st
from agreement import GRAD_ULPS, assert_same_stream
from cuda_on_host import CXX, FakeCudaArray, host, run_on_host
from paths import FIXTURES

FIXTURE = np.load(FIXTURES / "beta.npz")
RNG = np.random.default_rng(23)


def fixture(name):
    ab = FIXTURE[f"{name}/param"]
    return ab[:, 0], ab[:, 1], FIXTURE[f"{name}/z"], FIXTURE[f"{name}/F"], FIXTURE[f"{name}/dz"]


@pytest.mark.parametrize("name", ["draws", "tails"])
def test_beta_gradients_against_mpmath(name):
    a, b, z, F, dz = fixture(name)
    assert a.size > 400 and a.min() < 0.02 and b.max() > 900
    got = np.stack(be.implicit_grad(z, a, b), axis=1)
    assert np.max(np.abs(got / dz - 1)) < 1e-11          # 1.6e-13 measured
    assert np.allclose(be.cdf(z, a, b), F, rtol=1e-12, atol=0)


def test_beta_log_space_gradients_against_mpmath():
    a, b, y, _, dy = fixture("log")
    assert np.sum(y < np.log(np.finfo(float).tiny)) > 20      # z itself underflows there
    got = np.stack(be.log_implicit_grad(y, a, b), axis=1)
    assert np.max(np.abs(got / dy - 1)) < 1e-11


def test_beta_float32_rounds_the_double_computation():
    a, b, z, _, dz = fixture("draws")
    a, b, z = (v.astype(np.float32) for v in (a, b, z))
    ok = (z > np.finfo(np.float32).tiny) & (z < 1)
    got = np.stack(be.implicit_grad(z[ok], a[ok], b[ok]), axis=1)
    want = np.stack(be.implicit_grad(*(v[ok].astype(np.float64) for v in (z, a, b))), axis=1)
    assert got.dtype == np.float32
    normal = np.abs(want) >= np.finfo(np.float32).tiny       # subnormal results keep fewer bits
    assert normal.mean() > 0.9
    assert np.max(np.abs(got / want - 1)[normal]) < 2e-7


def test_beta_log_prob_against_mpmath():
    a = np.exp(RNG.uniform(np.log(1e-2), np.log(1e3), 300))
    b = np.exp(RNG.uniform(np.log(1e-2), np.log(1e3), 300))
    z = stats.beta.rvs(a, b, random_state=RNG)
    ok = (z > 1e-300) & (z < 1)
    a, b, z = a[ok], b[ok], z[ok]
    with mpmath.workdps(40):
        want = [float((mpmath.mpf(ai) - 1) * mpmath.log(zi)
                      + (mpmath.mpf(bi) - 1) * mpmath.log1p(-mpmath.mpf(zi))
                      - mpmath.log(mpmath.beta(ai, bi))) for ai, bi, zi in zip(a, b, z)]
    # a few ulps of the terms' sizes (z's own rounding moves the sum by that much)
    size = (np.abs((a - 1) * np.log(z)) + np.abs((b - 1) * np.log1p(-z))
            + np.abs(special.betaln(a, b)) + 1)
    assert np.max(np.abs(be.log_prob(z, a, b) - want) / size) < 4e-16


def test_beta_rsample_gradient_is_unbiased():
    """d/da E[z] = b / (a + b)^2 and d/db E[z] = -a / (a + b)^2, by the sample mean of
    rsample's gradients, within 5 standard errors."""
    for a, b in ((0.3, 2.0), (5.0, 0.4), (40.0, 60.0)):
        z, (da, db) = be.rsample(a, b, size=200000, seed=7)
        for g, want in ((da, b / (a + b) ** 2), (db, -a / (a + b) ** 2)):
            assert abs(g.mean() - want) < 5 * g.std() / np.sqrt(g.size), (a, b)


def two_gamma_gradient(a, b, n, seed):
    """dz/da by the route through Gammas: z = Ga / (Ga + Gb), dz/da = z (1 - z) dGa/da / Ga."""
    ga_, (dga, _) = ga.rsample(a, 1.0, size=n, seed=seed)
    gb_ = ga.sample(b, 1.0, size=n, seed=seed + 1)
    z = ga_ / (ga_ + gb_)
    return z, z * (1 - z) * dga / ga_


def test_beta_gradient_through_its_cdf_has_lower_variance():
    """The CDF route is E[two-Gamma gradient | z]: both are unbiased and its variance is
    lower (Rao-Blackwell); both means agree with b / (a + b)^2."""
    for a, b in ((0.5, 0.5), (2.0, 8.0), (30.0, 3.0)):
        _, (da, _) = be.rsample(a, b, size=200000, seed=11)
        z2, d2 = two_gamma_gradient(a, b, 200000, 12)
        want = b / (a + b) ** 2
        assert abs(d2.mean() - want) < 5 * d2.std() / np.sqrt(d2.size)
        assert abs(da.mean() - want) < 5 * da.std() / np.sqrt(da.size)
        assert da.var() < d2.var(), (a, b, da.var(), d2.var())


def t_params(n):
    return (np.exp(RNG.uniform(np.log(0.05), np.log(1e4), n)), RNG.normal(0, 2, n),
            np.exp(RNG.uniform(-2, 2, n)))


def t_lower(t, df):
    """P(T < t) in mpmath (t an mpf): I_w(df/2, 1/2)/2 below 0."""
    half = mpmath.betainc(df / 2, mpmath.mpf(1) / 2, 0, df / (df + t * t),
                          regularized=True) / 2
    return half if t < 0 else 1 - half


def test_student_t_against_mpmath_and_scipy():
    df, loc, scale = t_params(3000)
    x = stats.t.rvs(df, loc, scale, random_state=RNG)
    ref = stats.t(df, loc, scale)
    # scipy loses digits for large df; the mpmath comparison below is the strict one
    assert np.allclose(st.cdf(x, df, loc, scale), ref.cdf(x), rtol=1e-11, atol=0)
    assert np.allclose(st.log_prob(x, df, loc, scale), ref.logpdf(x), rtol=0, atol=1e-9)
    with mpmath.workdps(40):
        for i in range(0, 3000, 15):
            d, lo, s, xi = (mpmath.mpf(float(v)) for v in (df[i], loc[i], scale[i], x[i]))
            t = (xi - lo) / s
            lq = (mpmath.loggamma((d + 1) / 2) - mpmath.loggamma(d / 2)
                  - mpmath.log(mpmath.sqrt(d * mpmath.pi) * s)
                  - (d + 1) / 2 * mpmath.log1p(t * t / d))
            assert st.log_prob(x[i], df[i], loc[i], scale[i]) == pytest.approx(
                float(lq), rel=1e-14, abs=1e-14)
            # the fraction near its split loses ~df eps (9e-13 at df = 7600)
            assert st.cdf(x[i], df[i], loc[i], scale[i]) == pytest.approx(
                float(t_lower(t, d)), rel=2e-12)


def test_student_t_df_gradient_against_mpmath():
    df, loc, scale = t_params(120)
    x = stats.t.rvs(df, loc, scale, random_state=RNG)
    got, dloc, dscale = st.implicit_grad(x, df, loc, scale)
    assert np.all(dloc == 1) and np.allclose(dscale, (x - loc) / scale, rtol=1e-15, atol=0)
    with mpmath.workdps(40):
        for i in range(x.size):
            d, lo, s, xi = (mpmath.mpf(float(v)) for v in (df[i], loc[i], scale[i], x[i]))
            t = (xi - lo) / s
            q = mpmath.exp(mpmath.loggamma((d + 1) / 2) - mpmath.loggamma(d / 2)
                           - (d + 1) / 2 * mpmath.log1p(t * t / d)) / mpmath.sqrt(d * mpmath.pi)
            want = -mpmath.diff(lambda v: t_lower(t, v), d) / q * s
            # dz/ddf is O(1/df^2), from the fraction a difference of O(1/df) terms: ~df eps
            # relative up to df = 100, where the large-df series takes over
            assert got[i] == pytest.approx(float(want), rel=2e-15 * min(df[i], 100) + 1e-13)


@pytest.mark.parametrize("df", [100.0, 300.0, 1e3, 1e4, 1e5, 1e7])
def test_student_t_at_large_df_against_mpmath(df):
    """Where the large-df series serves (t^4 <= df), the df gradient and the CDF to a few
    ulps; before it, the continued fraction's gave 1.9e-11 (df = 1e3), 3.1e-9 (1e4) and
    3.8e-5 (1e6) relative error in dz/ddf, 4e-11 in the CDF at 1e6."""
    edge = df ** 0.25
    ts = [-edge * 0.999, -2.6, -1.1, -0.3, -1e-3, 0.02, 0.7, 1.9, edge * 0.999]
    with mpmath.workdps(40):
        d = mpmath.mpf(df)
        for x in ts:
            t = mpmath.mpf(x)
            q = mpmath.exp(mpmath.loggamma((d + 1) / 2) - mpmath.loggamma(d / 2)
                           - (d + 1) / 2 * mpmath.log1p(t * t / d)) / mpmath.sqrt(d * mpmath.pi)
            # from the lower tail (above 0, 1 - F would round at 40 digits): dz/ddf is odd
            want = mpmath.sign(t) * mpmath.diff(lambda v: t_lower(-abs(t), v), d) / q
            lower = t_lower(-abs(t), d)
            F, log_F = (lower, mpmath.log(lower)) if x < 0 else (1 - lower, mpmath.log1p(-lower))
            got = st.implicit_grad(x, df, 0.0, 1.0)[0]
            assert got == pytest.approx(float(want), rel=1e-14, abs=0), (df, x)
            # a tail probability goes through exp(log P): eps |log P| relative, no better
            rel = 4e-15 * max(1.0, -float(mpmath.log(lower)))
            assert st.cdf(x, df, 0.0, 1.0) == pytest.approx(float(F), rel=rel), (df, x)
            assert st.log_cdf(x, df, 0.0, 1.0) == pytest.approx(float(log_F), rel=rel,
                                                               abs=1e-300), (df, x)


@pytest.mark.parametrize("df", [1e9, 1e16, 1.541013026240248e+28, 1e100])
def test_student_t_far_out_at_huge_df_against_quadrature(df):
    """The large-df series at |t| up to df^(1/4): its terms' powers of t once overflowed
    before df^k divided them (F = inf at t = -1.1e7, df = 1.5e28). Against log F by
    mpmath's quadrature of the density, scaled by q(t) (lgamma's difference loses log10(df)
    digits, so the precision grows with df)."""
    with mpmath.workdps(40 + int(np.log10(df))):
        d = mpmath.mpf(df)
        log_c = (mpmath.loggamma((d + 1) / 2) - mpmath.loggamma(d / 2)
                 - mpmath.log(mpmath.sqrt(d * mpmath.pi)))

        def log_q(y):
            return log_c - (d + 1) / 2 * mpmath.log1p(y * y / d)
        for x in (-0.999 * df ** 0.25, -0.3 * df ** 0.25, -1.5):
            t = mpmath.mpf(x)
            mass = mpmath.quad(lambda u: mpmath.exp(log_q(t - u) - log_q(t)),
                               sorted([0, 1 / abs(t), 10 / abs(t), 1]) + [mpmath.inf])
            want = float(log_q(t) + mpmath.log(mass))
            assert st.log_cdf(x, df, 0.0, 1.0) == pytest.approx(want, rel=2e-15), (df, x)
            F = st.cdf(x, df, 0.0, 1.0)
            assert 0.0 <= F <= 1.0 and F == pytest.approx(np.exp(want), rel=1e-13, abs=0)
            assert all(np.isfinite(g) for g in st.implicit_grad(x, df, 0.0, 1.0))


def test_student_t_at_its_centre_and_far_out():
    """At x = loc, F = 1/2 and dz/ddf = 0 for every df; at |t| = 1e200 (t^2 overflows) the
    log density is finite, and the gradients at |t| = 1e150 (beyond, the tangent of
    sqrt(df) / |t| underflows: dz/ddf becomes inf)."""
    for df in (0.1, 3.0, 1e4):
        assert st.cdf(1.5, df, 1.5, 2.0) == 0.5
        assert st.implicit_grad(1.5, df, 1.5, 2.0)[0] == 0.0
        lp = st.log_prob(1e200, df, 0.0, 1.0)
        assert lp == pytest.approx(float(
            mpmath.loggamma((df + 1) / 2) - mpmath.loggamma(df / 2) - mpmath.log(
                mpmath.sqrt(df * mpmath.pi)) - (df + 1) / 2 * mpmath.log1p(
                mpmath.mpf('1e400') / df)), rel=1e-14)
        assert np.isfinite(st.implicit_grad(-1e150, df, 0.0, 1.0)[0])


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_samplers_fit(dtype):
    cases = [(be, (0.5, 0.5), stats.beta(0.5, 0.5).cdf),
             (be, (3.0, 200.0), stats.beta(3.0, 200.0).cdf),
             (be, (0.05, 2.0), stats.beta(0.05, 2.0).cdf),
             (st, (0.7, 1.0, 2.0), stats.t(0.7, 1.0, 2.0).cdf),
             (st, (30.0, -1.0, 0.5), stats.t(30.0, -1.0, 0.5).cdf)]
    for mod, params, cdf in cases:
        z = mod.sample(*params, size=20000, seed=43, dtype=dtype)
        assert z.dtype == dtype and np.all(np.isfinite(z))
        assert stats.kstest(z.astype(np.float64), cdf).pvalue > 1e-3, (mod.name, params)
    # log z where z mostly underflows: below x = 1e-300, I_x(a, b) = x^a / (a B(a, b)) to
    # every digit (the next term is relatively a x), so F(e^y) = e^(a y - log(a B(a, b)))
    a, b = 0.001, 0.5
    y = be.log_sample(a, b, size=20000, seed=44, dtype=dtype).astype(np.float64)
    assert np.all(np.isfinite(y)) and np.mean(y < -745) > 0.3

    def cdf(v):
        tiny = v < np.log(1e-300)
        head = np.exp(a * v - np.log(a) - special.betaln(a, b))
        return np.where(tiny, head, special.betainc(a, b, np.exp(np.maximum(v, -690))))
    assert stats.kstest(y, cdf).pvalue > 1e-3


def test_invalid_parameters_give_nan():
    for bad in (np.nan, -1.0, 0.0, np.inf):
        assert np.isnan(be.sample(1.0, bad, seed=1))
        assert np.all(np.isnan(be.implicit_grad(0.5, bad, 1.0)))
        assert np.isnan(st.sample(bad, 0.0, 1.0, seed=1))
        assert np.all(np.isnan(st.implicit_grad(0.5, 2.0, 0.0, bad)))
    assert np.isnan(st.cdf(0.5, 2.0, np.nan, 1.0))
    assert be.cdf(1.5, 2.0, 3.0) == 1.0 and be.cdf(-0.5, 2.0, 3.0) == 0.0
    assert be.cdf(0.0, 2.0, 3.0) == 0.0 and be.cdf(1.0, 2.0, 3.0) == 1.0


@pytest.mark.skipif(CXX is None, reason="needs a C++ compiler")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_cuda_samplers_draw_the_same_bits(dtype, monkeypatch, tmp_path):
    run_on_host(monkeypatch, tmp_path)
    n = 2000
    ab = np.exp(RNG.uniform(np.log(0.05), np.log(200), (2, n)))
    for mod, params in ((be, (ab[0], ab[1])), (st, t_params(n))):
        cols = [p.astype(dtype) for p in params]
        for kernel in ("sample", "rsample"):
            f = getattr(mod, kernel)
            assert_same_stream(kernel, f(*cols, seed=5),
                               host(f(*[FakeCudaArray(c) for c in cols], seed=5)),
                               grad_ulps=GRAD_ULPS[mod.name])


def test_beta_extreme_valid_inputs_are_finite():
    """Shapes from 1e-3 to 1e4, x from the smallest subnormal to 1 - 2^-53: finite CDFs,
    derivatives and gradients, and no hang (every fraction is bounded)."""
    rng = np.random.default_rng(8)
    a = np.exp(rng.uniform(np.log(1e-3), np.log(1e4), 3000))
    b = np.exp(rng.uniform(np.log(1e-3), np.log(1e4), 3000))
    x = np.concatenate([rng.uniform(0, 1, 1000), 10.0 ** rng.uniform(-323, -1, 1000),
                        1 - 10.0 ** rng.uniform(-15.9, -1, 1000)])
    for r in (be.cdf(x, a, b), be.log_prob(x, a, b)) + be.cdf_grad(x, a, b) \
            + be.implicit_grad(x, a, b):
        assert np.all(np.isfinite(r))


def test_student_t_extreme_valid_inputs_are_finite():
    rng = np.random.default_rng(9)
    df = np.exp(rng.uniform(np.log(1e-2), np.log(1e6), 2000))
    x = np.concatenate([rng.normal(0, 3, 1000), np.sign(rng.normal(size=1000))
                        * 10.0 ** rng.uniform(-300, 100, 1000)])
    for r in (st.cdf(x, df, 0.0, 1.0), st.log_prob(x, df, 0.0, 1.0)) \
            + st.cdf_grad(x, df, 0.0, 1.0) + st.implicit_grad(x, df, 0.0, 1.0):
        assert np.all(np.isfinite(r))


def test_beta_cdf_stays_a_probability():
    """At a = 5e-21, b = 1.8e16 the terms of log I_x cancel to one rounding above 0: the CDF
    is held to 1 (found by the property tests), log F to 0."""
    x = a = 5.0034701543373045e-21
    b = 1.8417810078637984e+16
    assert 0 < be.cdf(x, a, b) <= 1 and be.cdf_grad(x, a, b)[0] <= 1
    assert be.log_cdf(x, a, b) <= 0
