"""Gradients through a simplex's samples, from rsample's (z, v): dz_i/dalpha_j =
v_j (delta_ij - z_i). On NumPy arrays, torch tensors (CPU or CUDA) and CuPy arrays alike;
none of those libraries is imported here."""
from __future__ import annotations

import numpy as np

from . import families


def vjp(z, v, g):
    """g . dz/dalpha for every row: v_j (g_j - sum_i g_i z_i), in O(K) per row."""
    return v * (g - (g * z).sum(-1)[..., None])


def jacobian(z, v):
    """dz_i/dalpha_j as (..., K, K), index i before j."""
    k = z.shape[-1]
    family = families.of(z)
    eye = family.eye(k, z) if family is not None else np.eye(k, dtype=z.dtype)
    return (eye - z[..., :, None]) * v[..., None, :]
