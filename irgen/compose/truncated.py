"""truncated(D): any univariate distribution irgen builds, restricted to [low, high].

    import generated.normal as normal
    tn = truncated(normal)                 # parameters (mu, sigma, low, high)
    z, grads = tn.rsample(0.0, 1.0, 10.0, np.inf, size=1000, seed=1)

F_T(x) = (F(x) - F(low)) / (F(high) - F(low)) is computed from log F where low lies below
the median and from log S = log(1 - F) above it, each difference as exp(l1) (-expm1(l0 - l1)),
so a window 10 or 40 standard deviations out keeps every digit where F(x) - F(low) would be
0 - 0 or 1 - 1. Samples solve F_T(z) = u by a safeguarded Newton-bisection on the base
distribution's generated log F (or log S) and log density, at most MAX_STEPS steps. The implicit
gradients, with g the base distribution's (from its generated kernel) and A = q(low) / q(z),
B = q(high) / q(z) (from log densities, finite where q underflows):

    dz/dtheta = g(z) - S_T A g(low) - F_T B g(high),   dz/dlow = S_T A,   dz/dhigh = F_T B.

Bad input (invalid base parameters, low >= high, a NaN bound) gives NaN.
"""
from __future__ import annotations

import numpy as np

MAX_STEPS = 200          # Newton-bisection steps; bisection alone halves a double in ~2100
MAX_GROWTH = 64          # doublings that reach past an infinite bound


def _log_diff(l1, l0):
    """log(e^l1 - e^l0) for l1 >= l0."""
    with np.errstate(invalid="ignore", divide="ignore"):
        return l1 + np.log(-np.expm1(l0 - l1))


