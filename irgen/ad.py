"""Forward mode: each assignment gains tangent assignments, one per direction.

A JVP spec is a tuple with one entry per direction: the set of parameter indices whose
tangent is an input in that direction. The transformed function takes the primal parameters
followed by those tangents (direction by direction, parameter order within a direction) and
returns the primal result followed by one tangent per direction.

Control flow passes through unchanged, except that a `converged(step, total)` test also
requires the tangents of step and total to have converged: a derivative series can converge
later than the value series it comes from.
"""
from __future__ import annotations

from functools import reduce

import sympy as sp

from . import ir
from . import primitives as P
from .rules import RULES, pow_partials


def jvp_name(name: str, spec: tuple) -> str:
    if not spec:
        return name
    return name + "__d" + "_".join("".join(map(str, sorted(s))) for s in spec)


def tangent(e, d: dict):
    """The tangent of expression e, given the tangents d of the active symbols."""
    if not (e.free_symbols & d.keys()):
        return sp.Integer(0)
    if e.is_Symbol:
        return d[e]
    if e.is_Add:
        return sp.Add(*[tangent(a, d) for a in e.args])
    if e.is_Mul:
        terms = []
        for i, a in enumerate(e.args):
            ta = tangent(a, d)
            if ta != 0:
                terms.append(ta * sp.Mul(*(e.args[:i] + e.args[i + 1:])))
        return sp.Add(*terms)
    if e.is_Pow:
        base, expo = e.args
        db, de = pow_partials(base, expo)
        return db * tangent(base, d) + de * tangent(expo, d)
    if isinstance(e, sp.Piecewise):
        return sp.Piecewise(*[(tangent(v, d), c) for v, c in e.args])
    if isinstance(e, P.Table):
        return sp.Integer(0)
    if isinstance(e, P.Primitive):
        partials = RULES[e.func](*e.args)
        return sp.Add(*[p * tangent(a, d) for p, a in zip(partials, e.args)])
    raise NotImplementedError(f"no derivative rule for {e.func}")


def depends_on(e) -> set:
    """The symbols e depends on for differentiation: those outside detach(...)."""
    e = sp.sympify(e)
    cut = e.atoms(P.detach)
    if not cut:
        return e.free_symbols
    stand_in = sp.Dummy()          # not 0: x * detach(y) still depends on x
    return e.xreplace({c: stand_in for c in cut}).free_symbols - {stand_in}


def activity(fn: ir.Function, seeds) -> set:
    """Symbols whose value depends on the seeded parameters (a fixed point over loops)."""
    active = {fn.params[i] for i in seeds}
    changed = True
    while changed:
        changed = False
        for s in ir.walk(fn.body):
            if isinstance(s, ir.Assign):
                new = [s.target] if depends_on(s.expr) & active else []
            elif isinstance(s, ir.Call):
                new = list(s.targets) if any(depends_on(a) & active for a in s.args) else []
            else:
                continue
            for t in new:
                if t not in active:
                    active.add(t)
                    changed = True
    return active


def hoist_calls(stmts, fresh, found: set) -> tuple:
    """Move DSL calls that rules put inside expressions (digamma) into Call statements;
    the names of the functions called are added to found."""
    out = []

    def pull(e):
        calls = sorted(e.atoms(P.DSLCall), key=sp.default_sort_key) if hasattr(e, "atoms") else []
        rep = {}
        for c in calls:
            t = fresh()
            out.append(ir.Call((t,), type(c).__name__, c.args))
            found.add(type(c).__name__)
            rep[c] = t
        return e.xreplace(rep) if rep else e

    for s in stmts:
        if isinstance(s, ir.Assign):
            s = ir.Assign(s.target, pull(s.expr))
        elif isinstance(s, ir.Call):
            s = ir.Call(s.targets, s.func, tuple(pull(a) for a in s.args))
        elif isinstance(s, ir.Return):
            s = ir.Return(tuple(pull(v) for v in s.values))
        elif isinstance(s, ir.If):
            s = ir.If(pull(s.cond), hoist_calls(s.body, fresh, found),
                     hoist_calls(s.orelse, fresh, found))
        elif isinstance(s, ir.Loop):
            s = ir.Loop(s.count, hoist_calls(s.body, fresh, found), s.index, s.start)
        out.append(s)
    return tuple(out)


