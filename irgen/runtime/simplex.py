"""Gradients through a simplex's samples, from rsample's (z, v): dz_i/dalpha_j =
v_j (delta_ij - z_i). On NumPy arrays, torch tensors (CPU or CUDA) and CuPy arrays alike;
torch is never imported here."""
from __future__ import annotations

import sys

import numpy as np


def _torch_of(a):
    """The torch module if a is a torch tensor, else None."""
    return sys.modules.get("torch") if type(a).__module__.startswith("torch") else None


def _xp(a):
    """The array module of a: NumPy, or CuPy for a CuPy array."""
    return sys.modules["cupy"] if type(a).__module__.startswith("cupy") else np


def vjp(z, v, g):
    """g . dz/dalpha for every row: v_j (g_j - sum_i g_i z_i), in O(K) per row."""
    if _torch_of(z) is not None:
        return v * (g - (g * z).sum(-1, keepdim=True))
    return v * (g - (g * z).sum(axis=-1, keepdims=True))


def jacobian(z, v):
    """dz_i/dalpha_j as (..., K, K), index i before j."""
    k = z.shape[-1]
    torch = _torch_of(z)
    eye = (torch.eye(k, dtype=z.dtype, device=z.device) if torch is not None
           else _xp(z).eye(k, dtype=z.dtype))
    return (eye - z[..., :, None]) * v[..., None, :]
