"""irgen.lib.portable: elementary functions that give the same bits on every target.

Compiled into a probe distribution's CDF kernel (the function chosen per element by k),
they are checked against mpmath at 120 bits, in float64 and float32, and the CUDA source
compiled as host code must give the C kernels' SIMD lanes bit for bit the same results."""
import math

import mpmath
import numpy as np
import pytest

from cuda_on_host import CXX, FakeCudaArray, host, run_on_host
from irgen import build
from irgen.lib import portable as P

PROBE = """from irgen.dsl import *
from irgen.lib.portable import (box_muller, cos_turns, log_of_draw, portable_atan,
                                portable_exp, portable_log, sin_turns)

@dsl
def cdf(x, k):
    if k < 0.75:
        return log_of_draw(x)
    if k < 1.5:
        return portable_log(x)
    if k < 2.5:
        return portable_exp(x)
    if k < 3.5:
        return cos_turns(x)
    if k < 4.5:
        return sin_turns(x)
    if k < 5.5:
        return portable_atan(x)
    return box_muller(x, k - 6.0)

probe = Distribution(name="probe", params=(Param("k", "", "positive"),),
                     support=Interval(-INF, INF), cdf=cdf)
"""
LOG, EXP, COS, SIN, ATAN = 1, 2, 3, 4, 5


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    out = tmp_path_factory.mktemp("portable")
    (out / "probe.py").write_text(PROBE)
    build.build([out / "probe.py"], out_dir=out, cuda_binaries=False, log=lambda *a: None)
    return build.load_generated(out, "probe")


def inputs(k, dt, rng, n=4000):
    fi = np.finfo(dt)
    if k == LOG:     # every binade, subnormals included, and values near 1
        x = np.exp(rng.uniform(math.log(float(fi.smallest_subnormal)), math.log(float(fi.max)),
                               n))
        x[:200] = 1 + rng.uniform(-1e-3, 1e-3, 200)
    elif k == EXP:   # down into the subnormal results, up to overflow
        x = rng.uniform(math.log(float(fi.smallest_subnormal)) - 2, math.log(float(fi.max)) + 2, n)
    elif k in (COS, SIN):
        x = rng.uniform(-3, 3, n)
        x[:400] = np.round(x[:400] * 4) / 4 + rng.uniform(-1e-6, 1e-6, 400)   # near the zeros
    else:
        x = np.exp(rng.uniform(-40, 40, n)) * rng.choice([-1.0, 1.0], n)
    return x.astype(dt)


REFERENCE = {LOG: mpmath.log, EXP: mpmath.exp, COS: lambda t: mpmath.cospi(2 * t),
             SIN: lambda t: mpmath.sinpi(2 * t), ATAN: mpmath.atan}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("k", [LOG, EXP, COS, SIN, ATAN], ids=["log", "exp", "cos_turns",
                                                                 "sin_turns", "atan"])
def test_within_3_ulp_of_mpmath(probe, k, dtype):
    x = inputs(k, dtype, np.random.default_rng(k))
    got = probe.cdf(x, np.full(x.shape, k, dtype))
    with mpmath.workprec(120):
        ref = np.array([float(REFERENCE[k](mpmath.mpf(float(v)))) for v in x])
    with np.errstate(over="ignore"):
        want = ref.astype(dtype)
    assert np.array_equal(np.isinf(got), np.isinf(want))
    fin = np.isfinite(want) & (want != 0)
    assert np.all(got[want == 0] == 0)
    # ulps of the reference, in the dtype; below the normal range, of the least normal
    spacing = np.spacing(np.maximum(np.abs(want[fin]), np.finfo(dtype).tiny)).astype(float)
    ulps = np.abs(got[fin].astype(float) - ref[fin]) / spacing
    assert ulps.max() <= 3, (x[fin][np.argmax(ulps)], ulps.max())


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_log_of_a_draw_is_portable_logs(probe, dtype):
    """log_of_draw, for uniform draws down to 2^-64 (a normal draw's radius), within 3 ulp
    of mpmath and bit for bit portable_log, so that samplers draw what they drew before."""
    rng = np.random.default_rng(12)
    u = np.exp(rng.uniform(-64 * math.log(2), 0, 4000))
    u[:200] = 1 - rng.uniform(0, 1e-3, 200)
    u = np.minimum(u, 1).astype(dtype)
    got = probe.cdf(u, np.full(u.shape, 0.5, dtype))
    assert np.array_equal(got, probe.cdf(u, np.full(u.shape, LOG, dtype)))
    with mpmath.workprec(120):
        ref = np.array([float(mpmath.log(mpmath.mpf(float(v)))) for v in u])
    fin = ref != 0
    assert np.all(got[~fin] == 0)
    spacing = np.spacing(np.abs(ref[fin]).astype(dtype)).astype(float)
    assert (np.abs(got[fin].astype(float) - ref[fin]) / spacing).max() <= 3


def test_box_muller_against_mpmath(probe):
    rng = np.random.default_rng(9)
    r = rng.uniform(0, 1, 3000)
    a = rng.uniform(0, 1, 3000)
    got = probe.cdf(r, 6.0 + a)            # the probe passes k - 6 as the angle
    with mpmath.workprec(120):
        ref = [float(mpmath.sqrt(-2 * mpmath.log(x)) * mpmath.cos(2 * mpmath.pi * (y + 6 - 6)))
               for x, y in zip(r, (6.0 + a) - 6.0)]
    scale = np.sqrt(-2 * np.log(r))        # the error is absolute, relative to the radius
    assert np.max(np.abs(got - ref) / scale) < 8 * np.finfo(float).eps


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_special_values(probe, dtype):
    """Compiled (finite arguments reach the functions) and run as Python (infinities)."""
    cases = [(LOG, 0.0, -math.inf), (LOG, -1.0, math.nan), (LOG, -0.0, -math.inf),
             (EXP, -1e4, 0.0), (EXP, 1e4, math.inf), (EXP, 0.0, 1.0),
             (ATAN, 1e30, math.pi / 2), (ATAN, -1e30, -math.pi / 2), (ATAN, 0.0, 0.0)]
    x = np.array([c[1] for c in cases], dtype)
    got = probe.cdf(x, np.array([c[0] for c in cases], dtype))
    want = np.array([c[2] for c in cases], dtype)
    assert np.array_equal(got, want, equal_nan=True), (got, want)
    for f, v, w in ((P.portable_log, math.inf, math.inf), (P.portable_log, math.nan, math.nan),
                    (P.portable_exp, math.nan, math.nan), (P.portable_atan, math.inf, math.pi / 2),
                    (P.portable_atan, -math.inf, -math.pi / 2)):
        got = f(v)
        assert (math.isnan(got) and math.isnan(w)) or got == w


@pytest.mark.skipif(CXX is None, reason="needs a C++ compiler")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_cuda_source_gives_the_same_bits(probe, dtype, monkeypatch, tmp_path):
    run_on_host(monkeypatch, tmp_path)
    rng = np.random.default_rng(5)
    for k in (LOG, EXP, COS, SIN, ATAN):
        x = inputs(k, dtype, rng)
        kk = np.full(x.shape, k, dtype)
        want = probe.cdf(x, kk)
        got = host(probe.cdf(FakeCudaArray(x), FakeCudaArray(kk)))
        assert np.array_equal(got, want, equal_nan=True), k
