"""Truncation and mixtures of irgen.jax's distributions, jittable and differentiable: draws by
the kernels (a truncated draw inverts the base's CDF in its accurate tail form; a mixture's
draws its component's sampler), gradients by the implicit reparameterization of the
composition's CDF, through jax.custom_jvp.

Truncation to [low, high]: u = (F(z) - F(low)) / (F(high) - F(low)) is uniform, so
dz = [(1 - u) dF(low) + u dF(high) - dF(z)] / q(z) in the parameters, and
(1 - u) q(low) / q(z) dlow + u q(high) / q(z) dhigh in the bounds.
Mixture with weights w = softmax(logits): F(z) = sum_k w_k F_k(z), so dz/dtheta_k =
-w_k dF_k(z)/dtheta_k / q(z) and dz/dlogit_k = -w_k (F_k(z) - F(z)) / q(z)."""
from __future__ import annotations

import functools
from typing import NamedTuple

import jax
import jax.numpy as jnp

from .functions import like

MAX_STEPS = 200       # a bound on the inversion's steps; one that never converges gives NaN
NOISE = 32            # the kernels' log CDFs are within a few ulp (float32: 2e-6, 17 ulp)


def _bits(key, shape, dtype):
    return jax.random.uniform(key, shape, dtype, minval=jnp.finfo(dtype).tiny, maxval=1.0)


class _Window(NamedTuple):
    """The base's log F and log S at the bounds, whether the window lies in the upper half
    (F(low) > 1/2, where S keeps the digits), and log(F(high) - F(low)) in the form that
    keeps its digits."""
    lf_lo: jax.Array
    lf_hi: jax.Array
    ls_lo: jax.Array
    ls_hi: jax.Array
    upper: jax.Array
    log_mass: jax.Array


def _window(f, params, low, high):
    lf_lo, lf_hi = f.log_cdf(low, *params), f.log_cdf(high, *params)
    ls_lo, ls_hi = f.log_sf(low, *params), f.log_sf(high, *params)
    upper = lf_lo > jnp.log(lf_lo.dtype.type(0.5))
    log_mass = jnp.where(upper, ls_lo + jnp.log(-jnp.expm1(ls_hi - ls_lo)),
                         lf_hi + jnp.log(-jnp.expm1(lf_lo - lf_hi)))
    return _Window(lf_lo, lf_hi, ls_lo, ls_hi, upper, log_mass)


def _invert(f, params, w, low, high, u):
    """z in [low, high] with (F(z) - F(low)) / (F(high) - F(low)) = u (w: the window's
    _Window): Newton's method on log F (or on log S where F(low) > 1/2, so that upper tails
    keep their digits), kept inside a bracket that bisection (or doubling, towards an
    infinite bound) falls back on."""
    dt = u.dtype
    lf_lo, lf_hi, ls_lo, ls_hi, upper = w.lf_lo, w.lf_hi, w.ls_lo, w.ls_hi, w.upper
    # the target in the chosen form: log F = log(F_lo + u (F_hi - F_lo)), log S likewise
    log_target = jnp.where(
        upper, ls_lo + jnp.log1p(-u * -jnp.expm1(ls_hi - ls_lo)),
        lf_hi + jnp.log(u + (1 - u) * jnp.exp(lf_lo - lf_hi)))
    sign = jnp.where(upper, -1, 1).astype(dt)       # log S falls where log F rises

    def residual(z):
        lf = jnp.where(upper, f.log_sf(z, *params), f.log_cdf(z, *params))
        slope = sign * jnp.exp(f.log_prob(z, *params) - lf)
        return lf - log_target, slope

    finite_lo, finite_hi = jnp.isfinite(low), jnp.isfinite(high)
    z0 = jnp.where(finite_lo & finite_hi, 0.5 * (low + high),
                   jnp.where(finite_lo, low + 1 + jnp.abs(low),
                             jnp.where(finite_hi, high - 1 - jnp.abs(high), 0 * u)))

    def step(state):
        z, lo, hi, i, done = state
        r, slope = residual(z)
        above = sign * r > 0                      # z beyond the root
        lo, hi = jnp.where(above, lo, z), jnp.where(above, z, hi)
        newton = z - r / slope
        bisect = jnp.where(jnp.isfinite(lo) & jnp.isfinite(hi), 0.5 * (lo + hi),
                           jnp.where(jnp.isfinite(lo), lo + 2 * (1 + jnp.abs(lo)),
                                     hi - 2 * (1 + jnp.abs(hi))))
        inside = jnp.isfinite(newton) & (newton >= lo) & (newton <= hi)
        # at the root the residual is the rounding of log F (a few ulp of log_target):
        # below that z stays; else a step of a few ulp of z ends it
        eps = jnp.finfo(dt).eps
        at_root = jnp.abs(r) <= NOISE * eps * jnp.maximum(jnp.abs(log_target), 1)
        new = jnp.where(at_root, z, jnp.where(inside, newton, bisect))
        tol = 4 * eps * jnp.maximum(jnp.abs(new), jnp.finfo(dt).tiny)
        converged = at_root | (jnp.abs(new - z) <= tol) | (hi - lo <= tol)
        return (jnp.where(done, z, new), lo, hi, i + 1, done | converged)

    def more(state):
        return (state[3] < MAX_STEPS) & ~jnp.all(state[4])

    state = (z0, low, high, 0, jnp.zeros(u.shape, bool))
    z, lo, hi, _, done = jax.lax.while_loop(more, step, state)
    # a bracket of a few dozen ulp is a root too, where the noise kept Newton cycling
    tight = hi - lo <= NOISE * jnp.finfo(dt).eps * jnp.abs(z)
    return jnp.where((done | tight) & (low < high), jnp.clip(z, low, high), jnp.nan)


