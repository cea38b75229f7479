"""Implicit gradients, CDFs and CDF derivatives against mpmath at 40 digits.

Reference values are in tests/fixtures (scripts/make_fixtures.py): z drawn from the
distribution itself, parameters log-uniform; "tails" are z at CDF levels 1e-12..1e-4 on
either side. Thresholds are the project's targets (see README, Accuracy). Every test runs
twice: on the C kernels, and on the CUDA kernels compiled as host code (`target`)."""
import numpy as np
import pytest

import irgen.generated.gamma
import irgen.generated.von_mises
from conftest import rel_err


@pytest.fixture
def g(target):
    return target(irgen.generated.gamma)


@pytest.fixture
def v(target):
    return target(irgen.generated.von_mises)


def _stats(got, want):
    err = rel_err(got, want)
    return err.max(), np.abs(np.asarray(got, float) - want).mean()


# ---------------------------------------------------------------- Gamma

def test_gamma_dz_dalpha_float64_draws(g, gamma_ref):
    s = gamma_ref["draws"]
    da, _ = g.implicit_grad(s["z"], s["param"], 1.0)
    mx, mean_abs = _stats(da, s["dz"])
    assert mx <= 5e-14 and mean_abs <= 2.5e-15, (mx, mean_abs)


def test_gamma_dz_dalpha_float64_tails(g, gamma_ref):
    s = gamma_ref["tails"]
    da, _ = g.implicit_grad(s["z"], s["param"], 1.0)
    mx, _ = _stats(da, s["dz"])
    assert mx <= 5e-14, mx


def test_gamma_dz_dbeta_is_minus_z_over_beta(g, gamma_ref):
    s = gamma_ref["draws"]
    beta = 2.5
    _, db = g.implicit_grad(s["z"] / beta, s["param"], beta)
    assert np.max(rel_err(db, -(s["z"] / beta) / beta)) <= 1e-14


def test_gamma_grid_alpha_to_1e4(g, gamma_ref):
    """alpha over [1e-3, 1e4] at fixed CDF levels, tails included."""
    s = gamma_ref["grid"]
    da, _ = g.implicit_grad(s["z"], s["param"], 1.0)
    assert np.max(rel_err(da, s["dz"])) <= 1e-13
    F, dF, _ = g.cdf_grad(s["z"], s["param"], 1.0)
    assert np.max(rel_err(F, s["F"])) <= 1e-13
    assert np.max(rel_err(dF, s["dF"])) <= 2e-12


def test_gamma_cdf_and_dF_dalpha(g, gamma_ref):
    s = {k: np.concatenate([gamma_ref[n][k] for n in ("draws", "tails")])
         for k in gamma_ref["draws"]}
    F, dF, _ = g.cdf_grad(s["z"], s["param"], 1.0)
    lower = s["F"] < 0.5          # in the upper half F is accurate to a few eps absolutely
    assert np.max(rel_err(F[lower], s["F"][lower])) <= 1e-13
    assert np.max(np.abs(F - s["F"])) <= 2e-14
    assert np.max(np.abs(dF - s["dF"]) / np.maximum(np.abs(s["dF"]), 1e-300)) <= 1e-11


def test_gamma_float32(g, gamma_ref):
    s = gamma_ref["draws32"]
    z, a = s["z"].astype(np.float32), s["param"].astype(np.float32)
    assert np.array_equal(z.astype(float), s["z"])   # reference is at these exact inputs
    da, _ = g.implicit_grad(z, a, np.float32(1))
    assert da.dtype == np.float32
    mx, mean_abs = _stats(da, s["dz"])
    assert mx <= 1e-5 and mean_abs <= 5e-7, (mx, mean_abs)


# ---------------------------------------------------------------- von Mises

def test_von_mises_dz_dkappa_float64_draws(v, vm_ref):
    s = vm_ref["draws"]
    dmu, dk = v.implicit_grad(s["z"], 0.0, s["param"])
    mx, _ = _stats(dk, s["dz"])
    assert mx <= 1e-12, mx
    assert np.all(dmu == 1.0) or np.max(np.abs(dmu - 1)) <= 4e-16


def test_von_mises_dz_dkappa_float64_tails(v, vm_ref):
    s = vm_ref["tails"]
    _, dk = v.implicit_grad(s["z"], 0.0, s["param"])
    mx, _ = _stats(dk, s["dz"])
    assert mx <= 1e-10, mx


def test_von_mises_cdf_and_derivative(v, vm_ref):
    s = {k: np.concatenate([vm_ref[n][k] for n in ("draws", "tails")]) for k in vm_ref["draws"]}
    F, _, dF = v.cdf_grad(s["z"], 0.0, s["param"])
    lower = s["F"] < 0.5
    assert np.max(rel_err(F[lower], s["F"][lower])) <= 1e-12
    assert np.max(np.abs(F - s["F"])) <= 2e-15
    big = np.abs(s["dF"]) > 1e-200
    assert np.max(rel_err(dF[big], s["dF"][big])) <= 1e-10


