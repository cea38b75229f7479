"""truncated(D): any univariate distribution irgen builds, restricted to [low, high].

    import irgen.generated.normal as normal
    tn = truncated(normal)                 # parameters (mu, sigma, low, high)
    z, grads = tn.rsample(0.0, 1.0, 10.0, np.inf, size=1000, seed=1)

F_T(x) = (F(x) - F(low)) / (F(high) - F(low)) is computed from log F where low lies below
the median and from log S = log(1 - F) above it, each difference as exp(l1) (-expm1(l0 - l1)),
so a window 10 or 40 standard deviations out keeps every digit where F(x) - F(low) would be
0 - 0 or 1 - 1. Samples solve F_T(z) = u with the base distribution's compiled quantile
kernels, given the level F(z) as log F (or log S) in one call. The implicit
gradients, with g the base distribution's (from its generated kernel) and A = q(low) / q(z),
B = q(high) / q(z) (from log densities, finite where q underflows):

    dz/dtheta = g(z) - S_T A g(low) - F_T B g(high),   dz/dlow = S_T A,   dz/dhigh = F_T B.

Bad input (invalid base parameters, low >= high, a NaN bound) gives NaN. NumPy arrays in give
NumPy arrays out; torch tensors (CPU or CUDA) give tensors on their device.
"""
from __future__ import annotations

import math

from ..runtime.promotion import size_tuple
from .arrays import namespace


def _log_diff(xp, l1, l0):
    """log(e^l1 - e^l0) for l1 >= l0."""
    return l1 + xp.log(-xp.expm1(l0 - l1))