class Truncated:
    def __init__(self, base):
        self.base = base
        self.name = f"truncated_{base.name}"
        self.params = tuple(base.params) + ("low", "high")

    def __repr__(self):
        return f"truncated({self.base.name}): parameters {', '.join(self.params)}"

    # -- the pieces
    def _split(self, args):
        args = np.broadcast_arrays(*(np.asarray(a) for a in args))
        dtype = np.result_type(*args, np.float32)
        args = [a.astype(dtype) for a in args]
        return args[0], args[1:-2], args[-2], args[-1], dtype

    def _in_form(self, v, theta, upper):
        """log S(v) where upper, else log F(v): each element in its own form only."""
        out = np.empty(np.shape(v), np.result_type(v, np.float32))
        for form, kernel in ((upper, self.base.log_sf), (~upper, self.base.log_cdf)):
            if form.any():
                out[form] = kernel(v[form], *(t[form] for t in theta))
        return out

    def _tails(self, theta, low, high):
        """(upper, ll, lh): upper says which form an element takes (S where low lies above
        the median), ll and lh are log F or log S at low and high in that form."""
        ll = np.array(self.base.log_cdf(low, *theta))       # an array also for scalars
        upper = ll > np.log(0.5)
        if upper.any():
            ll[upper] = self.base.log_sf(low[upper], *(t[upper] for t in theta))
        return upper, ll, self._in_form(high, theta, upper)

    @staticmethod
    def _log_mass(upper, ll, lh):
        """log of the window's mass: F(high) - F(low) in the F form, S(low) - S(high) in the
        S form."""
        return _log_diff(np.where(upper, ll, lh), np.where(upper, lh, ll))

    def _levels(self, x, theta, low, high):
        """(log F_T, log S_T) at x."""
        upper, ll, lh = self._tails(theta, low, high)
        lx = self._in_form(x, theta, upper)
        log_mass = self._log_mass(upper, ll, lh)
        below = np.where(upper, _log_diff(ll, np.minimum(lx, ll)),
                         _log_diff(np.maximum(lx, ll), ll)) - log_mass
        above = np.where(upper, _log_diff(np.maximum(lx, lh), lh),
                         _log_diff(lh, np.minimum(lx, lh))) - log_mass
        return below, above

    def _bad(self, theta, low, high):
        """low >= high, a NaN bound, or parameters the base refuses (every kernel gives NaN
        for them; the log density is the cheapest to ask)."""
        return ~(low < high) | np.isnan(self.base.log_prob(np.where(np.isfinite(low), low, 0.0),
                                                           *theta))

    # -- the kernels, as a generated module has them
    def cdf(self, x, *params):
        x, theta, low, high, _ = self._split((x,) + params)
        lo, _ = self._levels(np.clip(x, low, high), theta, low, high)
        out = np.where(x <= low, 0.0, np.where(x >= high, 1.0, np.exp(lo)))
        return np.where(self._bad(theta, low, high) | np.isnan(x), np.nan, out)

    def log_prob(self, x, *params):
        x, theta, low, high, _ = self._split((x,) + params)
        lp = self.base.log_prob(x, *theta) - self._log_mass(*self._tails(theta, low, high))
        lp = np.where((x < low) | (x > high), -np.inf, lp)
        return np.where(self._bad(theta, low, high) | np.isnan(x), np.nan, lp)

    def implicit_grad(self, z, *params):
        """dz/dp for the base parameters, then low and high (see the module's doc)."""
        z, theta, low, high, _ = self._split((z,) + params)
        b = self.base
        lq = b.log_prob(z, *theta)
        lo, hi = self._levels(z, theta, low, high)
        F, S = np.exp(lo), np.exp(hi)
        with np.errstate(invalid="ignore", over="ignore"):
            A = np.where(np.isfinite(low), np.exp(b.log_prob(low, *theta) - lq), 0.0)
            B = np.where(np.isfinite(high), np.exp(b.log_prob(high, *theta) - lq), 0.0)
            gz = b.implicit_grad(z, *theta)
            gl = b.implicit_grad(np.where(np.isfinite(low), low, z), *theta)
            gh = b.implicit_grad(np.where(np.isfinite(high), high, z), *theta)
            gz, gl, gh = (g if isinstance(g, tuple) else (g,) for g in (gz, gl, gh))
            out = [a - S * A * c - F * B * d for a, c, d in zip(gz, gl, gh)] + [S * A, F * B]
        bad = self._bad(theta, low, high) | ~((z >= low) & (z <= high))
        return tuple(np.where(bad, np.nan, g) for g in out)

    def _solve(self, u, theta, low, high):
        """z with F_T(z) = u, in double: Newton on log F (or log S) in a bracket halved
        whenever a step would leave it. Infinite bounds are first replaced by points beyond
        which the mass is below u's resolution. Each step evaluates the elements not yet
        converged, and each of them in its own form only."""
        b = self.base
        shape = u.shape
        u, low, high = (np.ravel(v).astype(np.float64) for v in (u, low, high))
        theta = [np.ravel(t).astype(np.float64) for t in theta]
        upper, ll, lh = self._tails(theta, low, high)
        # the target log F (F form) or log S (S form): (1 - u) at low plus u at high
        with np.errstate(invalid="ignore"):           # NaN rows (bad input) stay NaN
            target = np.logaddexp(np.log1p(-u) + ll, np.log(u) + lh)
        sign = np.where(upper, -1.0, 1.0)             # log S falls where log F rises

        def f(x, sel):
            """(sign (log F - target), log F) at x for the elements sel, log F meaning log S
            in the S form."""
            lf = self._in_form(x, [t[sel] for t in theta], upper[sel])
            return sign[sel] * (lf - target[sel]), lf

        lo, hi = low.copy(), high.copy()
        for bound, direction in ((lo, -1.0), (hi, 1.0)):
            sel = np.nonzero(~np.isfinite(bound) & np.isfinite(target))[0]
            if sel.size == 0:
                continue
            other = np.where(direction < 0, high, low)[sel]
            other = np.where(np.isfinite(other), other, 0.0)
            step = np.ones(sel.size)
            for _ in range(MAX_GROWTH):
                cand = other + direction * step
                val, _ = f(cand, sel)
                done = (val <= 0) if direction < 0 else (val >= 0)
                bound[sel[done]] = cand[done]
                sel, other, step = sel[~done], other[~done], step[~done] * 2.0
                if sel.size == 0:
                    break
        x = 0.5 * (lo + hi)
        x = np.where(np.isfinite(x), x, np.where(np.isfinite(lo), lo, hi))
        act = np.nonzero(np.isfinite(x))[0]
        eps = 4 * np.finfo(np.float64).eps
        for _ in range(MAX_STEPS):
            if act.size == 0:
                break
            xa = x[act]
            val, lf = f(xa, act)
            la = np.where(val < 0, xa, lo[act])
            ha = np.where(val > 0, xa, hi[act])
            lo[act], hi[act] = la, ha
            with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
                slope = np.exp(b.log_prob(xa, *(t[act] for t in theta)) - lf)   # |dlog F/dx|
                newton = xa - val / slope
            # a step onto the bracket's end is allowed: at the root Newton stays put there
            inside = np.isfinite(newton) & (newton >= la) & (newton <= ha)
            nxt = np.where(inside, newton, 0.5 * (la + ha))
            moved = np.abs(nxt - xa) > eps * np.maximum(np.abs(xa), np.finfo(np.float64).tiny)
            moved &= (ha - la) > eps * np.maximum(np.abs(la), np.abs(ha))
            x[act] = nxt
            act = act[moved & (val != 0)]
        return np.clip(x, low, high).reshape(shape)

    def sample(self, *params, size=None, seed=None, dtype=None):
        """Samples by inverting F_T; size, seed and dtype as in a generated module."""
        _, theta, low, high, dt = self._split((0.0,) + params)
        dt = np.dtype(dtype or dt)
        shape = low.shape if size is None else tuple(np.atleast_1d(size))
        theta = [np.broadcast_to(t, shape).astype(dt) for t in theta]
        low, high = (np.broadcast_to(v, shape).astype(dt) for v in (low, high))
        rng = np.random.default_rng(seed)
        u = rng.random(shape)
        u = np.where(u == 0, 0.5 * np.finfo(float).tiny, u).astype(np.float64)
        z = self._solve(u, theta, low, high).astype(dt)     # in double, rounded once
        return np.where(self._bad(theta, low, high), np.nan, z)

    def rsample(self, *params, size=None, seed=None, dtype=None):
        z = self.sample(*params, size=size, seed=seed, dtype=dtype)
        shaped = [np.broadcast_to(np.asarray(p), z.shape).astype(z.dtype) for p in params]
        return z, self.implicit_grad(z, *shaped)


def truncated(base) -> Truncated:
    """The truncation of a generated distribution module to [low, high]; its functions take the
    base parameters followed by low and high."""
    return Truncated(base)
