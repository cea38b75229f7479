"""The quantile kernels (icdf, icdf_grad, log_icdf, icdf_upper) of every built-in.

Round trips: z = icdf(u) lies within 4 ulps of the root of the module's own log F (below the
median) or log S (above it), each checked against mpmath elsewhere, over u from 1e-300
(1e-37 in float32) to 1 - 1e-16 and log-levels down to -1000; against mpmath's findroot on
committed fixtures (scripts/make_fixtures.py quantiles); the gradients against central
differences and against the module's own implicit_grad and density; bad input."""
import zlib

import numpy as np
import pytest
from scipy import stats

from cases import CASES, UNIVARIATE
from paths import FIXTURES

DTYPES = (np.float64, np.float32)


def _levels(dtype):
    """u from the smallest normal-range levels to 1 - eps: (u, log u, log(1 - u)) as
    float64, with u itself representable in dtype."""
    lowest = -300 if dtype == np.float64 else -37
    small = 10.0 ** np.linspace(lowest, np.log10(0.5), 40)
    u = np.concatenate([small, 1 - small[small > 1e-16]]).astype(dtype)
    return np.unique(u[(u > 0) & (u < 1)])


def _params(name, dtype, n):
    rng = np.random.default_rng(zlib.crc32(name.encode()))
    cols = CASES[name].draw(rng, n)[1:]
    return [c.astype(dtype) for c in cols]


def _ends(m, params):
    """The support's ends; a periodic one's around its location (von Mises: mu -+ pi)."""
    lo, hi, kind = m.support
    if kind == "periodic":
        mu = params[m.params.index("mu")]
        return mu + lo, mu + hi
    return lo, hi


def _brackets(m, z, level, upper, params, ulps=4):
    """Whether the root of log F = level (log S where upper) lies within `ulps` ulps of z:
    log F a few ulps out on each side of z is on either side of the level, up to log F's
    own rounding (which grows with |level| and, in float32, with the kernels' float
    arithmetic) and what rounding in z's neighbourhood moves it by (log F is a staircase
    where z beta rounds). Past an end of the support log F is taken as -inf or 0, and
    where the kernels overflow (a Student-t's x^2 beyond 1e154) as unknown, so an
    ill-conditioned quantile (a von Mises one at u = 1e-300 is the number next to mu - pi),
    one that underflows, or one beyond the largest number (then infinite) passes when its
    one known side does."""
    dtype = z.dtype.type
    eps = float(np.finfo(dtype).eps)
    lo, hi = (np.asarray(e, np.float64) for e in _ends(m, params))
    below, above = z.copy(), z.copy()
    for _ in range(ulps):
        below, above = np.nextafter(below, dtype(-np.inf)), np.nextafter(above, dtype(np.inf))
    with np.errstate(all="ignore"):
        def lf(v, past):
            f = np.where(upper, -m.log_sf(v, *params), m.log_cdf(v, *params))
            f = np.where((v > lo) & (v < hi), f.astype(np.float64), past)
            return np.where(np.isnan(f), past, f)     # overflowed: unknown, passes
        sign_level = np.where(upper, -level, level)
        f_z = np.where(upper, m.log_sf(z, *params), m.log_cdf(z, *params)).astype(np.float64)
        slope = np.exp(m.log_prob(z, *params).astype(np.float64) - f_z)
        slope = np.where(np.isfinite(slope) & np.isfinite(z), slope, 0)
        noise = 128 if dtype == np.float64 else 64
        # the spacing of z (subnormal ones included), or of x - mu for a location mu
        spacing = np.spacing(np.abs(z)).astype(np.float64)
        if "mu" in m.params:
            mu = np.abs(params[m.params.index("mu")]).astype(np.float64)
            spacing = np.maximum(spacing, eps * (np.abs(z) + mu))
        # a CDF formed as 1 - S in its upper form (Beta's above its fraction's split, where
        # a small F may lie) carries S's rounding, eps S / F relative: counted while F is
        # above 1e-3, where that form can hold it
        complement = 4 * eps * np.minimum(np.expm1(np.abs(level)), 1e3)     # S / F
        slack = noise * eps * (1 + np.abs(level)) + 8 * spacing * slope + complement
        slack = np.where(np.isfinite(slack), slack, 0)
        low_side = lf(below, -np.inf)
        high_side = lf(above, np.inf)
        # an infinite lf inside the support where a finite one is expected: overflow
        overflowed = ~np.isfinite(z)
        return ((low_side <= sign_level + slack) | (overflowed & (z < 0))
                | (overflowed & np.isinf(low_side))) & \
               ((high_side >= sign_level - slack) | (overflowed & (z > 0))
                | (overflowed & np.isinf(high_side)))


