"""Sampling: the random streams, the samplers' distributions, the gradients' unbiasedness,
bad input, and the API.

References are independent of the code under test: Random123's published Philox4x32-10
known-answer vectors and numpy.random.Philox (Philox4x64-10, built from the same rounds)
for the generator; scipy.stats for the distributions (Kolmogorov-Smirnov); quadrature
(scipy.integrate.quad) and a central difference in float64 for d/dtheta E[f(z)].

Each goodness-of-fit check rejects at p < 1e-3, a false-alarm rate of 1e-3 per check for a
seed chosen at random; the seeds here are fixed, so the outcome is too. The gradient
checks compare a Monte Carlo mean with the quadrature value within 5 standard errors
(false-alarm rate 6e-7 per check)."""
import importlib
import math
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from scipy import integrate, special, stats

import irgen.generated.gamma as g
import irgen.generated.normal as nrm
import irgen.generated.von_mises as v
from cases import UNIVARIATE
from philox_kat import KAT
from irgen.runtime import get_num_threads, set_num_threads

LO = np.uint64(0xFFFFFFFF)


def philox4x32(ctr, key):
    """Philox4x32-10 in NumPy, from the published description (Salmon et al. 2011)."""
    c = [np.asarray(x, np.uint64) for x in ctr]
    k0, k1 = (np.asarray(x, np.uint64) for x in key)
    for _ in range(10):
        p0 = c[0] * np.uint64(0xD2511F53)
        p1 = c[2] * np.uint64(0xCD9E8D57)
        c = [(p1 >> np.uint64(32)) ^ c[1] ^ k0, p1 & LO, (p0 >> np.uint64(32)) ^ c[3] ^ k1,
             p0 & LO]
        k0 = (k0 + np.uint64(0x9E3779B9)) & LO
        k1 = (k1 + np.uint64(0xBB67AE85)) & LO
    return c


def raw(lib_pair, name, ctr, key, dtype):
    ffi, lib = lib_pair
    ctype = "uint32_t[]" if dtype == np.uint32 else "uint64_t[]"
    ctr, key = np.ascontiguousarray(ctr, dtype), np.ascontiguousarray(key, dtype)
    out = np.empty_like(ctr)
    getattr(lib, name)(len(ctr) // 4, ffi.from_buffer(ctype, ctr), ffi.from_buffer(ctype, key),
                       ffi.from_buffer(ctype, out))
    return out


# ---------------------------------------------------------------- the generator

def test_philox4x32_matches_the_published_known_answers():
    for ctr, key, want in KAT:
        got = raw(g._kernels.lib, "irgen_philox4x32_10", ctr, key, np.uint32)
        assert list(got) == want
        assert [int(w) for w in philox4x32(ctr, key)] == want     # the NumPy reference too


def test_philox4x32_matches_numpy_on_random_counters_and_keys():
    rng = np.random.default_rng(0)
    ctr = rng.integers(0, 2 ** 32, (1000, 4), dtype=np.uint64)
    key = rng.integers(0, 2 ** 32, (1000, 2), dtype=np.uint64)
    got = raw(g._kernels.lib, "irgen_philox4x32_10", ctr.ravel(), key.ravel(), np.uint32)
    want = np.stack(philox4x32(ctr.T, key.T), axis=1).ravel()
    assert np.array_equal(got.astype(np.uint64), want)


def test_the_rounds_make_numpys_philox_bit_for_bit():
    """The same round and key schedule with 64-bit words is numpy.random.Philox, whose
    generator advances the counter and then emits its four words."""
    key = np.array([0x0123456789ABCDEF, 0xFEDCBA9876543210], np.uint64)
    start = [2 ** 64 - 3, 5, 0, 7]             # the carry into the second word is exercised
    want = np.random.Philox(counter=np.array(start, np.uint64), key=key).random_raw(4 * 8)
    ctrs, c = [], list(start)
    for _ in range(8):
        c[0] = (c[0] + 1) % 2 ** 64
        c[1] += c[0] == 0
        ctrs += c
    got = raw(g._kernels.lib, "irgen_philox4x64_10", ctrs, np.tile(key, 8), np.uint64)
    assert np.array_equal(got, want)


