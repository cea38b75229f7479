"""A branch's own variables in SIMD lanes: a variable that only its branch reads, after
writing it, is written in every lane (its other lanes' values are never read), where a
variable that lanes outside the branch read later keeps their values (a select). Both
kinds must give every element what the DSL run as Python gives it."""
import importlib.util
import textwrap

import numpy as np
import pytest

from irgen import analysis, build, ir
from irgen.frontend import lower

SOURCE = '''
from irgen.dsl import *


@dsl
def mixed(x, c):
    """u and w: the first branch's own; v: the second's; s is read after the branches and
    t by the first branch before it writes it, so both keep their other lanes' values."""
    t = 0.5
    s = 0.0
    for i in range(6):
        if x > c * i:
            u = x / (1.0 + i)
            s = s + u * t
            w = u + s
            t = 0.5 * w / (1.0 + w)
        else:
            v = c - x * i
            s = s - 0.01 * v * v / (1.0 + v * v)
    return s + t


@dsl
def cdf(x, c):
    m = mixed(x, c)
    return m / (1.0 + abs(m))


lane_locals = Distribution(
    name="lane_locals", doc="Branch-local variables beside carried ones.",
    params=(Param("c", "scale", "positive"),), support=Interval(0.0, INF), cdf=cdf)
'''



def test_which_variables_are_a_branchs_own(module):
    spec = importlib.util.spec_from_file_location("lane_locals_dsl", module[3])
    source = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(source)
    fn, _ = lower(source.mixed)
    branch = next(s for s in ir.walk(fn.body) if isinstance(s, ir.If))
    own = {str(v) for v in analysis.branch_locals(fn.body, branch.body)}
    other = {str(v) for v in analysis.branch_locals(fn.body, branch.orelse)}
    assert own == {"u", "w"}
    assert other == {"v"}


@pytest.fixture(scope="module")
def module(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("lane_locals")
    (tmp / "lane_locals_dsl.py").write_text(textwrap.dedent(SOURCE))
    build.build([tmp / "lane_locals_dsl.py"], tmp / "out", log=lambda *a: None,
                cuda_binaries=False)
    dist = build.load_file(tmp / "lane_locals_dsl.py")[0]
    return (build.load_generated(tmp / "out", "lane_locals"), dist, tmp / "out",
            tmp / "lane_locals_dsl.py")


def test_selects_only_where_other_lanes_read(module):
    out = module[2]
    code = (out / "lane_locals.c").read_text()
    lanes = code[code.index("mixed_v_f64("):]
    lanes = lanes[:lanes.index("\n}\n")]
    assert " s = irgen_sel_f64(" in lanes and " t = irgen_sel_f64(" in lanes
    for own in ("u", "w", "v"):
        assert f" {own} = irgen_sel_f64(" not in lanes, own


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_every_lane_as_in_python(module, dtype):
    mod, dist = module[:2]
    rng = np.random.default_rng(11)
    c = np.exp(rng.uniform(-1, 1, 999)).astype(dtype)
    x = (c * rng.uniform(0, 7, 999)).astype(dtype)
    got = mod.cdf(x, c)
    want = np.array([dist.cdf(float(a), float(b)) for a, b in zip(x, c)])
    tol = dict(rtol=4e-16, atol=0) if dtype == np.float64 else dict(rtol=2e-6, atol=1e-7)
    assert np.allclose(got, want, **tol), np.abs(got - want).max()
