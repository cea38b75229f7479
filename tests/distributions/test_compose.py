"""Distributions composed from generated modules: Dirichlet, truncation, mixtures.

Against scipy.stats (densities, CDFs, Kolmogorov-Smirnov fits), mpmath (the truncated Normal
10 and 40 standard deviations out), finite differences of the CDF in float64 (implicit
gradients: dz/dp = -(dF_T/dp) / q_T), and the unbiasedness of reparameterization gradients
against closed forms of d/dp E[z]."""
import types

import mpmath
import numpy as np
import pytest
from scipy import stats

import irgen.generated.gamma as gamma
import irgen.generated.normal as normal
import irgen.generated.weibull as weibull
from cases import CASES
from unoptimised import loaded, unoptimised
from irgen.compose import dirichlet
from irgen.compose.factorised_mixture import factorised_mixture
from irgen.compose.mixture import mixture
from irgen.compose.truncated import truncated
from paths import ROOT

RNG = np.random.default_rng(29)
EXAMPLES = ROOT / "examples"


# ---------------------------------------------------------------- Dirichlet

def test_dirichlet_log_prob_against_scipy():
    alpha = np.exp(RNG.uniform(np.log(0.1), np.log(50), (200, 5)))
    z = np.stack([stats.dirichlet.rvs(a, random_state=RNG)[0] for a in alpha])
    want = [stats.dirichlet.logpdf(zi, a) for zi, a in zip(z, alpha)]
    assert np.allclose(dirichlet.log_prob(z, alpha), want, rtol=1e-11, atol=1e-11)


def test_dirichlet_marginals_fit_their_betas():
    alpha = np.array([0.3, 1.0, 4.0, 20.0])
    for dtype in (np.float64, np.float32):
        z = dirichlet.sample(alpha, size=20000, seed=3, dtype=dtype)
        assert z.shape == (20000, 4) and z.dtype == dtype
        assert np.allclose(z.sum(-1), 1, atol=4 * np.finfo(dtype).eps)
        for i, a in enumerate(alpha):
            ref = stats.beta(a, alpha.sum() - a).cdf
            assert stats.kstest(z[:, i].astype(float), ref).pvalue > 1e-3, (dtype, i)


def test_dirichlet_mixes_log_space_and_direct_draws():
    """alpha = 0.02 (drawn in log space) beside 0.7 and 3 (drawn directly): marginals fit,
    rsample draws what sample draws."""
    alpha = np.array([0.02, 0.7, 3.0])
    z = dirichlet.sample(alpha, size=20000, seed=21)
    zr, v = dirichlet.rsample(alpha, size=20000, seed=21)
    assert np.array_equal(z, zr) and np.all(np.isfinite(v))
    for i, a in enumerate(alpha):
        assert stats.kstest(z[:, i], stats.beta(a, alpha.sum() - a).cdf).pvalue > 1e-3, i


def test_dirichlet_gradients_are_unbiased():
    """d/dalpha_j E[z_i] = (delta_ij a0 - alpha_i) / a0^2, from the mean of the Jacobians."""
    alpha = np.array([0.2, 1.5, 6.0])
    z, v = dirichlet.rsample(alpha, size=200000, seed=5)
    assert np.array_equal(z, dirichlet.sample(alpha, size=200000, seed=5))
    jac = dirichlet.jacobian(z, v)
    a0 = alpha.sum()
    want = (np.eye(3) * a0 - alpha[:, None]) / a0 ** 2
    se = jac.std(axis=0) / np.sqrt(z.shape[0])
    assert np.all(np.abs(jac.mean(axis=0) - want) < 5 * se + 1e-12)
    g = RNG.normal(size=3)
    assert np.allclose(dirichlet.vjp(z[:5], v[:5], g), np.einsum("i,nij->nj", g, jac[:5]))


def test_dirichlet_small_concentrations_in_log_space():
    """alpha = 1e-3: most z_j underflow, log z stays finite and normalised."""
    alpha = np.full(10, 1e-3)
    y = dirichlet.log_sample(alpha, size=2000, seed=8)
    assert np.all(np.isfinite(y)) and np.mean(y < -745) > 0.3
    assert np.allclose(np.logaddexp.reduce(y, axis=-1), 0, atol=1e-12)


