"""factorised_mixture(D): mixtures of K components, each a product of D univariate
distributions of one generated family, with implicit gradients through the multivariate
distributional transform (Figurnov et al. 2018, section 3.3).

    import generated.normal as normal
    mix = factorised_mixture(normal)       # weights (..., K); mu, sigma (..., K, D)
    x, grads = mix.rsample(w, mu, sigma, size=256, seed=1)
    dx_dlogits, dx_dmu, dx_dsigma = grads   # (n, D, K) and (n, D, K, D)

The transform T_d(x) = sum_k pi_kd F_kd(x_d) maps a sample to independent uniforms, where
pi_kd, the posterior weight of component k given x_1..x_(d-1), is proportional to
w_k prod_(j<d) q_kj(x_j). With u = T(x) held fixed, dx/dtheta = -J^(-1) dT/dtheta for the
lower-triangular J = dT/dx; with A_kd = pi_kd (F_kd - T_d) (formed from survival functions
where T_d is near 1, so that it does not cancel), s and h the scores of log q_kj in x_j and
in the parameters, and g the family's implicit gradient:

    J_dd = sum_k pi_kd q_kd,   J_dj = sum_k A_kd s_kj (j < d),
    dT_d/dtheta_kdp = -pi_kd q_kd g_kdp,   dT_d/dtheta_kjp = A_kd h_kjp (j < d),
    dT_d/dlogit_k = A_kd (weights = softmax(logits)).

Forward substitution solves the triangular systems: O(D^2) per sample and parameter
column. The family needs a declared log density (its log_prob_grad kernel gives s and h).
"""
from __future__ import annotations

import numpy as np
from scipy import special

from .mixture import bad_weights, choose_components


