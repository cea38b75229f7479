"""Dirichlet(alpha), alpha along the last axis: generated.dirichlet's kernels, for any array
library, and the density.

The draws, the Gamma gradients and each row's normalisation run in generated.dirichlet's
row kernels (irgen/distributions/dirichlet.py; CPU threads and SIMD lanes, or the GPU for
CUDA arrays). This layer adds torch tensors on the CPU (torch tensors in give torch tensors
out, as CUDA tensors already do in the generated module), the log density and the mean.

    dz_i/dalpha_j = v_j (delta_ij - z_i),   v_j = (dG_j/dalpha_j) / sum(G)

rsample returns z and v (the Jacobian in O(K) numbers); vjp(z, v, g) is g . dz/dalpha in
O(K) per row, jacobian(z, v) the full K x K matrix.
"""
from __future__ import annotations

import numpy as np
from scipy import special

from ..runtime.promotion import is_cuda_array
from ..runtime.simplex import _torch_of, jacobian, vjp  # noqa: F401  (this module's API)

PARAMS = ("alpha",)


def _dirichlet():
    import generated.dirichlet as d     # a built-in, built by `irgen build`
    return d


def _call(kernel, alpha, size, seed, dtype):
    """The generated kernel on alpha; a torch CPU tensor goes as NumPy and comes back a
    tensor (CUDA arrays go to the GPU as they are)."""
    f = getattr(_dirichlet(), kernel)
    torch = _torch_of(alpha)
    if torch is None or is_cuda_array(alpha):
        if torch is not None:
            alpha = alpha.detach()
        return f(alpha, size=size, seed=seed, dtype=dtype)
    out = f(alpha.detach().numpy(), size=size, seed=seed, dtype=dtype)
    return (tuple(torch.from_numpy(o) for o in out) if isinstance(out, tuple)
            else torch.from_numpy(out))


def log_sample(alpha, *, size=None, seed=None, dtype=None):
    """log z for z ~ Dirichlet(alpha): finite where z underflows (alpha = 1e-3 and below).
    size is the batch shape; the result has shape size + (K,)."""
    return _call("log_sample", alpha, size, seed, dtype)


def sample(alpha, *, size=None, seed=None, dtype=None):
    """z ~ Dirichlet(alpha) (see log_sample)."""
    return _call("sample", alpha, size, seed, dtype)


def rsample(alpha, *, size=None, seed=None, dtype=None):
    """(z, v): samples and their reparameterization gradients, dz_i/dalpha_j =
    v_j (delta_ij - z_i); the same z as sample() for the same seed."""
    return _call("rsample", alpha, size, seed, dtype)


def _bad_rows(alpha):
    return ~np.all(np.isfinite(alpha) & (alpha > 0), axis=-1, keepdims=True)


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