def test_dirichlet_takes_torch_tensors():
    """torch tensors in, torch tensors out (on a GPU the normalisation runs there too): the
    same draws as for NumPy arrays, to rounding."""
    torch = pytest.importorskip("torch")
    import irgen.torch  # noqa: F401  (registers torch's arrays with irgen.compose)
    alpha = np.array([[0.02, 0.7, 3.0], [5.0, 0.3, 1.0]])
    # the libraries' exp and log differ by an ulp: e^(log z) at log z = -60 moves 60 ulp
    for dtype, tdtype, tol in ((np.float64, torch.float64, 1e-13),
                               (np.float32, torch.float32, 2e-5)):
        z, v = dirichlet.rsample(alpha.astype(dtype), size=(500, 2), seed=31)
        tz, tv = dirichlet.rsample(torch.tensor(alpha, dtype=tdtype), size=(500, 2), seed=31)
        assert isinstance(tz, torch.Tensor) and tz.dtype == tdtype and tz.shape == z.shape
        assert np.allclose(tz.numpy(), z, rtol=tol, atol=0)
        assert np.allclose(tv.numpy(), v, rtol=tol, atol=0)
        g = RNG.normal(size=z.shape).astype(dtype)
        assert np.allclose(dirichlet.vjp(tz, tv, torch.from_numpy(g)).numpy(),
                           dirichlet.vjp(z, v, g), rtol=tol, atol=tol)
        assert np.allclose(dirichlet.jacobian(tz, tv).numpy(), dirichlet.jacobian(z, v),
                           rtol=tol, atol=tol)
    bad = dirichlet.sample(torch.tensor([[1.0, -1.0], [1.0, 2.0]]), seed=1)
    assert torch.isnan(bad[0]).all() and torch.isfinite(bad[1]).all()


def test_dirichlet_bad_rows_are_nan():
    alpha = np.array([[1.0, 2.0], [1.0, -1.0], [np.nan, 1.0], [1.0, 0.0]])
    z = dirichlet.sample(alpha, seed=1)
    assert np.all(np.isfinite(z[0])) and np.all(np.isnan(z[1:]))
    assert np.isnan(dirichlet.log_prob([0.5, 0.5], [1.0, -1.0]))
    with pytest.raises(ValueError):
        dirichlet.sample([1.0], seed=1)


# ---------------------------------------------------------------- truncation

def truncated_normal_mp(x, mu, sigma, low, high):
    """F_T by mpmath at 60 digits, from the tail the window lies in (erfc keeps its digits
    there; 1 - 1e-350 would not)."""
    with mpmath.workdps(60):
        r = mpmath.sqrt(2)
        if high <= mu:
            F = lambda v: mpmath.erfc((mu - mpmath.mpf(v)) / sigma / r) / 2  # noqa: E731
            return float((F(x) - F(low)) / (F(high) - F(low)))
        S = lambda v: mpmath.erfc((mpmath.mpf(v) - mu) / sigma / r) / 2  # noqa: E731
        return float((S(low) - S(x)) / (S(low) - S(high)))


def fd_implicit(t, z, params, i, rel=1e-6):
    """-(dF_T/dp_i) / q_T by central differences of the CDF."""
    p = list(params)
    h = rel * max(abs(p[i]), 1.0)
    up, down = list(p), list(p)
    up[i] += h
    down[i] -= h
    dF = (t.cdf(z, *up) - t.cdf(z, *down)) / (2 * h)
    return -dF / np.exp(t.log_prob(z, *p))


