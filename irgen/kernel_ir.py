"""The IR of each kernel's function, built around a distribution's DSL functions: the
parameter checks (invalid ones give NaN, x outside the support the limits: CDF 0 or 1, log
density -inf, gradients 0), then the CDF, log density, their gradients, the implicit
gradients or the sampler the kernel table (kernels.py) asks for; and the checks that a
declaration fits its functions and that only samplers draw."""
from __future__ import annotations

import math

import sympy as sp

from . import ir
from . import primitives as P
from .dsl import Distribution, Interval, Periodic
from .errors import DeclarationError, DSLError
from .program import Program

NAN, INF = P.CONSTANTS["NAN"], P.CONSTANTS["INF"]


def _sym(name):
    return sp.Symbol(name, real=True)


def _check_signature(dist: Distribution, role: str, f, variable: str = ""):
    """f takes the declared parameters in order, after the variable (any name) where there
    is one: CDFs and densities take (x, *params), samplers (*params)."""
    node = f.parse()
    got = tuple(a.arg for a in node.args.args)
    lead = 1 if variable else 0
    if len(got) != lead + len(dist.param_names) or got[lead:] != dist.param_names:
        want = ", ".join((variable,) * lead + dist.param_names)
        raise DSLError(f"{role} of '{dist.name}' takes ({', '.join(got)}), but the "
                       f"declaration needs ({want})", f.file, node.lineno, node.col_offset,
                       "parameters come in the declared order"
                       + (" after the variable" if variable else ""))


def check_declaration(dist: Distribution):
    for role, f in dist.functions().items():
        _check_signature(dist, role, f, "x")
    for role in ("sample", "log_sample", "sample_group"):
        if getattr(dist, role) is not None:
            _check_signature(dist, role, getattr(dist, role))
    if dist.quantile_guess is not None:
        _check_signature(dist, "quantile_guess", dist.quantile_guess, "u")
    if dist.log_sample is not None and dist.log_space is None:
        raise DeclarationError(f"{dist.name}: log_sample needs log_space, the distribution "
                               f"of log z, for its gradients")
    if dist.log_space is not None and dist.log_space.param_names != dist.param_names:
        raise DeclarationError(f"{dist.name}: log_space must take the same parameters")
    if not isinstance(dist.support, (Interval, Periodic)):
        raise DeclarationError(f"{dist.name}: support must be Interval or Periodic")
    roles = [p.role for p in dist.params]
    if roles.count("location") > 1 or roles.count("scale") + roles.count("rate") > 1:
        raise DeclarationError(f"{dist.name}: at most one location and one scale or rate")
    if isinstance(dist.support, Periodic) and ("scale" in roles or "rate" in roles):
        raise DeclarationError(f"{dist.name}: a periodic distribution has no scale")
    if dist.implicit not in ("ratio", "density"):
        raise DeclarationError(f"{dist.name}: implicit must be 'ratio' or 'density'")


