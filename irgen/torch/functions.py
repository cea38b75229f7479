"""autograd Functions over a generated module's kernels.

The forward passes call the kernels on the tensors' own memory (launch.py): CPU tensors by
address, with no copy where they are contiguous; a CUDA tensor goes as it is, the CUDA
kernels run on torch's current stream and allocate their results through torch's caching
allocator. The backward passes multiply the
incoming gradient by derivatives the same kernels computed:

    RSample     z ~ D(theta): dz/dtheta = -(dF/dtheta)(z) / q(z), from rsample itself
    RSampleLogProb  z and log q(z | theta) from one kernel, for log_prob of one's own draws
    LogProb     log q(x | theta), with d/dx and d/dtheta from log_prob_grad in one pass
    Cdf         F(x | theta): dF/dtheta from cdf_grad, dF/dx = q(x)
    SimplexRSample  z ~ Dirichlet(alpha): the vector-Jacobian product v (g - sum(g z))

None of them has a second derivative (once_differentiable). rsample(), log_prob(),
simplex_rsample() and simplex_log_prob() make the common case of these Functions (CPU
tensors of one float dtype) by native autograd nodes instead (native.cpp), with the same
results: no Python in their forward or backward."""
from __future__ import annotations

import functools
import math

import torch
from torch.autograd.function import once_differentiable

from ..runtime.simplex import vjp
from . import launch, native


_unwrap_if_dead = torch._C._functorch.unwrap_if_dead


def once(backward):
    """torch's once_differentiable, minus its no_grad block where grad mode is off already
    (in every backward pass but one that builds a graph of its own)."""
    guarded = once_differentiable(backward)

    @functools.wraps(backward)
    def run(ctx, *grads):
        return guarded(ctx, *grads) if torch.is_grad_enabled() else backward(ctx, *grads)
    return run


def apply(function, *args):
    """function.apply(*args): where no functorch transform is active, straight to autograd's
    C++ apply, with the step torch's Python wrapper takes there (unwrapping the tensors a
    finished transform left behind), as torch's own wrapper does; its other work is for
    transforms, and costs a small call a quarter of its time."""
    if torch._C._are_functorch_transforms_active():
        return function.apply(*args)
    args = [_unwrap_if_dead(a) if isinstance(a, torch.Tensor) else a for a in args]
    return super(torch.autograd.Function, function).apply(*args)


def unbroadcast(g: torch.Tensor, shape) -> torch.Tensor:
    """g summed over the dimensions that broadcasting to g's shape added to `shape`."""
    if g.shape == shape:            # the common case, without the search below
        return g
    lead = g.dim() - len(shape)
    if lead:
        g = g.sum(tuple(range(lead)))
    dims = tuple(i for i, n in enumerate(shape) if n == 1 and g.shape[i] != 1)
    return g.sum(dims, keepdim=True) if dims else g


def _grads(ctx, g, derivatives, offset):
    """The incoming gradient g times each derivative, reduced to its input's shape, where
    that input needs a gradient."""
    return tuple(unbroadcast(g * d, s) if need else None
                 for need, d, s in zip(ctx.needs_input_grad[offset:], derivatives, ctx.shapes))


_natives: dict = {}


def _native(module, kernel):
    """(the native module, the kernel's entry points' addresses (packed ones for elementwise
    kernels), float64 and float32, the held ends by dtype) for a kernel of a generated
    module, or None where the native nodes are not to be had."""
    found = _natives.get((module, kernel))
    if found is None:
        found = False
        kernels = getattr(module, "_kernels", None)
        ext = native.extension() if kernels is not None else None
        if ext is not None and kernel in kernels.kernels:
            rows = kernels.kernels[kernel].rows
            held = getattr(module, "held", None) or {}
            ends = {}
            for dtype, name in (torch.float32, "float32"), (torch.float64, "float64"):
                low, high = held.get(name, (None, None))
                ends[dtype] = (-math.inf if low is None else low,
                               math.inf if high is None else high)
            found = (ext, *kernels.host.entries(kernel, "" if rows else "_packed"), ends)
        _natives[(module, kernel)] = found
    return found or None


