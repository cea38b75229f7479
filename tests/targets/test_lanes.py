"""The lane-parallel (SIMD) C target: masks, break, return and loops must give every element
what the DSL gives it when run as Python, whatever its neighbours in the vector do, and
branch groups must change no result."""
import math
import textwrap

import numpy as np
import pytest

import irgen.generated.gamma as g
import irgen.generated.von_mises as v
from irgen import build

# Control flow whose path and trip counts differ from element to element: returns inside
# loops and branches, breaks at different iterations, nested loops, a loop index read
# after its loop, an if without else inside a loop, a bounded while.
SOURCE = '''
from irgen.dsl import *


@dsl
def steps(x, c):
    """Collatz-like walk: a data-dependent trip count with break and return inside."""
    t = x
    n = 0.0
    for i in range(60):
        if t < 1.0:
            break
        if t > 1e6 * c:
            return -1.0 - i
        if floor(t) == 2.0 * floor(0.5 * t):
            t = 0.5 * t
        else:
            t = 1.5 * t + c
        n = i
    return n + t


@dsl
def nested(x, c):
    total = 0.0
    for i in range(8):
        inner = 0.0
        for j in range(8):
            inner = inner + x / (1.0 + i + j)
            if inner > c:
                break
        total = total + inner
        if total > 4.0 * c:
            return total + 0.5 * j
    return total


@dsl
def last_index(x, c):
    k = 0.0
    for i in range(40):
        k = i
        if x * (i + 1.0) > c:
            break
    return i + 0.25 * k


@dsl
def walk(x, c):
    u = 0.0
    n = 0.0
    while bounded(u < c, 100):
        u = u + x
        n += 1.0
    return n


@dsl
def cdf(x, c):
    if x > 3.0 * c:
        return 1.0 - 1.0 / (2.0 + steps(x, c) * 1e-3 + walk(x + 0.1, c))
    if x < c:
        return 0.25 * nested(x, c) / (1.0 + nested(x, c))
    return 0.4 + 0.1 * last_index(x, c) / 40.0


@dsl
def group(x, c):
    return 0.0 if x > 3.0 * c else (1.0 if x < c else 2.0)


lanes = Distribution(
    name="lanes", doc="Control flow that differs from lane to lane.",
    params=(Param("c", "scale", "positive"),), support=Interval(0.0, INF), cdf=cdf)

@dsl
def bits_cdf(x, c):
    """exponent at every kind of argument: c carries subnormals, zeros and signs."""
    return exponent(c) + 0.0 * x


lanes_bits = Distribution(
    name="lanes_bits", doc="exponent, lane by lane.",
    params=(Param("c", "any", "real"),), support=Interval(-INF, INF), cdf=bits_cdf)


@dsl
def mantissa_cdf(x, c):
    return mantissa(c) + 0.0 * x


lanes_mantissa = Distribution(
    name="lanes_mantissa", doc="mantissa, lane by lane.",
    params=(Param("c", "any", "real"),), support=Interval(-INF, INF), cdf=mantissa_cdf)


@dsl
def pow2_cdf(x, c):
    return pow2(c) + 0.0 * x


lanes_pow2 = Distribution(
    name="lanes_pow2", doc="pow2, lane by lane.",
    params=(Param("c", "any", "real"),), support=Interval(-INF, INF), cdf=pow2_cdf)

lanes_grouped = Distribution(
    name="lanes_grouped", doc="The same, with branch groups.",
    params=(Param("c", "scale", "positive"),), support=Interval(0.0, INF), cdf=cdf,
    group=group)
'''