def test_truncated_normal_far_out_is_finite_and_accurate():
    """[10, 11] and [40, inf) standard deviations out, where F(x) - F(low) is 1 - 1 in
    doubles: CDF against mpmath, samples inside the window and fitting it, gradients
    finite and against finite differences."""
    tn = truncated(normal)
    for low, high in ((10.0, 11.0), (40.0, np.inf), (-11.0, -10.0), (-np.inf, -40.0)):
        z = tn.sample(0.0, 1.0, low, high, size=20000, seed=2)
        assert np.all(np.isfinite(z)) and np.all((z >= low) & (z <= high))
        xs = z[:20]
        got = tn.cdf(xs, 0.0, 1.0, low, high)
        want = [truncated_normal_mp(x, 0, 1, low, high) for x in xs]
        # 40 out, log S ~ -800 carries 800 eps: F_T = -expm1(log S(x) - log S(low)) to 2e-13
        assert np.allclose(got, want, rtol=5e-12, atol=1e-15), (low, high)
        ks = stats.kstest(z, lambda v: tn.cdf(v, 0.0, 1.0, low, high))
        assert ks.pvalue > 1e-3, (low, high)
        grads = tn.implicit_grad(z, 0.0, 1.0, low, high)
        assert all(np.all(np.isfinite(g)) for g in grads)
        if np.isfinite(high) and np.isfinite(low):
            for i in range(4):
                fd = fd_implicit(tn, xs[:5], (0.0, 1.0, low, high), i)
                assert np.allclose(grads[i][:5], fd, rtol=1e-5, atol=1e-9), (low, high, i)


def test_truncated_samples_are_the_quantiles_of_their_uniforms():
    """The Newton-bisection inversion to full precision: z = F_T^-1(u) for the uniforms of
    the seed, against scipy's truncated Normal quantile."""
    u = np.random.default_rng(17).random(2000)
    z = truncated(normal).sample(0.5, 2.0, -1.0, 3.0, size=2000, seed=17)
    want = stats.truncnorm.ppf(u, -0.75, 1.25, loc=0.5, scale=2.0)
    assert np.allclose(z, want, rtol=1e-13, atol=1e-13)
    assert np.array_equal(truncated(normal).quantile(u, 0.5, 2.0, -1.0, 3.0), z)


@pytest.mark.parametrize("window", [(0.01, 0.0, np.inf), (0.01, 1e-30, 1e-3),
                                    (0.5, 0.0, 1e-200), (3.0, 1.0, 1e6), (50.0, 0.0, 1.0)])
def test_truncated_gamma_quantiles_across_orders_of_magnitude(window):
    """Windows whose quantiles span hundreds of orders of magnitude (Gamma(0.01) draws reach
    1e-300), or that open far beyond the mass: z = F_T^-1(u) to the precision F_T resolves,
    against mpmath's regularized incomplete gamma at 30 digits. (Before the solver bisected
    and stepped in log |x| there, its Newton steps in x crept up by a factor of about
    1 + log(x*/x) each and ran out of its 200 steps, e.g. F_T(z) - u = 0.25 for Gamma(0.01)
    on [0, inf).)"""
    a, low, high = window
    u = np.random.default_rng(23).random(300)
    t = truncated(gamma)
    z = t.sample(a, 1.0, low, high, size=300, seed=23)
    mpmath.mp.dps = 30
    P = lambda x: mpmath.gammainc(a, 0, x, regularized=True)   # noqa: E731
    lo, hi = P(low), P(high) if np.isfinite(high) else mpmath.mpf(1)
    got = np.array([float((P(mpmath.mpf(float(x))) - lo) / (hi - lo)) for x in z])
    # z rounds to a double: F_T moves by q_T(z) ulp(z) from u, which at Gamma(0.01)'s
    # subnormal draws is the whole gap to the next subnormal
    resolvable = z > 1e-300
    assert np.all((z >= low) & (z <= high))
    assert np.allclose(got[resolvable], u[resolvable], rtol=1e-12, atol=1e-15)
    assert np.all(np.abs(got - u) < 1e-6)


EVERY_BASE = {name: case.typical for name, case in CASES.items()}


