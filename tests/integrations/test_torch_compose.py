"""irgen.torch's Truncated and MixtureSameFamily: rsample where torch.distributions has none.

Against scipy.stats (truncated densities and CDFs, Kolmogorov-Smirnov fits, the truncated
Normal's mean), torch.distributions.MixtureSameFamily over torch's Gamma (log_prob, cdf,
mean), the NumPy combinators (irgen.compose) on NumPy arrays (rsample's gradients equal their
implicit_grad at the same draws), the unbiasedness of the gradients against derivatives of
the means (central differences of scipy's truncated mean; the mixture's mean in closed form),
and torch.autograd.gradcheck of log_prob and cdf."""
import math

import numpy as np
import pytest
from scipy import stats

torch = pytest.importorskip("torch")
from torch.distributions import Categorical  # noqa: E402
import torch.distributions as D  # noqa: E402

import irgen.generated.gamma as gamma  # noqa: E402
import irgen.generated.normal as normal  # noqa: E402
import irgen.torch as it  # noqa: E402
from irgen.compose.mixture import mixture  # noqa: E402
from irgen.compose.truncated import truncated  # noqa: E402

f64 = torch.float64
INF = math.inf
# (loc, scale, low, high): inside, one side open, 10 and 40 standard deviations out
WINDOWS = [(0.3, 1.2, -1.0, 2.0), (0.3, 1.2, 3.0, INF), (-0.5, 2.0, -INF, -9.0),
           (0.0, 1.0, 10.0, INF), (1.0, 0.5, 21.0, 21.5)]


def _rtol(window):
    """How closely rsample's gradients equal implicit_grad's at the same draws: rsample
    takes F_T(z) as the draw's own uniform, implicit_grad recomputes it at the rounded
    draw; they differ by q_T(z) ulp(z), which 40 standard deviations out (q_T near 80)
    reaches the 12th digit."""
    return 1e-11 if window[2] > 20 else 1e-12


def leaves(*values, dtype=f64):
    return [torch.tensor(v, dtype=dtype, requires_grad=True) for v in values]


@pytest.mark.parametrize("window", WINDOWS)
def test_truncated_rsample_gradients_are_the_combinators(window):
    """Draws inside the window; loc, scale, low and high receive the NumPy combinator's
    implicit gradients at the same draws (summed over them)."""
    loc, scale, low, high = params = leaves(*window)
    torch.manual_seed(3)
    z = it.Truncated(it.Normal(loc, scale), low, high).rsample((2000,))
    assert z.dtype == f64 and z.shape == (2000,)
    assert torch.all((z >= low) & (z <= high)) and torch.isfinite(z).all()
    z.sum().backward()
    want = truncated(normal).implicit_grad(z.detach().numpy(), *window)
    for p, w in zip(params, want):
        assert np.isfinite(w).all()
        assert np.isclose(p.grad.item(), w.sum(), rtol=_rtol(window), atol=0), \
            (window, p, w.sum())


def test_truncated_windows_of_both_forms_in_one_batch():
    """A batch of windows, some in the lower tail's form and some in the upper's (the masked
    path): draws, log_prob, cdf and gradients equal the NumPy combinator's, window by
    window, at the same draws."""
    cols = [torch.tensor([w[i] for w in WINDOWS], dtype=f64, requires_grad=True)
            for i in range(4)]
    q = it.Truncated(it.Normal(cols[0], cols[1]), cols[2], cols[3])
    torch.manual_seed(12)
    z = q.rsample((500,))
    assert z.shape == (500, len(WINDOWS))
    assert torch.all((z >= cols[2]) & (z <= cols[3]))
    z.sum().backward()
    tn = truncated(normal)
    zn = z.detach().numpy()
    for j, window in enumerate(WINDOWS):
        want = tn.implicit_grad(zn[:, j], *window)
        for c, w in zip(cols, want):
            assert np.isclose(c.grad[j].item(), w.sum(), rtol=_rtol(window), atol=0), \
                (window, w.sum())
        assert np.allclose(q.log_prob(z.detach()[:5])[:, j].detach(),
                           tn.log_prob(zn[:5, j], *window), rtol=1e-13)
        assert np.allclose(q.cdf(z.detach()[:5])[:, j].detach(), tn.cdf(zn[:5, j], *window),
                           rtol=1e-13)