def _check_nan(name, z, u, params):
    """No NaN quantiles, except a Student-t's beyond 1e150 (scipy's own quantile tells),
    where its CDF kernel, forming t^2, cannot be evaluated: NaN, not a wrong number."""
    bad = np.isnan(z)
    if name == "student_t" and bad.any():
        df, loc, scale = (p[bad].astype(np.float64) for p in params)
        with np.errstate(all="ignore"):
            far = np.abs(stats.t.ppf(u[bad].astype(np.float64), df)) > 1e150
        bad[bad] = ~far
    assert not bad.any(), (name, u[bad][:5], [p[bad][:5] for p in params])


def _check_levels(name, m, z, level, upper, params):
    ok = _brackets(m, z, level, upper, params)
    assert ok.all(), (name, level[~ok][:5], z[~ok][:5], [p[~ok][:5] for p in params])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", UNIVARIATE)
def test_round_trip_within_a_few_ulps(name, dtype):
    m = CASES[name].module
    u = _levels(dtype)
    params = _params(name, dtype, 64)
    U = np.repeat(u[None, :], 64, 0)
    P = [np.repeat(p[:, None], u.size, 1) for p in params]
    z = m.icdf(U, *P)
    assert z.dtype == dtype and z.shape == U.shape
    _check_nan(name, z, U, P)
    upper = U > 0.5
    with np.errstate(divide="ignore"):
        level = np.where(upper, np.log1p(-U.astype(np.float64)), np.log(U.astype(np.float64)))
    _check_levels(name, m, z, level, upper, P)


@pytest.mark.parametrize("name", UNIVARIATE)
def test_log_icdf_and_icdf_upper_reach_1e_minus_300(name):
    """Levels given as logarithms, beyond what u itself can hold: log u = -1000 and
    log(1 - u) = -1000 (the kernels take the other tail's form past the median)."""
    m = CASES[name].module
    params = _params(name, np.float64, 16)
    level = -np.geomspace(1e3, 1e-3, 25)
    L = np.repeat(level[None, :], 16, 0)
    P = [np.repeat(p[:, None], level.size, 1) for p in params]
    with np.errstate(all="ignore"):
        other = np.log(-np.expm1(L))
    for kernel, upper in ((m.log_icdf, False), (m.icdf_upper, True)):
        z = kernel(L, *P)
        _check_nan(name, z, np.where(upper, -np.expm1(L), np.exp(L)), P)
        flip = L > -np.log(2)
        form = np.where(flip, not upper, upper)
        _check_levels(name, m, z, np.where(flip, other, L), form, P)


@pytest.mark.parametrize("name", UNIVARIATE)
def test_icdf_grad_against_central_differences_and_its_parts(name):
    """dz/du = 1 / q(z) and dz/dp = implicit_grad(z) to 1e-13 relative, in the same call;
    both against central differences of icdf."""
    m = CASES[name].module
    rng = np.random.default_rng(3)
    params = _params(name, np.float64, 200)
    u = rng.uniform(0.02, 0.98, 200)
    z, (du, *dp) = m.icdf_grad(u, *params)
    assert np.array_equal(z, m.icdf(u, *params))
    assert np.allclose(du, np.exp(-m.log_prob(z, *params)), rtol=1e-13, atol=0)
    ig = m.implicit_grad(z, *params)
    for a, b in zip(dp, ig if isinstance(ig, tuple) else (ig,)):
        assert np.allclose(a, b, rtol=1e-13, atol=1e-300)
    h = 1e-6
    fd = (m.icdf(u + h, *params) - m.icdf(u - h, *params)) / (2 * h)
    assert np.allclose(du, fd, rtol=1e-5, atol=1e-9)
    for i, p in enumerate(params):
        step = h * np.maximum(np.abs(p), 1e-3)
        up = [q + step if j == i else q for j, q in enumerate(params)]
        down = [q - step if j == i else q for j, q in enumerate(params)]
        fd = (m.icdf(u, *up) - m.icdf(u, *down)) / (2 * step)
        ok = np.isclose(dp[i], fd, rtol=1e-5, atol=1e-7 * (1 + np.abs(z)))
        assert ok.mean() > 0.99, (name, m.params[i], np.c_[dp[i], fd][~ok][:5])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", UNIVARIATE)
