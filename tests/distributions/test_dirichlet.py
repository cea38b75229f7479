"""irgen.generated.dirichlet: a row per batch entry in one kernel (irgen/rows.py).

Each entry draws what Gamma's own sampler draws for it (sample, or log_sample below the
log-space threshold), so the row kernels are checked against Gamma's kernels' draws
normalised exactly in mpmath: z, log z and v = (dG_j/dalpha_j) / sum(G). Then the
array boundary (batch shapes, broadcasting, out=, dtypes, bad rows), rows longer than a
chunk, and the CUDA kernels compiled as host code against the C kernels. The statistics
(marginals against scipy's Betas, unbiased Jacobians) are in tests/distributions/test_compose.py."""
import mpmath
import numpy as np
import pytest

from scipy import special, stats

import irgen.generated.dirichlet as d
import irgen.generated.gamma as g
from agreement import ulps_apart

BELOW = {np.float64: 0.1, np.float32: 0.5}


def shapes(rng, rows, k, dtype, low=1e-3, high=30.0):
    return np.exp(rng.uniform(np.log(low), np.log(high), (rows, k))).astype(dtype)


def exact(alpha, seed):
    """(z, log z, v) of Gamma's kernels' draws normalised exactly (mpmath, 30 digits), in
    float64: the row kernels must round these, not approximate them."""
    dt = alpha.dtype.type
    flat = alpha.ravel()
    logs = flat < BELOW[dt]
    one = dt(1)
    y, G = g.log_sample(flat, one, seed=seed), g.sample(flat, one, seed=seed)
    dly, dG = g.log_rsample(flat, one, seed=seed)[1][0], g.rsample(flat, one, seed=seed)[1][0]
    out = np.empty((3,) + flat.shape)
    k = alpha.shape[-1]
    with mpmath.workdps(30):
        for r in range(0, flat.size, k):
            row = range(r, r + k)
            ly = [mpmath.mpf(float(y[i])) if logs[i] else mpmath.log(float(G[i])) for i in row]
            e = [mpmath.exp(t) for t in ly]
            total = mpmath.fsum(e)
            # log z_j = -log1p(the others' sum / G_j), the others' sum from prefix and
            # suffix sums: no 1 + 1e-50 to round
            before, after = [mpmath.mpf(0)], [mpmath.mpf(0)]
            for j in range(k):
                before.append(before[-1] + e[j])
                after.append(after[-1] + e[k - 1 - j])
            for j, i in enumerate(row):
                z = e[j] / total
                others = before[j] + after[k - 1 - j]
                out[:, i] = (z, -mpmath.log1p(others / e[j]),
                             float(dly[i]) * z if logs[i] else float(dG[i]) / total)
    return out.reshape((3,) + alpha.shape)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("k", [2, 9, 5000])