@pytest.mark.parametrize("window", WINDOWS[:4])
def test_truncated_log_prob_and_cdf_against_scipy(window):
    loc, scale, low, high = window
    q = it.Truncated(it.Normal(*leaves(loc, scale)), *leaves(low, high))
    ref = stats.truncnorm((low - loc) / scale, (high - loc) / scale, loc, scale)
    x = torch.tensor(ref.ppf(np.linspace(0.01, 0.99, 25)), dtype=f64)
    assert np.allclose(q.log_prob(x).detach().numpy(), ref.logpdf(x.numpy()), rtol=1e-9)
    assert np.allclose(q.cdf(x).detach().numpy(), ref.cdf(x.numpy()), rtol=1e-9)
    assert stats.kstest(q.sample((4000,)).numpy(), ref.cdf).pvalue > 1e-3
    outside = torch.tensor([low - 1.0 if low > -INF else -INF,
                            high + 1.0 if high < INF else INF], dtype=f64)
    with pytest.raises(ValueError, match="support"):         # torch's validation, as torch's
        q.log_prob(outside)
    q = it.Truncated(it.Normal(loc, scale), low, high, validate_args=False)
    assert torch.equal(q.log_prob(outside), torch.tensor([-INF, -INF], dtype=f64))
    assert torch.equal(q.cdf(outside), torch.tensor([0.0, 1.0], dtype=f64))


@pytest.mark.parametrize("window", [(0.3, 1.2, -1.0, 2.0), (0.3, 1.2, 3.0, 4.5),
                                    (0.0, 1.0, 10.0, 10.7)])
def test_truncated_gradcheck_log_prob_and_cdf(window):
    x = torch.tensor(np.linspace(window[2], window[3], 7)[1:-1], dtype=f64,
                     requires_grad=True)

    def f(kind):
        return lambda x, *p: getattr(it.Truncated(it.Normal(p[0], p[1]), p[2], p[3]), kind)(x)

    for kind in ("log_prob", "cdf"):
        assert torch.autograd.gradcheck(f(kind), (x, *leaves(*window)))


def test_truncated_gradients_are_unbiased():
    """The mean of the per-draw gradients against central differences of scipy's
    truncated mean, within five standard errors."""
    window = np.array([0.3, 1.2, -0.5, 2.5])

    def mean(p):
        loc, scale, low, high = p
        return stats.truncnorm.mean((low - loc) / scale, (high - loc) / scale, loc, scale)

    n = 200000
    p = [torch.full((n,), v, dtype=f64, requires_grad=True) for v in window]
    torch.manual_seed(11)
    it.Truncated(it.Normal(p[0], p[1]), p[2], p[3]).rsample().sum().backward()
    for i in range(4):
        h = np.zeros(4)
        h[i] = 1e-5
        want = (mean(window + h) - mean(window - h)) / 2e-5
        g = p[i].grad.numpy()
        assert abs(g.mean() - want) < 5 * g.std() / math.sqrt(n) + 1e-9, (i, g.mean(), want)


@pytest.mark.parametrize("window", WINDOWS[:4])
def test_truncated_icdf_against_scipy_and_gradcheck(window):
    """icdf (the combinator's quantile): against scipy's truncnorm.ppf, the inverse of cdf,
    u = 0 and 1 at the bounds; gradcheck in u and every parameter, where its gradients are
    1 / q(z) and the implicit ones."""
    loc, scale, low, high = window
    q = it.Truncated(it.Normal(*leaves(loc, scale)), *leaves(low, high))
    ref = stats.truncnorm((low - loc) / scale, (high - loc) / scale, loc, scale)
    u = torch.tensor(np.linspace(0.0, 1.0, 11), dtype=f64)
    z = q.icdf(u).detach()
    assert z[0].item() == low and z[-1].item() == high
    assert np.allclose(z[1:-1].numpy(), ref.ppf(u[1:-1].numpy()), rtol=1e-13, atol=1e-13)
    assert np.allclose(q.cdf(z[1:-1]).detach().numpy(), u[1:-1].numpy(), rtol=1e-13)
    inner = u[1:-1].clone().requires_grad_()
    assert torch.autograd.gradcheck(
        lambda u, *p: it.Truncated(it.Normal(p[0], p[1]), p[2], p[3]).icdf(u),
        (inner, *leaves(*window)))
    assert torch.isnan(it.Truncated(it.Normal(loc, scale), low, high, validate_args=False)
                       .icdf(torch.tensor([-0.5, 1.5]))).all()