@pytest.fixture(scope="module")
def lanes(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lanes")
    (tmp / "lanes_dsl.py").write_text(textwrap.dedent(SOURCE))
    build.build([tmp / "lanes_dsl.py"], tmp / "out", log=lambda *a: None,
                cuda_binaries=False)
    dists = {d.name: d for d in build.load_file(tmp / "lanes_dsl.py")}
    return (build.load_generated(tmp / "out", "lanes"),
            build.load_generated(tmp / "out", "lanes_grouped"), dists["lanes"],
            build.load_generated(tmp / "out", "lanes_bits"),
            build.load_generated(tmp / "out", "lanes_pow2"),
            build.load_generated(tmp / "out", "lanes_mantissa"))


def _inputs(n, seed):
    rng = np.random.default_rng(seed)
    c = np.exp(rng.uniform(-1, 2, n))
    x = c * np.exp(rng.uniform(-3, 3, n)) * rng.choice([1.0, 7.0, 1e7], n, p=[.6, .3, .1])
    return x, c


@pytest.mark.parametrize("n", [1, 5, 17, 1023, 2500])
def test_every_lane_gets_its_own_path(lanes, n):
    mod, _, dist = lanes[:3]
    x, c = _inputs(n, n)
    want = np.array([dist.cdf(float(a), float(b)) for a, b in zip(x, c)])
    got = mod.cdf(x, c)
    assert np.allclose(got, want, rtol=2e-16, atol=0), np.abs(got - want).max()


def test_groups_change_no_result(lanes):
    plain, grouped = lanes[:2]
    x, c = _inputs(5000, 1)
    assert np.array_equal(plain.cdf(x, c), grouped.cdf(x, c))
    assert np.array_equal(plain.cdf(x[::-3], c[::-3]), grouped.cdf(x[::-3], c[::-3]))


def test_float32_lanes(lanes):
    _, grouped, dist = lanes[:3]
    x, c = _inputs(700, 2)
    x32, c32 = x.astype(np.float32), c.astype(np.float32)
    got = grouped.cdf(x32, c32)
    assert got.dtype == np.float32
    want = np.array([dist.cdf(float(a), float(b)) for a, b in zip(x32, c32)])
    assert np.allclose(got, want, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_exponent_in_lanes_is_frexps(lanes, dtype):
    """exponent(c) in SIMD lanes (AVX-512's exponent instruction where there is one) equals
    frexp's exponent less one, subnormals included, and NaN at 0, +-inf and NaN."""
    bits_mod = lanes[3]
    info = np.finfo(dtype)
    c = np.concatenate([[0.0, -0.0, np.inf, -np.inf, np.nan, info.smallest_subnormal,
                         -info.smallest_subnormal, info.tiny, info.tiny / 3, info.max, -1.0,
                         0.75, 1.0, 2.0],
                        np.random.default_rng(5).standard_normal(200)
                        * 10.0 ** np.random.default_rng(6).uniform(-45, 38, 200)]).astype(dtype)
    got = bits_mod.cdf(np.zeros_like(c), c)
    want = np.array([math.frexp(float(v))[1] - 1.0 if np.isfinite(v) and v != 0 else np.nan
                     for v in c])
    finite = np.isfinite(c) & (c != 0)
    assert np.array_equal(got[finite], want[finite].astype(dtype))
    assert np.all(np.isnan(got[~finite]))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_mantissa_in_lanes_is_frexps(lanes, dtype):
    """mantissa(c) in SIMD lanes (AVX-512's mantissa instruction where there is one) is
    twice frexp's fraction, its sign kept, subnormals included; NaN at 0 and NaN."""
    mant_mod = lanes[5]
    info = np.finfo(dtype)
    c = np.concatenate([[0.0, -0.0, np.nan, info.smallest_subnormal, -info.smallest_subnormal,
                         info.tiny, info.tiny / 3, -info.tiny / 7, info.max, -1.0, 0.75, 1.0,
                         2.0, -3.0],
                        np.random.default_rng(7).standard_normal(200)
                        * 10.0 ** np.random.default_rng(8).uniform(-45, 38, 200)]).astype(dtype)
    got = mant_mod.cdf(np.zeros_like(c), c)
    finite = np.isfinite(c) & (c != 0)
    want = np.array([2.0 * math.frexp(float(v))[0] if f else np.nan for v, f in zip(c, finite)])
    assert np.array_equal(got, want.astype(dtype), equal_nan=True)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_pow2_in_lanes(lanes, dtype):
    """pow2(n) in SIMD lanes (AVX-512's scale instruction where there is one) is 2^n for a
    whole n in the normal range, inf above it, 0 below it (where 2^n is subnormal too), NaN
    for NaN; and 2^trunc(n) for n between whole numbers, as the scalar code's ldexp of
    (int) n gives."""
    pow2_mod = lanes[4]
    info = np.finfo(dtype)
    top, bottom = info.maxexp - 1, info.minexp          # 127, -126 for float32
    whole = np.arange(bottom - 30, top + 4, dtype=np.float64)
    halves = np.array([bottom - 0.5, bottom + 0.5, top - 0.5, top + 0.5, -0.5, 0.5, -2.5, 2.5])
    c = np.concatenate([whole, halves, [np.nan, 1e30, -1e30]]).astype(dtype)
    got = pow2_mod.cdf(np.zeros_like(c), c)

    def want(n):
        if np.isnan(n):
            return np.nan
        return np.inf if n > top else 0.0 if n < bottom else math.ldexp(1.0, int(n))

    assert np.array_equal(got, np.array([want(float(n)) for n in c], dtype), equal_nan=True)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_neighbours_do_not_matter(dtype):
    """An element's result is the same alone as amid a vector of others on other paths."""
    rng = np.random.default_rng(3)
    a = np.exp(rng.uniform(np.log(1e-3), np.log(1e3), 300)).astype(dtype)
    z = rng.gamma(a.astype(np.float64)).astype(dtype)
    z[::7] = np.nan
    z[1::11] = 0.0
    k = np.exp(rng.uniform(np.log(1e-2), np.log(1e3), 300)).astype(dtype)
    y = rng.uniform(-np.pi, np.pi, 300).astype(dtype)
    together = g.implicit_grad(z, a, 1.0)[0], v.implicit_grad(y, 0.0, k)[1]
    alone = (np.array([g.implicit_grad(z[i:i + 1], a[i:i + 1], 1.0)[0][0] for i in range(300)]),
             np.array([v.implicit_grad(y[i:i + 1], 0.0, k[i:i + 1])[1][0] for i in range(300)]))
    for t, s in zip(together, alone):
        assert np.array_equal(t, s, equal_nan=True)
