"""mixture(D): K-component mixtures of any univariate distribution irgen builds.

    import irgen.generated.gamma as gamma
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

import math

from ..runtime.promotion import size_tuple
from .arrays import NUMPY, namespace


def bad_weights(w, xp=NUMPY):
    """Rows of weights (last axis) that are not a probability vector: NaN rows."""
    tol = 1e-6 if w.dtype == xp.float32 else 1e-12
    ok = xp.all(xp.isfinite(w) & (w >= 0), axis=-1) & (xp.abs(w.sum(-1) - 1) <= tol)
    return ~ok


def choose_components(w, generator, xp=NUMPY):
    """A component index per row of w (last axis), by one uniform each."""
    u = xp.uniform(generator, w.shape[:-1], w)
    cum = xp.cumsum(xp.astype(w, xp.float64), axis=-1)
    k = xp.sum(cum <= (u * cum[..., -1])[..., None], axis=-1)
    return xp.clip(k, 0, w.shape[-1] - 1)


class Mixture:
    def __init__(self, base):
        self.base = base
        self.name = f"mixture_{base.name}"
        self.params = ("weights",) + tuple(base.params)

    def __repr__(self):
        return (f"mixture({self.base.name}): parameters {', '.join(self.params)}, "
                f"components along the last axis")

    @staticmethod
    def _split(x, params):
        """(xp, x (..., 1), weights, parameters), broadcast, in one dtype."""
        xp = namespace(x, *params)
        if hasattr(x, "shape") or xp is NUMPY:     # a number broadcasts as it is
            x = xp.asarray(x)[..., None]
        x, w, *theta = xp.arrays(x, *params)
        return xp, x, w, theta

    def _posterior(self, xp, x, w, theta):
        """log q(x) and the posterior weights r_k."""
        lwq = xp.log(w) + xp.kernel(self.base, "log_prob", x, *theta)
        lq = xp.logsumexp(lwq, axis=-1)
        return lq[..., 0], xp.exp(lwq - lq)

    def cdf(self, x, *params):
        xp, x, w, theta = self._split(x, params)
        F = xp.sum(w * xp.kernel(self.base, "cdf", x, *theta), axis=-1)
        return xp.where(bad_weights(w, xp), math.nan, F)

    def log_prob(self, x, *params):
        xp, x, w, theta = self._split(x, params)
        with xp.quiet():
            lq, _ = self._posterior(xp, x, w, theta)
            return xp.where(bad_weights(w, xp), math.nan, lq)

    def implicit_grad(self, z, *params, logits=False):
        """(dz/dw, dz/dtheta for each of D's parameters), each (..., K); with logits=True
        dz/dlogits (grad_logits) in place of dz/dw, from the same kernel calls."""
        xp, z, w, theta = self._split(z, params)
        with xp.quiet():
            lq, r = self._posterior(xp, z, w, theta)
            g = xp.kernel(self.base, "implicit_grad", z, *theta)
            g = g if isinstance(g, tuple) else (g,)
            lF = xp.kernel(self.base, "log_cdf", z, *theta)
            if logits:
                first = self._logits(xp, z, w, theta, lq, lF)
            else:
                first = -xp.exp(lF - lq[..., None])
            out = (first,) + tuple(r * gk for gk in g)
            bad = bad_weights(w, xp)[..., None]
            return tuple(xp.where(bad, math.nan, o) for o in out)

    def grad_logits(self, z, *params):
        """dz/dlogit_k for weights = softmax(logits), without cancellation in either tail."""
        xp, z, w, theta = self._split(z, params)
        with xp.quiet():
            lq, _ = self._posterior(xp, z, w, theta)
            out = self._logits(xp, z, w, theta, lq, xp.kernel(self.base, "log_cdf", z, *theta))
            return xp.where(bad_weights(w, xp)[..., None], math.nan, out)

    def _logits(self, xp, z, w, theta, lq, lF):
        """-w_k (F_k - F) / q, the difference formed from survival functions above F = 1/2."""
        lS = xp.kernel(self.base, "log_sf", z, *theta)
        F = xp.sum(w * xp.exp(lF), axis=-1, keepdims=True)
        S = xp.sum(w * xp.exp(lS), axis=-1, keepdims=True)
        diff = xp.where(F > 0.5, S - xp.exp(lS), xp.exp(lF) - F)         # F_k - F, either way
        return -w * diff * xp.exp(-lq[..., None])

    def sample(self, *params, size=None, seed=None, dtype=None):
        """A component by its weight (one uniform), then a draw of it with D's sampler;
        size is the batch shape, the components' axis is not part of it (seed: for torch
        tensors, torch's default generator where None)."""
        xp = namespace(*params)
        w, *theta = xp.arrays(*params, dtype=dtype)
        shape = tuple(w.shape[:-1]) if size is None else size_tuple(size)
        w = xp.broadcast_to(w, shape + tuple(w.shape[-1:]))
        theta = [xp.broadcast_to(t, shape + tuple(t.shape[-1:])) for t in theta]
        generator = xp.generator(seed, w)
        k = choose_components(w, generator, xp)[..., None]
        pick = [xp.take_along_axis(t, k, axis=-1)[..., 0] for t in theta]
        z = xp.sample(self.base, pick, xp.seed(generator))
        return xp.where(bad_weights(w, xp), math.nan, z)

    def rsample(self, *params, size=None, seed=None, dtype=None, logits=False):
        """Samples and their implicit gradients (logits: as implicit_grad's)."""
        z = self.sample(*params, size=size, seed=seed, dtype=dtype)
        return z, self.implicit_grad(z, *params, logits=logits)


def mixture(base) -> Mixture:
    """K-component mixtures of a generated distribution module; its functions take
    (weights, *D's parameters), components along the last axis."""
    return Mixture(base)