def test_truncated_gamma_float32_and_seeds():
    """A bounded window of a positive family in float32: draws fit scipy's truncated
    Gamma, gradients finite, torch.manual_seed repeats the draws, shapes broadcast."""
    a = torch.tensor([0.5, 3.0], requires_grad=True)
    q = it.Truncated(it.Gamma(a, torch.tensor(1.0)), torch.tensor(0.2), torch.tensor(4.0))
    assert q.batch_shape == (2,) and isinstance(q, it.Truncated)
    torch.manual_seed(5)
    z = q.rsample((3000,))
    torch.manual_seed(5)
    assert torch.equal(z, q.rsample((3000,)))
    assert z.dtype == torch.float32 and z.shape == (3000, 2)
    z.sum().backward()
    assert torch.isfinite(a.grad).all()
    for i, ai in enumerate((0.5, 3.0)):
        g = stats.gamma(ai)
        lo, hi = g.cdf(0.2), g.cdf(4.0)
        assert stats.kstest(z[:, i].detach().double().numpy(),
                            lambda x: (g.cdf(x) - lo) / (hi - lo)).pvalue > 1e-3
    assert q.expand((4, 2)).rsample().shape == (4, 2)


def test_truncated_bad_input_is_nan():
    """torch's argument validation refuses a bad scale as torch's Normal does; without it
    (validate_args=False) a bad scale, low >= high and a NaN bound give NaN."""
    loc, scale = torch.zeros(3, dtype=f64), torch.tensor([1.0, -1.0, 1.0], dtype=f64)
    low, high = (torch.tensor(v, dtype=f64) for v in ([1.0, 0.0, math.nan], [0.5, 1.0, 1.0]))
    with pytest.raises(ValueError, match="scale"):
        it.Truncated(it.Normal(loc, scale), low, high)
    q = it.Truncated(it.Normal(loc, scale, validate_args=False), low, high,
                     validate_args=False)
    assert torch.isnan(q.sample()).all()
    assert torch.isnan(q.log_prob(torch.tensor(0.7, dtype=f64))).all()
    assert torch.isnan(q.cdf(torch.tensor(0.7, dtype=f64))).all()
    with pytest.raises(TypeError, match="irgen.torch"):
        it.Truncated(D.Normal(0.0, 1.0), 0.0, 1.0)


def _mixture(logits, a, b):
    return it.MixtureSameFamily(Categorical(logits=logits), it.Gamma(a, b))


def test_mixture_against_torchs_and_the_combinator():
    """log_prob, cdf and mean equal torch's MixtureSameFamily over torch's Gamma; rsample's
    gradients (concentrations, rates, logits) equal the NumPy combinator's at the same
    draws (the logits' through softmax: grad_logits)."""
    logits, a, b = leaves([0.2, -0.4, 1.0], [0.4, 3.0, 20.0], [1.0, 2.0, 4.0])
    m = _mixture(logits, a, b)
    r = D.MixtureSameFamily(Categorical(logits=logits), D.Gamma(a, b))
    x = torch.tensor([0.05, 0.8, 2.0, 6.0], dtype=f64)
    assert torch.allclose(m.log_prob(x), r.log_prob(x), rtol=1e-12)
    assert torch.allclose(m.cdf(x), r.cdf(x), rtol=1e-12)
    assert torch.allclose(m.mean, r.mean) and m.has_rsample and not r.has_rsample
    torch.manual_seed(2)
    z = m.rsample((5000,))
    assert z.shape == (5000,) and z.dtype == f64
    z.sum().backward()
    w = torch.softmax(logits, -1).detach().numpy()
    combo = mixture(gamma)
    zn = z.detach().numpy()
    _, da, db = combo.implicit_grad(zn, w, a.detach().numpy(), b.detach().numpy())
    dl = combo.grad_logits(zn, w, a.detach().numpy(), b.detach().numpy())
    assert np.allclose(a.grad.numpy(), da.sum(0), rtol=1e-12, atol=0)
    assert np.allclose(b.grad.numpy(), db.sum(0), rtol=1e-12, atol=0)
    assert np.allclose(logits.grad.numpy(), dl.sum(0), rtol=1e-9, atol=1e-12)


