"""The IR of the quantile kernels: x with F(x) = u, by a safeguarded Newton iteration on the
distribution's own log F (or log S) and log density.

The solver works on the tail's own scale: below the median it solves log F(x) = log u, above
it log S(x) = log(1 - u), so that u = 1e-300, or 1 - u = 1e-300 given as its logarithm, is
as well conditioned as u = 0.3; the Newton step on log F is dx = -(log F - t) F / q, with
F / q = exp(log F - log q) finite where F and q both underflow. Steps are taken in x, or in
log |x| where the bracket lies on x's side of 0 (a Gamma(0.01) CDF, ~ x^0.01, is a straight
line in log x), whichever predicted the last evaluation better, with Halley's correction
where the log density's slope is known. Each evaluation narrows a bracket [lo, hi], which
starts as the support (infinite ends included). A step that would leave it, or any step
while log F is farther from the target than the target's own size (the slope, a difference
of two huge logarithms, has no digit left there), is replaced by a bisection: at the
geometric mean where the bracket lies on one side of 0 and spans a factor of 4 or more, at
the midpoint otherwise, and by a growth that squares |x| toward an infinite end. The
iteration stops when log F is within its own rounding of the target, when a step moves x by
under 2 ulps (a Halley step by under EPS^(1/3) / 16 of the length on which the function
bends), or when the bracket is a few ulps wide; after MAX_STEPS steps without that the
result is NaN, never a hang.

The first guess is the declaration's quantile_guess(u, *params) where there is one and it
lies inside the support, else (generic_guess) a normal tail's quantile at the level on the
real line with a location and a scale, the location parameter, the scale (or 1 / rate) on
a support that starts at 0, the middle of a finite support, or 0 or 1."""
from __future__ import annotations

import math

import sympy as sp

from . import ir
from . import primitives as P
from .dsl import Periodic

NAN, INF = P.CONSTANTS["NAN"], P.CONSTANTS["INF"]
EPS, TINY = P.CONSTANTS["EPS"], P.CONSTANTS["TINY"]
MAX_STEPS = 100
LN2 = sp.Float(math.log(2.0))


def _select(*pairs):
    """A conditional expression: the value of the first true condition (the last pair's is
    True)."""
    return sp.Piecewise(*pairs)


def _finite(v):
    return P.Not(sp.Or(P.isinf(v), P.isnan(v)))