@pytest.mark.parametrize("name", sorted(EVERY_BASE))
def test_every_built_in_distribution_truncates(name):
    """Windows between the base's own sample quantiles (the body, 0.1-1% and 99-99.99%):
    draws inside, F_T(z) within 1e-13 of the uniforms, a few solver steps, and dz/dp for
    the first parameter equal to central differences of the quantile at the same u."""
    import importlib
    base = importlib.import_module("generated." + name)
    p = EVERY_BASE[name]
    t = truncated(base)
    q = np.sort(base.sample(*p, size=20001, seed=1))
    u = np.random.default_rng(3).random(500)
    for qa, qb in ((0.2, 0.7), (0.001, 0.01), (0.99, 0.9999)):
        low, high = q[int(qa * 20000)], q[int(qb * 20000)]
        z, grads = t.rsample(*p, low, high, size=500, seed=3)
        assert np.all((z >= low) & (z <= high))
        assert np.allclose(t.cdf(z, *p, low, high), u, rtol=0, atol=1e-13), (qa, qb)
        h = 1e-6 * max(1.0, abs(p[0]))
        up, down = (p[0] + h,) + p[1:], (p[0] - h,) + p[1:]
        fd = (t.quantile(u[:20], *up, low, high) - t.quantile(u[:20], *down, low, high)) / (2 * h)
        assert np.allclose(grads[0][:20], fd, rtol=1e-4, atol=1e-9 * np.abs(z).max()), (qa, qb)


def test_truncated_gradients_against_finite_differences():
    for base, params in ((normal, (0.5, 2.0)), (gamma, (2.5, 1.5)), (weibull, (0.7, 2.0))):
        t = truncated(base)
        low, high = (0.2, 1.7) if base is not normal else (-1.0, 3.0)
        z = t.sample(*params, low, high, size=40, seed=4)
        full = tuple(params) + (low, high)
        grads = t.implicit_grad(z, *full)
        for i in range(len(full)):
            assert np.allclose(grads[i], fd_implicit(t, z, full, i), rtol=2e-5, atol=1e-8), \
                (base.name, i)


def test_truncated_gradients_are_unbiased():
    """d/dmu E[z] for Normal(mu, 1) truncated to [a, b]: E[z] = mu + (phi(a') - phi(b')) / Z,
    differentiated in closed form."""
    mu, a, b = 0.3, -0.5, 2.0
    al, be = a - mu, b - mu
    Z = stats.norm.cdf(be) - stats.norm.cdf(al)
    pa, pb = stats.norm.pdf(al), stats.norm.pdf(be)
    # d/dmu of (pa - pb) / Z with d(al)/dmu = d(be)/dmu = -1
    dmean = 1 + ((al * pa - be * pb) * Z - (pa - pb) * (pa - pb)) / Z ** 2
    z, grads = truncated(normal).rsample(mu, 1.0, a, b, size=200000, seed=6)
    g = grads[0]
    assert abs(g.mean() - dmean) < 5 * g.std() / np.sqrt(g.size)


def test_truncated_bad_input_is_nan():
    tn = truncated(normal)
    assert np.isnan(tn.cdf(0.5, 0.0, 1.0, 2.0, 1.0))
    assert np.isnan(tn.sample(0.0, -1.0, 0.0, 1.0, seed=1))
    assert np.all(np.isnan(tn.implicit_grad(0.5, 0.0, 1.0, np.nan, 1.0)))
    assert tn.cdf(-3.0, 0.0, 1.0, -1.0, 1.0) == 0 and tn.cdf(3.0, 0.0, 1.0, -1.0, 1.0) == 1


# ---------------------------------------------------------------- mixtures

def test_mixture_against_scipy_and_its_sampler():
    mix = mixture(gamma)
    w, alpha, beta = np.array([0.2, 0.5, 0.3]), np.array([0.5, 3.0, 20.0]), np.array(
        [1.0, 2.0, 0.5])
    comps = [stats.gamma(a, scale=1 / b) for a, b in zip(alpha, beta)]
    x = np.exp(RNG.uniform(-5, 4, 300))
    want_F = sum(wk * c.cdf(x) for wk, c in zip(w, comps))
    want_q = sum(wk * c.pdf(x) for wk, c in zip(w, comps))
    assert np.allclose(mix.cdf(x, w, alpha, beta), want_F, rtol=1e-13, atol=1e-300)
    assert np.allclose(mix.log_prob(x, w, alpha, beta), np.log(want_q), rtol=1e-12)
    z = mix.sample(w, alpha, beta, size=20000, seed=9)
    cdf = lambda v: sum(wk * c.cdf(v) for wk, c in zip(w, comps))  # noqa: E731
    assert stats.kstest(z, cdf).pvalue > 1e-3