def test_mixture_gradients_are_unbiased():
    """d/dtheta E[z] for E[z] = sum_k w_k a_k / b_k, w = softmax(logits), from per-draw
    gradients (parameters repeated per draw), within five standard errors."""
    n, K = 200000, 3
    a0, b0, l0 = np.array([0.4, 3.0, 20.0]), np.array([1.0, 2.0, 4.0]), np.array([0.2, -0.4, 1.0])
    logits, a, b = (torch.tensor(np.tile(v, (n, 1)), requires_grad=True)
                    for v in (l0, a0, b0))
    torch.manual_seed(8)
    _mixture(logits, a, b).rsample().sum().backward()
    w = np.exp(l0) / np.exp(l0).sum()
    m = a0 / b0
    want = {"a": w / b0, "b": -w * a0 / b0 ** 2, "logits": w * (m - (w * m).sum())}
    for name, p in (("a", a), ("b", b), ("logits", logits)):
        g = p.grad.numpy()
        assert g.shape == (n, K)
        se = g.std(0) / math.sqrt(n)
        assert np.all(np.abs(g.mean(0) - want[name]) < 5 * se + 1e-9), (name, g.mean(0))


def test_mixture_batches_broadcast_and_seeds_repeat():
    a = torch.tensor([[0.5, 5.0]], requires_grad=True)              # (1, K)
    m = it.MixtureSameFamily(Categorical(probs=torch.tensor([[0.3, 0.7], [0.9, 0.1]])),
                             it.Gamma(a.expand(2, 2), torch.ones(2, 2)))
    torch.manual_seed(1)
    z = m.rsample((6,))
    torch.manual_seed(1)
    assert torch.equal(z, m.rsample((6,))) and z.shape == (6, 2)
    assert z.dtype == torch.float32
    z.sum().backward()
    assert a.grad.shape == (1, 2) and torch.isfinite(a.grad).all()
    with pytest.raises(TypeError, match="irgen.torch"):
        it.MixtureSameFamily(Categorical(logits=torch.zeros(2)), D.Gamma(torch.ones(2), 1.0))


def _diagonal(logits, mu, sigma):
    return it.MixtureSameFamily(Categorical(logits=logits),
                                D.Independent(it.Normal(mu, sigma), 1))


def test_mixture_of_products_against_torchs_and_the_combinator():
    """Components Independent(Normal, 1) (diagonal Gaussians, K = 2, D = 3): log_prob and
    mean equal torch's over torch's Normal; rsample's gradients equal the NumPy
    factorised_mixture's (the distributional transform) contracted with the incoming
    gradient at the same draws."""
    logits, mu, sigma = leaves([0.3, -0.2], [[-1.0, 0.5, 2.0], [1.5, -0.5, 0.0]],
                               [[0.7, 1.2, 0.5], [1.0, 0.4, 1.5]])
    m = _diagonal(logits, mu, sigma)
    r = D.MixtureSameFamily(Categorical(logits=logits), D.Independent(D.Normal(mu, sigma), 1))
    assert m.event_shape == (3,) and m.batch_shape == ()
    torch.manual_seed(6)
    x = m.rsample((400,))
    assert x.shape == (400, 3) and x.dtype == f64
    assert torch.allclose(m.log_prob(x), r.log_prob(x), rtol=1e-12)
    assert torch.allclose(m.mean, r.mean)
    g = torch.linspace(-1.0, 1.0, 3, dtype=f64)
    (x * g).sum().backward()
    from irgen.compose.factorised_mixture import factorised_mixture
    w = torch.softmax(logits, -1).detach().numpy()
    dl, dmu, dsigma = factorised_mixture(normal).implicit_grad(
        x.detach().numpy(), w, mu.detach().numpy(), sigma.detach().numpy())
    gn = g.numpy()
    assert np.allclose(logits.grad.numpy(), np.einsum("d,ndk->k", gn, dl), rtol=1e-12)
    assert np.allclose(mu.grad.numpy(), np.einsum("i,nikj->kj", gn, dmu), rtol=1e-12)
    assert np.allclose(sigma.grad.numpy(), np.einsum("i,nikj->kj", gn, dsigma), rtol=1e-12)


