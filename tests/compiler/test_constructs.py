"""A distribution that uses every DSL construct, built from scratch: the generated C must
agree with the same DSL run as Python, and its gradients with the closed form."""
import textwrap

import numpy as np
import pytest

from irgen import build

SOURCE = '''
from irgen.dsl import *

WEIGHTS = (0.5, 0.25, 0.125, 0.125)
MAX_TERMS = 200


@dsl
def expm1_series(u):
    """expm1 by its Taylor series, in a bounded while loop."""
    total = 0.0
    term = 1.0
    n = 0.0
    while bounded(n < 1.0 or not converged(term, total), MAX_TERMS):
        n += 1.0
        term *= u / n
        total += term
    return total


@dsl
def one(x):
    s = 0.0
    for i in range(4):
        s = s + WEIGHTS[i]
    return s if x == x else NAN


@dsl
def flag_one(x):
    """1, from a loop that lanes leave at iterations that depend on x, through either of
    two breaks that set the same flag (the lane printer sets it after the loop)."""
    t = abs(x) + 1.0
    done = 0.0
    for k in range(2000):
        t = t * 0.5
        if t < 0.25:
            done = 1.0
            break
        if t > 1e300:
            done = 1.0
            break
    return 1.0 if done > 0.0 else NAN


@dsl
def rate_times(x, lam):
    """lam x, with the parameter lam reassigned in a loop: its tangent must survive."""
    for i in range(3):
        if lam > 0.0:
            lam = lam * 2.0
    return x * lam * 0.125


@dsl
def cdf(x, lam):
    u = -rate_times(x, lam)
    if u > -0.5:
        v = -expm1_series(u)
    elif u > -700.0:
        v = -expm1(u)
    else:
        v = 1.0
    return min(max(v * one(x) * flag_one(x), 0.0), 1.0)


@dsl
def log_sf(x, lam):
    return copysign(lam * x, -1.0) + 0.0 * atan2(x, lam) + floor(0.5) * tanh(x)


@dsl
def log_cdf(x, lam):
    return log(cdf(x, lam))


expo = Distribution(
    name="expo", doc="Exponential(lam), written with every DSL construct.",
    params=(Param("lam", "rate", "positive"),), support=Interval(0.0, INF),
    cdf=cdf, log_cdf=log_cdf, log_sf=log_sf)
'''


@pytest.fixture(scope="module")
def expo(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("expo")
    (tmp / "expo_dsl.py").write_text(textwrap.dedent(SOURCE))
    build.build([tmp / "expo_dsl.py"], tmp / "out", log=lambda *a: None,
                cuda_binaries=False)
    (dist,) = build.load_file(tmp / "expo_dsl.py")
    return build.load_generated(tmp / "out", "expo"), dist


def test_generated_matches_python_run(expo):
    mod, dist = expo
    rng = np.random.default_rng(4)
    lam = np.exp(rng.uniform(-3, 3, 300))
    x = rng.exponential(size=300) / lam * rng.choice([1e-3, 1.0, 30.0], 300)
    got = mod.cdf(x, lam)
    want = np.array([dist.cdf(float(a), float(b)) for a, b in zip(x, lam)])
    assert np.allclose(got, want, rtol=4e-16, atol=0)


def test_gradients_match_closed_form(expo):
    mod, _ = expo
    rng = np.random.default_rng(5)
    lam = np.exp(rng.uniform(-3, 3, 300))
    z = rng.exponential(size=300) / lam
    (dlam,) = (mod.implicit_grad(z, lam),)
    assert np.allclose(dlam, -z / lam, rtol=1e-14, atol=0)
    F, dF = mod.cdf_grad(z, lam)
    assert np.allclose(dF, z * np.exp(-lam * z), rtol=1e-13, atol=1e-300)
    lp = mod.log_prob(z, lam)                     # derived by forward mode in x
    assert np.allclose(lp, np.log(lam) - lam * z, rtol=1e-12, atol=1e-12)
