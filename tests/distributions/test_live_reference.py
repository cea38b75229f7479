"""Slow tier: fresh mpmath references at random points, outside the committed fixtures.
Run with `pytest -m slow`."""
import importlib.util

import numpy as np
import pytest
from scipy import stats

import irgen.generated.gamma as g
import irgen.generated.von_mises as v
from paths import ROOT

pytestmark = pytest.mark.slow
_spec = importlib.util.spec_from_file_location(
    "make_fixtures", ROOT / "scripts" / "make_fixtures.py")
fixtures = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(fixtures)


def test_gamma_live():
    rng = np.random.default_rng()
    a = np.exp(rng.uniform(np.log(1e-3), np.log(1e4), 40))
    z = stats.gamma.rvs(a, random_state=rng)
    keep = z > 1e-300
    ref = np.array([fixtures.gamma_ref(p, x)[2] for p, x in zip(a[keep], z[keep])])
    got, _ = g.implicit_grad(z[keep], a[keep], 1.0)
    assert np.max(np.abs(got - ref) / np.abs(ref)) <= 5e-14


def test_von_mises_live():
    rng = np.random.default_rng()
    k = np.exp(rng.uniform(np.log(1e-3), np.log(1e3), 20))
    y = stats.vonmises.rvs(k, random_state=rng)
    ref = np.array([fixtures.vm_ref(p, x)[2] for p, x in zip(k, y)])
    _, got = v.implicit_grad(y, 0.0, k)
    assert np.max(np.abs(got - ref) / np.abs(ref)) <= 1e-12
