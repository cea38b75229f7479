"""Dirichlet(alpha), alpha along the last axis, composed from Gamma's generated kernels.

z = G / sum(G) for independent G_j ~ Gamma(alpha_j, 1). Draws of small shapes are taken in
log space (log_sample), so that shapes as small as 1e-4 keep their proportions where G itself
underflows; the others directly. The reparameterization gradient is the paper's construction:
each G_j moves by Gamma's implicit gradient dG_j/dalpha_j, and the normalisation carries it to
every z_i:

    dz_i/dalpha_j = v_j (delta_ij - z_i),   v_j = (dG_j/dalpha_j) / sum(G)
                                                = (d log G_j / dalpha_j) z_j.

rsample returns z and v (the Jacobian in O(K) numbers); vjp(z, v, g) is g . dz/dalpha in
O(K) per row, jacobian(z, v) the full K x K matrix. The elementwise work runs in Gamma's
kernels (threads and SIMD lanes, or the GPU), the normalisation in the array library that
alpha comes from: NumPy arrays give NumPy arrays, torch tensors (CPU or CUDA) torch tensors
on their device.
"""
from __future__ import annotations

import sys

import numpy as np
from scipy import special

PARAMS = ("alpha",)


def _gamma():
    import generated.gamma as g        # a built-in, built by `irgen build`
    return g


def _torch_of(a):
    """The torch module if a is a torch tensor, else None (torch is never imported here)."""
    return sys.modules.get("torch") if type(a).__module__.startswith("torch") else None


def _shapes(alpha, size, dtype):
    """alpha broadcast to size + (K,), contiguous, in dtype; with the NumPy dtype and torch
    (None for NumPy arrays)."""
    torch = _torch_of(alpha)
    if torch is None:
        alpha = np.asarray(alpha)
        dtype = np.dtype(dtype or np.result_type(alpha.dtype, np.float32))
    else:
        dtype = np.dtype(dtype or str(alpha.dtype).replace("torch.", ""))
    if dtype not in (np.float32, np.float64):
        dtype = np.dtype(np.float64)
    if alpha.ndim == 0:
        raise ValueError("alpha needs a last axis of K >= 2 concentrations")
    shape = tuple(alpha.shape) if size is None else (tuple(np.atleast_1d(size))
                                                     + tuple(alpha.shape[-1:]))
    if shape[-1] < 2:
        raise ValueError(f"alpha's last axis has {shape[-1]} entry; a Dirichlet needs K >= 2")
    if torch is not None:
        alpha = alpha.detach().to(getattr(torch, dtype.name)).expand(shape).contiguous()
        return alpha, dtype, torch
    alpha = np.broadcast_to(alpha.astype(dtype, copy=False), shape)
    return np.ascontiguousarray(alpha), dtype, None


def _bad_rows(alpha, torch=None):
    if torch is not None:
        return ~torch.all(torch.isfinite(alpha) & (alpha > 0), dim=-1, keepdim=True)
    return ~np.all(np.isfinite(alpha) & (alpha > 0), axis=-1, keepdims=True)


def _normalise(log_g, alpha, torch=None):
    """log z = log G - log sum(G), with the largest log G as pivot; NaN rows where alpha has a
    non-positive, infinite or NaN entry."""
    if torch is not None:
        m = torch.amax(log_g, dim=-1, keepdim=True)
        log_z = log_g - (m + torch.log(torch.sum(torch.exp(log_g - m), dim=-1, keepdim=True)))
        return torch.where(_bad_rows(alpha, torch), torch.nan, log_z)
    m = np.max(log_g, axis=-1, keepdims=True)
    log_s = m + np.log(np.sum(np.exp(log_g - m), axis=-1, keepdims=True))
    log_z = log_g - log_s
    return np.where(_bad_rows(alpha), np.nan, log_z)


# Below these shapes a Gamma draw g u^(1/alpha) can leave the normal range (u down to 2^-53
# or 2^-32): such elements are drawn in log space (log_sample, log_rsample), the others
# directly, which is twice as fast.
LOG_SPACE_BELOW = {np.dtype(np.float64): 0.1, np.dtype(np.float32): 0.5}