def test_mixture_gradients_against_finite_differences():
    mix = mixture(normal)
    w, mu, sigma = np.array([0.3, 0.7]), np.array([-1.0, 2.0]), np.array([0.5, 1.5])
    z = mix.sample(w, mu, sigma, size=30, seed=10)
    dw, dmu, dsigma = mix.implicit_grad(z, w, mu, sigma)
    q = np.exp(mix.log_prob(z, w, mu, sigma))
    h = 1e-6
    for k in range(2):
        for arr, got in ((mu, dmu), (sigma, dsigma), (w, dw)):
            up, down = arr.copy(), arr.copy()
            up[k] += h
            down[k] -= h
            args_up = [up if a is arr else a for a in (w, mu, sigma)]
            args_down = [down if a is arr else a for a in (w, mu, sigma)]
            if arr is w:      # weights moved freely: F is linear in them
                dF = stats.norm(mu[k], sigma[k]).cdf(z)
            else:
                dF = (mix.cdf(z, *args_up) - mix.cdf(z, *args_down)) / (2 * h)
            assert np.allclose(got[:, k], -dF / q, rtol=1e-6, atol=1e-9)
    # softmax logits: dz/dlogit_k = sum_j dz/dw_j w_j (delta_jk - w_k)
    gl = mix.grad_logits(z, w, mu, sigma)
    want = np.einsum("nj,j,jk->nk", dw, w, np.eye(2) - w[None, :])
    assert np.allclose(gl, want, rtol=1e-9, atol=1e-12)


def test_mixture_gradient_is_unbiased():
    """E[z] = sum w_k mu_k: d/dmu_k = w_k, d/dlogit_k = w_k (mu_k - E[z])."""
    mix = mixture(normal)
    w, mu, sigma = np.array([0.25, 0.75]), np.array([-2.0, 1.0]), np.array([1.0, 0.5])
    z, (dw, dmu, _) = mix.rsample(w, mu, sigma, size=200000, seed=12)
    se = dmu.std(axis=0) / np.sqrt(z.size)
    assert np.all(np.abs(dmu.mean(axis=0) - w) < 5 * se)
    gl = mix.grad_logits(z, w, mu, sigma)
    want = w * (mu - np.dot(w, mu))
    assert np.all(np.abs(gl.mean(axis=0) - want) < 5 * gl.std(axis=0) / np.sqrt(z.size))


def test_mixture_bad_weights_are_nan():
    mix = mixture(normal)
    assert np.isnan(mix.cdf(0.0, [0.5, 0.6], [0.0, 1.0], [1.0, 1.0]))
    assert np.isnan(mix.sample([0.5, -0.5], [0.0, 1.0], [1.0, 1.0], seed=1))
    assert np.all(np.isnan(mix.implicit_grad(0.0, [0.5, 0.5], [0.0, 1.0], [1.0, -1.0])[1]))


# ---------------------------------------------------------------- factorised mixtures

def fm_case():
    w = np.array([0.35, 0.65])
    mu = np.array([[-1.0, 0.5, 2.0], [1.5, -0.5, 0.0]])
    sigma = np.array([[0.7, 1.2, 0.5], [1.0, 0.4, 1.5]])
    return w, mu, sigma


def test_factorised_mixture_density_and_transform():
    """log density against scipy's products; T(x) of samples: independent uniforms."""
    fm = factorised_mixture(normal)
    w, mu, sigma = fm_case()
    x = fm.sample(w, mu, sigma, size=20000, seed=13)
    assert x.shape == (20000, 3)
    want = np.log(sum(wk * np.prod(stats.norm(m, s).pdf(x[:50]), axis=-1)
                      for wk, m, s in zip(w, mu, sigma)))
    assert np.allclose(fm.log_prob(x[:50], w, mu, sigma), want, rtol=1e-13)
    u = fm.transform(x, w, mu, sigma)
    for d in range(3):
        assert stats.kstest(u[:, d], "uniform").pvalue > 1e-3, d
    assert abs(np.corrcoef(u.T)[0, 2]) < 0.03