class QuantileBuilder:
    """Builds a distribution's quantile functions on a kernel_ir.Builder (its symbols,
    calls, parameter checks and support), given the names of its guarded log F, log S and
    log density kernel functions."""

    def __init__(self, b, log_cdf: str, log_sf: str, log_prob: str):
        self.b, self.log_cdf, self.log_sf, self.log_prob = b, log_cdf, log_sf, log_prob
        self._solver = None

    # -- the support's ends and the generic first guess
    def ends(self):
        """The support's ends; a periodic one's around its location parameter, where it has
        one (von Mises: the CDF of the angle wrapped around mu rises from mu - pi to
        mu + pi, and the quantile, as scipy's, lies there, continuous in mu)."""
        s = self.b.dist.support
        lo = -INF if s.low == -math.inf else sp.Float(s.low)
        hi = INF if s.high == math.inf else sp.Float(s.high)
        loc = self._location()
        if isinstance(s, Periodic) and loc is not None:
            return loc + lo, loc + hi
        return lo, hi

    def _location(self):
        return next((sym for decl, sym in zip(self.b.dist.params, self.b.p)
                     if decl.role == "location"), None)

    def generic_guess(self, t=None, side=None):
        """The start where the declaration gives no guess, or its guess is not inside the
        support (as a guess from u is where u rounds to 0 or 1). t, side: the level log F
        (side 0) or log S (side 1); on the real line with a location and a scale, the
        start follows a normal tail, loc -+ scale sqrt(-2 t - log(-2 t) - log(2 pi)), which
        is the location itself near the median and within a few percent 10 standard
        deviations out, where a normal guess from u has nothing to go on."""
        d, p = self.b.dist, self.b.p
        s = d.support
        roles = {decl.role: sym for decl, sym in zip(d.params, p)}
        if math.isfinite(s.low) and math.isfinite(s.high):
            lo, hi = self.ends()
            return sp.Float(0.5) * (lo + hi)
        if "location" in roles and "scale" in roles and t is not None \
                and not math.isfinite(s.low) and not math.isfinite(s.high):
            e = -2 * t
            far = P.sqrt(P.fmax(e - P.log(P.fmax(e, 1)) - math.log(2 * math.pi), 0))
            return roles["location"] + _select((1, sp.Gt(side, 0)), (-1, True)) \
                * roles["scale"] * far
        if "location" in roles:
            return roles["location"]
        if s.low == 0.0 and s.high == math.inf:
            if "scale" in roles:
                return roles["scale"]
            if "rate" in roles:
                return 1 / roles["rate"]
            return sp.Float(1.0)
        if math.isfinite(s.low):
            return sp.Float(s.low) + 1
        if math.isfinite(s.high):
            return sp.Float(s.high) - 1
        return sp.Float(0.0)

    # -- the solver: x with log F(x) = t (s = 0) or log S(x) = t (s = 1)
    def solver(self) -> str:
        if self._solver is not None:
            return self._solver
        b = self.b
        t, s, u = sp.Symbol("t", real=True), sp.Symbol("s", real=True), sp.Symbol("u", real=True)
        f = b.fresh
        x, lo, hi, z, lf, lq, dlq, r, k, kx, xn, xp, rp, kp, use_log = (
            f(n) for n in ("x", "lo", "hi", "z", "lf", "lq", "dlq", "r", "k", "kx", "xn", "xp",
                           "rp", "kp", "use_log"))
        lo_end, hi_end = self.ends()
        stmts = [ir.Assign(lo, lo_end), ir.Assign(hi, hi_end), ir.Assign(z, NAN),
                 ir.Assign(xp, NAN), ir.Assign(rp, NAN), ir.Assign(kp, NAN)]
        # (the generic start lies inside the open support for every built-in; a user's
        # location parameter on a half-bounded support may put it outside, where the first
        # evaluation narrows the bracket from the support's end)
        start = self.generic_guess(t, s)
        if b.dist.quantile_guess is not None:
            b.prog.register(b.dist.quantile_guess)
            g = f("guess")
            stmts.append(ir.Call((g,), b.prog.require(b.dist.quantile_guess.name),
                                 (u,) + b.p))
            start = _select((g, sp.And(sp.Gt(g, lo), sp.Lt(g, hi))), (start, True))
        stmts.append(ir.Assign(x, start))

        args = (x,) + b.p
        least = TINY * EPS          # the smallest subnormal number, where quantiles may go
        spread_pos = sp.And(sp.Ge(lo, 0), sp.Gt(hi, 4 * P.fmax(lo, least)))
        spread_neg = sp.And(sp.Le(hi, 0), sp.Lt(lo, 4 * P.fmin(hi, -least)))
        # Newton's step in x, or in log |x| where the bracket lies on x's side of 0; of the
        # two, first the one whose linear model predicted r at x better from the previous
        # point (log F is near linear in x in an exponential tail, in log x in a power-law
        # one), the other where the first leaves the bracket
        # Halley's correction where the log density's slope is known: r'' = k (dlog q/dx -
        # sign k), sign 1 in F's form and -1 in S's; none where it would more than double
        # or flip the step
        halley, bend = f("halley"), f("bend")
        bend_of = dlq - _select((-k, sp.Gt(s, 0)), (k, True))        # r'' / r'
        curve = 1 - r * bend / (2 * k)
        factor = _select((halley, sp.And(sp.Gt(halley, 0.5), sp.Lt(halley, 2))), (1, True))
        step = -r / k / factor
        # the step in log |x|, from kx = x dr/dx formed in logs: near 0 the slope k
        # overflows where kx does not
        one_sided = sp.Or(sp.And(sp.Ge(lo, 0), sp.Gt(x, 0)), sp.And(sp.Le(hi, 0), sp.Lt(x, 0)))
        # (held within the largest numbers the growth below reaches, big: a step past
        # them, to an infinity, says the root lies beyond, which the growth then confirms)
        big = 1 / TINY
        linear = _select((P.fmax(P.fmin(x + step, big), -big), _finite(k)), (NAN, True))
        in_log = _select((P.fmax(P.fmin(x + x * P.expm1(-r / P.copysign(kx, x) / factor), big),
                                 -big),
                          one_sided), (NAN, True))
        miss_lin = P.fabs(kp * (x - xp) - (r - rp))
        miss_log = P.fabs(kp * xp * P.log(x / xp) - (r - rp))
        # (no previous point: x first, whose step stays put where it leaves the bracket,
        # while log |x|'s can run off to 1e300, where log F and log q are too large for
        # their difference to keep a digit; NaN tested first, as sympy would otherwise drop
        # the last case as unreachable)
        prefer_log = _select((0, sp.Or(P.isnan(miss_lin), P.isnan(miss_log))),
                             (1, sp.Lt(miss_log, miss_lin)), (0, True))
        first, second = f("first"), f("second")
        newton = (ir.Assign(first, _select((in_log, sp.Gt(use_log, 0)), (linear, True))),
                  ir.Assign(second, _select((linear, sp.Gt(use_log, 0)), (in_log, True))),
                  ir.Assign(xn, _select((first, sp.And(sp.Gt(first, lo), sp.Lt(first, hi))),
                                        (second, True))))
        # the bisection point, or a growth toward an infinite end
        # (an end at 0 taken as the smallest subnormal number)
        geometric = _select((P.sqrt(P.fmax(lo, least)) * P.sqrt(hi), spread_pos),
                            (-P.sqrt(-lo) * P.sqrt(P.fmax(-hi, least)), True))
        grow_up = _select((P.sqrt(lo), sp.And(sp.Gt(lo, 0), sp.Lt(lo, 0.25))),
                          (P.fmin(P.fmax(4 * lo, lo * lo), big), sp.Gt(lo, 0)),
                          (lo + P.fmax(1, -2 * lo), True))
        grow_down = _select((-P.sqrt(-hi), sp.And(sp.Lt(hi, 0), sp.Gt(hi, -0.25))),
                            (P.fmax(P.fmin(4 * hi, -hi * hi), -big), sp.Lt(hi, 0)),
                            (hi - P.fmax(1, 2 * hi), True))
        bisect = _select((grow_up, P.isinf(hi)), (grow_down, P.isinf(lo)),
                         (geometric, sp.Or(spread_pos, spread_neg)),
                         (sp.Float(0.5) * lo + sp.Float(0.5) * hi, True))
        # far from the root (log F off by more than the target's own size, as after a
        # first step from where the density underflows) Newton's slope, a difference of
        # two huge logarithms, may have no digit left: bisect a finite bracket instead
        far = sp.And(sp.Gt(P.fabs(r), 4 * (1 + P.fabs(t))), _finite(lo), _finite(hi))
        took = sp.And(sp.Gt(xn, lo), sp.Lt(xn, hi), P.Not(far))
        # a tiny step proves nothing where log F is far from the target (a density that
        # lost its digits to cancellation makes every step tiny)
        near = sp.Le(P.fabs(r), (1 + P.fabs(t)) / 1024)
        # done after a step below 2 ulps; after a Halley step (cubic: the next error is
        # about the cube of this step's size over the length r' / r'' on which r bends)
        # below EPS^(1/3) / 16 of that length, whose successor would be below EPS / 4096
        # of it, without another evaluation
        cubic = sp.And(sp.Gt(halley, 0.5), sp.Lt(halley, 2), sp.Le(use_log, 0))
        scale = _select((P.exp(P.log(EPS) / 3) / 16 * P.fmin(P.fabs(x), 1 / P.fabs(bend)),
                         cubic),
                        (2 * EPS * P.fabs(x), True))
        tol = scale if b.dist.log_prob is not None else 2 * EPS * P.fabs(x)
        width = sp.And(_finite(lo), _finite(hi),
                       sp.Le(hi - lo, 4 * EPS * P.fmax(P.fabs(lo), P.fabs(hi))))
        # x is the root: log F within its own rounding of the target, or within what a few
        # ulps of x move it by (where log F is that steep, as a Kumaraswamy's near 1)
        at_root = sp.Or(sp.Eq(r, 0), sp.Le(P.fabs(r), 4 * EPS * (1 + P.fabs(t))),
                        sp.And(near, sp.Le(P.fabs(r), 2 * EPS * kx)))
        body = (
            ir.If(sp.Gt(s, 0), (ir.Call((lf,), self.log_sf, args),),
                  (ir.Call((lf,), self.log_cdf, args),)),
            *self._density(lq, dlq, args),
            # r rises with x in either form: below the root r < 0
            ir.Assign(r, _select((t - lf, sp.Gt(s, 0)), (lf - t, True))),
            ir.Assign(k, P.exp(lq - lf)),          # dr/dx
            ir.Assign(kx, P.exp(lq - lf + P.log(P.fabs(x)))),
            ir.If(sp.Or(P.isnan(r), at_root),
                  (ir.Assign(z, _select((x, at_root), (NAN, True))), ir.Break())),
            ir.Assign(lo, _select((x, sp.Lt(r, 0)), (lo, True))),
            ir.Assign(hi, _select((x, sp.Gt(r, 0)), (hi, True))),
            ir.Assign(use_log, prefer_log),
            ir.Assign(bend, bend_of),
            ir.Assign(halley, curve),
            *newton,
            ir.Assign(xp, x), ir.Assign(rp, r), ir.Assign(kp, k),
            ir.If(took,
                  # a step below the tolerance: the next one would be rounding
                  (ir.If(sp.And(sp.Le(P.fabs(xn - x), tol), near),
                         (ir.Assign(z, xn), ir.Break())),),
                  (ir.Assign(xn, bisect),
                   # a bracket of two neighbouring numbers, or a few ulps wide; or a root
                   # beyond the largest numbers the growth reaches: the support's end
                   ir.If(sp.Or(sp.Le(xn, lo), sp.Ge(xn, hi), width),
                         (ir.Assign(z, _select((hi, sp.Ge(lo, big)), (lo, sp.Le(hi, -big)),
                                               (x, sp.Or(sp.Le(xn, lo), sp.Ge(xn, hi))),
                                               (xn, True))), ir.Break())))),
            ir.Assign(x, xn),
        )
        stmts += [ir.Loop(MAX_STEPS, body), ir.Return((z,))]
        # one copy that the four quantile kernels call (each inlining it would compile four)
        fn = ir.Function(f"{b.prefix}quantile_solve", (t, s, u) + b.p, tuple(stmts), 1,
                         outline=True)
        b.prog.add(fn)
        self._solver = fn.name
        return fn.name

    def _density(self, lq, dlq, args):
        """lq = log q(x) and dlq = d log q / dx where the declaration has a log density (a
        forward-mode pass in x), else dlq = 0: Halley's correction then has only log F's
        own part of the curvature, -sign k, and the iteration ends on 2-ulp steps alone."""
        b = self.b
        if b.dist.log_prob is None:
            return (ir.Call((lq,), self.log_prob, args), ir.Assign(dlq, sp.Integer(0)))
        name = b.prog.require(b.dist.log_prob.name, (frozenset([0]),))
        call = ir.Call((lq, dlq), name, args + (sp.Integer(1),))
        # outside the open support (x at an end) the guarded log density, no slope
        lo, hi = self.ends()
        inside = sp.And(sp.Gt(args[0], lo), sp.Lt(args[0], hi))
        return (ir.If(inside, (call,), (ir.Call((lq,), self.log_prob, args),
                                        ir.Assign(dlq, sp.Integer(0)))),)

    def group(self, name: str) -> str:
        """A branch-group function for kernel NAME, so that SIMD lanes that take the same
        branches run together: the declaration's own group at the first guess, where it
        declares both (Gamma: series or fraction, which also tells the form), else the form
        (log F or log S) each element is solved in."""
        b = self.b
        v = sp.Symbol({"icdf": "u", "icdf_grad": "u", "log_icdf": "log_u",
                       "icdf_upper": "log_1mu"}[name], real=True)
        cut = sp.Float(0.5) if v.name == "u" else -LN2
        form = _select((sp.Integer(1), sp.Gt(v, cut)), (sp.Integer(0), True))
        body = [ir.Return((form,))]
        d = b.dist
        if d.group is not None and d.quantile_guess is not None:
            u = {"u": v, "log_u": P.exp(v), "log_1mu": -P.expm1(v)}[v.name]
            g, k = b.fresh("guess"), b.fresh("group")
            b.prog.register(d.quantile_guess)
            body = [ir.Call((g,), b.prog.require(d.quantile_guess.name), (u,) + b.p),
                    ir.Call((k,), b.prog.require(d.group.name), (g,) + b.p),
                    # (any whole number from 0 to 31 is a valid group; below 16 the form
                    # is told apart too, as lanes of one vector then take one form)
                    ir.Return((_select((k + 16 * form, sp.And(sp.Ge(k, 0), sp.Lt(k, 16))),
                                       (k, sp.And(sp.Ge(k, 0), sp.Lt(k, 32))),
                                       (form, True)),))]
        fn = ir.Function(f"{b.prefix}{name}_group", (v,) + b.p, tuple(body), 1)
        b.prog.add(fn)
        return fn.name

    # -- the kernels
    def _kernel(self, name, variable, n_results, ends, level, finish=None):
        """kernel_NAME(variable, *params): NaN for bad parameters or a NaN variable; z the
        support's ends where the variable is at its ends (ends: (lower end's condition, upper
        end's condition, invalid condition) of the variable), else the solver at level(v) =
        (t, s, u); then finish(z) -> (statements, results), by default z alone."""
        b = self.b
        v = sp.Symbol(variable, real=True)
        at_lo, at_hi, invalid = ends(v)
        bad = sp.Or(P.isnan(v), invalid, b.bad_params())
        z = b.fresh("z")
        lo, hi = self.ends()
        t, s, u = level(v)
        solve = ir.Call((z,), self.solver(), (t, s, u) + b.p)
        stmts = (ir.If(bad, (ir.Return((NAN,) * n_results),)),
                 ir.If(at_lo, (ir.Assign(z, lo),),
                       (ir.If(at_hi, (ir.Assign(z, hi),), (solve,)),)))
        more, results = finish(z) if finish else ((), (z,))
        fn = ir.Function(f"kernel_{b.prefix}{name}", (v,) + b.p,
                         stmts + tuple(more) + (ir.Return(results),), n_results)
        b.prog.add(fn)
        return fn.name

    def icdf(self, grad: str = "") -> str:
        """The quantile of u; with grad (the implicit-gradient kernel function), also
        dz/du = 1 / q(z) and dz/dp, at the same z."""
        def ends(u):
            return sp.Eq(u, 0), sp.Eq(u, 1), P.Not(sp.And(sp.Ge(u, 0), sp.Le(u, 1)))

        def level(u):
            upper = sp.Gt(u, sp.Float(0.5))
            return (_select((P.log1p(-u), upper), (P.log(u), True)),
                    _select((1, upper), (0, True)), u)

        if not grad:
            return self._kernel("icdf", "u", 1, ends, level)
        b = self.b

        def finish(z):
            lq = b.fresh("lq")
            dz = tuple(b.fresh("dz") for _ in b.p)
            return ((ir.Call((lq,), self.log_prob, (z,) + b.p), ir.Call(dz, grad, (z,) + b.p)),
                    (z, P.exp(-lq)) + dz)
        return self._kernel("icdf_grad", "u", 2 + len(b.p), ends, level, finish)

    def log_icdf(self) -> str:
        """The quantile of u given as log u (u = 1e-300 and below), in log S's form above
        the median."""
        def level(v):
            upper = sp.Gt(v, -LN2)
            return (_select((P.log(-P.expm1(v)), upper), (v, True)),
                    _select((1, upper), (0, True)), P.exp(v))

        return self._kernel("log_icdf", "log_u", 1,
                            lambda v: (sp.Eq(v, -INF), sp.Eq(v, 0), sp.Gt(v, 0)), level)

    def icdf_upper(self) -> str:
        """The quantile of u given as log(1 - u), for the upper tail (1 - u = 1e-300)."""
        def level(v):
            lower = sp.Gt(v, -LN2)
            return (_select((P.log(-P.expm1(v)), lower), (v, True)),
                    _select((0, lower), (1, True)), -P.expm1(v))

        return self._kernel("icdf_upper", "log_1mu", 1,
                            lambda v: (sp.Eq(v, 0), sp.Eq(v, -INF), sp.Gt(v, 0)), level)