def _log_gammas(alpha, dtype, seed, grad, torch=None):
    """log G and, with grad, d log G / dalpha for independent G ~ Gamma(alpha, 1). The two
    kinds of element draw from streams of two seeds derived from `seed`."""
    g = _gamma()
    seeds = [int(s) for s in np.random.SeedSequence(seed).generate_state(2, np.uint64)]
    small = alpha < LOG_SPACE_BELOW[dtype]
    if torch is None:
        log, empty = np.log, (lambda: np.empty(alpha.shape, dtype))
    else:
        log, empty = torch.log, (lambda: torch.empty_like(alpha))
    own = (lambda r: r) if torch is None else (          # the gamma kernels give NumPy arrays
        lambda r: r if isinstance(r, torch.Tensor) else torch.from_numpy(r))  # for CPU tensors
    log_g = empty()
    dlog_g = empty() if grad else None
    for part, in_logs, part_seed in ((small, True, seeds[0]), (~small, False, seeds[1])):
        if not bool(part.any()):
            continue
        whole = bool(part.all())
        a = alpha if whole else alpha[part]
        if in_logs:
            y, dy = (g.log_rsample(a, 1.0, seed=part_seed) if grad else
                     (g.log_sample(a, 1.0, seed=part_seed), None))
            y, dy = own(y), own(dy[0]) if grad else None
        else:
            z, dz = (g.rsample(a, 1.0, seed=part_seed) if grad else
                     (g.sample(a, 1.0, seed=part_seed), None))
            z = own(z)
            with np.errstate(divide="ignore", invalid="ignore"):
                y = log(z)
                dy = own(dz[0]) / z if grad else None
        if whole:
            log_g, dlog_g = y, dy
        else:
            log_g[part] = y
            if grad:
                dlog_g[part] = dy
    return log_g, dlog_g


def log_sample(alpha, *, size=None, seed=None, dtype=None):
    """log z for z ~ Dirichlet(alpha): finite where z underflows (alpha = 1e-3 and below).
    size is the batch shape; the result has shape size + (K,)."""
    alpha, dtype, torch = _shapes(alpha, size, dtype)
    log_g, _ = _log_gammas(alpha, dtype, seed, False, torch)
    return _normalise(log_g, alpha, torch)


def sample(alpha, *, size=None, seed=None, dtype=None):
    """z ~ Dirichlet(alpha) (see log_sample)."""
    return log_sample(alpha, size=size, seed=seed, dtype=dtype).exp() if _torch_of(alpha) \
        else np.exp(log_sample(alpha, size=size, seed=seed, dtype=dtype))


def rsample(alpha, *, size=None, seed=None, dtype=None):
    """(z, v): samples and their reparameterization gradients, dz_i/dalpha_j =
    v_j (delta_ij - z_i); the same z as sample() for the same seed."""
    alpha, dtype, torch = _shapes(alpha, size, dtype)
    log_g, dlog_g = _log_gammas(alpha, dtype, seed, True, torch)
    z = _normalise(log_g, alpha, torch)
    z = np.exp(z) if torch is None else z.exp()
    return z, dlog_g * z


def vjp(z, v, g):
    """sum_i g_i dz_i/dalpha_j = v_j (g_j - sum_i g_i z_i), for every row."""
    if _torch_of(z) is not None:
        return v * (g - (g * z).sum(-1, keepdim=True))
    return v * (g - np.sum(g * z, axis=-1, keepdims=True))


def jacobian(z, v):
    """dz_i/dalpha_j as (..., K, K), index i before j."""
    k = z.shape[-1]
    torch = _torch_of(z)
    eye = np.eye(k, dtype=z.dtype) if torch is None else torch.eye(k, dtype=z.dtype,
                                                                   device=z.device)
    return (eye - z[..., :, None]) * v[..., None, :]


def log_prob(z, alpha):
    """log density on the simplex: sum (alpha_j - 1) log z_j - log B(alpha); NaN for bad
    alpha, -inf off the simplex (an entry outside [0, 1] or a sum away from 1 by more than
    K times the dtype's epsilon)."""
    z, alpha = np.broadcast_arrays(np.asarray(z), np.asarray(alpha))
    dtype = np.result_type(z.dtype, alpha.dtype, np.float32)
    z, alpha = z.astype(dtype), alpha.astype(dtype)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(alpha == 1, 0, (alpha - 1) * np.log(z))
        log_b = np.sum(special.gammaln(alpha), axis=-1) - special.gammaln(np.sum(alpha, -1))
        lp = np.sum(terms, axis=-1) - log_b
    tol = z.shape[-1] * np.finfo(dtype).eps * 4
    off = (np.any((z < 0) | (z > 1), axis=-1) | (np.abs(np.sum(z, axis=-1) - 1) > tol))
    lp = np.where(off, -np.inf, lp)
    return np.where(_bad_rows(alpha)[..., 0], np.nan, lp).astype(dtype)


def mean(alpha):
    alpha = np.asarray(alpha, dtype=float)
    return alpha / np.sum(alpha, axis=-1, keepdims=True)
