"""irgen.torch: torch.distributions classes over the generated kernels.

Against torch.distributions (log_prob, cdf, moments, where torch has the distribution), the
generated kernels (rsample's gradients equal implicit_grad), central differences of the
quantile solved with scipy at a fixed CDF level (what an implicit gradient is), the
unbiasedness of the gradients against analytic d/dtheta E[f(z)], torch.autograd.gradcheck of
log_prob and cdf, and torch.manual_seed."""
import math

import numpy as np
import pytest
from scipy import optimize, special

torch = pytest.importorskip("torch")
import torch.distributions as D  # noqa: E402

import irgen.generated.gamma as g  # noqa: E402
import irgen.torch as it  # noqa: E402
from cases import TORCH as TORCH_CASES  # noqa: E402
from paths import ROOT  # noqa: E402

f64 = torch.float64


def t(*values):
    return torch.tensor(values, dtype=f64)


# every irgen.torch class of tests/cases.py: (class, torch's class, parameters, points
# inside the support)
CASES = {name: (getattr(it, name), getattr(D, name), tuple(t(*v) for v in c.torch_args),
                t(*c.torch_x)) for name, c in TORCH_CASES.items()}


@pytest.mark.parametrize("name", sorted(CASES))
def test_log_prob_cdf_and_moments_equal_torchs(name):
    ours, theirs, params, x = CASES[name]
    q, r = ours(*params), theirs(*params)
    assert q.batch_shape == r.batch_shape and q.has_rsample
    assert type(q.support) is type(r.support) or name == "VonMises"
    # torch's von Mises log density and variance take I0 and I1 from polynomials good to
    # about 1e-7 and 1e-6 (irgen's log density is within 1e-15 of mpmath, its variance is
    # scipy's below)
    rtol = 1e-5 if name == "VonMises" else 1e-10
    if name == "VonMises":
        k = params[1].numpy()
        assert np.allclose(q.variance.numpy(), 1 - special.i1e(k) / special.i0e(k),
                           rtol=1e-14)
    assert torch.allclose(q.log_prob(x), r.log_prob(x), rtol=rtol, atol=1e-12)
    try:
        want = r.cdf(x)
    except NotImplementedError:
        want = None
    if want is not None:
        assert torch.allclose(q.cdf(x), want, rtol=1e-9, atol=1e-12)
    for moment in ("mean", "variance"):
        try:
            want = getattr(r, moment)
        except NotImplementedError:
            continue
        assert torch.allclose(getattr(q, moment), want, rtol=rtol, equal_nan=True), moment


@pytest.mark.parametrize("name", sorted(CASES))
def test_rsample_gradients_are_the_kernels_implicit_gradients(name):
    """The backward pass of a sum of samples is implicit_grad at the samples, summed."""
    ours, _, params, _ = CASES[name]
    leaves = [p.clone().requires_grad_() for p in params]
    q = ours(*leaves)
    torch.manual_seed(3)
    z = q.rsample((500,))
    z.sum().backward()
    module = q._module
    order = [leaves[q._names.index(n)] for n in q._order]
    want = module.implicit_grad(z.detach().numpy(), *(p.detach().numpy() for p in order))
    want = want if isinstance(want, tuple) else (want,)
    for n, w in zip(q._order, want):
        got = leaves[q._names.index(n)].grad.numpy()
        assert np.allclose(got, w.sum(0), rtol=1e-12, atol=1e-300), n


def _quantile(module, u, params, lo, hi):
    """F^-1(u) solved with scipy on the generated CDF in float64."""
    return optimize.brentq(lambda x: float(module.cdf(x, *params)) - u, lo, hi, xtol=1e-15,
                           rtol=1e-15, maxiter=400)


@pytest.mark.parametrize("alpha", [0.3, 2.0, 30.0])
def test_gamma_rsample_gradient_is_the_quantiles_derivative(alpha):
    """dz/dalpha at a sample is d/dalpha F^-1(u) at u = F(z), by central differences."""
    a = t(alpha).requires_grad_()
    torch.manual_seed(1)
    z = it.Gamma(a, t(1.0)).rsample((5,))
    z.sum().backward()
    h = 1e-6 * alpha
    fd = 0.0
    for zi in z.detach().numpy().ravel():
        u = float(g.cdf(zi, alpha, 1.0))
        lo, hi = zi * 0.5, zi * 2.0 + 1.0
        fd += (_quantile(g, u, (alpha + h, 1.0), lo, hi)
               - _quantile(g, u, (alpha - h, 1.0), lo, hi)) / (2 * h)
    assert a.grad.item() == pytest.approx(fd, rel=1e-6)


