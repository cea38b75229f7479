"""On a CUDA GPU (marked `gpu`, deselected by default; run with `pytest -m gpu`): the CUDA
kernels against the C kernels for every built-in distribution and kernel, float32 and
float64, random and bad inputs; PyCUDA GPUArrays and torch CUDA tensors; streams, out=,
sizes that end mid-tile; samplers drawing the CPU's streams."""
import numpy as np
import pytest

import irgen.generated.gamma as g
import irgen.generated.normal as nrm
from agreement import (GRAD_ULPS, KERNELS, SAMPLERS, assert_agrees, assert_same_stream,
                       random_inputs, sampler_params, ulps_apart)
from cases import CASES, CUDA_HOST

pytestmark = pytest.mark.gpu
MODULES = {name: CASES[name].module for name in CUDA_HOST}


@pytest.fixture(scope="module")
def ga():
    """pycuda.gpuarray, with the primary context of device 0 current."""
    drv = pytest.importorskip("pycuda.driver")
    try:
        drv.init()
        count = drv.Device.count()
    except Exception as e:                 # no driver, or no device
        pytest.skip(f"no CUDA device: {e}")
    if not count:
        pytest.skip("no CUDA device")
    import pycuda.gpuarray as gpuarray

    from irgen.targets.cuda.runtime import active
    with active(0):
        yield gpuarray


def _host(r):
    return tuple(x.get() for x in r) if isinstance(r, tuple) else r.get()


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", sorted(MODULES))
def test_every_kernel_agrees_with_the_c_kernels(ga, name, dtype):
    mod = MODULES[name]
    cols = random_inputs(name, np.random.default_rng(3), dtype, n=100_003)
    for kernel in KERNELS:
        f = getattr(mod, kernel)
        got = f(*[ga.to_gpu(c) for c in cols])
        assert_agrees(kernel, f(*cols), _host(got), f(*[c.astype(np.float64) for c in cols]),
                      cols)


def test_scalars_broadcasting_and_out(ga):
    rng = np.random.default_rng(1)
    z = rng.gamma(2.0, size=(300, 7)).astype(np.float32)
    a = np.exp(rng.uniform(-2, 2, 7))
    got = _host(g.implicit_grad(ga.to_gpu(z), ga.to_gpu(a), 1.5))
    want = g.implicit_grad(z, a, 1.5)
    for o, w in zip(got, want):
        assert o.dtype == np.float64 and np.allclose(o, w, rtol=1e-12, atol=0)
    outs = (ga.empty(z.shape, np.float32), ga.empty(z.shape, np.float32))
    assert g.implicit_grad(ga.to_gpu(z), np.float32(2), np.float32(1), out=outs) is outs
    assert np.allclose(outs[0].get(), g.implicit_grad(z, np.float32(2), np.float32(1))[0],
                       rtol=1e-5)


def test_torch_tensors_on_the_current_stream(ga):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch without CUDA")
    rng = np.random.default_rng(2)
    a = np.exp(rng.uniform(np.log(0.1), np.log(10), 1 << 20)).astype(np.float32)
    z = rng.gamma(a).astype(np.float32)
    want = g.implicit_grad(z, a, np.float32(1))[0]
    side = torch.cuda.Stream()
    with torch.cuda.stream(side):
        tz = torch.from_numpy(z).cuda()
        ta = torch.from_numpy(a).cuda().requires_grad_()
        da, db = g.implicit_grad(tz, ta, 1.0)
        total = (da * 2).sum()                       # queued behind the kernel on `side`
    side.synchronize()
    assert isinstance(da, torch.Tensor) and da.device == tz.device and da.dtype == torch.float32
    got = da.cpu().numpy()
    assert np.allclose(got, want, rtol=2e-5, atol=0)
    assert np.isclose(total.item(), 2 * got.astype(np.float64).sum(), rtol=1e-4)


def test_dirichlet_row_kernels_draw_the_cpus_rows(ga):
    """irgen.generated.dirichlet on the GPU (tiles of whole rows, a warp per row's normalisation;
    rows longer than a tile) against the C kernels: the same draws, to a few ulp (CUDA's
    exp and log), the gradients through CUDA's math library, and the log density."""
    import irgen.generated.dirichlet as d
    rng = np.random.default_rng(6)
    for dtype in (np.float64, np.float32):
        for rows, k in ((4096, 16), (3, 5000), (1000, 2)):
            alpha = np.exp(rng.uniform(np.log(1e-3), np.log(10), (rows, k))).astype(dtype)
            x = d.sample(alpha, seed=3)
            lp = d.log_prob(ga.to_gpu(x), ga.to_gpu(alpha)).get()
            assert np.allclose(lp, d.log_prob(x, alpha), rtol=16 * np.finfo(dtype).eps, atol=0)
            for kernel in ("sample", "log_sample", "rsample"):
                want = getattr(d, kernel)(alpha, seed=12)
                got = _host(getattr(d, kernel)(ga.to_gpu(alpha), seed=12))
                pairs = zip(*(r if isinstance(r, tuple) else (r,) for r in (want, got)))
                for j, (w, o) in enumerate(pairs):
                    assert o.dtype == w.dtype and o.shape == w.shape
                    assert np.array_equal(np.isnan(o), np.isnan(w))
                    ok = ~np.isnan(w)
                    far = ulps_apart(w[ok], o[ok]) > (16 if j == 0 else 4096)
                    assert far.mean() <= 1e-4, (kernel, dtype, k, j)