def inverse_transform(u, w, mu, sigma):
    """x with T(x) = u, one coordinate at a time by Brent's method on scipy's CDFs."""
    from scipy.optimize import brentq
    x = []
    for d in range(len(u)):
        lw = np.log(w) + sum(stats.norm(mu[:, j], sigma[:, j]).logpdf(x[j]) for j in range(d))
        pi = np.exp(lw - np.logaddexp.reduce(lw))
        f = lambda v: np.dot(pi, stats.norm(mu[:, d], sigma[:, d]).cdf(v)) - u[d]  # noqa
        x.append(brentq(f, -50, 50, xtol=1e-15, rtol=1e-15))
    return np.array(x)


def test_factorised_mixture_gradients_against_finite_differences():
    """dx/dtheta with u = T(x) fixed: central differences of the inverse transform, solved
    independently with scipy."""
    fm = factorised_mixture(normal)
    w, mu, sigma = fm_case()
    x = fm.sample(w, mu, sigma, size=4, seed=14)
    dlogit, dmu, dsigma = fm.implicit_grad(x, w, mu, sigma)
    h = 1e-5
    for n in range(4):
        u = fm.transform(x[n], w, mu, sigma)
        assert np.allclose(inverse_transform(u, w, mu, sigma), x[n], atol=1e-10)
        for k in range(2):
            for j in range(3):
                for arr, got in ((mu, dmu), (sigma, dsigma)):
                    up, down = arr.copy(), arr.copy()
                    up[k, j] += h
                    down[k, j] -= h
                    args = [(up if a is arr else a) for a in (mu, sigma)]
                    args2 = [(down if a is arr else a) for a in (mu, sigma)]
                    fd = (inverse_transform(u, w, *args) - inverse_transform(u, w, *args2)) / (
                        2 * h)
                    assert np.allclose(got[n, :, k, j], fd, rtol=1e-5, atol=1e-7), (n, k, j)
            logits = np.log(w)
            up, down = logits.copy(), logits.copy()
            up[k] += h
            down[k] -= h
            sm = lambda v: np.exp(v) / np.exp(v).sum()  # noqa: E731
            fd = (inverse_transform(u, sm(up), mu, sigma)
                  - inverse_transform(u, sm(down), mu, sigma)) / (2 * h)
            assert np.allclose(dlogit[n, :, k], fd, rtol=1e-5, atol=1e-7), (n, k)


def test_factorised_mixture_in_one_dimension_is_the_mixture():
    fm, mix = factorised_mixture(gamma), mixture(gamma)
    w, alpha, beta = np.array([0.3, 0.7]), np.array([0.8, 5.0]), np.array([1.0, 0.5])
    x = mix.sample(w, alpha, beta, size=200, seed=15)
    dl, da, db = fm.implicit_grad(x[:, None], w, alpha[:, None], beta[:, None])
    _, da1, db1 = mix.implicit_grad(x, w, alpha, beta)
    assert np.allclose(da[:, 0, :, 0], da1, rtol=1e-12, atol=1e-300)
    assert np.allclose(db[:, 0, :, 0], db1, rtol=1e-12, atol=1e-300)
    assert np.allclose(dl[:, 0, :], mix.grad_logits(x, w, alpha, beta), rtol=1e-10,
                       atol=1e-13)