def test_gradients_are_unbiased():
    """Gamma: d/dalpha E[z] = 1 / beta; von Mises: d/dkappa E[cos z] = 1 - A / kappa - A^2
    with A = I1 / I0 (the mean resultant length)."""
    torch.manual_seed(7)
    a = t(1.7).requires_grad_()
    z = it.Gamma(a, t(2.0)).rsample((200000,))
    z.mean().backward()
    assert a.grad.item() == pytest.approx(0.5, rel=0.01)
    k = t(2.5).requires_grad_()
    y = it.VonMises(t(0.0), k).rsample((200000,))
    torch.cos(y).mean().backward()
    A = special.i1e(2.5) / special.i0e(2.5)
    assert k.grad.item() == pytest.approx(1 - A / 2.5 - A * A, rel=0.02)


@pytest.mark.parametrize("name", ["Gamma", "Beta", "VonMises", "StudentT", "Weibull",
                                  "Kumaraswamy"])
def test_gradcheck_log_prob_and_cdf(name):
    ours, _, params, x = CASES[name]
    leaves = [p.clone().requires_grad_() for p in params]
    xs = x.clone().requires_grad_()
    assert torch.autograd.gradcheck(lambda v, *p: ours(*p).log_prob(v), (xs, *leaves))
    assert torch.autograd.gradcheck(lambda v, *p: ours(*p).cdf(v), (xs, *leaves))


def _elbo_gradients(ours, params, fuse, monkeypatch):
    """z, log q(z) and the gradients of sum(z^2 - log q(z)) with the class's log density of
    its own draws fused into rsample or not."""
    monkeypatch.setattr(ours, "_fuse", fuse)
    leaves = [p.clone().requires_grad_() for p in params]
    q = ours(*leaves)
    torch.manual_seed(5)
    z = q.rsample((300,))
    lq = q.log_prob(z)
    (z * z - lq).sum().backward()
    return z.detach(), lq.detach(), [p.grad for p in leaves]


@pytest.mark.parametrize("name", ["Normal", "Gamma", "Beta", "VonMises", "StudentT",
                                  "Kumaraswamy", "InverseGamma"])
def test_log_prob_of_own_draws_from_one_kernel_call(name, monkeypatch):
    """rsample_log_prob's log q and its total gradient (through z and directly) equal
    log_prob's of the same draws, and the class switches to it once it has seen a log_prob
    of its own draws."""
    ours, _, params, _ = CASES[name]
    z0, lq0, g0 = _elbo_gradients(ours, params, False, monkeypatch)
    assert ours._fuse                   # log_prob of its own draws was asked for
    z1, lq1, g1 = _elbo_gradients(ours, params, True, monkeypatch)
    assert torch.equal(z0, z1)
    assert torch.allclose(lq0, lq1, rtol=1e-14, atol=0)
    for a, b in zip(g0, g1):
        assert torch.allclose(a, b, rtol=1e-12, atol=1e-300)


def test_draws_change_in_place_and_log_prob_follows(monkeypatch):
    """Draws are tensors of their own, as torch's: in-place changes work, and log_prob of a
    changed draw is computed afresh (not the log density the draw came with)."""
    monkeypatch.setattr(it.Gamma, "_fuse", True)
    a = t(0.7, 3.0).requires_grad_()
    q = it.Gamma(a, t(2.0, 1.0))
    z = q.rsample((4,))
    assert not z._is_view()
    first = q.log_prob(z)
    assert q.log_prob(z) is first
    z.mul_(2.0)
    want = D.Gamma(a.detach(), t(2.0, 1.0)).log_prob(z.detach())
    assert torch.allclose(q.log_prob(z), want, rtol=1e-12)
    z.sum().backward()
    assert torch.isfinite(a.grad).all()


def test_float32_draws_that_round_to_an_end_have_finite_log_densities(monkeypatch):
    """Gamma(0.01) in float32 rounds a third of its draws to 0: held at the smallest normal
    number, fused or not, with finite log densities and gradients."""
    for fuse in (False, True):
        monkeypatch.setattr(it.Gamma, "_fuse", fuse)
        a = torch.full((2000,), 0.01).requires_grad_()
        q = it.Gamma(a, torch.tensor(1.0))
        z = q.rsample()
        lq = q.log_prob(z)
        assert z.min().item() == torch.finfo(torch.float32).tiny
        assert torch.isfinite(lq).all()
        (z - lq).sum().backward()
        assert torch.isfinite(a.grad).all()