class FactorisedMixture:
    def __init__(self, base):
        if not hasattr(base, "log_prob_grad"):
            raise ValueError(f"{base.name} declares no log density, so it has no "
                             f"log_prob_grad kernel: the transform needs its scores")
        self.base = base
        self.name = f"factorised_mixture_{base.name}"
        self.params = ("weights",) + tuple(base.params)

    def __repr__(self):
        return (f"factorised_mixture({self.base.name}): weights (..., K), "
                f"{', '.join(self.base.params)} (..., K, D)")

    def _split(self, x, params):
        """x (..., 1, D), weights (..., K, 1), parameters (..., K, D), one dtype."""
        w, *theta = (np.asarray(p) for p in params)
        x = np.asarray(x)[..., None, :]
        arrays = np.broadcast_arrays(x, w[..., None], *theta)
        dtype = np.result_type(*arrays, np.float32)
        x, w, *theta = (a.astype(dtype) for a in arrays)
        return x, w, theta

    def _bad(self, w):
        return bad_weights(w[..., 0])

    def _posterior(self, lq, w):
        """log pi_kd from log q_kj of the coordinates before d: (..., K, D)."""
        with np.errstate(divide="ignore"):
            before = np.cumsum(lq, axis=-1) - lq            # sum over j < d
            lp = np.log(w) + before
        return lp - special.logsumexp(lp, axis=-2, keepdims=True)

    def log_prob(self, x, *params):
        x, w, theta = self._split(x, params)
        with np.errstate(divide="ignore"):
            lq = self.base.log_prob(x, *theta).sum(axis=-1) + np.log(w[..., 0])
        out = special.logsumexp(lq, axis=-1)
        return np.where(self._bad(w), np.nan, out)

    def transform(self, x, *params):
        """T(x): the conditional CDFs, (..., D); uniform and independent for x drawn from
        the mixture."""
        x, w, theta = self._split(x, params)
        pi = np.exp(self._posterior(self.base.log_prob(x, *theta), w))
        T = np.sum(pi * self.base.cdf(x, *theta), axis=-2)
        return np.where(self._bad(w)[..., None], np.nan, T)

    def implicit_grad(self, x, *params):
        """(dx/dlogits (..., D, K), then dx/dp (..., D, K, D) for each parameter p of the
        family): entry [..., i, k, j] is dx_i / dp_kj. For free weights, dx/dw_k =
        dx/dlogit_k / w_k up to the simplex constraint."""
        x, w, theta = self._split(x, params)
        b = self.base
        lq, s, *h = b.log_prob_grad(x, *theta)              # (..., K, D); scores in x, p
        pi = np.exp(self._posterior(lq, w))
        F, S = b.cdf(x, *theta), np.exp(b.log_sf(x, *theta))
        T = np.sum(pi * F, axis=-2, keepdims=True)
        ST = np.sum(pi * S, axis=-2, keepdims=True)
        A = pi * np.where(T > 0.5, ST - S, F - T)           # F_kd - T_d without cancellation
        g = b.implicit_grad(x, *theta)
        g = g if isinstance(g, tuple) else (g,)
        q = np.exp(lq)
        D = x.shape[-1]
        # J[..., d, j] = sum_k A_kd s_kj below the diagonal, sum_k pi_kd q_kd on it
        J = np.einsum("...kd,...kj->...dj", A, s)
        J = np.tril(J, -1) + np.einsum("...kd,...kd->...d", pi, q)[..., None] * np.eye(D)
        # right-hand sides dT_d / dparameter, columns flattened as (k, j)
        rhs = [np.swapaxes(A, -1, -2)]                                     # (..., D, K)
        tri = np.tril(np.ones((D, D), dtype=bool), -1)                     # j < d
        for hp, gp in zip(h, g):
            cols = np.einsum("...kd,...kj->...dkj", A, hp) * tri[:, None, :]
            diag = -(pi * q * gp)                                          # (..., K, D)
            idx = np.arange(D)
            cols[..., idx, :, idx] = np.moveaxis(diag, -1, 0)
            rhs.append(cols)
        out = []
        for r in rhs:
            flat = r.reshape(r.shape[:J.ndim - 1] + (-1,))        # (..., D, columns)
            out.append(_solve_lower(J, -flat).reshape(r.shape))
        bad = self._bad(w)
        return tuple(np.where(bad.reshape(bad.shape + (1,) * (o.ndim - bad.ndim)), np.nan, o)
                     for o in out)

    def sample(self, *params, size=None, seed=None, dtype=None):
        """A component by its weight, then its D coordinates; size is the batch shape."""
        w, *theta = (np.asarray(p) for p in params)
        dt = np.dtype(dtype or np.result_type(w, *theta, np.float32))
        K, D = theta[0].shape[-2:]
        shape = np.broadcast_shapes(w.shape[:-1], *(t.shape[:-2] for t in theta))
        if size is not None:
            shape = tuple(np.atleast_1d(size))
        w = np.broadcast_to(w, shape + (K,))
        theta = [np.broadcast_to(t, shape + (K, D)) for t in theta]
        rng = np.random.default_rng(seed)
        k = choose_components(w, rng)
        pick = [np.take_along_axis(t, k[..., None, None], axis=-2)[..., 0, :].astype(dt)
                for t in theta]
        x = self.base.sample(*pick, seed=int(rng.integers(0, 2 ** 63)))
        return np.where(self._bad(w[..., None])[..., None], np.nan, x)

    def rsample(self, *params, size=None, seed=None, dtype=None):
        x = self.sample(*params, size=size, seed=seed, dtype=dtype)
        w, *theta = params
        return x, self.implicit_grad(x, w, *theta)


def _solve_lower(J, B):
    """X with J X = B for lower-triangular J (..., D, D) and B (..., D, C), by forward
    substitution vectorised over the batch and the columns."""
    X = np.empty_like(B)
    D = J.shape[-1]
    for d in range(D):
        acc = B[..., d, :] - np.einsum("...j,...jc->...c", J[..., d, :d], X[..., :d, :])
        X[..., d, :] = acc / J[..., d, d][..., None]
    return X


def factorised_mixture(base) -> FactorisedMixture:
    return FactorisedMixture(base)