class Truncated:
    def __init__(self, base):
        self.base = base
        self.name = f"truncated_{base.name}"
        self.params = tuple(base.params) + ("low", "high")
        self.domains = tuple(base.domains) + ("real", "real")
        self.support = base.support
        self.held = base.held

    def __repr__(self):
        return f"truncated({self.base.name}): parameters {', '.join(self.params)}"

    # -- the pieces
    @staticmethod
    def _split(args, dtype=None):
        """(xp, x, theta, low, high): the arguments broadcast, in one dtype."""
        xp = namespace(*args)
        x, *theta, low, high = xp.arrays(*args, dtype=dtype)
        return xp, x, theta, low, high

    def _bound(self, xp, kernel, v, theta):
        """A base kernel at a bound v for every element: evaluated once and broadcast where
        the bound and the parameters are one value throughout (one window, as rsample's
        size= gives), which is most of a gradient's kernel work."""
        flat = [a.reshape(-1) for a in (v, *theta)]
        if flat[0].shape[0] <= 1 or not all(xp.repeated(a) or bool((a == a[0]).all())
                                            for a in flat):
            return xp.kernel(self.base, kernel, v, *theta)
        out = xp.kernel(self.base, kernel, *(a[:1] for a in flat))
        outs = tuple(xp.broadcast_to(o.reshape(()), v.shape)
                     for o in (out if isinstance(out, tuple) else (out,)))
        return outs if isinstance(out, tuple) else outs[0]

    def _in_form(self, xp, v, theta, upper, bound=False, kernels=("log_sf", "log_cdf")):
        """log S(v) where upper, else log F(v) (or the kernels named: the upper form's,
        then the lower's): each element in its own form only (all in one form, as for one
        window, without masks); v a bound: see _bound."""
        upper_kernel, lower_kernel = kernels
        for kernel, one_form in ((upper_kernel, upper), (lower_kernel, ~upper)):
            if one_form.all():
                if bound:
                    return self._bound(xp, kernel, v, theta)
                return xp.kernel(self.base, kernel, v, *theta)
        out = xp.full(v.shape, math.nan, v)
        for form, kernel in ((upper, upper_kernel), (~upper, lower_kernel)):
            if form.any():
                out[form] = xp.kernel(self.base, kernel, v[form], *(t[form] for t in theta))
        return out

    def _tails(self, xp, theta, low, high):
        """(upper, ll, lh): upper says which form an element takes (S where low lies above
        the median), ll and lh are log F or log S at low and high in that form."""
        ll = self._bound(xp, "log_cdf", low, theta)
        upper = ll > math.log(0.5)
        if upper.all():
            ll = self._bound(xp, "log_sf", low, theta)
        elif upper.any():
            ll = xp.copy(ll)
            ll[upper] = xp.kernel(self.base, "log_sf", low[upper], *(t[upper] for t in theta))
        return upper, ll, self._in_form(xp, high, theta, upper, bound=True)

    @staticmethod
    def _log_mass(xp, upper, ll, lh):
        """log of the window's mass: F(high) - F(low) in the F form, S(low) - S(high) in the
        S form."""
        return _log_diff(xp, xp.where(upper, ll, lh), xp.where(upper, lh, ll))

    def _levels(self, xp, x, theta, low, high):
        """(log F_T, log S_T, log mass) at x."""
        upper, ll, lh = self._tails(xp, theta, low, high)
        lx = self._in_form(xp, x, theta, upper)
        log_mass = self._log_mass(xp, upper, ll, lh)
        below = xp.where(upper, _log_diff(xp, ll, xp.minimum(lx, ll)),
                         _log_diff(xp, xp.maximum(lx, ll), ll)) - log_mass
        above = xp.where(upper, _log_diff(xp, xp.maximum(lx, lh), lh),
                         _log_diff(xp, lh, xp.minimum(lx, lh))) - log_mass
        return below, above, log_mass

    def _bad(self, xp, theta, low, high):
        """low >= high, a NaN bound, or parameters the base refuses (every kernel gives NaN
        for them; the log density is the cheapest to ask)."""
        at = xp.where(xp.isfinite(low), low, xp.zeros_like(low))
        return ~(low < high) | xp.isnan(self._bound(xp, "log_prob", at, theta))

    @staticmethod
    def _finite_or(xp, v, other):
        return xp.where(xp.isfinite(v), v, other)

    def _scaled(self, xp, v, theta, lq, finite):
        """q(v) / q(z) and the base's implicit gradients at v (0 and z's own where v is an
        infinite bound, so that 0 times them is 0): the terms a bound adds; none to
        compute where the bound is infinite throughout."""
        if not finite.any():
            return xp.zeros_like(lq), tuple(xp.zeros_like(lq) for _ in theta)
        ratio = xp.exp(self._bound(xp, "log_prob", v, theta) - lq)
        g = self._bound(xp, "implicit_grad", v, theta)
        return xp.where(finite, ratio, xp.zeros_like(ratio)), g if isinstance(g, tuple) else (g,)

    # -- the kernels, as a generated module has them
    def cdf(self, x, *params):
        xp, x, theta, low, high = self._split((x,) + params)
        with xp.quiet():
            lo, _, _ = self._levels(xp, xp.clip(x, low, high), theta, low, high)
            return self._window_cdf(xp, x, lo, low, high, self._bad(xp, theta, low, high))

    @staticmethod
    def _window_cdf(xp, x, lo, low, high, bad):
        """F_T(x) from log F_T at x clipped into the window: 0 and 1 outside it, NaN for
        bad input or x."""
        out = xp.where(x <= low, xp.zeros_like(lo),
                       xp.where(x >= high, xp.ones_like(lo), xp.exp(lo)))
        return xp.where(bad | xp.isnan(x), math.nan, out)

    def log_prob(self, x, *params):
        return self._log_prob_grad(x, *params, grads=False)[0]

    @property
    def log_prob_grad(self):
        """The scores (below); only where the base declares its log density, as a generated
        module has log_prob_grad only then."""
        if not hasattr(self.base, "log_prob_grad"):
            raise AttributeError(f"{self.base.name} declares no log density, so its "
                                 f"truncation has no log_prob_grad")
        return self._log_prob_grad

    def _log_prob_grad(self, x, *params, grads=True):
        """log q_T(x) = log q(x) - log M (M the window's mass) and its scores in x, the base
        parameters, low and high; with A = q(low) / M and B = q(high) / M (0 at an infinite
        bound) and g the base's implicit gradient,

            d/dtheta = dlog q/dtheta + B g(high) - A g(low),  d/dlow = A,  d/dhigh = -B."""
        xp, x, theta, low, high = self._split((x,) + params)
        with xp.quiet():
            log_mass = self._log_mass(xp, *self._tails(xp, theta, low, high))
            outside = (x < low) | (x > high)
            bad = self._bad(xp, theta, low, high) | xp.isnan(x)
            if not grads:
                lq = xp.kernel(self.base, "log_prob", x, *theta) - log_mass
                lq = xp.where(outside, -math.inf, lq)
                return (xp.where(bad, math.nan, lq),)
            lq, dx, *dtheta = xp.kernel(self.base, "log_prob_grad", x, *theta)
            lq = xp.where(outside, -math.inf, lq - log_mass)
            A, gl = self._scaled(xp, self._finite_or(xp, low, x), theta, log_mass,
                                 xp.isfinite(low))
            B, gh = self._scaled(xp, self._finite_or(xp, high, x), theta, log_mass,
                                 xp.isfinite(high))
            out = [lq, dx] + [d + B * c - A * e for d, c, e in zip(dtheta, gh, gl)] + [A, -B]
            out[1:] = [xp.where(outside, xp.zeros_like(o), o) for o in out[1:]]
            return tuple(xp.where(bad, math.nan, o) for o in out)

    def implicit_grad(self, z, *params):
        """dz/dp for the base parameters, then low and high (see the module's doc)."""
        xp, z, theta, low, high = self._split((z,) + params)
        with xp.quiet():
            return tuple(self._implicit_grad(xp, z, theta, low, high)[0])

    def _implicit_grad(self, xp, z, theta, low, high, levels=None):
        """(dz/dp for every parameter, log q_T(z), log F_T(z), bad input); levels: F_T(z)
        and S_T(z) where the caller knows them (a draw's own uniform), which spares the
        window's logarithms at z (the last two results are then None)."""
        lq = xp.kernel(self.base, "log_prob", z, *theta)
        if levels is None:
            lo, hi, log_mass = self._levels(xp, z, theta, low, high)
            F, S = xp.exp(lo), xp.exp(hi)
        else:
            (F, S), lo, log_mass = levels, None, None
        A, gl = self._scaled(xp, self._finite_or(xp, low, z), theta, lq, xp.isfinite(low))
        B, gh = self._scaled(xp, self._finite_or(xp, high, z), theta, lq, xp.isfinite(high))
        gz = xp.kernel(self.base, "implicit_grad", z, *theta)
        gz = gz if isinstance(gz, tuple) else (gz,)
        out = [a - S * A * c - F * B * d for a, c, d in zip(gz, gl, gh)] + [S * A, F * B]
        bad = self._bad(xp, theta, low, high)
        outside = ~((z >= low) & (z <= high))
        return ([xp.where(bad | outside, math.nan, g) for g in out],
                None if log_mass is None else lq - log_mass, lo, bad)

    def cdf_grad(self, x, *params):
        """F_T(x) and dF_T/dp = -q_T(x) dz/dp (the implicit gradient at x), from one pass
        over the window's terms."""
        xp, x, theta, low, high = self._split((x,) + params)
        with xp.quiet():
            inside = (x >= low) & (x <= high)
            at = xp.clip(self._finite_or(xp, x, low), low, high)
            dz, lq, lo, bad = self._implicit_grad(xp, at, theta, low, high)
            F = self._window_cdf(xp, x, lo, low, high, bad)
            q = xp.where(inside, xp.exp(lq), xp.zeros_like(lq))
            # outside the window 0, or NaN for bad input (dz is NaN there)
            return (F,) + tuple(xp.where(xp.isnan(F), math.nan,
                                         xp.where(inside, -q * d, 0 * d)) for d in dz)

    def _solve(self, xp, u, theta, low, high):
        """z with F_T(z) = u, in double: the level (1 - u) F(low) + u F(high) in the accurate
        tail's form (log F where low lies below the median, log S above it), then the base's
        compiled quantile of that level (log_icdf, or icdf_upper for log S), in one call."""
        shape = u.shape
        u, low, high = (xp.astype(v.reshape(-1), xp.float64) for v in (u, low, high))
        theta = [xp.astype(t.reshape(-1), xp.float64) for t in theta]
        upper, ll, lh = self._tails(xp, theta, low, high)
        # log((1 - u) e^l0 + u e^l1) with l0 = log F(low) <= l1 = log F(high) (or log S
        # (high) <= log S(low)): l1 + log(c + u (1 - c)), c = e^(l0 - l1), two positive
        # terms, and per draw one logarithm
        if xp.repeated(ll) and xp.repeated(lh):     # one window: its ends' terms once
            ll, lh, upper = (a.reshape(-1)[:1] for a in (ll, lh, upper))
        l0, l1 = xp.where(upper, lh, ll), xp.where(upper, ll, lh)
        w = xp.where(upper, 1 - u, u)          # the weight of l1's end
        c, d = xp.exp(l0 - l1), -xp.expm1(l0 - l1)
        level = l1 + xp.log(c + w * d)          # NaN rows stay NaN
        x = self._in_form(xp, level, theta, upper, kernels=("icdf_upper", "log_icdf"))
        return xp.clip(x, low, high).reshape(shape)

    def quantile(self, u, *params):
        """z with F_T(z) = u, the inverse of cdf, by the base's compiled quantile (u = 0
        and 1 give low and high; u outside [0, 1] NaN)."""
        xp, u, theta, low, high = self._split((u,) + params)
        with xp.quiet():
            inner = (u > 0) & (u < 1)
            at = xp.where(inner, u, xp.full(u.shape, 0.5, u))
            z = xp.astype(self._solve(xp, xp.astype(at, xp.float64), theta, low, high),
                          u.dtype)
            z = xp.where(u == 0, low, xp.where(u == 1, high, z))
            bad = self._bad(xp, theta, low, high) | ~((u >= 0) & (u <= 1))
            return xp.where(bad, math.nan, z)

    icdf = quantile

    def icdf_grad(self, u, *params):
        """The quantile z and (dz/du, dz/dp for the base parameters, dz/dlow, dz/dhigh):
        dz/du = 1 / q_T(z), the others the implicit gradients at z."""
        z = self.quantile(u, *params)
        xp, z, theta, low, high = self._split((z,) + params)
        with xp.quiet():
            grads, lq, _, _ = self._implicit_grad(xp, z, theta, low, high)
            return z, (xp.exp(-lq),) + tuple(grads)

    def _draw(self, params, size, seed, dtype):
        """(xp, the uniforms u, the draws z, theta, low and high at the draws' shape)."""
        xp, _, theta, low, high = self._split((params[-1],) + params, dtype)
        shape = tuple(low.shape) if size is None else size_tuple(size)
        theta = [xp.broadcast_to(t, shape) for t in theta]
        low, high = (xp.broadcast_to(v, shape) for v in (low, high))
        u = xp.uniform(xp.generator(seed, low), shape, low)
        with xp.quiet():
            z = xp.astype(self._solve(xp, u, theta, low, high), low.dtype)  # rounded once
            z = xp.where(self._bad(xp, theta, low, high), math.nan, z)
        return xp, u, z, theta, low, high

    def sample(self, *params, size=None, seed=None, dtype=None):
        """Samples by inverting F_T; size, seed and dtype as in a generated module (seed:
        for torch tensors, torch's default generator where None)."""
        return self._draw(params, size, seed, dtype)[2]

    def rsample(self, *params, size=None, seed=None, dtype=None):
        """The draws of sample and their implicit gradients, at F_T(z) = u and S_T(z) =
        1 - u: the uniforms the draws invert (to the solver's rounding of z)."""
        xp, u, z, theta, low, high = self._draw(params, size, seed, dtype)
        with xp.quiet():
            return z, tuple(self._implicit_grad(xp, z, theta, low, high, (u, 1 - u))[0])


def truncated(base) -> Truncated:
    """The truncation of a generated distribution module to [low, high]; its functions take the
    base parameters followed by low and high."""
    return Truncated(base)
