"""irgen.torch's native rsample nodes (irgen/torch/native.cpp): the common case of a call, CPU
tensors of one float dtype, made in C++.

References: the Python autograd Functions (functions.RSample and RSampleLogProb), which the
rest of the suite checks against mpmath, scipy and finite differences, must give the same
draws, log densities and gradients bit for bit (the same kernels, seed and products);
torch._standard_gamma_grad, torch's own approximation of dz/dalpha, within its 1e-3; and
torch's own rule for a first-order node under create_graph."""
import os
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import irgen.torch as it  # noqa: E402
from irgen.torch import functions as F  # noqa: E402
from irgen.torch import native  # noqa: E402
from irgen.torch.distributions import seed  # noqa: E402
from paths import ROOT  # noqa: E402

pytestmark = pytest.mark.skipif(native.extension() is None,
                                reason="the native nodes cannot be built here")

NATIVE = "CppNode<irgen::RSampleBackward>"
FUSED = "CppNode<irgen::RSampleLogProbBackward>"
SIMPLEX = "CppNode<irgen::SimplexRSampleBackward>"
LOG_PROB = "CppNode<irgen::LogProbBackward>"
SIMPLEX_LOG_PROB = "CppNode<irgen::SimplexLogProbBackward>"


@pytest.fixture(autouse=True)
def unfused(monkeypatch):
    """Draws without their log density until a test asks (the class learns to fuse once
    log_prob of its own draws is seen, in any test)."""
    monkeypatch.setattr(it.Gamma, "_fuse", False)


def _grads(outputs, leaves, weights):
    for p in leaves:
        p.grad = None
    sum(((w * o).sum() for w, o in zip(weights, outputs))).backward()
    return [p.grad.clone() for p in leaves]


def _case(dtype, case):
    rng = np.random.default_rng(3)
    a = torch.tensor(np.exp(rng.uniform(-2, 2.3, 37)), dtype=dtype, requires_grad=True)
    b = {"same shape": torch.tensor(rng.uniform(0.5, 2, 37), dtype=dtype, requires_grad=True),
         "0-dim rate": torch.tensor(1.7, dtype=dtype, requires_grad=True),
         "number rate": 2.5,
         "sample shape": torch.tensor(rng.uniform(0.5, 2, 37), dtype=dtype,
                                      requires_grad=True)}[case]
    leaves = [a] + ([b] if isinstance(b, torch.Tensor) else [])
    return it.Gamma(a, b), leaves, (3,) if case == "sample shape" else ()


CASES = ["same shape", "0-dim rate", "number rate", "sample shape"]


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("case", CASES)
def test_native_draws_and_gradients_are_the_functions(dtype, case):
    d, leaves, sample_shape = _case(dtype, case)
    torch.manual_seed(11)
    z = d.rsample(sample_shape)
    assert z.grad_fn.name().endswith(NATIVE) and z.dtype == dtype
    assert z.shape == sample_shape + d.batch_shape
    w = torch.linspace(-1, 2, z.numel(), dtype=dtype).reshape(z.shape)
    got = _grads([z], leaves, [w])
    torch.manual_seed(11)
    ref = F.apply(F.RSample, d._module, z.shape, seed(), *d._params)
    assert ref.grad_fn.name() == "RSampleBackward"
    want = _grads([ref], leaves, [w])
    assert torch.equal(z, ref)
    for g, h in zip(got, want):
        assert g.shape == h.shape and torch.equal(g, h)
    # and dz/dalpha against torch's own approximation at the same draws
    rate = d.rate.detach()
    terms = torch._standard_gamma_grad(d.concentration.detach().expand(z.shape),
                                       z.detach() * rate) / rate * w
    tol = (2e-3 if dtype == torch.float32 else 1e-3) * terms.abs().sum_to_size(37)
    assert torch.all((got[0] - terms.sum_to_size(37)).abs() <= tol)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("case", CASES)