def test_dirichlet_on_torch_cuda_tensors(ga):
    """irgen.compose.dirichlet with alpha a torch CUDA tensor: torch tensors on its device,
    the draws of the CPU for the same seed, to rounding."""
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch without CUDA")
    from irgen.compose import dirichlet
    alpha = np.exp(np.random.default_rng(6).uniform(np.log(1e-3), np.log(10), (4096, 16)))
    z, v = dirichlet.rsample(alpha, seed=12)
    tz, tv = dirichlet.rsample(torch.from_numpy(alpha).cuda(), seed=12)
    assert tz.is_cuda and tv.is_cuda and tz.dtype == torch.float64
    assert np.allclose(tz.cpu().numpy(), z, rtol=1e-12, atol=1e-300)
    assert np.allclose(tv.cpu().numpy(), v, rtol=1e-9, atol=1e-300)


def test_tiles_and_groups_at_every_size(ga):
    """Sizes around the tile of the grouped kernels; every element written once."""
    rng = np.random.default_rng(4)
    for n in (1, 31, 2047, 2048, 2049, 5 * 2048 + 3):
        a = np.exp(rng.uniform(np.log(1e-3), np.log(1e3), n))
        z = rng.gamma(a)
        got = _host(g.implicit_grad(ga.to_gpu(z), ga.to_gpu(a), 1.0))[0]
        assert np.allclose(got, g.implicit_grad(z, a, 1.0)[0], rtol=1e-12, atol=0), n


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", sorted(MODULES))
def test_samplers_draw_the_cpu_streams(ga, name, dtype):
    """The same seed gives the CPU's samples (to the math libraries' rounding), and rsample
    on the GPU is sample and implicit_grad on the GPU."""
    mod = MODULES[name]
    cols = sampler_params(name, np.random.default_rng(6), dtype, n=100_003)
    dev = [ga.to_gpu(c) for c in cols]
    for kernel in SAMPLERS[name]:
        f = getattr(mod, kernel)
        got = f(*dev, seed=2024)
        host = (got[0].get(), *(tuple(x.get() for x in part) for part in got[1:])) \
            if isinstance(got, tuple) else got.get()
        assert_same_stream(kernel, f(*cols, seed=2024), host, grad_ulps=GRAD_ULPS.get(name, 4096))
    z, grads = mod.rsample(*dev, seed=9)
    assert np.array_equal(z.get(), mod.sample(*dev, seed=9).get(), equal_nan=True)
    for got, want in zip(grads, mod.implicit_grad(z, *dev)):
        assert np.array_equal(got.get(), want.get(), equal_nan=True)


def test_sampling_into_torch_tensors_and_out(ga):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch without CUDA")
    a = torch.full((1000, 3), 2.5, device="cuda", dtype=torch.float32)
    z = g.sample(a, 1.0, seed=3)
    assert isinstance(z, torch.Tensor) and z.shape == (1000, 3) and z.dtype == torch.float32
    assert_same_stream("sample", g.sample(np.full((1000, 3), 2.5, np.float32), 1.0, seed=3),
                       z.cpu().numpy())
    out = ga.empty((4, 5), np.float64)               # scalar parameters: the size of out
    assert g.sample(2.0, 1.0, seed=3, out=out) is out
    assert_same_stream("sample", g.sample(2.0, 1.0, size=(4, 5), seed=3), out.get())


