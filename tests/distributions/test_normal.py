"""Normal: implicit gradients and CDF derivatives against their closed forms, float64 and
float32 (whose kernels compute in float)."""
import numpy as np
import pytest
from scipy import stats

import irgen.generated.normal as n


@pytest.mark.parametrize("dtype,tol", [(np.float64, 2e-15), (np.float32, 2e-6)])
def test_implicit_grad_closed_form(dtype, tol):
    rng = np.random.default_rng(11)
    mu = rng.normal(size=5000).astype(dtype)
    sigma = np.exp(rng.uniform(-3, 3, 5000)).astype(dtype)
    eps = rng.normal(size=5000) * np.exp(rng.uniform(0, 3.3, 5000))   # out to ~27 sigma
    z = (mu + sigma * eps.astype(dtype)).astype(dtype)
    dmu, dsigma = n.implicit_grad(z, mu, sigma)
    assert dmu.dtype == dtype
    assert np.max(np.abs(dmu - 1)) <= tol
    exact = (z.astype(float) - mu) / sigma
    assert np.max(np.abs(dsigma - exact) / np.maximum(np.abs(exact), 1)) <= 4 * tol


@pytest.mark.parametrize("dtype,rtol", [(np.float64, 1e-13), (np.float32, 2e-6)])
def test_cdf_grad_closed_form(dtype, rtol):
    rng = np.random.default_rng(12)
    mu = rng.normal(size=2000)
    sigma = np.exp(rng.uniform(-2, 2, 2000))
    t = rng.uniform(-6, 6, 2000)
    x = mu + sigma * t
    F, dmu, dsigma = n.cdf_grad(x.astype(dtype), mu.astype(dtype), sigma.astype(dtype))
    t32 = (x.astype(dtype).astype(float) - mu.astype(dtype)) / sigma.astype(dtype)
    pdf = stats.norm.pdf(t32) / sigma.astype(dtype)
    # one rounding of t in the kernel's dtype moves F by about t^2 of it, relatively
    cond = 1 + t32 * t32
    ref = stats.norm.cdf(t32)
    assert np.all(np.abs(F - ref) <= rtol * cond * ref)
    assert np.all(np.abs(dmu + pdf) <= 2 * rtol * cond * pdf)
    # x - mu cancels: t is accurate to eps (|x| + |mu|) / sigma, not to eps |t|
    scale = np.maximum(np.abs(t32), (np.abs(x) + np.abs(mu)) / sigma)
    assert np.all(np.abs(dsigma + pdf * t32) <= 2 * rtol * cond * pdf * scale)