def test_native_draws_with_their_log_density_are_the_functions(dtype, case, monkeypatch):
    d, leaves, sample_shape = _case(dtype, case)
    monkeypatch.setattr(it.Gamma, "_fuse", True)
    torch.manual_seed(5)
    z = d.rsample(sample_shape)
    lq = d.log_prob(z)                 # the density drawn with z, from the same node
    assert z.grad_fn.name().endswith(FUSED) and lq.grad_fn is z.grad_fn
    wz = torch.linspace(-1, 2, z.numel(), dtype=dtype).reshape(z.shape)
    wl = torch.linspace(0.5, -0.3, z.numel(), dtype=dtype).reshape(z.shape)
    got = _grads([z, lq], leaves, [wz, wl])
    torch.manual_seed(5)
    ref, ref_lq = F.apply(F.RSampleLogProb, d._module, z.shape, seed(), *d._params)
    want = _grads([ref, ref_lq], leaves, [wz, wl])
    assert torch.equal(z, ref) and torch.equal(lq, ref_lq)
    for g, h in zip(got, want):
        assert torch.equal(g, h)
    only_lq = _grads([lq], leaves, [wl])                       # z's gradient not asked for
    torch.manual_seed(5)
    ref, ref_lq = F.apply(F.RSampleLogProb, d._module, z.shape, seed(), *d._params)
    for g, h in zip(only_lq, _grads([ref_lq], leaves, [wl])):
        assert torch.equal(g, h)
    # log q equals torch's own density of the draws
    want_lq = torch.distributions.Gamma(d.concentration.detach(), d.rate.detach()).log_prob(
        z.detach())
    assert torch.allclose(lq.detach(), want_lq, rtol=1e-5 if dtype == torch.float32 else 1e-12,
                          atol=1e-5 if dtype == torch.float32 else 1e-12)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("batch, sample_shape", [((), ()), ((5,), ()), ((5,), (2,))])
def test_native_dirichlet_draws_and_gradients_are_the_functions(dtype, batch, sample_shape):
    rng = np.random.default_rng(8)
    alpha = torch.tensor(np.exp(rng.uniform(-2, 2.3, batch + (4,))), dtype=dtype,
                         requires_grad=True)
    d = it.Dirichlet(alpha)
    torch.manual_seed(2)
    z = d.rsample(sample_shape)
    assert z.grad_fn.name().endswith(SIMPLEX) and z.shape == sample_shape + batch + (4,)
    w = torch.linspace(-1, 2, z.numel(), dtype=dtype).reshape(z.shape)
    got, = _grads([z], [alpha], [w])
    torch.manual_seed(2)
    ref = F.apply(F.SimplexRSample, d._module, tuple(z.shape), seed(), alpha)
    want, = _grads([ref], [alpha], [w])
    assert torch.equal(z, ref) and torch.equal(got, want)
    # the draws lie on the simplex, so their sum's gradient is zero
    tol = 1e-5 if dtype == torch.float32 else 1e-12
    assert torch.allclose(z.detach().sum(-1), torch.ones((), dtype=dtype), atol=tol)
    flat, = _grads([z], [alpha], [torch.ones_like(z)])
    assert flat.abs().max() <= tol * 10


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
@pytest.mark.parametrize("name, params", [
    ("Gamma", ([0.3, 2.0, 7.5], [1.0, 0.5, 3.0])),
    ("Beta", ([0.5, 2.0, 4.0], 1.5)),
    ("StudentT", ([1.5, 4.0, 30.0], [0.0, -1.0, 2.0], [1.0, 2.0, 0.5]))])
def test_native_log_densities_and_gradients_are_the_functions_and_torchs(dtype, name, params):
    leaves = [torch.tensor(p, dtype=dtype, requires_grad=True) if isinstance(p, list)
              else p for p in params]
    x = {"Gamma": [0.2, 1.5, 4.0], "Beta": [0.1, 0.5, 0.93],
         "StudentT": [0.3, -2.0, 2.2]}[name]
    x = torch.tensor(x, dtype=dtype, requires_grad=True)
    d = getattr(it, name)(*leaves)
    lq = d.log_prob(x)
    assert lq.grad_fn.name().endswith(LOG_PROB)
    grads = [x] + [p for p in leaves if isinstance(p, torch.Tensor)]
    w = torch.tensor([1.0, -0.5, 2.0], dtype=dtype)
    got = _grads([lq], grads, [w])
    ref = F.apply(F.LogProb, d._module, x, *d._params)
    assert ref.grad_fn.name() == "LogProbBackward" and torch.equal(lq, ref)
    for g, h in zip(got, _grads([ref], grads, [w])):
        assert torch.equal(g, h)
    # torch's own density and its gradients
    theirs = [p.detach().requires_grad_() if isinstance(p, torch.Tensor) else p
              for p in leaves]
    tx = x.detach().requires_grad_()
    tl = getattr(torch.distributions, name)(*theirs).log_prob(tx)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == torch.float32 else dict(rtol=1e-10, atol=1e-10)
    assert torch.allclose(lq.detach(), tl.detach(), **tol)
    want = _grads([tl], [tx] + [p for p in theirs if isinstance(p, torch.Tensor)], [w])
    for g, h in zip(got, want):
        assert torch.allclose(g, h, **tol)


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_native_dirichlet_log_density_is_the_functions_and_torchs(dtype):
    rng = np.random.default_rng(4)
    alpha = torch.tensor(np.exp(rng.uniform(-1, 2, (3, 4))), dtype=dtype, requires_grad=True)
    x = torch.tensor(rng.dirichlet(np.ones(4), 3), dtype=dtype, requires_grad=True)
    lq = it.Dirichlet(alpha).log_prob(x)
    assert lq.grad_fn.name().endswith(SIMPLEX_LOG_PROB)
    w = torch.tensor([1.0, -0.5, 2.0], dtype=dtype)
    got = _grads([lq], [x, alpha], [w])
    ref = F.apply(F.SimplexLogProb, it.Dirichlet(alpha)._module, x, alpha)
    assert torch.equal(lq, ref)
    for g, h in zip(got, _grads([ref], [x, alpha], [w])):
        assert torch.equal(g, h)
    ta, tx = alpha.detach().requires_grad_(), x.detach().requires_grad_()
    tl = torch.distributions.Dirichlet(ta).log_prob(tx)
    tol = dict(rtol=1e-4, atol=1e-4) if dtype == torch.float32 else dict(rtol=1e-10, atol=1e-10)
    assert torch.allclose(lq.detach(), tl.detach(), **tol)
    for g, h in zip(got, _grads([tl], [tx, ta], [w])):
        assert torch.allclose(g, h, **tol)