@pytest.mark.parametrize("base", [normal, gamma], ids=["normal", "gamma"])
def test_factorised_mixture_vjp_is_the_contracted_jacobian(base):
    """vjp (one transposed triangular solve per draw) against the Jacobians of
    implicit_grad contracted with the same cotangents, within 1e-13 of their size."""
    fm = factorised_mixture(base)
    if base is normal:
        w, *p = fm_case()
    else:
        w, p = np.array([0.35, 0.65]), [np.array([[0.3, 2.0, 5.0], [1.5, 0.8, 9.0]]),
                                        np.ones((2, 3))]
    x = fm.sample(w, *p, size=200, seed=19)
    v = RNG.normal(size=x.shape)
    jac = fm.implicit_grad(x, w, *p)
    want = [np.einsum("nd,ndk->nk", v, jac[0])]
    want += [np.einsum("ni,nikj->nkj", v, j) for j in jac[1:]]
    for got, ref in zip(fm.vjp(x, v, w, *p), want):
        assert got.shape == ref.shape
        assert np.allclose(got, ref, rtol=1e-12, atol=1e-13 * np.abs(ref).max())


def test_factorised_mixture_gradient_is_unbiased():
    """E[x_d] = sum_k w_k mu_kd: d/dmu_kj E[x_d] = w_k delta_dj."""
    fm = factorised_mixture(normal)
    w, mu, sigma = fm_case()
    x, (_, dmu, _) = fm.rsample(w, mu, sigma, size=100000, seed=16)
    want = w[None, :, None] * np.eye(3)[:, None, :]
    se = dmu.std(axis=0) / np.sqrt(x.shape[0])
    assert np.all(np.abs(dmu.mean(axis=0) - want) < 5 * se + 1e-12)


def test_factorised_mixture_refuses_and_nans():
    # a module whose log density is derived from its CDF has no log_prob_grad kernel
    derived = types.SimpleNamespace(name="derived", params=("a",), cdf=normal.cdf)
    with pytest.raises(ValueError, match="log density"):
        factorised_mixture(derived)
    fm = factorised_mixture(normal)
    _, mu, sigma = fm_case()
    assert np.all(np.isnan(fm.log_prob(np.zeros(3), [0.5, 0.6], mu, sigma)))
    assert np.all(np.isnan(fm.implicit_grad(np.zeros(3), [0.5, 0.6], mu, sigma)[1]))


# ---------------------------------------------------------------- the DSL building blocks

@pytest.fixture(scope="module")
def dsl_examples(tmp_path_factory):
    """examples/truncated_normal.py and examples/normal_mixture.py, built from scratch
    (unoptimised: the tests compare values)."""
    from irgen import build
    out = tmp_path_factory.mktemp("compose_examples")
    files = [EXAMPLES / "truncated_normal.py", EXAMPLES / "normal_mixture.py"]
    with unoptimised():
        build.build(files, out, log=lambda *a: None, cuda_binaries=False)
        return (loaded(build.load_generated(out, "truncated_normal")),
                loaded(build.load_generated(out, "normal_mixture")))


def truncated_normal_grads_mp(z, mu, sigma, low, high):
    """(dz/dmu, dz/dsigma) = -(dF_T/dp) / q_T by mpmath at 60 digits."""
    with mpmath.workdps(60):
        def F(m, s, x):
            S = lambda v: mpmath.erfc((mpmath.mpf(v) - m) / s / mpmath.sqrt(2)) / 2  # noqa
            return (S(low) - S(x)) / (S(low) - S(high))
        m, s, x = mpmath.mpf(mu), mpmath.mpf(sigma), mpmath.mpf(z)
        q = mpmath.diff(lambda v: F(m, s, v), x)
        return (float(-mpmath.diff(lambda v: F(v, s, x), m) / q),
                float(-mpmath.diff(lambda v: F(m, v, x), s) / q))