def test_bad_input_gives_nan_and_the_ends_give_the_support(name, dtype):
    m = CASES[name].module
    typical = [dtype(p) for p in CASES[name].typical]
    lo, hi = (dtype(e) for e in _ends(m, typical))
    u = np.array([np.nan, -0.1, 1.1, -np.inf, np.inf, 0.0, 1.0], dtype)
    z = m.icdf(u, *typical)
    close = lambda a, b: np.isclose(a, b, rtol=4 * np.finfo(dtype).eps, atol=0)  # noqa: E731
    assert np.isnan(z[:5]).all() and close(z[5], lo) and close(z[6], hi)
    z, (du, *dp) = m.icdf_grad(u, *typical)
    assert np.isnan(z[:5]).all() and np.isnan(du[:5]).all() and all(np.isnan(d[:5]).all()
                                                                      for d in dp)
    assert close(z[5], lo) and close(z[6], hi)
    if m.support[2] != "periodic":      # (mu -+ pi moves with mu)
        assert all((d[5:] == 0).all() for d in dp)
    for kernel, ends in ((m.log_icdf, (lo, hi)), (m.icdf_upper, (hi, lo))):
        z = kernel(np.array([np.nan, 0.5, np.inf, -np.inf, 0.0], dtype), *typical)
        assert np.isnan(z[:3]).all() and close(z[3], ends[0]) and close(z[4], ends[1])
    # invalid parameters: NaN whatever u is
    for row in CASES[name].bad:
        params = [dtype(v) for v in row[1:]]
        if not np.isnan(m.log_prob(dtype(row[0]) if np.isfinite(row[0]) else dtype(0),
                                   *params)):
            continue       # a valid parameter row (an extreme x): not a bad one here
        assert np.isnan(m.icdf(np.array([0.0, 0.3, 1.0], dtype), *params)).all(), row


def test_against_mpmath_findroot():
    """Committed mpmath quantiles (findroot at 40 digits): within a few ulps of z, the
    ulps scaled by the conditioning of z in log F."""
    data = np.load(FIXTURES / "quantiles.npz")
    names = sorted({k.split(":")[0] for k in data.files})
    assert {"gamma", "normal", "beta", "student_t"} <= set(names)
    for name in names:
        m = CASES[name].module
        u, want = data[f"{name}:u"], data[f"{name}:z"]
        params = [data[f"{name}:p{i}"] if f"{name}:p{i}" in data.files else 1.0
              for i in range(len(m.params))]
        cond = data[f"{name}:cond"]          # |d log z / d log F| at the root (mpmath)
        z = m.icdf(u, *params)
        level = np.where(u > 0.5, np.log1p(-u), np.log(u))
        eps = np.finfo(np.float64).eps
        rel = np.abs(z - want) / np.abs(want)
        allowed = 8 * eps + 32 * eps * cond * (1 + np.abs(level))
        bad = rel > allowed
        assert not bad.any(), (name, np.c_[u, z, want, rel / eps, allowed / eps][bad][:5])


def test_float32_quantiles_match_float64_rounded():
    """float32 kernels compute in float, or in double and round (float32='double'): within
    a few float32 ulps of the float64 quantile, with the conditioning."""
    for name in ("gamma", "normal", "beta", "student_t", "von_mises", "weibull"):
        m = CASES[name].module
        params = _params(name, np.float32, 400)
        u = np.random.default_rng(5).uniform(0.001, 0.999, 400).astype(np.float32)
        z32 = m.icdf(u, *params).astype(np.float64)
        z64 = m.icdf(u.astype(np.float64), *(p.astype(np.float64) for p in params))
        lf = np.where(u > 0.5, m.log_sf(z64, *(p.astype(np.float64) for p in params)),
                      m.log_cdf(z64, *(p.astype(np.float64) for p in params)))
        slope = np.exp(m.log_prob(z64, *(p.astype(np.float64) for p in params)) - lf)
        level = np.where(u > 0.5, np.log1p(-u.astype(np.float64)), np.log(u.astype(np.float64)))
        eps = float(np.finfo(np.float32).eps)
        # the z a float32 log F of a few ulps' error moves to
        allowed = 8 * eps * ((1 + np.abs(level)) / slope + np.abs(z64)) + 1e-30
        off = np.abs(z32 - z64) / allowed
        assert np.quantile(off, 0.99) < 1 and off.max() < 8, (name, off.max())