def test_irgen_torch_on_cuda_tensors(ga, monkeypatch):
    """irgen.torch with parameters on the GPU: samples and gradients there, the gradients
    equal to the C kernels' implicit_grad at the same samples."""
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch without CUDA")
    import irgen.torch as it
    a = torch.tensor([0.3, 2.0, 40.0], dtype=torch.float64, device="cuda", requires_grad=True)
    z = it.Gamma(a, 1.0).rsample((4096,))
    assert z.is_cuda and z.shape == (4096, 3)
    z.sum().backward()
    zc = z.detach().cpu().numpy()
    want = g.implicit_grad(zc, a.detach().cpu().numpy(), 1.0)[0].sum(0)
    assert np.allclose(a.grad.cpu().numpy(), want, rtol=1e-10)
    k = torch.tensor([0.5, 8.0], device="cuda", requires_grad=True)
    y = it.VonMises(torch.zeros(2, device="cuda"), k).rsample((1000,))
    torch.cos(y).sum().backward()
    assert torch.isfinite(k.grad).all() and y.dtype == torch.float32
    d = it.Dirichlet(torch.tensor([0.5, 2.0, 7.5], device="cuda", requires_grad=True))
    zd = d.rsample((1000,))
    zd[:, 0].sum().backward()
    assert zd.is_cuda and torch.isfinite(d.concentration.grad).all()
    # the log density of its own draws from rsample_log_prob on the GPU: the same values
    # and gradients as log_prob of rsample's draws
    grads = []
    for fuse in (False, True):
        monkeypatch.setattr(it.Gamma, "_fuse", fuse)
        b = torch.tensor([0.02, 2.0, 40.0], device="cuda", requires_grad=True)
        torch.manual_seed(4)
        q = it.Gamma(b, torch.ones(3, device="cuda"))
        w = q.rsample((2048,))
        lq = q.log_prob(w)
        (w * w - lq).sum().backward()
        assert torch.isfinite(lq).all() and w.is_cuda
        grads.append(b.grad)
    assert torch.allclose(grads[0], grads[1], rtol=1e-5)


def test_truncation_and_mixtures_on_cuda_tensors(ga):
    """irgen.torch's Truncated and MixtureSameFamily with parameters on the GPU: the
    combinators run there (draws, Newton-bisection, gradients), the draws fit their
    distributions and the gradients equal the NumPy combinators' at the same draws."""
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("torch without CUDA")
    from scipy import stats

    import irgen.torch as it
    from irgen.compose.mixture import mixture
    from irgen.compose.truncated import truncated
    cuda = dict(dtype=torch.float64, device="cuda")
    for window in ((0.3, 1.2, -1.0, 2.0), (0.0, 1.0, 10.0, np.inf)):
        p = [torch.tensor(x, **cuda, requires_grad=True) for x in window]
        z = it.Truncated(it.Normal(p[0], p[1]), p[2], p[3]).rsample((4000,))
        assert z.is_cuda and torch.isfinite(z).all()
        z.sum().backward()
        zc = z.detach().cpu().numpy()
        want = truncated(nrm).implicit_grad(zc, *window)
        for pi, w in zip(p, want):
            assert np.isclose(pi.grad.item(), w.sum(), rtol=1e-11, atol=0), window
        a, b = (window[2] - window[0]) / window[1], (window[3] - window[0]) / window[1]
        ref = stats.truncnorm(a, b, window[0], window[1])
        assert stats.kstest(zc, ref.cdf).pvalue > 1e-3
    logits = torch.tensor([0.2, -0.4, 1.0], **cuda, requires_grad=True)
    conc = torch.tensor([0.4, 3.0, 20.0], **cuda, requires_grad=True)
    m = it.MixtureSameFamily(torch.distributions.Categorical(logits=logits),
                             it.Gamma(conc, torch.ones(3, **cuda)))
    z = m.rsample((4000,))
    assert z.is_cuda
    z.sum().backward()
    w = torch.softmax(logits, -1).detach().cpu().numpy()
    _, da, _ = mixture(g).implicit_grad(z.detach().cpu().numpy(), w,
                                        conc.detach().cpu().numpy(), np.ones(3))
    assert np.allclose(conc.grad.cpu().numpy(), da.sum(0), rtol=1e-11, atol=0)
    # a mixture of diagonal Gaussians: the distributional transform on the GPU
    from irgen.compose.factorised_mixture import factorised_mixture
    mu = torch.tensor([[-1.0, 0.5, 2.0], [1.5, -0.5, 0.0]], **cuda, requires_grad=True)
    sigma = torch.tensor([[0.7, 1.2, 0.5], [1.0, 0.4, 1.5]], **cuda)
    m = it.MixtureSameFamily(torch.distributions.Categorical(logits=logits[:2]),
                             torch.distributions.Independent(it.Normal(mu, sigma), 1))
    x = m.rsample((2000,))
    assert x.is_cuda and x.shape == (2000, 3)
    x.sum().backward()
    w = torch.softmax(logits[:2], -1).detach().cpu().numpy()
    _, dmu, _ = factorised_mixture(nrm).implicit_grad(
        x.detach().cpu().numpy(), w, mu.detach().cpu().numpy(), sigma.cpu().numpy())
    assert np.allclose(mu.grad.cpu().numpy(), dmu.sum((0, 1)), rtol=1e-11)