def test_only_the_parameters_that_ask_for_it_get_a_gradient():
    a = torch.tensor([0.5, 3.0], dtype=torch.float64, requires_grad=True)
    b = torch.tensor([1.0, 2.0], dtype=torch.float64)
    z = it.Gamma(a, b).rsample()
    z.sum().backward()
    assert a.grad is not None and b.grad is None and torch.all(torch.isfinite(a.grad))


def test_a_second_derivative_is_an_error_only_where_it_is_taken():
    a = torch.tensor([0.5, 3.0], dtype=torch.float64, requires_grad=True)
    z = it.Gamma(a, 1.0).rsample()
    assert z.grad_fn.name().endswith(NATIVE)
    g, = torch.autograd.grad(z.sum(), a, create_graph=True)
    assert torch.all(torch.isfinite(g))
    with pytest.raises(RuntimeError, match="differentiate twice irgen's rsample"):
        g.sum().backward()


def test_a_second_derivative_of_log_prob_names_log_prob():
    a = torch.tensor([0.5, 3.0], dtype=torch.float64, requires_grad=True)
    lq = it.Gamma(a, 1.0).log_prob(torch.tensor([0.7, 2.0], dtype=torch.float64))
    assert lq.grad_fn.name().endswith("LogProbBackward>")
    g, = torch.autograd.grad(lq.sum(), a, create_graph=True)
    assert torch.all(torch.isfinite(g))
    with pytest.raises(RuntimeError, match="differentiate twice irgen's log_prob"):
        g.sum().backward()


def test_bad_parameters_give_nan_draws_and_gradients():
    a = torch.tensor([-1.0, float("nan"), 0.0, 2.0], requires_grad=True)
    z = it.Gamma(a, 1.0, validate_args=False).rsample()
    assert z.grad_fn.name().endswith(NATIVE)
    z.sum().backward()
    assert torch.isnan(z[:3]).all() and torch.isnan(a.grad[:3]).all()
    assert torch.isfinite(z[3]) and torch.isfinite(a.grad[3])


def test_other_calls_take_the_python_function():
    a = torch.tensor([0.5, 3.0], requires_grad=True)
    mixed = it.Gamma(a, torch.ones(2, dtype=torch.float64)).rsample()      # promoted
    empty = it.Gamma(torch.ones(0, requires_grad=True), 1.0).rsample()
    assert mixed.grad_fn.name() == "RSampleBackward" and mixed.dtype == torch.float64
    assert empty.shape == (0,)
    strided = it.Gamma(torch.tensor([0.5, 1.0, 3.0, 2.0])[::2], 1.0).rsample()
    assert strided.shape == (2,) and torch.all(strided > 0)     # copied, as Python copies


def test_the_environment_turns_the_nodes_off():
    code = ("import torch, irgen.torch as it; "
            "a = torch.ones(3, requires_grad=True); "
            "print(it.Gamma(a, 1.0).rsample().grad_fn.name())")
    env = dict(os.environ, IRGEN_TORCH_NATIVE="0")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "RSampleBackward"