def block(seed, index, b):
    """The words of block b of elements `index` under `seed`: the stream layout of
    templates/random.c.j2, written again with the NumPy Philox above."""
    index = np.asarray(index, np.uint64)
    return philox4x32([np.full_like(index, b), np.zeros_like(index), index & LO,
                       index >> np.uint64(32)],
                      [np.uint64(seed) & LO, np.uint64(seed) >> np.uint64(32)])


def uniform32(w):
    return ((((w >> np.uint64(9)) << np.uint64(1)) | np.uint64(1)).astype(np.float32)
            * np.float32(2.0 ** -24)).astype(np.float64)


def uniform64(w0, w1):
    bits = (w0 << np.uint64(20)) | (w1 >> np.uint64(12))
    return ((bits << np.uint64(1)) | np.uint64(1)).astype(np.float64) * 2.0 ** -53


def box_muller_of(words, dtype):
    """A normal from a float32 draw's two words, or a float64 draw's four."""
    if dtype == np.float64:
        r = (words[0].astype(np.float64) * 2.0 ** -32
             + (words[1] | np.uint64(1)).astype(np.float64) * 2.0 ** -64)
        u = uniform64(words[2], words[3])
    else:
        r = ((words[0] | np.uint64(1)).astype(np.float32)
             * np.float32(2.0 ** -32)).astype(np.float64)
        u = uniform32(words[1])
    return np.sqrt(-2.0 * np.log(r)) * np.cos(2.0 * np.pi * u)