def test_dsl_truncated_normal_far_out(dsl_examples):
    """The DSL truncation: samples inside [10, 11] and [40, 1e300] (one-sided), fitting the
    Python combinator's CDF; the CDFs agree; gradients against mpmath."""
    tn, _ = dsl_examples
    comb = truncated(normal)
    for low, high, tol in ((10.0, 11.0, 1e-11), (40.0, 1e300, 1e-9), (-1.0, 2.0, 1e-13)):
        z = tn.sample(0.3, 1.2, low, high, size=20000, seed=3)
        assert np.all((z >= low) & (z <= high)), (low, high)
        hi = np.inf if high == 1e300 else high
        assert np.allclose(tn.cdf(z, 0.3, 1.2, low, high), comb.cdf(z, 0.3, 1.2, low, hi),
                           rtol=5e-12, atol=1e-15)
        assert stats.kstest(z, lambda v: comb.cdf(v, 0.3, 1.2, low, hi)).pvalue > 1e-3
        grads = tn.implicit_grad(z, 0.3, 1.2, low, high)
        assert all(np.all(np.isfinite(g)) for g in grads)
        theirs = comb.implicit_grad(z, 0.3, 1.2, low, hi)
        for g, c in zip(grads[2:], theirs[2:]):               # the bounds: no cancellation
            assert np.allclose(g, c, rtol=1e-11, atol=0)
        if low > 0:
            for i in range(3):
                want = truncated_normal_grads_mp(z[i], 0.3, 1.2, low, hi)
                assert grads[0][i] == pytest.approx(want[0], rel=tol)
                assert grads[1][i] == pytest.approx(want[1], rel=tol)
    assert np.isnan(tn.cdf(0.5, 0.0, 1.0, 2.0, 1.0)) and np.isnan(tn.sample(0.0, 1.0, 2.0, 1.0))


def test_dsl_normal_mixture_against_the_combinator(dsl_examples):
    _, nm = dsl_examples
    comb = mixture(normal)
    logit, mu1, s1, mu2, s2 = 0.4, -1.0, 0.6, 2.0, 1.3
    w1 = 1 / (1 + np.exp(-logit))
    w, mu, sigma = np.array([w1, 1 - w1]), np.array([mu1, mu2]), np.array([s1, s2])
    z = nm.sample(logit, mu1, s1, mu2, s2, size=20000, seed=4)
    assert stats.kstest(z, lambda v: comb.cdf(v, w, mu, sigma)).pvalue > 1e-3
    x = np.linspace(-40, 40, 161)
    # 30 standard deviations out the rounding of t moves F by t^2 eps (2e-13)
    assert np.allclose(nm.cdf(x, logit, mu1, s1, mu2, s2), comb.cdf(x, w, mu, sigma),
                       rtol=1e-12, atol=1e-300)
    assert np.allclose(nm.log_prob(x, logit, mu1, s1, mu2, s2), comb.log_prob(x, w, mu, sigma),
                       rtol=1e-13)
    g = nm.implicit_grad(z[:500], logit, mu1, s1, mu2, s2)
    _, dmu, dsigma = comb.implicit_grad(z[:500], w, mu, sigma)
    dlogits = comb.grad_logits(z[:500], w, mu, sigma)
    want = (dlogits[:, 0] - dlogits[:, 1]) * 0.5          # logit = l1 - l2, l1 + l2 fixed
    for got, ref in zip(g, (want, dmu[:, 0], dsigma[:, 0], dmu[:, 1], dsigma[:, 1])):
        assert np.allclose(got, ref, rtol=1e-10, atol=1e-14)


def test_truncating_a_user_written_distribution(dsl_examples):
    """truncated() of the DSL Normal mixture (a module `irgen build` made from a user's file):
    samples fit scipy's truncated mixture CDF, gradients match finite differences."""
    _, nm = dsl_examples
    t = truncated(nm)
    params = (0.4, -1.0, 0.6, 2.0, 1.3, 0.0, 3.0)      # logit, mu1, s1, mu2, s2, low, high
    w = 1 / (1 + np.exp(-0.4))
    F = lambda v: w * stats.norm(-1.0, 0.6).cdf(v) + (1 - w) * stats.norm(2.0, 1.3).cdf(v)  # noqa
    z = t.sample(*params, size=20000, seed=5)
    assert np.all((z >= 0) & (z <= 3))
    assert stats.kstest(z, lambda v: (F(v) - F(0.0)) / (F(3.0) - F(0.0))).pvalue > 1e-3
    grads = t.implicit_grad(z[:20], *params)
    for i in range(len(params)):
        assert np.allclose(grads[i], fd_implicit(t, z[:20], params, i), rtol=1e-5, atol=1e-8), i
