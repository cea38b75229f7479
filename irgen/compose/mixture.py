"""mixture(D): K-component mixtures of any univariate distribution irgen builds.

    import generated.gamma as gamma
    mix = mixture(gamma)                       # parameters (weights, alpha, beta)
    z, (dw, dalpha, dbeta) = mix.rsample(w, alpha, beta, seed=1)

Parameters have the components along the last axis: weights (..., K), summing to 1 in every
row, and each of D's parameters (..., K). F(x) = sum_k w_k F_k(x), q(x) = sum_k w_k q_k(x).
A sample picks a component by its weight, then draws from it. The implicit gradients follow
from F alone (g_k the component's own, from its generated kernel):

    dz/dtheta_k = r_k g_k(z),   r_k = w_k q_k(z) / q(z), the posterior weight of component k,
    dz/dw_k = -F_k(z) / q(z),

the latter for weights moved freely; for weights = softmax(logits), grad_logits gives
dz/dlogit_k = -w_k (F_k(z) - F(z)) / q(z), computed as w_k (S_k(z) - S(z)) / q(z) in the
upper tail so that neither difference cancels.
"""
from __future__ import annotations

import numpy as np
from scipy import special


def bad_weights(w):
    """Rows of weights (last axis) that are not a probability vector: NaN rows."""
    tol = 1e-6 if w.dtype == np.float32 else 1e-12
    return ~(np.all(np.isfinite(w) & (w >= 0), axis=-1) & (np.abs(w.sum(-1) - 1) <= tol))


def choose_components(w, rng):
    """A component index per row of w (last axis), by one uniform each."""
    u = rng.random(w.shape[:-1])
    cum = np.cumsum(w.astype(np.float64), axis=-1)
    k = np.sum(cum <= (u * cum[..., -1])[..., None], axis=-1)
    return np.minimum(k, w.shape[-1] - 1)


class Mixture:
    def __init__(self, base):
        self.base = base
        self.name = f"mixture_{base.name}"
        self.params = ("weights",) + tuple(base.params)

    def __repr__(self):
        return (f"mixture({self.base.name}): parameters {', '.join(self.params)}, "
                f"components along the last axis")

    def _split(self, x, params):
        w, *theta = (np.asarray(p) for p in params)
        x = np.asarray(x)[..., None]
        x, w, *theta = np.broadcast_arrays(x, w, *theta)
        dtype = np.result_type(x, w, *theta, np.float32)
        return x.astype(dtype), w.astype(dtype), [t.astype(dtype) for t in theta]

    def _bad(self, w):
        return bad_weights(w)

    def _posterior(self, x, w, theta):
        """log q(x) and the posterior weights r_k."""
        with np.errstate(divide="ignore"):
            lwq = np.log(w) + self.base.log_prob(x, *theta)
        lq = special.logsumexp(lwq, axis=-1, keepdims=True)
        with np.errstate(invalid="ignore"):
            return lq[..., 0], np.exp(lwq - lq)

    def cdf(self, x, *params):
        x, w, theta = self._split(x, params)
        F = np.sum(w * self.base.cdf(x, *theta), axis=-1)
        return np.where(self._bad(w), np.nan, F)

    def log_prob(self, x, *params):
        x, w, theta = self._split(x, params)
        lq, _ = self._posterior(x, w, theta)
        return np.where(self._bad(w), np.nan, lq)

    def implicit_grad(self, z, *params):
        """(dz/dw, dz/dtheta for each of D's parameters), each (..., K)."""
        z, w, theta = self._split(z, params)
        lq, r = self._posterior(z, w, theta)
        g = self.base.implicit_grad(z, *theta)
        g = g if isinstance(g, tuple) else (g,)
        with np.errstate(over="ignore", invalid="ignore"):
            dw = -np.exp(self.base.log_cdf(z, *theta) - lq[..., None])
            out = (dw,) + tuple(r * gk for gk in g)
        bad = self._bad(w)[..., None]
        return tuple(np.where(bad, np.nan, o) for o in out)

    def grad_logits(self, z, *params):
        """dz/dlogit_k for weights = softmax(logits), without cancellation in either tail."""
        z, w, theta = self._split(z, params)
        lq, _ = self._posterior(z, w, theta)
        lF, lS = self.base.log_cdf(z, *theta), self.base.log_sf(z, *theta)
        F = np.sum(w * np.exp(lF), axis=-1, keepdims=True)
        S = np.sum(w * np.exp(lS), axis=-1, keepdims=True)
        upper = F > 0.5
        diff = np.where(upper, S - np.exp(lS), np.exp(lF) - F)     # F_k - F, either way
        with np.errstate(over="ignore", invalid="ignore"):
            out = -w * diff * np.exp(-lq[..., None])
        return np.where(self._bad(w)[..., None], np.nan, out)

    def sample(self, *params, size=None, seed=None, dtype=None):
        """A component by its weight (one uniform), then a draw of it with D's sampler;
        size is the batch shape, the components' axis is not part of it."""
        _, w, theta = self._split(0.0, params)
        dt = np.dtype(dtype or w.dtype)
        shape = w.shape[:-1] if size is None else tuple(np.atleast_1d(size))
        w = np.broadcast_to(w, shape + w.shape[-1:])
        theta = [np.broadcast_to(t, shape + t.shape[-1:]) for t in theta]
        rng = np.random.default_rng(seed)
        k = choose_components(w, rng)
        pick = [np.take_along_axis(t, k[..., None], axis=-1)[..., 0].astype(dt) for t in theta]
        z = self.base.sample(*pick, seed=int(rng.integers(0, 2 ** 63)))
        return np.where(self._bad(w), np.nan, z)

    def rsample(self, *params, size=None, seed=None, dtype=None):
        z = self.sample(*params, size=size, seed=seed, dtype=dtype)
        return z, self.implicit_grad(z, *params)


def mixture(base) -> Mixture:
    """K-component mixtures of a generated distribution module; its functions take
    (weights, *D's parameters), components along the last axis."""
    return Mixture(base)