def box_muller(seed, index, dtype):
    """The first normal draw of elements `index` under `seed`."""
    return box_muller_of(block(seed, index, 0), dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_normal_draws_follow_the_documented_stream(dtype):
    """Element i's draw is Box-Muller on the block of counter (0, 0, i, 0) and key seed."""
    seed, n = 2 ** 40 + 12345, 5000
    got = nrm.sample(0.0, 1.0, size=n, seed=seed, dtype=dtype)
    want = box_muller(seed, np.arange(n), dtype)
    tol = 1e-13 if dtype == np.float64 else 2e-6
    assert np.allclose(got, want, rtol=tol, atol=tol)
    big = np.uint64(2 ** 33 + 5)              # an index past 2^32 lands in the fourth word
    assert box_muller(seed, big, dtype) != box_muller(seed, big - np.uint64(2 ** 32), dtype)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_draws_take_the_words_of_the_stream_in_order(dtype):
    """Gamma's first Marsaglia-Tsang round draws a normal and a uniform, and the boost of
    alpha < 1 one uniform more: in float32 words 0-1, 2 and 3 of block 0; in float64 block
    0 (a normal takes a whole block), then words 0-1 and 2-3 of block 1."""
    seed, n = 2 ** 35 + 99, 4000
    idx = np.arange(n)
    alpha = np.where(idx % 2, 2.5, 0.5)
    got = g.sample(alpha.astype(dtype), 1.0, seed=seed).astype(np.float64)
    w = block(seed, idx, 0)
    if dtype == np.float64:
        x = box_muller_of(w, dtype)
        w1 = block(seed, idx, 1)
        u, boost = uniform64(w1[0], w1[1]), uniform64(w1[2], w1[3])
    else:
        x = box_muller_of(w[:2], dtype)
        u, boost = uniform32(w[2]), uniform32(w[3])
    a = np.where(alpha < 1, alpha + 1, alpha)
    d = a - 1 / 3
    v = 1 + x / np.sqrt(9 * d)
    with np.errstate(invalid="ignore", divide="ignore"):
        # the paper's test, whatever squeeze the DSL uses before it: log u < g(x)
        g_x = 0.5 * x ** 2 + d * (1 - v ** 3 + np.log(v ** 3))
    clear = np.abs(np.log(u) - g_x) > 1e-5            # not decided by rounding
    first = (v > 0) & (np.log(u) < g_x) & clear        # accepted at once
    again = (v <= 0) | ((np.log(u) > g_x) & clear)     # rejected: drawn again
    want = d * v ** 3 * np.where(alpha < 1, boost ** (1 / alpha), 1.0)
    assert first.mean() > 0.9 and again.sum() > 20
    tol = 1e-12 if dtype == np.float64 else 1e-5
    assert np.allclose(got[first], want[first], rtol=tol, atol=0)
    assert not np.isclose(got[again], want[again], rtol=tol, atol=0).any()


def test_the_gpus_32_bit_rounds_are_the_cpus_64_bit_rounds(tmp_path):
    """On a GPU the rounds run on 32-bit words (__umulhi for the high half); compiled here
    with __umulhi written out, they give the 64-bit form's words on random counters/keys."""
    cc = shutil.which("cc") or shutil.which("gcc")
    if cc is None:
        pytest.skip("no C compiler")
    cu = (Path(g.__file__).with_suffix(".cu")).read_text()
    macros = cu[cu.index("#define IRGEN_LO32"):cu.index("/* Floats from words")]
    (tmp_path / "rounds.c").write_text("""#include <stdint.h>
#include <stdio.h>
static uint32_t __umulhi(uint32_t a, uint32_t b) { return (uint32_t)(((uint64_t)a * b) >> 32); }
#define __CUDA_ARCH__ 900
""" + macros + """
int main(void)
{
    uint64_t x = 88172645463325252ull, v[6];
    int bad = 0;
    for (int t = 0; t < 100000; ++t) {
        for (int j = 0; j < 6; ++j) { x ^= x << 13; x ^= x >> 7; x ^= x << 17; v[j] = x >> 32; }
        uint64_t a0 = v[0], a1 = v[1], a2 = v[2], a3 = v[3];
        uint32_t b0 = v[0], b1 = v[1], b2 = v[2], b3 = v[3];
        IRGEN_PHILOX4x32_10(uint64_t, a0, a1, a2, a3, v[4], v[5]);
        IRGEN_PHILOX4x32_10_NATIVE(b0, b1, b2, b3, v[4], v[5]);
        bad += a0 != b0 || a1 != b1 || a2 != b2 || a3 != b3;
    }
    printf("%d\\n", bad);
    return 0;
}
""")
    subprocess.run([cc, "-O2", "-o", str(tmp_path / "rounds"), str(tmp_path / "rounds.c")],
                   check=True)
    assert subprocess.run([str(tmp_path / "rounds")], capture_output=True, text=True,
                          check=True).stdout.split() == ["0"]


# ---------------------------------------------------------------- streams

def test_a_draw_depends_on_seed_and_index_only():
    alpha = np.exp(np.random.default_rng(1).uniform(-3, 3, 50000))
    old = get_num_threads()
    try:
        set_num_threads(1)
        one = g.sample(alpha, 1.0, seed=7)
        set_num_threads(2)
        two = g.sample(alpha, 1.0, seed=7)
    finally:
        set_num_threads(old)
    assert np.array_equal(one, two)                          # threads change nothing
    assert np.array_equal(g.sample(alpha[:777], 1.0, seed=7), one[:777])   # nor the size
    assert np.array_equal(g.sample(alpha.reshape(500, 100), 1.0, seed=7).ravel(), one)
    other = g.sample(alpha, 1.0, seed=8)
    assert np.mean(other == one) < 1e-3                       # another seed, other draws
    assert not np.array_equal(g.sample(alpha, 1.0), g.sample(alpha, 1.0))   # fresh seeds


def test_log_sample_draws_the_log_of_sample():
    """The same draws in log space: log_sample = log(sample) where z does not underflow."""
    alpha = np.exp(np.random.default_rng(2).uniform(np.log(0.05), np.log(50), 20000))
    for dt in (np.float64, np.float32):
        z = g.sample(alpha.astype(dt), 2.0, seed=3)
        lz = g.log_sample(alpha.astype(dt), 2.0, seed=3)
        ok = z > np.finfo(dt).tiny
        eps = np.finfo(dt).eps
        gap = np.abs(np.log(z[ok].astype(float)) - lz[ok])
        assert np.all(gap <= 64 * eps * np.maximum(1, np.abs(lz[ok])))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_rsample_is_sample_then_implicit_grad(dtype):
    alpha = np.exp(np.random.default_rng(3).uniform(np.log(0.1), np.log(10), 30000)).astype(dtype)
    for mod, params in ((g, (alpha, dtype(1.5))), (v, (dtype(0.3), alpha)),
                        (nrm, (dtype(0.2), alpha))):
        z, grads = mod.rsample(*params, seed=11)
        assert np.array_equal(z, mod.sample(*params, seed=11))
        for got, want in zip(grads, mod.implicit_grad(z, *params)):
            assert np.array_equal(got, want)
    y, dy = g.log_rsample(alpha, dtype(1.5), seed=11)
    assert np.array_equal(y, g.log_sample(alpha, dtype(1.5), seed=11))
    for got, want in zip(dy, g.log_implicit_grad(y, alpha, dtype(1.5))):
        assert np.array_equal(got, want)


FUSED = UNIVARIATE          # every built-in distribution (tests/cases.py)


def _parameter_columns(mod, rng, dtype, n=20000):
    """Parameters over several decades (real ones over [-3, 3]), then invalid rows."""
    cols = []
    for domain in mod.domains:
        c = (np.exp(rng.uniform(np.log(0.02), np.log(50), n)) if domain == "positive"
             else rng.uniform(-3, 3, n))
        c[-3:] = (np.nan, -1.0 if domain == "positive" else np.inf, c[0])
        cols.append(c.astype(dtype))
    return cols


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", FUSED)
def test_rsample_log_prob_is_rsample_then_log_prob_grad(name, dtype):
    """The fused kernel draws rsample's samples, holds those that rounded to an end of a
    bounded support at the nearest number inside it, and gives implicit_grad's and
    log_prob_grad's values there."""
    mod = importlib.import_module(f"generated.{name}")
    params = _parameter_columns(mod, np.random.default_rng(7), dtype)
    z, grads, scores = mod.rsample_log_prob(*params, seed=21)
    raw = mod.sample(*params, seed=21)
    low, high, kind = mod.support
    held = raw.copy()
    ends = [None, None]
    if kind == "interval" and low > -np.inf:
        inner = np.finfo(dtype).tiny if low == 0 else np.nextafter(dtype(low), dtype(np.inf))
        held[raw < inner] = ends[0] = inner
    if kind == "interval" and high < np.inf:
        inner = np.nextafter(dtype(high), dtype(-np.inf))
        held[raw > inner] = ends[1] = inner
    np.testing.assert_array_equal(z, held)
    assert mod.held[np.dtype(dtype).name] == tuple(ends)     # what irgen.torch holds to
    assert np.isnan(z[-3:-1]).all() and np.isfinite(z[-1])
    dz = mod.implicit_grad(z, *params)
    want = (dz if isinstance(dz, tuple) else (dz,)) + mod.log_prob_grad(z, *params)
    assert len(grads + scores) == len(want)
    for got, w in zip(grads + scores, want):
        np.testing.assert_array_equal(got, w)
    # held draws have finite log densities: the point of holding them (draws that overflow
    # to infinity, a float32 lognormal of scale 40, are where the support has no end)
    finite = np.isfinite(z[:-3])
    assert finite.mean() > 0.98 and np.isfinite(scores[0][:-3][finite]).all()


def test_rsample_log_prob_holds_underflowing_draws():
    """float32 Gamma(0.01) draws round to 0 a third of the time; held at the smallest
    normal number, with a finite log density where it is (scipy's)."""
    a = np.full(20000, 0.01, np.float32)
    z, _, (lq, *_) = g.rsample_log_prob(a, np.float32(1), seed=5)
    tiny = np.finfo(np.float32).tiny
    at_end = z == tiny
    assert 0.2 < at_end.mean() < 0.5 and (z >= tiny).all()
    want = stats.gamma.logpdf(float(tiny), 0.01)
    np.testing.assert_allclose(lq[at_end], want, rtol=1e-5)


# ---------------------------------------------------------------- goodness of fit

N_FIT = 20000


def ks_pvalue(samples, cdf):
    return stats.kstest(np.asarray(samples, np.float64), cdf).pvalue


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_normal_fits(dtype):
    for mu, sigma in ((0.0, 1.0), (-3.0, 1e-3), (5.0, 1e3)):
        z = nrm.sample(mu, sigma, size=N_FIT, seed=21, dtype=dtype)
        assert ks_pvalue(z, stats.norm(mu, sigma).cdf) > 1e-3


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("alpha", [0.01, 0.1, 0.5, 1.0, 2.5, 10.0, 100.0, 1e4])
def test_gamma_fits(alpha, dtype):
    if dtype == np.float32 and alpha < 0.1:
        pytest.skip("samples underflow float32 (log_sample covers these)")
    beta = 3.0
    z = g.sample(np.full(N_FIT, alpha, dtype), beta, seed=22)
    assert np.all(np.isfinite(z)) and np.all(z >= 0)
    assert ks_pvalue(z, stats.gamma(alpha, scale=1 / beta).cdf) > 1e-3


def log_gamma_cdf(alpha, beta):
    """CDF of log z, z ~ Gamma(alpha, beta): P(alpha, beta e^y), with P(a, x) = x^a /
    Gamma(a + 1) where x underflows (scipy's gammainc would give 0 there)."""
    def cdf(y):
        ly = y + math.log(beta)
        small = ly < -700
        out = np.empty_like(ly)
        out[small] = np.exp(alpha * ly[small] - special.gammaln(alpha + 1))
        out[~small] = special.gammainc(alpha, np.exp(ly[~small]))
        return out
    return cdf


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("alpha", [1e-3, 1e-2, 0.3, 1.0, 10.0, 1e4])
def test_gamma_log_samples_fit(alpha, dtype):
    y = g.log_sample(np.full(N_FIT, alpha, dtype), 0.5, seed=23)
    assert np.all(np.isfinite(y))
    assert ks_pvalue(y, log_gamma_cdf(alpha, 0.5)) > 1e-3


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("kappa", [1e-3, 0.1, 1.0, 10.0, 100.0, 1e3])
def test_von_mises_fits(kappa, dtype):
    mu = 2.5            # the mass wraps around pi
    z = v.sample(dtype(mu), np.full(N_FIT, kappa, dtype), seed=24)
    assert np.all((z >= -np.pi) & (z < np.pi))
    ref = stats.vonmises(kappa, loc=mu)
    # the CDF on [-pi, pi) of the distribution wrapped around mu
    cdf = lambda x: np.mod(ref.cdf(x) - ref.cdf(-np.pi), 1.0)  # noqa: E731
    assert ks_pvalue(z, cdf) > 1e-3


# ---------------------------------------------------------------- unbiased gradients

N_GRAD = 1 << 20


def quad_grad(f, pdf, lo, hi, theta, i, rel=1e-4):
    """d/dtheta_i of the integral of f(z) pdf(z, theta) over [lo, hi], by a central
    difference of adaptive quadrature in float64."""
    def mean(t):
        return integrate.quad(lambda z: f(z) * pdf(z, *t), lo, hi, epsabs=0, epsrel=1e-12,
                              limit=200)[0]
    h = rel * abs(theta[i])
    up, down = list(theta), list(theta)
    up[i] += h
    down[i] -= h
    return (mean(up) - mean(down)) / (2 * h)


def assert_unbiased(df, z, grad, want):
    """mean of f'(z) dz/dtheta within 5 standard errors of the quadrature value."""
    est = df(z) * grad
    se = est.std() / math.sqrt(est.size)
    assert abs(est.mean() - want) < 5 * se + 1e-9 * abs(want), (est.mean(), want, se)


@pytest.mark.parametrize("alpha", [0.3, 2.5])
def test_gamma_gradients_are_unbiased(alpha):
    beta = 1.5
    pdf = lambda z, a, b: stats.gamma.pdf(z, a, scale=1 / b)  # noqa: E731
    z, grads = g.rsample(np.full(N_GRAD, alpha), beta, seed=31)
    for f, df in ((np.log1p, lambda z: 1 / (1 + z)), (np.square, lambda z: 2 * z)):
        for i, dz in enumerate(grads):
            assert_unbiased(df, z, dz, quad_grad(f, pdf, 0, np.inf, [alpha, beta], i))


@pytest.mark.parametrize("kappa", [0.5, 5.0])
def test_von_mises_gradients_are_unbiased(kappa):
    mu = 0.3
    pdf = lambda z, m, k: np.exp(k * np.cos(z - m)) / (2 * np.pi * special.i0(k))  # noqa
    z, (dmu, dkappa) = v.rsample(mu, np.full(N_GRAD, kappa), seed=32)
    for f, df in ((np.cos, lambda z: -np.sin(z)), (lambda z: np.sin(2 * z),
                                                    lambda z: 2 * np.cos(2 * z))):
        # z is wrapped into [-pi, pi); f is periodic, so the integral runs over one period
        assert_unbiased(df, z, dkappa, quad_grad(f, pdf, -np.pi, np.pi, [mu, kappa], 1))
        assert_unbiased(df, z, dmu, quad_grad(f, pdf, -np.pi, np.pi, [mu, kappa], 0))


def test_normal_gradients_are_unbiased():
    pdf = lambda z, m, s: stats.norm.pdf(z, m, s)  # noqa: E731
    z, grads = nrm.rsample(0.5, np.full(N_GRAD, 2.0), seed=33)
    for i, dz in enumerate(grads):
        assert_unbiased(lambda z: 1 / np.cosh(z) ** 2, z, dz,
                        quad_grad(np.tanh, pdf, -np.inf, np.inf, [0.5, 2.0], i))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("alpha", [1e-4, 0.05])
def test_log_space_gradients_are_unbiased(alpha, dtype):
    """d/dalpha E[log z] = trigamma(alpha): alpha = 1e-4 in float32, where z underflows."""
    y, (dy, dbeta) = g.log_rsample(np.full(N_GRAD, alpha, dtype), dtype(2.0), seed=34)
    assert np.all(np.isfinite(y)) and np.all(np.isfinite(dy))
    est = dy.astype(np.float64)
    se = est.std() / math.sqrt(est.size)
    assert abs(est.mean() - special.polygamma(1, alpha)) < 5 * se
    assert np.allclose(dbeta, -0.5)                            # log z = log(eps) - log beta


# ---------------------------------------------------------------- bad input, extremes

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_invalid_parameters_give_nan_samples(dtype):
    bad = np.array([np.nan, -1.0, 0.0, np.inf, -np.inf], dtype)
    good = dtype(1.0)
    for mod, cases in ((g, [(bad, good), (good, bad)]), (nrm, [(bad[[0, 3]], good), (good, bad)]),
                       (v, [(bad[[0, 3]], good), (good, bad)])):
        for params in cases:
            assert np.all(np.isnan(mod.sample(*params, seed=1)))
            z, grads = mod.rsample(*params, seed=1)
            assert np.all(np.isnan(z)) and all(np.all(np.isnan(d)) for d in grads)
    assert np.all(np.isnan(g.log_sample(bad, good, seed=1)))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_extreme_valid_parameters_give_valid_samples(dtype):
    """Every valid parameter gives a sample in the support, never NaN: shapes from 1e-30
    to the largest float, concentrations from the least normal number to the largest."""
    tiny = np.finfo(dtype).tiny
    alpha = np.array([1e-30, 1e-6, 1e-3, 0.999999, 1.0, 1.000001, 1e6, 1e10,
                      np.finfo(dtype).max], dtype)
    z = g.sample(np.repeat(alpha, 100), 1.0, seed=2)
    assert np.all((z >= 0) & np.isfinite(z))
    y = g.log_sample(np.repeat(alpha, 100), 1.0, seed=2)       # 1e-30: log z near -1e30
    assert np.all(np.isfinite(y))
    kappa = np.array([tiny, 1e-30, 1e-8, 1.0, 1e6, 1e12, 1e30, np.finfo(dtype).max], dtype)
    z = v.sample(dtype(3.0), np.repeat(kappa, 100), seed=2)
    assert np.all((z >= -np.pi) & (z < np.pi))
    big = z.reshape(kappa.size, 100)[5:]                        # all at the mode, 3.0
    assert np.allclose(big, 3.0, atol=1e-5)
    z = v.sample(0.0, np.array([1e12, 1e200, 1e308]), seed=3)   # spread 1 / sqrt(kappa)
    assert np.all(np.abs(z) < 1e-5) and np.all(np.abs(z[1:]) < 1e-99)


def test_a_rejection_loop_that_never_accepts_gives_nan(tmp_path):
    """The iteration bound of a user's sampler ends the loop; the sample is NaN."""
    from irgen import build
    path = tmp_path / "stuck.py"
    path.write_text(STUCK)
    build.build([path], out_dir=tmp_path, cuda_binaries=False, log=lambda *a: None)
    stuck = build.load_generated(tmp_path, "stuck")
    for dt in (np.float64, np.float32):
        z = stuck.sample(1.0, size=1000, seed=1, dtype=dt)
        assert z.dtype == dt and np.all(np.isnan(z))


def test_rejection_loops_draw_each_try_from_the_stream_in_order(tmp_path):
    """A chunk's first pass gives each element one try, then draws the elements that
    wanted more again: element i's draw is still the first of its uniforms below a_i (words
    of its blocks in order), and NaN where none of the loop's 3 tries is; ordered by a
    sampler group or not; and with the tries a squeeze leaves open deferred (deferrable())
    from the first pass to the second."""
    from irgen import build
    path = tmp_path / "first_below.py"
    path.write_text(FIRST_BELOW)
    build.build([path], out_dir=tmp_path, cuda_binaries=False, log=lambda *a: None)
    mod = build.load_generated(tmp_path, "first_below")
    grouped = build.load_generated(tmp_path, "first_below_grouped")    # chunks in order
    deferred = build.load_generated(tmp_path, "first_below_deferred")
    seed, n = 2 ** 33 + 7, 9000
    idx = np.arange(n)
    a = np.exp(np.random.default_rng(4).uniform(np.log(0.05), 0.0, n))
    for dt in (np.float32, np.float64):
        if dt == np.float32:      # a uniform a word: words 0, 1, 2 of block 0
            w = block(seed, idx, 0)
            u = np.stack([uniform32(w[k]) for k in range(3)])
        else:                     # two words a uniform: block 0's words 0-1, 2-3, block 1's
            w0, w1 = block(seed, idx, 0), block(seed, idx, 1)
            u = np.stack([uniform64(w0[0], w0[1]), uniform64(w0[2], w0[3]),
                          uniform64(w1[0], w1[1])])
        below = u < a.astype(dt)
        want = np.where(below.any(0), u[np.argmax(below, 0), idx], np.nan)
        got = mod.sample(a.astype(dt), seed=seed).astype(np.float64)
        assert (~below[0]).mean() > 0.3 and np.isnan(want).mean() > 0.05
        assert np.array_equal(got, want, equal_nan=True)
        assert np.array_equal(grouped.sample(a.astype(dt), seed=seed), got, equal_nan=True)
        assert np.array_equal(deferred.sample(a.astype(dt), seed=seed), got, equal_nan=True)
        # nor does the size
        assert np.array_equal(mod.sample(a[:4097].astype(dt), seed=seed), got[:4097],
                              equal_nan=True)


FIRST_BELOW = """from irgen.dsl import *

@dsl
def cdf(x, a):
    return x

@dsl
def sample(a):
    z = NAN
    while bounded(isnan(z), 3):
        u = uniform()
        if u < a:
            z = u
    return z

@dsl
def by_a(a):
    return 1.0 if a < 0.3 else 0.0

first_below = Distribution(name="first_below", params=(Param("a", "", "positive"),),
                           support=Interval(0.0, 1.0), cdf=cdf, sample=sample)

first_below_grouped = Distribution(name="first_below_grouped", params=(Param("a", "", "positive"),),
                                   support=Interval(0.0, 1.0), cdf=cdf, sample=sample,
                                   sample_group=by_a)

@dsl
def sample_deferred(a):
    # sample's draws, with a squeeze: a first pass leaves the tries it does not decide
    z = NAN
    while bounded(isnan(z), 3):
        u = uniform()
        if u < 0.5 * a:
            z = u
        elif not deferrable():
            if u < a:
                z = u
    return z

first_below_deferred = Distribution(name="first_below_deferred",
                                    params=(Param("a", "", "positive"),),
                                    support=Interval(0.0, 1.0), cdf=cdf, sample=sample_deferred)
"""


STUCK = """from irgen.dsl import *

@dsl
def cdf(x, a):
    return x

@dsl
def sample(a):
    z = NAN
    while bounded(isnan(z), 8):
        u = uniform()
        if u > 2.0:
            z = u
    return z

stuck = Distribution(name="stuck", params=(Param("a", "", "positive"),),
                     support=Interval(0.0, 1.0), cdf=cdf, sample=sample)
"""


# ---------------------------------------------------------------- the API

def test_size_seed_dtype_and_out():
    a = np.array([1.0, 2.0, 3.0])
    assert g.sample(a, 1.0, size=(4, 3), seed=1).shape == (4, 3)
    assert g.sample(2.0, 1.0, seed=1).shape == ()
    assert g.sample(2.0, 1.0, size=5, seed=1).dtype == np.float64
    assert g.sample(np.float32(2.0), 1.0, size=5, seed=1).dtype == np.float32
    assert g.sample(2.0, 1.0, size=5, seed=1, dtype=np.float32).dtype == np.float32
    assert g.sample(a, 1.0, size=(0, 3), seed=1).shape == (0, 3)
    with pytest.raises(ValueError, match="broadcast to size"):
        g.sample(a, 1.0, size=(3, 2))
    for bad in (-1, 2 ** 64):
        with pytest.raises(ValueError, match="seed"):
            g.sample(a, 1.0, seed=bad)
    with pytest.raises(TypeError, match="seed"):
        g.sample(a, 1.0, seed=1.5)
    with pytest.raises(TypeError, match="dtype"):
        g.sample(a, 1.0, dtype=np.int32)
    out = np.empty(3)
    assert g.sample(a, 1.0, seed=4, out=out) is out
    assert np.array_equal(out, g.sample(a, 1.0, seed=4))
    outs = (np.empty(3), np.empty(3), np.empty(3))
    z, grads = g.rsample(a, 1.0, seed=4, out=outs)
    assert z is outs[0] and grads[0] is outs[1]