@pytest.mark.parametrize("name", sorted(CASES))
def test_entropy_icdf_and_kl_as_torchs(name):
    """Where torch has a closed form (entropy, icdf, KL divergence), the same value from
    the same parameters, with gradients, for pairs of irgen's classes and mixed pairs;
    where it has none, NotImplementedError as torch's (von Mises: irgen's own, checked
    against quadrature in the next test), except icdf, which every class has (the inverse
    of its cdf)."""
    ours, theirs, params, x = CASES[name]
    if name == "VonMises":
        return
    other = tuple(p.flip(0) for p in params)
    p, q = ours(*params), ours(*other)
    rp, rq = theirs(*params), theirs(*other)
    assert torch.allclose(p.entropy(), rp.entropy(), rtol=1e-14)
    try:
        want = D.kl_divergence(rp, rq)
    except NotImplementedError:          # torch: Student-t, Kumaraswamy of other shapes
        with pytest.raises(NotImplementedError):
            D.kl_divergence(p, q)
    else:
        for a, b in ((p, q), (p, rq), (rp, q)):
            assert torch.allclose(D.kl_divergence(a, b), want, rtol=1e-14)
    u = t(0.2, 0.7)
    try:
        ref = rp.icdf(u)
    except NotImplementedError:          # irgen's compiled quantile: the inverse of cdf
        assert torch.allclose(p.cdf(p.icdf(u)), u, rtol=1e-13)
    else:
        assert torch.allclose(p.icdf(u), ref, rtol=1e-13)
    k = params[-1].clone().requires_grad_()       # a scale or shape: the entropy has it
    ours(*params[:-1], k).entropy().sum().backward()
    assert torch.isfinite(k.grad).all()


@pytest.mark.parametrize("name", sorted(CASES))
def test_icdf_gradcheck_in_u_and_every_parameter(name):
    """icdf from the compiled quantile kernel: torch.autograd.gradcheck (central
    differences in float64) in u and every parameter, for every class."""
    ours, _, params, _ = CASES[name]
    u = t(0.15, 0.8).requires_grad_()
    ps = tuple(p.clone().requires_grad_() for p in params)
    assert torch.autograd.gradcheck(lambda u, *p: ours(*p).icdf(u), (u,) + ps,
                                    eps=1e-7, atol=1e-6, rtol=1e-5)


def test_dirichlet_entropy_and_kl_as_torchs():
    a, b = t(0.5, 2.0, 3.0), t(1.0, 0.2, 7.0)
    assert torch.allclose(it.Dirichlet(a).entropy(), D.Dirichlet(a).entropy(), rtol=1e-14)
    want = D.kl_divergence(D.Dirichlet(a), D.Dirichlet(b))
    assert torch.allclose(D.kl_divergence(it.Dirichlet(a), it.Dirichlet(b)), want, rtol=1e-14)
    assert torch.allclose(D.kl_divergence(it.Dirichlet(a), D.Dirichlet(b)), want, rtol=1e-14)


def test_von_mises_entropy_and_kl_against_quadrature():
    """torch has neither: H = log(2 pi I0(k)) - k A(k) and KL(p || q) = log(I0(k_q) /
    I0(k_p)) + A(k_p) (k_p - k_q cos(mu_p - mu_q)), A = I1 / I0, against mpmath's
    quadrature of -q log q and q log(q / p) over the circle (30 digits)."""
    import mpmath
    mpmath.mp.dps = 30
    k = [0.01, 1.0, 50.0, 1e4]
    mu = [0.3, -2.0, 1.0, 0.0]
    h = it.VonMises(t(*mu), t(*k)).entropy()

    def log_q(m, kk):
        return lambda z: kk * mpmath.cos(z - m) - mpmath.log(2 * mpmath.pi
                                                             * mpmath.besseli(0, kk))
    for i, (m, kk) in enumerate(zip(mu, k)):
        lq = log_q(m, kk)
        points = [m - mpmath.pi, m - 0.01, m, m + 0.01, m + mpmath.pi]
        want = mpmath.quad(lambda z: -mpmath.exp(lq(z)) * lq(z), points)
        assert h[i].item() == pytest.approx(float(want), rel=1e-12, abs=1e-14)
    p, q = it.VonMises(t(0.3, 1.0), t(2.0, 40.0)), it.VonMises(t(-1.0, 1.2), t(0.5, 30.0))
    kl = D.kl_divergence(p, q)
    for i in range(2):
        lp = log_q(p.loc[i].item(), p.concentration[i].item())
        lq = log_q(q.loc[i].item(), q.concentration[i].item())
        m = p.loc[i].item()
        points = [m - mpmath.pi, m - 0.05, m, m + 0.05, m + mpmath.pi]
        want = mpmath.quad(lambda z: mpmath.exp(lp(z)) * (lp(z) - lq(z)), points)
        assert kl[i].item() == pytest.approx(float(want), rel=1e-12)