def test_rows_are_the_exact_normalisation_of_the_gamma_kernels_draws(dtype, k):
    """z, log z and v within a few ulp of Gamma's draws normalised exactly (float32: one
    rounding of a double result); 5000 entries make a row longer than a chunk (4096),
    taken in two chunks by the scalar form of the normalisation."""
    rng = np.random.default_rng(k)
    alpha = shapes(rng, max(1, 2000 // k), k, dtype)
    z, v = d.rsample(alpha, seed=11)
    log_z = d.log_sample(alpha, seed=11)
    assert z.dtype == v.dtype == log_z.dtype == dtype and z.shape == alpha.shape
    assert np.array_equal(d.sample(alpha, seed=11), z)
    ulps = 4 if dtype == np.float64 else 1
    for name, got, want in zip(("z", "log z", "v"), (z, log_z, v), exact(alpha, 11)):
        want = want.astype(dtype)
        # v is the product of a gradient and an exponential: where that exponential is
        # subnormal (a z below 1e-300) it has fewer digits
        ok = np.abs(want) > (1e-290 if name == "v" and dtype == np.float64 else 0)
        assert np.max(ulps_apart(want[ok], got[ok])) <= ulps, name
    assert np.all(log_z <= 0)
    eps = np.finfo(dtype).eps
    assert np.allclose(z.sum(-1, dtype=np.float64), 1, rtol=0, atol=(4 + k // 100) * eps)


def test_small_concentrations_keep_their_proportions_in_log_space():
    """alpha = 1e-4: most z_j underflow, log z stays finite and the largest entry is near 1."""
    alpha = np.full((2000, 4), 1e-4, np.float32)
    y = d.log_sample(alpha, seed=3)
    assert np.all(np.isfinite(y)) and np.all(y <= 0)
    assert np.mean(y.max(-1) > -1e-5) > 0.98      # a close second takes a little, rarely
    # P(entry j is the largest) = 1/4 by symmetry
    counts = np.bincount(np.argmax(y, -1), minlength=4) / len(y)
    assert np.allclose(counts, 0.25, atol=0.04)


def test_batch_shapes_broadcasting_and_out():
    alpha = np.array([0.5, 2.0, 7.0])
    z = d.sample(alpha, size=(4, 5), seed=2)
    assert z.shape == (4, 5, 3)
    # a broadcast row draws what the materialised batch draws
    assert np.array_equal(z, d.sample(np.broadcast_to(alpha, (4, 5, 3)), seed=2))
    out = (np.empty((4, 5, 3)), np.empty((4, 5, 3)))
    assert d.rsample(alpha, seed=2, out=out) is out            # size from out=
    assert np.array_equal(out[0], z)
    assert d.sample(alpha, size=(0,), seed=2).shape == (0, 3)
    assert d.sample(alpha.astype(np.float32), seed=2).dtype == np.float32
    assert d.sample(alpha, seed=2, dtype=np.float32).dtype == np.float32
    with pytest.raises(ValueError, match="K >= 2"):
        d.sample(np.array([1.0]), seed=1)
    with pytest.raises(ValueError, match="K >= 2"):
        d.sample(np.float64(1.0), seed=1)
    with pytest.raises(ValueError):
        d.sample(np.ones((2, 3)), size=(4,), seed=1)             # (2, 3) into (4, 3)
    with pytest.raises(ValueError, match="out"):
        d.rsample(alpha, seed=1, out=np.empty(3))


def test_a_bad_entry_makes_its_row_nan():
    alpha = np.array([[1.0, -1.0, 2.0], [1.0, 2.0, 3.0], [np.nan, 1.0, 1.0],
                      [np.inf, 1.0, 1.0], [0.0, 1.0, 1.0], [1e-30, 1e-30, 1e-30]])
    for f in (d.sample, d.log_sample):
        z = f(alpha, seed=1)
        assert np.all(np.isnan(z[[0, 2, 3, 4]])) and not np.any(np.isnan(z[1]))
    z, v = d.rsample(alpha, seed=1)
    assert np.all(np.isnan(v[[0, 2, 3, 4]])) and np.all(np.isfinite(v[1]))
    # shapes this small: log G near -1e31, one entry takes all the mass
    assert sorted(z[5]) == [0, 0, 1] and np.all(np.isfinite(v[5]))


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_cuda_kernels_on_host_match_the_c_kernels(dtype, launches):
    """The .cu row kernels (tiles of whole rows, a row in tiles where longer, the warp's
    reductions with one lane) compiled as host code, against the C kernels."""
    from cuda_on_host import OnDevice
    dev = OnDevice(d)
    rng = np.random.default_rng(7)
    for rows, k in ((300, 5), (3, 3000)):                     # 3000 > a tile of 2048
        alpha = shapes(rng, rows, k, dtype)
        x = d.sample(alpha, seed=5)
        want, got = d.log_prob(x, alpha), dev.log_prob(x, alpha)
        assert got.dtype == want.dtype and got.shape == (rows,)
        # the C lanes' lgamma is irgen's own, CUDA's (here the C library's) another: they
        # agree to a few ulps of the terms, which the density's sum may cancel
        a = alpha.astype(np.float64)
        with np.errstate(divide="ignore"):           # (rows with an entry at 0: -inf, same)
            lx = np.log(x.astype(np.float64))
        terms = (np.abs(special.gammaln(a.sum(-1))) + np.abs(special.gammaln(a)).sum(-1)
                 + np.abs((a - 1) * lx).sum(-1))
        apart = want != got
        assert np.all(np.abs(got[apart] - want[apart]) <= 8 * np.finfo(dtype).eps * terms[apart])
        for kernel in ("sample", "log_sample", "rsample"):
            want = getattr(d, kernel)(alpha, seed=4)
            got = getattr(dev, kernel)(alpha, seed=4)
            pairs = zip(*(r if isinstance(r, tuple) else (r,) for r in (want, got)))
            for j, (w, o) in enumerate(pairs):
                assert o.dtype == w.dtype and o.shape == w.shape
                assert np.array_equal(np.isnan(o), np.isnan(w))
                # the draws are the same bits (portable functions); the normalisation
                # differs by the order of the row's sum and the vector exp (within 4 ulp);
                # log z near 0 by a few eps; the gradients come through the math library,
                # which differs (SIMD lanes on the CPU)
                if kernel == "log_sample":
                    eps = np.finfo(dtype).eps
                    assert np.all(np.abs(w - o) <= 8 * eps * np.maximum(1, np.abs(w)))
                else:
                    assert np.nanmax(ulps_apart(w, o)) <= (4 if j == 0 else 4096), kernel
    assert {n for n, _, _ in launches} >= {f"irgen_{k}_{np.dtype(dtype).name}"
                                           for k in ("sample", "log_sample", "rsample",
                                                     "log_prob")}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_log_prob_against_scipy(dtype):
    rng = np.random.default_rng(12)
    alpha = np.exp(rng.uniform(np.log(0.05), np.log(200), (300, 6)))
    x = np.stack([stats.dirichlet.rvs(a, random_state=rng)[0] for a in alpha])
    x /= x.sum(-1, keepdims=True)
    want = np.array([stats.dirichlet.logpdf(xi, a) for xi, a in zip(x, alpha)])
    got = d.log_prob(x.astype(dtype), alpha.astype(dtype))
    assert got.dtype == dtype and got.shape == (300,)
    if dtype == np.float32:       # the density at the float32 inputs, in float64
        xr, ar = x.astype(dtype).astype(float), alpha.astype(dtype).astype(float)
        xr = np.maximum(xr, 1e-300)
        want = (np.sum((ar - 1) * np.log(xr) - special.gammaln(ar), -1)
                + special.gammaln(ar.sum(-1)))
    # the terms (lgamma(alpha) up to 1000) cancel to the result
    scale = np.abs(stats.dirichlet.logpdf(x.T, np.ones(6))) + np.sum(
        np.abs((alpha - 1) * np.log(x)), -1) + np.sum(np.abs(special.gammaln(alpha)), -1)
    tol = (1e-15 if dtype == np.float64 else 4e-7) * scale
    kept = np.all(x.astype(dtype) > 1e-30, -1)        # float32 keeps the entries' logs
    assert kept.mean() > 0.8
    assert np.all(np.abs(got - want)[kept] <= tol[kept])


def test_log_prob_off_the_simplex_and_bad_concentrations():
    ones = np.ones(3)
    assert d.log_prob([0.2, 0.3, 0.5], ones) == pytest.approx(np.log(2))   # 1 / B(1, 1, 1)
    assert d.log_prob([0.2, 0.3, 0.6], ones) == -np.inf          # sums to 1.1
    assert d.log_prob([1.2, -0.5, 0.3], ones) == -np.inf         # entries outside [0, 1]
    assert np.isnan(d.log_prob([0.2, 0.3, 0.5], [1.0, -1.0, 1.0]))
    assert np.isnan(d.log_prob([0.2, np.nan, 0.8], ones))
    assert d.log_prob([0.0, 0.5, 0.5], [0.5, 1.0, 1.0]) == np.inf   # an unbounded density
    lp = d.log_prob(np.array([0.2, 0.3, 0.5]), np.ones((4, 3)) * [[1], [2], [3], [4]])
    assert lp.shape == (4,)
    out = np.empty(4)
    assert d.log_prob([0.2, 0.3, 0.5], np.full((4, 3), 2.0), out=out) is out
    long = np.full(6000, 1 / 6000)                               # a row of 6000 entries
    assert d.log_prob(long, np.ones(6000)) == pytest.approx(special.gammaln(6000), rel=1e-13)


def test_a_simplex_needs_a_component_that_samples_in_log_space():
    from irgen.distributions.normal import normal
    from irgen.dsl import Param, Simplex
    from irgen.errors import DeclarationError
    from irgen.program import Program
    from irgen.rows import build_row_kernels
    bad = Simplex(name="s", param=Param("alpha", "", "positive"), component=normal,
                  fixed=(1.0,))
    with pytest.raises(DeclarationError, match="log_sample"):
        build_row_kernels(bad, Program())
    from irgen.distributions.gamma import gamma
    wrong = Simplex(name="s", param=Param("alpha", "", "positive"), component=gamma)
    with pytest.raises(DeclarationError, match="fixed"):
        build_row_kernels(wrong, Program())
