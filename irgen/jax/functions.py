"""A generated module's kernels as JAX functions: XLA custom calls of the XLA target's
handlers (irgen/targets/xla), with derivatives by jax.custom_jvp from the kernels' own
gradients. Every function works under jit, vmap, grad and jvp, in float32 and float64
(float64 where jax_enable_x64 is set), with NumPy's broadcasting."""
from __future__ import annotations

import importlib

import jax
import jax.numpy as jnp
import numpy as np

from .. import targets
from ..runtime.promotion import FLOATS


def _dtype(values, dtype=None):
    """The kernels' dtype for these values: the one asked for, else their promotion; the
    default float for integers and bools, float32 for half floats, at most float64."""
    if dtype is None:
        dtype = jnp.result_type(*values) if values else jnp.result_type(float)
    dtype = np.dtype(dtype)
    if dtype not in FLOATS:
        dtype = np.dtype(jnp.result_type(float)) if not jnp.issubdtype(dtype, jnp.floating) \
            else np.dtype(np.float32) if dtype.itemsize < 4 else np.dtype(np.float64)
    return np.dtype(jax.dtypes.canonicalize_dtype(dtype))


HALVES = (np.dtype(jnp.float16), np.dtype(jnp.bfloat16))


def _half(dtype):
    """dtype where it is float16 or bfloat16 (the results take it, as JAX's own functions of
    half floats give them), else None: the kernels compute in float32, and the results
    (tangents too) are rounded to it."""
    return np.dtype(dtype) if dtype is not None and np.dtype(dtype) in HALVES else None


def _rounded(results, half):
    return results if half is None else [r.astype(half) for r in results]


def seed_words(key, offset=0):
    """Four uint32 words for a sampler's handler: the kernels' 64-bit Philox seed, two words
    of a JAX PRNG key (typed or raw), so the same key gives the same draws; then the stream
    offset of the first element (an integer, traced or not, below 2^63)."""
    offset = jnp.asarray(offset)
    if not jnp.issubdtype(offset.dtype, jnp.integer):
        raise TypeError(f"offset: expected an integer, got {offset.dtype}")
    wide = offset.dtype.itemsize == 8
    hi = (offset >> 32).astype(jnp.uint32) if wide else jnp.zeros((), jnp.uint32)
    return jnp.concatenate([jax.random.bits(key, (2,), jnp.uint32),
                            jnp.stack([hi, offset.astype(jnp.uint32)])])


def _varying(x) -> frozenset:
    """The manual mesh axes (shard_map's) along which x differs from shard to shard."""
    axes = getattr(jax.typeof(x), "manual_axis_type", None)
    return getattr(axes, "varying", frozenset())


def _vary_like(out, inputs):
    """A custom call's result, typed as varying along every manual axis its inputs vary
    along (inside shard_map a custom call's results are otherwise typed as the same on every
    shard, and the derivative rules' tangents, which do vary, would not match them)."""
    missing = frozenset().union(*map(_varying, inputs)) - _varying(out)
    return jax.lax.pcast(out, tuple(sorted(missing)), to="varying") if missing else out


def like(t, z):
    """The tangent t typed as its primal z is: under a mesh of explicit sharding, arrays are
    typed by their sharding, and a custom call's result is unsharded where the tangent,
    computed from sharded arguments, is not."""
    ts, zs = (getattr(jax.typeof(v), "sharding", None) for v in (t, z))
    if ts is None or zs is None or getattr(ts, "spec", None) == getattr(zs, "spec", None):
        return t
    return jax.reshard(t, zs.spec)


def _first_order(call, what):
    """A custom call that says so where it is differentiated: the public functions' first
    derivatives come from the kernels' gradients (custom_jvp rules around these calls), and
    no kernel gives a second derivative (jax.hessian, a grad of a gradient, a derivative of
    implicit_grad or cdf_grad). Calls on values without tangents run as they are."""
    wrapped = jax.custom_jvp(call)

    @wrapped.defjvp
    def no_second(primals, tangents):
        raise NotImplementedError(
            f"{what}: a derivative of a derivative was asked for. irgen's kernels give the "
            "first derivatives of cdf, log_cdf, log_sf, log_prob and rsample, not second "
            "ones (jax.hessian, a grad of a grad, or a derivative of implicit_grad, "
            "cdf_grad or log_prob_grad)")
    return wrapped