def test_manual_seed_repeats_and_shapes_broadcast():
    q = it.Gamma(t(0.5, 2.0, 7.0), 1.5)
    assert q.batch_shape == (3,) and q.rate.shape == (3,)
    torch.manual_seed(11)
    a = q.rsample((4, 2))
    torch.manual_seed(11)
    b = q.rsample((4, 2))
    assert a.shape == (4, 2, 3) and torch.equal(a, b)
    assert not torch.equal(a, q.rsample((4, 2)))
    e = q.expand((5, 3))
    assert e.batch_shape == (5, 3) and e.sample().shape == (5, 3)
    f32 = it.Beta(torch.tensor([0.5, 2.0]), torch.tensor(3.0))
    assert f32.rsample((10,)).dtype == torch.float32
    assert it.StudentT(t(4.0)).loc.item() == 0.0          # torch's defaults
    with pytest.raises(ValueError):
        it.Gamma(t(-1.0), t(1.0), validate_args=True)
    with pytest.raises(ValueError):
        it.Beta(t(2.0), t(2.0), validate_args=True).log_prob(t(1.5))


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_rsample_without_a_gradient_draws_what_rsample_with_one_draws(dtype):
    """Where no gradient is wanted rsample runs the sampler alone (no gradients to discard):
    the draws must be those of the kernel that computes them with their gradients, held in
    the support as there, for a univariate family and for the Dirichlet."""
    for make, values in ((lambda p: it.Gamma(p, 1.5), (0.05, 0.7, 3.0, 40.0)),
                         (lambda p: it.Beta(p, p.flip(0)), (0.05, 0.7, 3.0, 40.0)),
                         (lambda p: it.Truncated(it.Gamma(p, 1.0), 0.5, 2.0),
                          (0.05, 0.7, 3.0, 40.0)),
                         (lambda p: it.Dirichlet(p), (0.05, 0.7, 3.0, 40.0))):
        p = torch.tensor(values, dtype=dtype)
        draws = []
        for grad in (True, False):
            q = make(p.clone().requires_grad_(grad))
            torch.manual_seed(5)
            draws.append(q.rsample((64,)))
        torch.manual_seed(5)
        with torch.no_grad():
            draws.append(make(p.clone().requires_grad_()).rsample((64,)))
        torch.manual_seed(5)
        draws.append(make(p).sample((64,)))
        assert draws[0].requires_grad and not any(d.requires_grad for d in draws[1:])
        assert all(d.dtype == dtype and torch.equal(d, draws[0].detach()) for d in draws[1:])


def test_dirichlet_against_torch_and_its_vjp():
    alpha = t(0.5, 2.0, 7.5).requires_grad_()
    q, r = it.Dirichlet(alpha), D.Dirichlet(alpha)
    torch.manual_seed(2)
    z = q.rsample((1000,))
    assert z.shape == (1000, 3) and torch.allclose(z.sum(-1), t(1.0))
    assert torch.allclose(q.log_prob(z.detach()), r.log_prob(z.detach()), rtol=1e-12)
    w = t(1.0, -2.0, 0.5)
    (z * w).sum().backward()
    # the same draws with their v, from the kernel: the backward pass is v (w - w . z)
    torch.manual_seed(2)
    seed = it.seed()
    zz, v = q._module.rsample(alpha.detach().numpy(), size=(1000,), seed=seed)
    assert np.array_equal(zz, z.detach().numpy())
    want = (v * (w.numpy() - (zz * w.numpy()).sum(-1, keepdims=True))).sum(0)
    assert np.allclose(alpha.grad.numpy(), want, rtol=1e-12)
    # log_prob's gradients: in alpha against central differences, in x against torch's
    x = z.detach()[:3]
    assert torch.autograd.gradcheck(lambda a: it.Dirichlet(a).log_prob(x),
                                    (alpha.detach().clone().requires_grad_(),))
    xs, xt = x.clone().requires_grad_(), x.clone().requires_grad_()
    it.Dirichlet(alpha.detach(), validate_args=False).log_prob(xs).sum().backward()
    D.Dirichlet(alpha.detach()).log_prob(xt).sum().backward()
    assert torch.allclose(xs.grad, xt.grad, rtol=1e-12)
    assert torch.allclose(q.mean, r.mean) and torch.allclose(q.variance, r.variance)


