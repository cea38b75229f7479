"""The C lanes' lgamma (a polynomial, one logarithm and Stirling's series in vector
operations for x > 0, the C library lane by lane elsewhere) against mpmath, through a
kernel that returns lgamma of its argument."""
import textwrap

import mpmath
import numpy as np
import pytest

from irgen import build

SOURCE = '''
from irgen.dsl import *


@dsl
def cdf(x, c):
    return lgamma(x)


lgamma_of_x = Distribution(
    name="lgamma_of_x", doc="F(x) = lgamma(x): a window on the lanes' lgamma.",
    params=(Param("c", "scale", "positive"),), support=Interval(-INF, INF), cdf=cdf)
'''


@pytest.fixture(scope="module")
def kernel(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lgamma")
    (tmp / "lgamma_dsl.py").write_text(textwrap.dedent(SOURCE))
    build.build([tmp / "lgamma_dsl.py"], tmp / "out", log=lambda *a: None,
                cuda_binaries=False)
    return build.load_generated(tmp / "out", "lgamma_of_x").cdf


def _points(dtype):
    rng = np.random.default_rng(7)
    big = 2e305 if dtype == np.float64 else 4e36        # below lgamma's overflow
    x = np.concatenate([
        np.exp(rng.uniform(np.log(np.finfo(dtype).tiny), np.log(big), 400)),
        rng.uniform(0, 12, 600),                        # each branch and its edges
        1 + rng.uniform(-1e-3, 1e-3, 60), 2 + rng.uniform(-1e-3, 1e-3, 60),   # the zeros
        [0.5, 1.5, 2.5, 3.0, 9.5, 10.0, 11.0, np.nextafter(dtype(10), dtype(0)),
         np.nextafter(dtype(3), dtype(0)), np.nextafter(dtype(1), dtype(0))],
        -rng.uniform(0, 20, 100)])                      # the C library's lanes
    return x.astype(dtype)


def _reference(x):
    with mpmath.workdps(40):
        return np.array([float(mpmath.log(abs(mpmath.gamma(mpmath.mpf(float(v))))))
                         if abs(v) < 1e4 else float(mpmath.loggamma(mpmath.mpf(float(v))))
                         for v in x])


@pytest.mark.parametrize("dtype, ulps", [(np.float64, 2.5), (np.float32, 4.0)])
def test_lgamma_within_a_few_ulp(kernel, dtype, ulps):
    x = _points(dtype)
    got = kernel(x, dtype(1)).astype(np.float64)
    ref = _reference(x)
    exact = ref == 0                                    # lgamma(1) = lgamma(2) = 0
    assert np.all(got[exact] == 0)
    err = np.abs(got - ref)[~exact] / np.abs(ref[~exact]) / np.finfo(dtype).eps
    assert err.max() <= ulps, (x[~exact][np.argmax(err)], err.max())


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_lgamma_poles_and_nan(kernel, dtype):
    x = np.array([0.0, -0.0, -1.0, -2.0, -50.0, np.nan, 3.5], dtype)
    got = kernel(x, dtype(1))
    assert np.all(np.isposinf(got[:5]))
    assert np.isnan(got[5])
    assert got[6] == pytest.approx(np.log(3.32335097044784255), rel=4 * float(np.finfo(dtype).eps))