class _Transform:
    def __init__(self, fn: ir.Function, spec: tuple):
        self.fn, self.spec = fn, spec
        self.active = [activity(fn, seeds) for seeds in spec]
        self.d = [{v: sp.Symbol(f"d{k}_{v.name}", real=True) for v in act}
                  for k, act in enumerate(self.active)]
        self.needs = set()   # (callee name, callee spec)
        self.count = 0

    def tan(self, e, k):
        return tangent(e, self.d[k])

    def run(self) -> ir.Function:
        params = list(self.fn.params)
        for k, seeds in enumerate(self.spec):
            params += [self.d[k][self.fn.params[i]] for i in sorted(seeds)]
        # tangents of assigned variables start at zero, except a seeded parameter's (a
        # parameter the body reassigns keeps the tangent it was called with)
        seeded = [{self.fn.params[i] for i in seeds} for seeds in self.spec]
        init = [ir.Assign(self.d[k][v], sp.Integer(0))
                for k, act in enumerate(self.active)
                for v in ir.assigned(self.fn.body) if v in act and v not in seeded[k]]
        body = tuple(init) + self.block(self.fn.body)
        found = set()
        body = hoist_calls(body, lambda: self.fresh("r"), found)
        self.needs |= {(name, ()) for name in found}
        return ir.Function(jvp_name(self.fn.name, self.spec), tuple(params), body,
                           1 + len(self.spec), self.fn.doc, self.fn.loc)

    def block(self, stmts) -> tuple:
        out = []
        for s in stmts:
            out.extend(self.stmt(s))
        return tuple(out)

    def stmt(self, s):
        K = range(len(self.spec))
        if isinstance(s, ir.Assign):
            tangents = [ir.Assign(self.d[k][s.target], self.tan(s.expr, k))
                        for k in K if s.target in self.active[k]]
            return tangents + [s]      # tangents read the old primal values
        if isinstance(s, ir.Call):
            (target,) = s.targets
            dirs = [k for k in K if target in self.active[k]]
            if not dirs:
                self.needs.add((s.func, ()))
                return [s]
            per_dir = [[i for i, a in enumerate(s.args) if depends_on(a) & self.active[k]]
                       for k in dirs]
            basis = sorted({i for used in per_dir for i in used})
            if len(basis) < len(dirs):
                return self.call_by_jacobian(s, target, dirs, basis)
            cspec = tuple(frozenset(used) for used in per_dir)
            targs = [self.tan(s.args[i], k) for k, used in zip(dirs, per_dir) for i in used]
            self.needs.add((s.func, cspec))
            return [ir.Call((target,) + tuple(self.d[k][target] for k in dirs),
                            jvp_name(s.func, cspec), s.args + tuple(targs))]
        if isinstance(s, ir.If):
            return [ir.If(self.cond(s.cond), self.block(s.body), self.block(s.orelse))]
        if isinstance(s, ir.Loop):
            return [ir.Loop(s.count, self.block(s.body), s.index, s.start)]
        if isinstance(s, ir.Return):
            (v,) = s.values
            return [ir.Return((v,) + tuple(self.tan(v, k) for k in K))]
        return [s]

    def call_by_jacobian(self, s, target, dirs, basis):
        """More directions than active arguments: differentiate the callee once per active
        argument (its Jacobian row) and combine, instead of once per direction. Gamma's
        CDF of x * beta is the case: three directions (alpha, beta, x), two arguments."""
        pre, post = [], []
        jac = [self.fresh("j") for _ in basis]
        for k in dirs:
            terms = []
            for i, j in zip(basis, jac):
                t = self.tan(s.args[i], k)
                if t != 0:
                    held = self.fresh("s")       # the tangent of the argument before the call
                    pre.append(ir.Assign(held, t))
                    terms.append(j * held)
            post.append(ir.Assign(self.d[k][target], sp.Add(*terms)))
        cspec = tuple(frozenset([i]) for i in basis)
        self.needs.add((s.func, cspec))
        call = ir.Call((target,) + tuple(jac), jvp_name(s.func, cspec),
                       s.args + (sp.Integer(1),) * len(basis))
        return pre + [call] + post

    def fresh(self, kind):
        self.count += 1
        return sp.Symbol(f"_irgen_{kind}{self.count}", real=True)

    def cond(self, c):
        if not c.atoms(P.converged):
            return c

        def extend(step, total, tol):
            tests = [P.converged(step, total, tol)]
            for k in range(len(self.spec)):
                ts, tt = self.tan(step, k), self.tan(total, k)
                if ts != 0 or tt != 0:
                    tests.append(P.converged(ts, tt, tol))
            return reduce(sp.And, tests)
        return c.replace(P.converged, extend)


def jvp(fn: ir.Function, spec: tuple) -> tuple[ir.Function, set]:
    """Forward-mode transform of fn. Returns the new function and the (name, spec) pairs of
    the functions it calls."""
    if not spec:
        return fn, {(s.func, ()) for s in ir.walk(fn.body) if isinstance(s, ir.Call)}
    t = _Transform(fn, tuple(frozenset(s) for s in spec))
    out = t.run()
    return out, t.needs