@functools.partial(jax.custom_jvp, nondiff_argnums=(0, 1))
def _truncated(f, n_params, u, *args):
    params, low, high = args[:n_params], args[n_params], args[n_params + 1]
    return _invert(f, params, _window(f, params, low, high), low, high, u)


@_truncated.defjvp
def _truncated_jvp(f, n_params, primals, tangents):
    u, *args = primals
    params, low, high = args[:n_params], args[n_params], args[n_params + 1]
    w = _window(f, params, low, high)
    z = _invert(f, params, w, low, high, u)
    tp, tlo, thi = tangents[1:n_params + 1], tangents[n_params + 1], tangents[n_params + 2]
    q = jnp.exp(f.log_prob(z, *params))
    _, *dz = _as_list(f.cdf_grad(z, *params))
    _, *dlo = _as_list(f.cdf_grad(low, *params))
    _, *dhi = _as_list(f.cdf_grad(high, *params))
    t = sum(((1 - u) * a + u * b - c) * t for a, b, c, t in zip(dlo, dhi, dz, tp))
    # an infinite bound, or one where the density is infinite (Gamma's at 0, alpha < 1),
    # moves no draw (the factors are masked, not the tangents: those transpose to 0 * inf)
    q_lo, q_hi = (jnp.exp(f.log_prob(b, *params)) for b in (low, high))
    q_lo = jnp.where(jnp.isfinite(low) & jnp.isfinite(q_lo), q_lo, 0)
    q_hi = jnp.where(jnp.isfinite(high) & jnp.isfinite(q_hi), q_hi, 0)
    t = t + (1 - u) * q_lo * tlo + u * q_hi * thi
    # in u (a quantile's argument; a draw's u has none): mass dz/du = 1 / q(z) of the window
    t = t + jnp.exp(w.log_mass) * tangents[0]
    return z, like(t / q, z)


def _as_list(value):
    return list(value) if isinstance(value, tuple) else [value]


def _broadcast(values, dtype, shape=None):
    """(values as arrays in one dtype (the one asked for, else their promotion, at least the
    default float), broadcast to shape (by default their broadcast shape); the shape; the
    dtype)."""
    arrays = [jnp.asarray(a) for a in values]
    dt = jnp.result_type(*arrays, float) if dtype is None else jnp.dtype(dtype)
    arrays = [a.astype(dt) for a in arrays]
    shape = jnp.broadcast_shapes(*(a.shape for a in arrays)) if shape is None \
        else tuple(shape)
    return [jnp.broadcast_to(a, shape) for a in arrays], shape, dt