def _plain() -> bool:
    """Whether no functorch transform is active (the native nodes know none)."""
    return not torch._C._are_functorch_transforms_active()


def rsample(module, shape, seed, params, log_prob=False):
    """Draws z ~ D(theta) of `shape` whose backward pass is RSample's (with log_prob: z and
    log q(z), RSampleLogProb's): by a native node (native.cpp) where the call is its common
    case (CPU tensors of one float dtype), else by the Python Function."""
    found = _native(module, "rsample_log_prob" if log_prob else "rsample")
    if found is not None and params and _plain():
        ext, f64, f32, ends = found
        low, high = ends.get(params[0].dtype, (-math.inf, math.inf))
        out = ext.rsample(f64, f32, shape, seed, low, high, params, log_prob)
        if out is not None:
            return out
    return apply(RSampleLogProb if log_prob else RSample, module, shape, seed, *params)


def _by_native(module, kernel, entry, *args):
    """The native module's entry(f64, f32, *args) over the kernel's addresses, or None where
    there is no native node or the call is not its common case."""
    found = _native(module, kernel)
    if found is None or not _plain():
        return None
    ext, f64, f32, _ = found
    return getattr(ext, entry)(f64, f32, *args)


def _wants_grad(*tensors) -> bool:
    return torch.is_grad_enabled() and any(t.requires_grad for t in tensors)


def log_prob(module, x, params):
    """log q(x | theta), LogProb's: where a gradient is wanted, by a native node over
    log_prob_grad in the common case."""
    args = [x, *params]
    out = _by_native(module, "log_prob_grad", "log_prob", args) if _wants_grad(*args) else None
    return out if out is not None else apply(LogProb, module, x, *params)


def simplex_rsample(module, shape, seed, alpha):
    """Dirichlet draws of shape (batch and row) whose backward pass is SimplexRSample's: by
    the native node where the call is its common case, else by SimplexRSample."""
    z = _by_native(module, "rsample", "simplex_rsample", shape, seed, alpha)
    return z if z is not None else apply(SimplexRSample, module, shape, seed, alpha)


def simplex_log_prob(module, x, alpha):
    """The Dirichlet's log density of rows x, SimplexLogProb's: where a gradient is wanted,
    by the native node in the common case."""
    out = (_by_native(module, "log_prob", "simplex_log_prob", x, alpha)
           if _wants_grad(x, alpha) else None)
    return out if out is not None else apply(SimplexLogProb, module, x, alpha)


class RSample(torch.autograd.Function):
    @staticmethod
    def forward(ctx, module, shape, seed, *params):
        z, dz = launch.call(module, "rsample", params, shape, seed, hold=True, rest=True)
        # dz: dz/dp for every parameter, stacked; neither an input nor an output, so kept on
        # ctx, as torch asks of such tensors (save_for_backward is for the graph's own)
        ctx.dz = dz
        ctx.shapes = [p.shape for p in params]
        return z

    @staticmethod
    @once
    def backward(ctx, g):
        # every parameter's product in one operation, then each reduced to its shape
        products = (g * ctx.dz).unbind(0)
        return (None, None, None) + tuple(
            unbroadcast(p, s) if need else None
            for need, p, s in zip(ctx.needs_input_grad[3:], products, ctx.shapes))


class RSampleLogProb(torch.autograd.Function):
    """rsample and the log density of its draws from one kernel call: (z, log q(z)). Here
    log q is a function of theta alone, its gradient the total one: d log q/dtheta +
    (d log q/dz)(dz/dtheta), what it would be as LogProb of RSample's z."""

    @staticmethod
    def forward(ctx, module, shape, seed, *params):
        m = len(params)
        # the kernel holds its draws inside the support, as launch.call(hold=True) does
        z, *rest = launch.call(module, "rsample_log_prob", params, shape, seed)
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(*rest[:m], *rest[m + 1:])
        ctx.shapes = [p.shape for p in params]
        return z, rest[m]

    @staticmethod
    @once
    def backward(ctx, gz, gl):
        m = len(ctx.shapes)
        saved = ctx.saved_tensors
        dz, dlq_dz, dlq = saved[:m], saved[m], saved[m + 1:]
        if gl is not None:       # the loss reaches z also through log q
            gz = gl * dlq_dz if gz is None else torch.addcmul(gz, gl, dlq_dz)
        grads = []
        for i, s in enumerate(ctx.shapes):
            if gz is None or not ctx.needs_input_grad[3 + i]:
                grads.append(None)
                continue
            g = gz * dz[i] if gl is None else torch.addcmul(gl * dlq[i], gz, dz[i])
            grads.append(unbroadcast(g, s))
        return (None, None, None) + tuple(grads)