class Functions:
    """cdf, log_cdf, log_sf, log_prob, the quantiles (icdf, log_icdf, icdf_upper), cdf_grad,
    log_prob_grad, icdf_grad, implicit_grad, sample and rsample of one generated module, on
    JAX arrays."""

    def __init__(self, module):
        if isinstance(module, str):
            module = importlib.import_module(module)
        self.module = module
        self.name = module.name
        self.params = tuple(module.params) if isinstance(module.params, (tuple, list)) \
            else (module.params,)
        self.kernels = module._kernels.kernels
        self.rows = any(k.rows for k in self.kernels.values())
        self._xla = module._kernels.runtime(targets.get("xla"))
        self._host = module._kernels.host
        for kernel in ("cdf", "log_cdf", "log_sf", "log_prob"):
            if kernel in self.kernels:
                setattr(self, kernel, self._differentiable(kernel))
        for kernel in ("icdf", "log_icdf", "icdf_upper"):
            if kernel in self.kernels and not self.rows:
                setattr(self, kernel, self._quantile(kernel))
        self._rsample = jax.custom_jvp(self._rsample_primal, nondiff_argnums=(0,))
        self._rsample.defjvp(self._rsample_jvp)

    def __repr__(self):
        return f"<irgen.jax functions of {self.module.__name__}>"

    # ---- the custom calls
    def _call(self, kernel, args, shape, dtype, seed=None):
        """The kernel's results, a list of arrays of `shape` (a simplex's elementwise
        kernels: one value per row)."""
        k = self.kernels[kernel]
        if k.rows and k.kind == "map":
            shape = shape[:-1]
        name = self._xla.names(self._host)[kernel, dtype.name]
        results = [jax.ShapeDtypeStruct(shape, dtype) for _ in k.outputs]
        call = _first_order(jax.ffi.ffi_call(name, results, vmap_method="broadcast_all"
                                             if k.kind == "map" else "sequential"),
                            f"irgen.jax.{self.name}: {kernel}")
        inputs = ([] if seed is None else [seed]) + list(args)
        return [_vary_like(o, inputs) for o in call(*inputs)]

    def _map_args(self, args):
        """(arguments broadcast to one shape, in the kernels' dtype; that shape; that dtype;
        the half float the results are rounded to, or None)."""
        arrays = [jnp.asarray(a) for a in args]
        promoted = jnp.result_type(*arrays)
        dt = _dtype([], promoted)
        shape = jnp.broadcast_shapes(*(a.shape for a in arrays))
        return ([jnp.broadcast_to(a.astype(dt), shape) for a in arrays], shape, dt,
                _half(promoted))

    # ---- elementwise functions
    def _with_rule(self, kernel, first, rule):
        """kernel(first, *params) as a JAX function whose tangent is rule's: rule(args,
        shape, dtype, tangents) -> (value, tangent), on the arguments broadcast to one
        shape and dtype."""
        @jax.custom_jvp
        def f(*args):
            args, shape, dt, half = self._map_args(args)
            return _rounded(self._call(kernel, args, shape, dt), half)[0]

        @f.defjvp
        def f_jvp(primals, tangents):
            args, shape, dt, half = self._map_args(primals)
            return tuple(_rounded(rule(args, shape, dt, [jnp.asarray(t, dt) for t in tangents]),
                                  half))

        f.__name__ = kernel
        f.__doc__ = f"{kernel}({first}, {', '.join(self.params)}) of {self.name}, differentiable."
        return f

    def _differentiable(self, kernel):
        """kernel(x, *params) with its tangent from the kernels' gradients."""
        def rule(args, shape, dt, tangents):
            if kernel == "log_prob" and self.rows:
                return self._simplex_log_prob_jvp(args, shape, dt, tangents)
            if kernel == "log_prob":
                value, *scores = self._call("log_prob_grad", args, shape, dt)
                return value, like(sum(s * t for s, t in zip(scores, tangents)), value)
            F, *dF = self._call("cdf_grad", args, shape, dt)
            q = jnp.exp(self._call("log_prob", args, shape, dt)[0]) \
                if "log_prob" in self.kernels else None
            dx = tangents[0] * q if q is not None else jnp.zeros(shape, dt)
            dcdf = dx + sum(d * t for d, t in zip(dF, tangents[1:]))
            if kernel == "cdf":
                return F, like(dcdf, F)
            value = self._call(kernel, args, shape, dt)[0]
            # d log F = dF / F; d log S = -dF / S, with F and S from their accurate forms;
            # where F (or S) is 0, log F is -inf on a neighbourhood: no tangent
            # (the factor, not the tangent, is masked: a masked tangent transposes to 0 * inf)
            factor = jnp.where(jnp.isfinite(value), jnp.exp(-value), 0)
            return value, like(dcdf * factor * (1 if kernel == "log_cdf" else -1), value)

        return self._with_rule(kernel, "x", rule)

    def _quantile(self, kernel):
        """kernel(u, *params) (icdf; log_icdf of log u; icdf_upper of log(1 - u)), with its
        tangent by the implicit function theorem: dz = du / q(z) + sum dz/dp dp, where
        dz/dp are the implicit gradients at z (from icdf_grad for icdf, where they come in
        the same call) and du = u dlog_u = -(1 - u) dlog_1mu."""
        def rule(args, shape, dt, tangents):
            tu, *tp = tangents
            if kernel == "icdf":
                z, dz_du, *dz_dp = self._call("icdf_grad", args, shape, dt)
                dz = dz_du * tu
            else:
                z = self._call(kernel, args, shape, dt)[0]
                params = args[1:]
                dz_dp = self._call("implicit_grad", [z, *params], shape, dt)
                # u / q(z) (log_icdf), -(1 - u) / q(z) (icdf_upper), in log space: u may
                # be far below the least float
                ratio = jnp.exp(args[0] - self._call("log_prob", [z, *params], shape, dt)[0])
                dz = (ratio if kernel == "log_icdf" else -ratio) * tu
            return z, like(dz + sum(g * t for g, t in zip(dz_dp, tp)), z)

        first = {"icdf": "u", "log_icdf": "log_u", "icdf_upper": "log_1mu"}[kernel]
        return self._with_rule(kernel, first, rule)

    def _simplex_log_prob_jvp(self, args, shape, dt, tangents):
        """The Dirichlet's log density and its tangent in closed form (no kernel computes
        its scores): d/dx_j = (alpha_j - 1) / x_j, d/dalpha_j = log x_j - psi(alpha_j) +
        psi(alpha_0)."""
        x, alpha = args
        tx, ta = (jnp.broadcast_to(t, shape) for t in tangents)
        value = self._call("log_prob", args, shape, dt)[0]
        digamma = jax.scipy.special.digamma
        score_a = jnp.log(x) - digamma(alpha) + digamma(alpha.sum(-1, keepdims=True))
        return value, like(((alpha - 1) / x * tx + score_a * ta).sum(-1), value)

    def _plain(self, kernel, args):
        """A kernel's results as the NumPy module gives them: one array, or a tuple."""
        args, shape, dt, half = self._map_args(args)
        out = _rounded(self._call(kernel, args, shape, dt), half)
        return out[0] if len(out) == 1 else tuple(out)

    def cdf_grad(self, x, *params):
        """F, dF/dp for each parameter (a tuple)."""
        return self._plain("cdf_grad", (x, *params))

    def log_prob_grad(self, x, *params):
        """log q, d log q / dx, d log q / dp for each parameter (a tuple)."""
        return self._plain("log_prob_grad", (x, *params))

    def icdf_grad(self, u, *params):
        """(z, (dz/du, dz/dp for each parameter)), z = F^-1(u), as the NumPy module's."""
        z, *dz = self._plain("icdf_grad", (u, *params))
        return z, tuple(dz)

    def implicit_grad(self, z, *params):
        """dz/dp for each parameter at draws z (a tuple where there are several)."""
        return self._plain("implicit_grad", (z, *params))

    # ---- draws
    def _draw_args(self, params, shape, dtype):
        """(parameters in dtype: scalars as they are, others broadcast to the draws' shape;
        that shape; the dtype). A simplex's parameters keep their row axis."""
        arrays = [jnp.asarray(p) for p in params]
        dt = _dtype(arrays if dtype is None else [], dtype)
        own = jnp.broadcast_shapes(*(a.shape for a in arrays))
        if shape is None:
            shape = own
        elif self.rows:
            shape = tuple(shape) + own[-1:]
        shape = tuple(shape)
        jnp.broadcast_shapes(own, shape)          # raises where they do not broadcast
        return [a.astype(dt) if a.size == 1 and not self.rows
                else jnp.broadcast_to(a.astype(dt), shape) for a in arrays], shape, dt

    def sample(self, key, *params, shape=None, dtype=None, offset=0):
        """Draws of the distribution at params, of `shape` (by default the parameters'
        broadcast shape; a simplex's: the batch shape), from a JAX PRNG key. No gradients.
        offset: the place of the first element in the key's stream (row-major, counted in
        elements, a simplex's entries included): a shard of a larger draw passes its first
        element's index and draws what the whole draw has there."""
        args, shape, dt = self._draw_args([jax.lax.stop_gradient(p) for p in params], shape,
                                          dtype)
        return _rounded(self._call("sample", args, shape, dt, seed_words(key, offset)),
                        _half(dtype))[0]

    def rsample(self, key, *params, shape=None, dtype=None, offset=0):
        """Draws as sample's, differentiable in the parameters: the tangent of a draw is its
        implicit reparameterization gradient times the parameters' tangents."""
        args, shape, dt = self._draw_args(params, shape, dtype)
        return self._rsample((shape, dt, _half(dtype)), seed_words(key, offset), *args)

    def _rsample_primal(self, static, seed, *args):
        # undifferentiated, rsample is sample: the same draws, without their gradients
        shape, dt, half = static
        return _rounded(self._call("sample", args, shape, dt, seed), half)[0]

    def _rsample_jvp(self, static, primals, tangents):
        shape, dt, half = static
        seed, *args = primals
        z, *grads = self._call("rsample", args, shape, dt, seed)
        ts = [jnp.asarray(t, dt) for t in tangents[1:]]
        if self.rows:      # z = gamma draws / their sum; v = their implicit gradients / sum
            v, t = grads[0], ts[0]
            vt = v * t
            return tuple(_rounded([z, like(vt - z * vt.sum(-1, keepdims=True), z)], half))
        return tuple(_rounded([z, like(sum(g * t for g, t in zip(grads, ts)), z)], half))
