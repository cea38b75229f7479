"""Dirichlet(alpha), alpha along the last axis: irgen.generated.dirichlet's kernels on the
arrays of any namespace of irgen.compose.arrays (torch tensors on the CPU too), and the
mean.

The draws, the Gamma gradients and each row's normalisation run in irgen.generated.dirichlet's
row kernels (irgen/distributions/dirichlet.py; CPU threads and SIMD lanes, or the GPU for
CUDA arrays), and so does the log density. This layer lets torch tensors on the CPU in
(torch tensors in give torch tensors out).

    dz_i/dalpha_j = v_j (delta_ij - z_i),   v_j = (dG_j/dalpha_j) / sum(G)

rsample returns z and v (the Jacobian in O(K) numbers); vjp(z, v, g) is g . dz/dalpha in
O(K) per row, jacobian(z, v) the full K x K matrix.
"""
from __future__ import annotations

import numpy as np

from ..runtime.simplex import jacobian, vjp  # noqa: F401  (this module's API)
from .arrays import namespace

PARAMS = ("alpha",)


def _dirichlet():
    import irgen.generated.dirichlet as d     # a built-in, built by `irgen build`
    return d


def _call(kernel, *args, **options):
    """The generated kernel on args, where they are (the arrays' namespace: NumPy arrays,
    or torch tensors with irgen.torch imported, CPU or CUDA)."""
    return namespace(*args).call(_dirichlet(), kernel, *args, **options)


def log_sample(alpha, *, size=None, seed=None, dtype=None):
    """log z for z ~ Dirichlet(alpha): finite where z underflows (alpha = 1e-3 and below).
    size is the batch shape; the result has shape size + (K,)."""
    return _call("log_sample", alpha, size=size, seed=seed, dtype=dtype)


def sample(alpha, *, size=None, seed=None, dtype=None):
    """z ~ Dirichlet(alpha) (see log_sample)."""
    return _call("sample", alpha, size=size, seed=seed, dtype=dtype)


def rsample(alpha, *, size=None, seed=None, dtype=None):
    """(z, v): samples and their reparameterization gradients, dz_i/dalpha_j =
    v_j (delta_ij - z_i); the same z as sample() for the same seed."""
    return _call("rsample", alpha, size=size, seed=seed, dtype=dtype)


def log_prob(z, alpha):
    """log density on the simplex, one value per row: NaN for bad alpha, -inf off the
    simplex (an entry outside [0, 1], or a sum away from 1 by more than 4 K epsilons)."""
    return _call("log_prob", z, alpha)


def mean(alpha):
    alpha = np.asarray(alpha, dtype=float)
    return alpha / np.sum(alpha, axis=-1, keepdims=True)