def test_von_mises_grid_kappa_from_1e_3(v, vm_ref):
    """kappa over [1e-3, 1e3] at fixed CDF levels, tails included: dz/dkappa and dF/dkappa."""
    s = vm_ref["grid"]
    _, dk = v.implicit_grad(s["z"], 0.0, s["param"])
    zero = s["z"] == 0.0                      # the median: dz/dkappa is 0 (mpmath: ~1e-50)
    assert np.all(dk[zero] == 0.0) and np.all(np.abs(s["dz"][zero]) < 1e-40)
    assert np.max(rel_err(dk[~zero], s["dz"][~zero])) <= 1e-10
    F, _, dF = v.cdf_grad(s["z"], 0.0, s["param"])
    assert np.max(rel_err(F, s["F"])) <= 1e-12
    assert np.max(rel_err(dF[~zero], s["dF"][~zero])) <= 1e-10


def test_von_mises_float32(v, vm_ref):
    s = vm_ref["draws32"]
    z, k = s["z"].astype(np.float32), s["param"].astype(np.float32)
    _, dk = v.implicit_grad(z, np.float32(0), k)
    assert dk.dtype == np.float32
    mx, mean_abs = _stats(dk, s["dz"])
    assert mx <= 1e-5 and mean_abs <= 2e-8, (mx, mean_abs)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_no_nan_or_inf_for_valid_draws(g, v, gamma_ref, vm_ref, dtype):
    for s in (gamma_ref["draws"], gamma_ref["tails"]):
        z = s["z"].astype(dtype)
        ok = z >= np.finfo(dtype).tiny
        for r in g.implicit_grad(z[ok], s["param"][ok].astype(dtype), dtype(1)):
            assert np.all(np.isfinite(r))
    for s in (vm_ref["draws"], vm_ref["tails"]):
        for r in v.implicit_grad(s["z"].astype(dtype), dtype(0), s["param"].astype(dtype)):
            assert np.all(np.isfinite(r))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gamma_score_in_alpha_is_minus_digamma(g, dtype):
    """d log q / d alpha at x = beta = 1 is -psi(alpha): the kernels' digamma (each dtype
    has its own recurrence and series) against mpmath, in units of the last place of
    max(|psi|, 1) (relative error is unbounded at psi's root, 1.4616...)."""
    import mpmath
    rng = np.random.default_rng(11)
    a = np.concatenate([np.exp(rng.uniform(np.log(1e-3), np.log(1e3), 1500)),
                        np.linspace(0.9, 12.0, 500)]).astype(dtype)
    one = np.ones_like(a)
    got = g.log_prob_grad(one, a, dtype(1))[2]
    assert got.dtype == dtype
    with mpmath.workdps(30):
        want = np.array([-float(mpmath.digamma(mpmath.mpf(float(x)))) for x in a])
    unit = np.spacing(np.maximum(np.abs(want), 1.0).astype(dtype)).astype(float)
    # measured: 6.1 (float32), 9 (float64: ten roundings in the recurrence's p'/p)
    assert np.max(np.abs(got - want) / unit) <= (8 if dtype == np.float32 else 12)


# Kummer's series for alpha < 1 (irgen/lib/incomplete_gamma.py, small_a_sum) takes fewer
# steps in bands of small y, and passes y = 0 below EPS^2: each band's edge from both sides.
_BAND_EDGES = {np.float32: (2.0 ** -46, 2.0 ** -13, 2.0 ** -6, 0.5),
               np.float64: (2.0 ** -104, 2.0 ** -28, 2.0 ** -14, 2.0 ** -8, 0.5)}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_gamma_small_alpha_series_bands(g, dtype):
    import mpmath
    edges = np.array(_BAND_EDGES[dtype])
    y = (edges[:, None] * np.array([1 - 2.0 ** -10, 1.0, 1 + 2.0 ** -10])).ravel()
    a = np.array([1e-3, 0.1, 0.5, 0.9, 0.999])
    y, a = (v.ravel().astype(dtype) for v in np.meshgrid(y, a))
    with mpmath.workdps(40):
        want = np.array([_gamma_ref(mpmath, float(s), float(x)) for s, x in zip(a, y)])
    F, dF, _ = g.cdf_grad(y, a, dtype(1))
    da, _ = g.implicit_grad(y, a, dtype(1))
    # in units of eps |log P|: P and its derivative come through exp(log P)
    unit = np.finfo(dtype).eps * np.maximum(1.0, np.abs(np.log(want[:, 0])))
    errors = [np.max(rel_err(got, w) / unit) for got, w in zip((F, dF, da), want.T)]
    assert max(errors) <= 6, errors       # measured: 3.8 (float64), 2.8 (float32)


def _gamma_ref(mpmath, a, x):
    """P(a, x), dP/da and dx/da = -(dP/da) / q at exactly these numbers."""
    a, x = mpmath.mpf(a), mpmath.mpf(x)
    p = lambda s: mpmath.gammainc(s, 0, x, regularized=True)
    dp = mpmath.diff(p, a)
    q = mpmath.exp((a - 1) * mpmath.log(x) - x - mpmath.loggamma(a))
    return float(p(a)), float(dp), float(-dp / q)