def truncated_rsample(f, key, params, low, high, shape=None, dtype=None):
    """Draws of f's distribution at params restricted to [low, high] (either may be
    infinite), differentiable in the parameters and the bounds. Bad input (low >= high,
    parameters the base refuses) gives NaN."""
    arrays, shape, dt = _broadcast((*params, low, high), dtype, shape)
    u = _bits(key, shape, dt)
    return _truncated(f, len(params), u, *arrays)


def truncated_log_prob(f, z, params, low, high):
    """log q(z) - log(F(high) - F(low)) inside [low, high], -inf outside."""
    log_mass = _window(f, params, low, high).log_mass
    inside = (z >= low) & (z <= high)
    return jnp.where(inside, f.log_prob(z, *params) - log_mass, -jnp.inf)


def truncated_cdf(f, x, params, low, high):
    """(F(x) - F(low)) / (F(high) - F(low)) inside [low, high] (0 below, 1 above), as
    (S(low) - S(x)) / mass where the window lies in the upper half; differentiable in x,
    the parameters and the bounds."""
    w = _window(f, params, low, high)
    inside = jnp.clip(x, low, high)
    lf, ls = f.log_cdf(inside, *params), f.log_sf(inside, *params)
    c = jnp.where(w.upper, -jnp.expm1(ls - w.ls_lo) * jnp.exp(w.ls_lo - w.log_mass),
                  -jnp.expm1(w.lf_lo - lf) * jnp.exp(lf - w.log_mass))
    return jnp.where(x < low, 0, jnp.where(x > high, 1, jnp.clip(c, 0, 1)))


def truncated_icdf(f, u, params, low, high, dtype=None):
    """The quantile of the truncated distribution: z in [low, high] with truncated_cdf(z) =
    u, by the inversion rsample's draws take; differentiable in u (dz/du = mass / q(z)),
    the parameters and the bounds. u outside [0, 1] gives NaN."""
    (u, *arrays), _, _ = _broadcast((u, *params, low, high), dtype)
    z = _truncated(f, len(params), u, *arrays)
    low, high = arrays[-2:]
    # the window's ends at u = 0 and 1 (an infinite one too), as the base's icdf gives its
    # support's
    return jnp.where(u == 0, low, jnp.where(u == 1, high,
                                            jnp.where((u > 0) & (u < 1), z, jnp.nan)))


@functools.partial(jax.custom_jvp, nondiff_argnums=(0, 1))
def _mixture(f, n_params, z, logits, *params):
    return z


@_mixture.defjvp
def _mixture_jvp(f, n_params, primals, tangents):
    z, logits, *params = primals
    t_logits, *tp = tangents[1:]
    w = jax.nn.softmax(logits, -1)
    zk = z[..., None]
    q = (w * jnp.exp(f.log_prob(zk, *params))).sum(-1)
    F, *dF = _as_list(f.cdf_grad(zk, *params))
    mix = (w * F).sum(-1, keepdims=True)
    t = -(w * (F - mix) * t_logits).sum(-1)
    t = t - sum((w * d * tt).sum(-1) for d, tt in zip(dF, tp))
    return z, like(t / q, z)


def mixture_rsample(f, key, logits, params, shape=None, dtype=None):
    """Draws of the mixture of f's distributions with components on the last axis of logits
    and params, of `shape` (by default their broadcast batch shape without that axis),
    differentiable in the logits and every component parameter."""
    arrays = [jnp.asarray(a) for a in (logits, *params)]
    dt = jnp.result_type(*arrays, float) if dtype is None else jnp.dtype(dtype)
    logits, *params = [a.astype(dt) for a in arrays]
    full = jnp.broadcast_shapes(*(a.shape for a in (logits, *params)))
    shape = full[:-1] if shape is None else tuple(shape)
    k_pick, k_draw = jax.random.split(key)
    logits_b = jnp.broadcast_to(logits, shape + full[-1:])
    pick = jax.random.categorical(k_pick, jax.lax.stop_gradient(logits_b), -1)
    chosen = [jnp.take_along_axis(jnp.broadcast_to(jax.lax.stop_gradient(p),
                                                   shape + full[-1:]), pick[..., None], -1)[..., 0]
              for p in params]
    z = f.sample(k_draw, *chosen, shape=shape, dtype=dt)
    return _mixture(f, len(params), z, logits_b,
                    *(jnp.broadcast_to(p, shape + full[-1:]) for p in params))