class Builder:
    def __init__(self, dist: Distribution, prog: Program, prefix: str = ""):
        self.dist, self.prog, self.prefix = dist, prog, prefix
        self.x = _sym("x")
        self.p = tuple(_sym(n) for n in dist.param_names)
        self.args = (self.x,) + self.p
        for f in dist.functions().values():
            prog.register(f)
        self.n = 0

    def fresh(self, base):
        self.n += 1
        return _sym(f"{base}_{self.n}")

    def call(self, role: str, spec: tuple, seeds=()) -> tuple:
        """Statement calling the DSL function of `role` differentiated per spec; returns
        (statement, targets)."""
        name = self.prog.require(getattr(self.dist, role).name, spec)
        targets = tuple(self.fresh(role) for _ in range(1 + len(spec)))
        return ir.Call(targets, name, self.args + tuple(seeds)), targets

    def param_spec(self):
        m = len(self.p)
        return tuple(frozenset([i + 1]) for i in range(m)), (sp.Integer(1),) * m

    def bad(self):
        return sp.Or(P.isnan(self.x), self.bad_params())

    def bad_params(self):
        tests = []
        for p, decl in zip(self.p, self.dist.params):
            tests.append(P.isinf(p))
            tests.append(P.isnan(p) if decl.domain == "real" else P.Not(sp.Gt(p, 0)))
        return sp.Or(*tests)

    def bounds(self):
        s = self.dist.support
        if isinstance(s, Periodic):
            return None, None
        lo = None if s.low == -math.inf else sp.Float(s.low)
        hi = None if s.high == math.inf else sp.Float(s.high)
        return lo, hi

    def guarded(self, name, results, below, above, body, inside_open=False):
        """NaN for bad input, constants outside the support, else body."""
        stmts = [ir.If(self.bad(), (ir.Return((NAN,) * results),))]
        lo, hi = self.bounds()
        for bound, rel, values in ((lo, sp.Le if inside_open else sp.Lt, below),
                                   (hi, sp.Ge if inside_open else sp.Gt, above)):
            if bound is not None:
                stmts.append(ir.If(rel(self.x, bound), (ir.Return(values),)))
        if isinstance(self.dist.support, Interval):
            # an infinite x at an infinite end of the support
            if lo is None:
                stmts.append(ir.If(sp.Eq(self.x, -INF), (ir.Return(below),)))
            if hi is None:
                stmts.append(ir.If(sp.Eq(self.x, INF), (ir.Return(above),)))
        else:
            stmts.append(ir.If(P.isinf(self.x), (ir.Return((NAN,) * results),)))
        fn = ir.Function(f"kernel_{self.prefix}{name}", self.args, tuple(stmts) + tuple(body),
                         results)
        self.prog.add(fn)
        return fn.name

    def sampler(self, role: str) -> str:
        """A draw from the DSL sampler of `role`; NaN, and no draw, for invalid parameters."""
        f = getattr(self.dist, role)
        self.prog.register(f)
        name = self.prog.require(f.name)
        z = self.fresh(role)
        body = (ir.If(self.bad_params(), (ir.Return((NAN,)),)),
                ir.Call((z,), name, self.p), ir.Return((z,)))
        fn = ir.Function(f"kernel_{role}", self.p, body, 1)
        self.prog.add(fn)
        return fn.name

    def implicit_score(self, implicit: str, score: str) -> str:
        """implicit_grad's and log_prob_grad's results at the same z, in one function: what
        rsample_log_prob evaluates at its draws."""
        m = len(self.p)
        dz = tuple(self.fresh("dz") for _ in range(m))
        lq = tuple(self.fresh("score") for _ in range(2 + m))
        body = (ir.Call(dz, implicit, self.args), ir.Call(lq, score, self.args),
                ir.Return(dz + lq))
        fn = ir.Function(f"kernel_{self.prefix}implicit_score", self.args, body, 2 * m + 2)
        self.prog.add(fn)
        return fn.name

    # -- the four kernels
    def cdf(self):
        stmt, (F,) = self.call("cdf", ())
        return self.guarded("cdf", 1, (0,), (1,), [stmt, ir.Return((F,))])

    def log_tail(self, lower: bool):
        """log F (lower) or log(1 - F): the declared log_cdf / log_sf where there is one
        (accurate in its tail), else from the CDF."""
        role = "log_cdf" if lower else "log_sf"
        if getattr(self.dist, role) is not None:
            stmt, (value,) = self.call(role, ())
        else:
            stmt, (F,) = self.call("cdf", ())
            value = P.log(F) if lower else P.log1p(-F)
        ends = ((-INF,), (0,)) if lower else ((0,), (-INF,))
        return self.guarded(role, 1, *ends, [stmt, ir.Return((value,))])

    def log_prob_body(self):
        if self.dist.log_prob is not None:
            stmt, (lq,) = self.call("log_prob", ())
            return [stmt], lq
        stmt, (F, dF) = self.call("cdf", (frozenset([0]),), (sp.Integer(1),))
        return [stmt], P.log(dF)

    def log_prob(self):
        body, lq = self.log_prob_body()
        return self.guarded("log_prob", 1, (-INF,), (-INF,), body + [ir.Return((lq,))])

    def log_prob_grad(self):
        """log q with d log q / dx and d log q / dp for every p, by forward mode through
        the declared log density (the scores a mixture's posterior weights move by, and
        what a log density's backward pass needs, in one pass)."""
        m = len(self.p)
        spec = (frozenset([0]),) + tuple(frozenset([i + 1]) for i in range(m))
        stmt, out = self.call("log_prob", spec, (sp.Integer(1),) * (1 + m))
        off = (-INF,) + (NAN,) * (1 + m)     # no density outside the support: no score
        return self.guarded("log_prob_grad", 2 + m, off, off, [stmt, ir.Return(tuple(out))])

    def cdf_grad(self):
        spec, seeds = self.param_spec()
        stmt, out = self.call("cdf", spec, seeds)
        m = len(self.p)
        zeros = (0,) * m
        # at an end of the support F is 0 or 1 whatever the parameters: zero gradients
        return self.guarded("cdf_grad", 1 + m, (0,) + zeros, (1,) + zeros,
                            [stmt, ir.Return(out)], inside_open=True)

    def implicit_grad(self):
        """dz/dp for every parameter p.

        Location, scale and rate parameters have closed forms (z = loc + scale * eps).
        The others come from one forward-mode pass over log F (or log S, or F):
        'ratio' forms -(dF/dp) / (dF/dx) with x as one more direction, so no density is
        evaluated and rounding in the shared parts cancels; 'density' forms
        -(d log F/dp) * exp(log F - log q), one direction fewer, for distributions whose
        log F - log q has no cancellation."""
        d, m = self.dist, len(self.p)
        loc = next((s for s, p in zip(self.p, d.params) if p.role == "location"),
                   sp.Integer(0))
        closed = {}
        for i, (s, p) in enumerate(zip(self.p, d.params)):
            if p.role == "location":
                closed[i] = sp.Integer(1)
            elif p.role in ("scale", "rate"):
                closed[i] = (self.x - loc) / s * (1 if p.role == "scale" else -1)
        shape = [i for i in range(m) if i not in closed]

        def results(values):
            it = iter(values)
            return ir.Return(tuple(closed[i] if i in closed else next(it) for i in range(m)))

        body = []
        if d.implicit == "density" and shape:
            lq_stmts, lq = self.log_prob_body()
            body += lq_stmts
        spec = tuple(frozenset([i + 1]) for i in shape)
        if d.implicit == "ratio":
            spec += (frozenset([0]),)
        seeds = (sp.Integer(1),) * len(spec)

        def form(role, sign):
            stmt, (value, *grads) = self.call(role, spec, seeds)
            if d.implicit == "ratio":
                return (stmt, results([-g / grads[-1] for g in grads[:-1]]))
            if role == "cdf":
                return (stmt, results([-g / P.exp(lq) for g in grads]))
            return (stmt, results([sign * g * P.exp(value - lq) for g in grads]))

        if not shape:
            body.append(results([]))
        elif d.log_cdf is not None and d.log_sf is not None:
            if d.upper is not None:
                pick, (u,) = self.call("upper", ())
            else:
                pick, (u,) = self.call("cdf", ())
                u = u - sp.Float(0.5)
            body += [pick, ir.If(sp.Gt(u, 0), form("log_sf", 1), form("log_cdf", -1))]
        else:
            body += list(form("log_cdf", -1) if d.log_cdf is not None else form("cdf", -1))
        zeros = (0,) * m
        return self.guarded("implicit_grad", m, zeros, zeros, body, inside_open=True)


def _first_draw(prog: Program, name: str, seen: set):
    """A Draw statement reached from function `name`, or None."""
    seen.add(name)
    for s in ir.walk(prog.functions[name].body):
        if isinstance(s, ir.Draw):
            return s
        if isinstance(s, ir.Call) and s.func not in seen and prog.functions[s.func].draws:
            found = _first_draw(prog, s.func, seen)
            if found is not None:
                return found
    return None


def refuse_draws(prog: Program, k) -> None:
    """Only samplers draw: a CDF or density that drew would not be a function."""
    for name in (k.group, k.draw_group) + ((k.function,) if k.kind == "map" else ()):
        if name and prog.functions[name].draws:
            d = _first_draw(prog, name, set())
            loc = d.loc or ir.Loc("?", 0, 0)
            raise DSLError(f"'{d.kind}()' draws a random number in a function the '{k.name}' "
                           f"kernel evaluates", loc.file, loc.line, loc.col,
                           "draws belong in a sampler (Distribution(sample=...)) and the "
                           "functions it calls")
