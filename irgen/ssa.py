"""SSA and common subexpressions of a straight run of assignments: the pass that runs
before printing.

Each straight run of assignments (and its return) is put in SSA form, every assignment
a new version `name__n`, and passed through sympy.cse, so that primal and tangent
expressions share their common subexpressions without reordering any arithmetic across
statements (an inlining pass would let sympy fold `(x + a) + b` into `x + (a + b)`). The
result is an ir.Scope: constants in the order a printer declares them (each subexpression
just before its first use, its own dependencies first), the copies of the versions into
their variables, then the constants the return needs and the return."""
from __future__ import annotations

import sympy as sp

from . import ir


def straight(run, ret, loop_carried=frozenset()) -> ir.Scope | None:
    """The Scope of a run of Assign statements and an optional Return (None when there is
    neither); loop_carried: the variables assigned in the enclosing loops' bodies."""
    if not run and ret is None:
        return None
    version, ssa, exprs = {}, [], []
    for a in run:
        e = a.expr.xreplace(version) if version else a.expr
        n = sum(1 for t, _ in ssa if t == a.target)
        v = sp.Symbol(f"{a.target.name}__{n}", real=True)
        version[a.target] = v
        ssa.append((a.target, v))
        exprs.append(e)
    rets = [sp.sympify(r).xreplace(version) for r in (ret.values if ret else ())]
    temps, reduced = sp.cse(exprs + rets, symbols=sp.numbered_symbols("irgen_c"),
                            order="none")
    deps = {t: e for t, e in temps}
    carried = set(loop_carried)
    carried |= {v for target, v in ssa if target in loop_carried}
    for t, e in temps:
        if e.free_symbols & carried:
            carried.add(t)

    body, emitted = [], set()

    def need(expr):
        for s in sorted(expr.free_symbols & deps.keys(), key=lambda s: s.name):
            if s not in emitted:
                need(deps[s])
                emitted.add(s)
                body.append(ir.Const(s, deps[s]))

    for (_, v), e in zip(ssa, reduced[:len(ssa)]):
        need(e)
        body.append(ir.Const(v, e))
    body += [ir.Assign(target, v) for target, v in version.items()]
    if ret is not None:
        outs = tuple(reduced[len(ssa):])
        for e in outs:
            need(e)
        body.append(ir.Return(outs))
    return ir.Scope(tuple(body), frozenset(carried))
