"""Lanes not in play at a call of a function with a loop that lanes leave at different
steps take a lane in play's arguments (irgen_fill): the loop then runs in them on values it
was written for, where their own could keep it making subnormal numbers, each a microcode
assist on many x86 processors. Here a series whose terms shrink by x^2 a step: below a
branch, lanes of the other branch (x tiny) would underflow at its first step."""
import textwrap

import numpy as np
import pytest

from irgen import build

SOURCE = '''
from irgen.dsl import *


@dsl
def shrinking(x):
    """sum of x^k / k! from k = 0 until a term is below EPS of the sum."""
    term = 1.0
    total = 1.0
    for k in range(1, 200):
        term = term * x / k
        total = total + term
        if term < EPS * total:
            break
    return total


@dsl
def plain(x):
    return x * x + 1.0


@dsl
def cdf(x, c):
    if x > c:
        return 1.0 - 1.0 / shrinking(x / c)
    return plain(x) * x / (c * (1.0 + x))


lane_fill = Distribution(
    name="lane_fill", doc="A loop below a branch.",
    params=(Param("c", "scale", "positive"),), support=Interval(0.0, INF), cdf=cdf)
'''


@pytest.fixture(scope="module")
def module(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lane_fill")
    (tmp / "lane_fill_dsl.py").write_text(textwrap.dedent(SOURCE))
    build.build([tmp / "lane_fill_dsl.py"], tmp / "out", log=lambda *a: None,
                cuda_binaries=False)
    dist = build.load_file(tmp / "lane_fill_dsl.py")[0]
    return build.load_generated(tmp / "out", "lane_fill"), dist, tmp / "out"


def test_calls_of_loops_fill_their_arguments(module):
    code = (module[2] / "lane_fill.c").read_text()
    lanes = code[code.index("cdf_v_f64("):]
    lanes = lanes[:lanes.index("\n}\n")]
    assert "shrinking_v_f64(irgen_m" in lanes and "plain_v_f64(irgen_m" in lanes
    call = lanes[lanes.index("shrinking_v_f64("):]
    assert call[:call.index(";")].count("irgen_fill_f64(") == 1       # its one argument
    call = lanes[lanes.index("plain_v_f64("):]
    assert "irgen_fill" not in call[:call.index(";")]                 # no loop: as it was


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("n", [1, 3, 16, 17, 999])
def test_every_lane_as_in_python(module, dtype, n):
    """Vectors that mix both branches (x tiny in the other one), any number of lanes in
    play, and a vector whose first lanes are not in play."""
    mod, dist = module[:2]
    rng = np.random.default_rng(n)
    c = np.exp(rng.uniform(-1, 1, n)).astype(dtype)
    x = np.where(rng.uniform(size=n) < 0.5, c * rng.uniform(1, 30, n),
                 c * 1e-30).astype(dtype)
    x[:min(n, 4) - 1] = c[:min(n, 4) - 1] * dtype(1e-30)
    got = mod.cdf(x, c)
    want = np.array([dist.cdf(float(a), float(b)) for a, b in zip(x, c)])
    tol = dict(rtol=4e-15, atol=0) if dtype == np.float64 else dict(rtol=4e-6, atol=1e-30)
    assert np.allclose(got, want, **tol), np.abs(got - want).max()