def test_mixture_of_products_gradients_are_unbiased():
    """f(x) = sum_d x_d: d/dmu_kj E[f] = w_k, d/dlogit_k E[f] = w_k (m_k - sum_l w_l m_l)
    with m_k = sum_d mu_kd, from per-draw gradients within five standard errors."""
    n = 40000
    l0 = np.array([0.3, -0.2])
    mu0 = np.array([[-1.0, 0.5, 2.0], [1.5, -0.5, 0.0]])
    s0 = np.array([[0.7, 1.2, 0.5], [1.0, 0.4, 1.5]])
    logits = torch.tensor(np.tile(l0, (n, 1)), requires_grad=True)
    mu = torch.tensor(np.tile(mu0, (n, 1, 1)), requires_grad=True)
    torch.manual_seed(9)
    _diagonal(logits, mu, torch.tensor(s0)).rsample().sum().backward()
    w = np.exp(l0) / np.exp(l0).sum()
    mk = mu0.sum(-1)
    for got, want in ((mu.grad.numpy(), np.broadcast_to(w[:, None], (2, 3))),
                      (logits.grad.numpy(), w * (mk - (w * mk).sum()))):
        se = got.std(0) / math.sqrt(n)
        assert np.all(np.abs(got.mean(0) - want) < 5 * se + 1e-9), (got.mean(0), want)


def test_the_combinators_on_torch_tensors_are_the_numpy_path():
    """irgen.compose written once: on torch CPU tensors, the same values as on NumPy arrays
    (the kernels are the same; NumPy's and torch's exp and log may differ by an ulp, which
    the cancellation in a gradient near 0 magnifies: 1e-12 relative, 1e-15 absolute)."""
    from irgen.compose.factorised_mixture import factorised_mixture
    window = (0.3, 1.2, -1.0, 2.0)
    tn = truncated(normal)
    z = tn.sample(*window, size=400, seed=4)
    T = [torch.tensor(v, dtype=f64) for v in window]
    zt = torch.tensor(z)
    for name in ("cdf", "log_prob", "implicit_grad", "cdf_grad", "log_prob_grad"):
        a, b = getattr(tn, name)(z, *window), getattr(tn, name)(zt, *T)
        for x, y in zip(a if isinstance(a, tuple) else (a,), b if isinstance(b, tuple) else (b,)):
            assert isinstance(y, torch.Tensor)
            assert np.allclose(x, y.numpy(), rtol=1e-12, atol=1e-15), name
    u = np.linspace(0.01, 0.99, 50)
    assert np.allclose(tn.quantile(u, *window), tn.quantile(torch.tensor(u), *T).numpy(),
                       rtol=1e-14)
    w, a, b = np.array([0.3, 0.7]), np.array([0.5, 4.0]), np.array([1.0, 2.0])
    mix = mixture(gamma)
    x = mix.sample(w, a, b, size=300, seed=5)
    Tm = [torch.tensor(v) for v in (w, a, b)]
    for name in ("cdf", "log_prob", "implicit_grad", "grad_logits"):
        got = getattr(mix, name)(torch.tensor(x), *Tm)
        want = getattr(mix, name)(x, w, a, b)
        for p, q in zip(want if isinstance(want, tuple) else (want,),
                        got if isinstance(got, tuple) else (got,)):
            assert np.allclose(p, q.numpy(), rtol=1e-12, atol=1e-15), name
    fm = factorised_mixture(normal)
    mu = np.array([[-1.0, 0.5, 2.0], [1.5, -0.5, 0.0]])
    sd = np.array([[0.7, 1.2, 0.5], [1.0, 0.4, 1.5]])
    y = fm.sample(w, mu, sd, size=100, seed=6)
    v = np.random.default_rng(7).normal(size=y.shape)
    Tf = [torch.tensor(q) for q in (w, mu, sd)]
    for p, q in zip(fm.vjp(y, v, w, mu, sd), fm.vjp(torch.tensor(y), torch.tensor(v), *Tf)):
        assert np.allclose(p, q.numpy(), rtol=1e-12, atol=1e-14)