class LogProb(torch.autograd.Function):
    @staticmethod
    def forward(ctx, module, x, *params):
        ctx.shapes = [x.shape] + [p.shape for p in params]
        args = (x,) + params
        ctx.module = module
        if any(ctx.needs_input_grad[1:]) and hasattr(module, "log_prob_grad"):
            lq, *scores = launch.call(module, "log_prob_grad", args)  # value and scores at once
            ctx.save_for_backward(*scores)
            return lq
        return launch.call(module, "log_prob", args)[0]

    @staticmethod
    @once
    def backward(ctx, g):
        if not ctx.saved_tensors:
            raise NotImplementedError(
                f"{ctx.module.name} declares no log_prob in the DSL, so its log density has "
                f"no gradients here (declare Distribution(log_prob=...))")
        return (None,) + _grads(ctx, g, ctx.saved_tensors, 1)


class Cdf(torch.autograd.Function):
    @staticmethod
    def forward(ctx, module, x, *params):
        args = (x,) + params
        ctx.shapes = [x.shape] + [p.shape for p in params]
        F, *dF = launch.call(module, "cdf_grad", args)
        if any(ctx.needs_input_grad[1:]):
            q = launch.call(module, "log_prob", args)[0].exp()          # dF/dx
            ctx.save_for_backward(q, *dF)
        return F

    @staticmethod
    @once
    def backward(ctx, g):
        return (None,) + _grads(ctx, g, ctx.saved_tensors, 1)


class Icdf(torch.autograd.Function):
    """The quantile z of u and, where a gradient is wanted, dz/du = 1 / q(z) and the
    implicit gradients dz/dp, from the module's icdf_grad in the same call."""
    @staticmethod
    def forward(ctx, module, u, *params):
        args = (u,) + params
        ctx.shapes = [u.shape] + [p.shape for p in params]
        if not any(ctx.needs_input_grad[1:]):
            return launch.call(module, "icdf", args)[0]
        z, *dz = launch.call(module, "icdf_grad", args)
        ctx.save_for_backward(*dz)
        return z

    @staticmethod
    @once
    def backward(ctx, g):
        return (None,) + _grads(ctx, g, ctx.saved_tensors, 1)


class SimplexRSample(torch.autograd.Function):
    @staticmethod
    def forward(ctx, module, shape, seed, alpha):
        z, v = launch.call_rows(module, "rsample", (alpha,), shape, seed)
        ctx.save_for_backward(z, v)
        ctx.shapes = [alpha.shape]
        return z

    @staticmethod
    @once
    def backward(ctx, g):
        z, v = ctx.saved_tensors
        return (None, None, None, unbroadcast(vjp(z, v, g), ctx.shapes[0])
                if ctx.needs_input_grad[3] else None)


class SimplexLogProb(torch.autograd.Function):
    """The Dirichlet's log density; its gradients in closed form (digammas), which no kernel
    computes: d/dx_j = (alpha_j - 1) / x_j, d/dalpha_j = log x_j - psi(alpha_j) + psi(a0)."""

    @staticmethod
    def forward(ctx, module, x, alpha):
        ctx.save_for_backward(x, alpha)
        return launch.call_rows(module, "log_prob", (x, alpha))[0]

    @staticmethod
    @once
    def backward(ctx, g):
        x, alpha = ctx.saved_tensors
        g = g.unsqueeze(-1)
        dx = unbroadcast(g * (alpha - 1) / x, x.shape) if ctx.needs_input_grad[1] else None
        da = None
        if ctx.needs_input_grad[2]:
            da = g * (torch.log(x) - torch.digamma(alpha)
                      + torch.digamma(alpha.sum(-1, keepdim=True)))
            da = unbroadcast(da, alpha.shape)
        return None, dx, da
