"""factorised_mixture(D): mixtures of K components, each a product of D univariate
distributions of one generated family, with implicit gradients through the multivariate
distributional transform (Figurnov et al. 2018, section 3.3).

    import irgen.generated.normal as normal
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
NumPy arrays in give NumPy arrays out; torch tensors (CPU or CUDA) give tensors on their
device.
"""
from __future__ import annotations

import math

from ..runtime.promotion import size_tuple
from .arrays import namespace
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

    @staticmethod
    def _split(x, params):
        """(xp, x (..., 1, D), weights (..., K, 1), parameters (..., K, D)), one dtype."""
        xp = namespace(x, *params)
        w, *theta = (xp.asarray(p) for p in params)
        x = xp.asarray(x)[..., None, :]
        x, w, *theta = xp.arrays(x, w[..., None], *theta)
        return xp, x, w, theta

    @staticmethod
    def _posterior(xp, lq, w):
        """log pi_kd from log q_kj of the coordinates before d: (..., K, D)."""
        before = xp.cumsum(lq, axis=-1) - lq            # sum over j < d
        lp = xp.log(w) + before
        return lp - xp.logsumexp(lp, axis=-2)

    def _kernel(self, xp, name, x, theta):
        return xp.kernel(self.base, name, x, *theta)

    def log_prob(self, x, *params):
        xp, x, w, theta = self._split(x, params)
        with xp.quiet():
            lq = self._kernel(xp, "log_prob", x, theta).sum(-1) + xp.log(w[..., 0])
            out = xp.logsumexp(lq, axis=-1)[..., 0]
            return xp.where(bad_weights(w[..., 0], xp), math.nan, out)

    def transform(self, x, *params):
        """T(x): the conditional CDFs, (..., D); uniform and independent for x drawn from
        the mixture."""
        xp, x, w, theta = self._split(x, params)
        with xp.quiet():
            pi = xp.exp(self._posterior(xp, self._kernel(xp, "log_prob", x, theta), w))
            T = xp.sum(pi * self._kernel(xp, "cdf", x, theta), axis=-2)
            return xp.where(bad_weights(w[..., 0], xp)[..., None], math.nan, T)

    def implicit_grad(self, x, *params):
        """(dx/dlogits (..., D, K), then dx/dp (..., D, K, D) for each parameter p of the
        family): entry [..., i, k, j] is dx_i / dp_kj. For free weights, dx/dw_k =
        dx/dlogit_k / w_k up to the simplex constraint."""
        xp, x, w, theta = self._split(x, params)
        with xp.quiet():
            return self._implicit_grad(xp, x, w, theta)

    def _pieces(self, xp, x, w, theta):
        """(pi, q, A, h, g, J): posterior weights, densities, A_kd, the scores h in the
        parameters, the family's implicit gradients g (..., K, D) and J (..., D, D)."""
        lq, s, *h = self._kernel(xp, "log_prob_grad", x, theta)   # (..., K, D); scores
        pi = xp.exp(self._posterior(xp, lq, w))
        F, S = self._kernel(xp, "cdf", x, theta), xp.exp(self._kernel(xp, "log_sf", x, theta))
        T = xp.sum(pi * F, axis=-2, keepdims=True)
        ST = xp.sum(pi * S, axis=-2, keepdims=True)
        A = pi * xp.where(T > 0.5, ST - S, F - T)          # F_kd - T_d without cancellation
        g = self._kernel(xp, "implicit_grad", x, theta)
        g = g if isinstance(g, tuple) else (g,)
        q = xp.exp(lq)
        eye = xp.eye(x.shape[-1], like=x)
        # J[..., d, j] = sum_k A_kd s_kj below the diagonal, sum_k pi_kd q_kd on it
        J = xp.einsum("...kd,...kj->...dj", A, s)
        J = xp.tril(J, -1) + xp.einsum("...kd,...kd->...d", pi, q)[..., None] * eye
        return pi, q, A, h, g, J

    def _implicit_grad(self, xp, x, w, theta):
        pi, q, A, h, g, J = self._pieces(xp, x, w, theta)
        eye = xp.eye(x.shape[-1], like=x)
        # right-hand sides dT_d / dparameter, columns flattened as (k, j)
        rhs = [xp.swapaxes(A, -1, -2)]                                     # (..., D, K)
        below = xp.tril(xp.ones_like(eye), -1)                             # j < d
        for hp, gp in zip(h, g):
            cols = xp.einsum("...kd,...kj->...dkj", A, hp) * below[:, None, :]
            diag = -(pi * q * gp)                                          # (..., K, D)
            # the diagonal j = d: entry [..., d, k, d] is diag[..., k, d]
            cols = cols + xp.swapaxes(diag, -1, -2)[..., :, :, None] * eye[:, None, :]
            rhs.append(cols)
        out = []
        for r in rhs:
            flat = r.reshape(tuple(r.shape[:J.ndim - 1]) + (-1,))    # (..., D, columns)
            out.append(_solve_lower(xp, J, -flat).reshape(r.shape))
        return self._nan_where_bad(xp, w, out)

    @staticmethod
    def _nan_where_bad(xp, w, out):
        bad = bad_weights(w[..., 0], xp)
        return tuple(xp.where(bad.reshape(tuple(bad.shape) + (1,) * (o.ndim - bad.ndim)),
                              math.nan, o) for o in out)

    def vjp(self, x, v, *params):
        """v . dx/dlogits (..., K) and v . dx/dp (..., K, D) for each parameter p, for
        cotangents v (..., D) of the draws: what a backward pass needs, without the
        Jacobians. With J^T y = v (one triangular solve, O(D^2)) and C_kj = sum_(d>j) y_d
        A_kd, v . dx/dlogit_k = -sum_d y_d A_kd and v . dx/dp_kj = y_j pi_kj q_kj g_kj -
        C_kj h_kj: O(D^2 + K D) per draw, where the Jacobians take O(K D^3)."""
        xp, x, w, theta = self._split(x, params)
        v = xp.arrays(v, dtype=x.dtype)[0]
        with xp.quiet():
            pi, q, A, h, g, J = self._pieces(xp, x, w, theta)
            y = _solve_upper_transposed(xp, J, v)[..., None, :]          # (..., 1, D)
            yA = y * A
            after = xp.sum(yA, axis=-1, keepdims=True) - xp.cumsum(yA, axis=-1)  # d > j
            out = [-xp.sum(yA, axis=-1)]
            out += [y * pi * q * gp - after * hp for hp, gp in zip(h, g)]
            return self._nan_where_bad(xp, w, out)

    def sample(self, *params, size=None, seed=None, dtype=None):
        """A component by its weight, then its D coordinates; size is the batch shape
        (seed: for torch tensors, torch's default generator where None)."""
        xp = namespace(*params)
        w, *theta = (xp.asarray(p) for p in params)
        K, D = theta[0].shape[-2:]
        w, *theta = xp.arrays(w[..., None], *theta, dtype=dtype)
        shape = tuple(w.shape[:-2]) if size is None else size_tuple(size)
        w = xp.broadcast_to(w[..., 0], shape + (K,))
        theta = [xp.broadcast_to(t, shape + (K, D)) for t in theta]
        generator = xp.generator(seed, w)
        k = choose_components(w, generator, xp)
        pick = [xp.take_along_axis(t, k[..., None, None], axis=-2)[..., 0, :] for t in theta]
        x = xp.sample(self.base, pick, xp.seed(generator))
        return xp.where(bad_weights(w, xp)[..., None], math.nan, x)

    def rsample(self, *params, size=None, seed=None, dtype=None):
        x = self.sample(*params, size=size, seed=seed, dtype=dtype)
        return x, self.implicit_grad(x, *params)


def _solve_lower(xp, J, B):
    """X with J X = B for lower-triangular J (..., D, D) and B (..., D, C), by forward
    substitution vectorised over the batch and the columns."""
    X = xp.zeros_like(B)
    D = J.shape[-1]
    for d in range(D):
        acc = B[..., d, :] - xp.einsum("...j,...jc->...c", J[..., d, :d], X[..., :d, :])
        X[..., d, :] = acc / J[..., d, d][..., None]
    return X


def _solve_upper_transposed(xp, J, v):
    """y with J^T y = v for lower-triangular J (..., D, D) and v (..., D), by backward
    substitution vectorised over the batch."""
    y = xp.zeros_like(v)
    D = J.shape[-1]
    for d in range(D - 1, -1, -1):
        acc = v[..., d] - xp.sum(J[..., d + 1:, d] * y[..., d + 1:], axis=-1)
        y[..., d] = acc / J[..., d, d]
    return y


def factorised_mixture(base) -> FactorisedMixture:
    return FactorisedMixture(base)