def test_from_module_wraps_a_users_distribution(tmp_path):
    from irgen.build import build, load_generated
    examples = ROOT / "examples"
    build([examples / "loglogistic.py"], tmp_path, log=lambda *a: None, cuda_binaries=False)
    module = load_generated(tmp_path, "loglogistic")
    LogLogistic = it.from_module(module)
    params = [t(1.0, 3.0).requires_grad_(), t(2.0, 0.5).requires_grad_()]
    q = LogLogistic(*params)
    torch.manual_seed(4)
    z = q.rsample((300,))
    z.sum().backward()
    want = module.implicit_grad(z.detach().numpy(), *(p.detach().numpy() for p in params))
    for p, w in zip(params, want):
        assert np.allclose(p.grad.numpy(), w.sum(0), rtol=1e-12)
    assert torch.all(q.cdf(z.detach()) < 1) and q.log_prob(z.detach()).shape == z.shape
    with pytest.raises(NotImplementedError, match="declares no log_prob"):
        q.log_prob(z.detach()).sum().backward()      # its density is derived, not declared
    # truncated: draws inside the window, gradients the NumPy combinator's at the same draws
    from irgen.compose.truncated import truncated
    tq = it.Truncated(LogLogistic(*params), 0.5, 2.0)
    for p in params:
        p.grad = None
    z = tq.rsample((300,))
    z.sum().backward()
    assert torch.all((z >= 0.5) & (z <= 2.0))
    want = truncated(module).implicit_grad(z.detach().numpy(), *(
        p.detach().numpy() for p in params), 0.5, 2.0)
    for p, w in zip(params, want):
        assert np.allclose(p.grad.numpy(), w.sum(0), rtol=1e-12)
    with pytest.raises(NotImplementedError, match="declares no log_prob"):
        tq.log_prob(z.detach()).sum().backward()


def test_the_vae_example_learns_with_every_family():
    """examples/vae.py's model on random binary images (scikit-learn's digits are the
    example's, not the tests'): a few Adam steps lower the negative ELBO of every latent
    family, and the importance-weighted bound is finite."""
    import importlib.util
    path = ROOT / "examples" / "vae.py"
    spec = importlib.util.spec_from_file_location("vae_example", path)
    vae = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(vae)
    torch.manual_seed(0)
    x = (torch.rand(64, 64) < torch.linspace(0.1, 0.9, 64)).float()
    for family in vae.FAMILIES:
        model = vae.VAE(family, 3, hidden=32)
        opt = torch.optim.Adam(model.parameters(), lr=1e-2)
        losses = []
        for _ in range(30):
            loss = -model.log_weights(x, kl_weight=0.0).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        assert np.mean(losses[-5:]) < np.mean(losses[:5]) - 1, family
        assert math.isfinite(vae.test_nll(model, x[:8], 20)), family


def test_rsample_backward_twice_and_reduced_to_each_parameter():
    """A graph kept (retain_graph) gives the same gradients twice; a 0-dim rate's gradient
    is the sum over the draws; both equal the NumPy module's implicit gradients."""
    a = torch.tensor([0.5, 2.0, 7.0], dtype=torch.float64, requires_grad=True)
    b = torch.tensor(1.5, dtype=torch.float64, requires_grad=True)
    w = torch.tensor([1.0, -2.0, 3.0], dtype=torch.float64)
    torch.manual_seed(0)
    z = it.Gamma(a, b).rsample()
    (w * z).sum().backward(retain_graph=True)
    first = a.grad.clone(), b.grad.clone()
    a.grad = b.grad = None
    (w * z).sum().backward()
    assert torch.equal(a.grad, first[0]) and torch.equal(b.grad, first[1])
    assert b.grad.shape == ()
    da, db = g.implicit_grad(z.detach().numpy(), a.detach().numpy(), 1.5)
    np.testing.assert_allclose(a.grad.numpy(), w.numpy() * da, rtol=1e-15)
    np.testing.assert_allclose(b.grad.item(), (w.numpy() * db).sum(), rtol=1e-14)
