"""Kernels of a distribution on the simplex (dsl.Simplex), built as IR around its
component's kernels: each element's draw and gradient are elementwise IR functions; the
row's normalisation, which needs the whole row, is written in the templates (simplex.c.j2).

    sample(alpha)      z, one row per batch entry
    log_sample(alpha)  log z, finite where z underflows
    rsample(alpha)     z and v, with dz_i/dalpha_j = v_j (delta_ij - z_i)
    log_prob(x, alpha) the log density, one value per row (where the declaration gives it)

An element j is drawn in log space (w_j = log G_j) where alpha_j is below the declaration's
log_space_below, else directly (w_j = G_j); rsample then evaluates d log G_j / dalpha_j or
dG_j / dalpha_j at w_j, and the normalisation turns both into v_j = (dG_j / dalpha_j) / sum(G).
The kinds of element draw from the component's own samplers, so element i of a row kernel
draws what the component's sample (or log_sample) kernel draws for element i."""
from __future__ import annotations

import sympy as sp

from . import ir
from . import primitives as P
from .dsl import Simplex
from .errors import DeclarationError
from .kernels import Kernel, build_kernels
from .program import Program

# the group of log-space elements in rsample's gradient stage (the component's groups of
# direct elements are the smaller numbers)
LOG_SPACE_GROUP = 31


def _sym(name):
    return sp.Symbol(name, real=True)


def check_simplex(s: Simplex):
    c = s.component
    if c.sample is None or c.log_sample is None:
        raise DeclarationError(f"{s.name}: the component {c.name} needs sample and log_sample")
    if len(c.params) != 1 + len(s.fixed):
        raise DeclarationError(f"{s.name}: {c.name} takes {len(c.params)} parameters; the "
                               f"simplex gives alpha and {len(s.fixed)} fixed")
    if c.params[0].domain != "positive":
        raise DeclarationError(f"{s.name}: {c.name}'s first parameter must be positive")
    if len(s.log_space_below) != 2:
        raise DeclarationError(f"{s.name}: log_space_below is (float64, float32)")
    if (s.log_prob_terms is None) != (s.log_prob_total is None):
        raise DeclarationError(f"{s.name}: the log density needs both log_prob_terms and "
                               f"log_prob_total")


def in_log_space(alpha, s: Simplex) -> tuple:
    """(statement, condition): alpha below log_space_below, the float64 threshold where EPS
    is float64's, else the float32 one (a constant the compiler folds)."""
    lo64, lo32 = s.log_space_below
    below = _sym("log_space_below")
    return (ir.Assign(below, sp.Piecewise((sp.Float(lo64), sp.Lt(P.CONSTANTS["EPS"], 1e-10)),
                                          (sp.Float(lo32), True))),
            sp.Lt(alpha, below))


def _log_prob(s: Simplex, prog: Program, a) -> tuple[str, str]:
    """IR functions of the log density's parts: an entry's term, NaN for a bad alpha_j or a
    NaN x_j (which makes the row's sum NaN), and the row's term of sum(alpha)."""
    x, a0 = _sym("x"), _sym("a0")
    for f in (s.log_prob_terms, s.log_prob_total):
        prog.register(f)
    t, tot = _sym("term"), _sym("total")
    bad = sp.Or(P.isnan(x), P.isinf(a), P.Not(sp.Gt(a, 0)))
    prog.add(ir.Function("simplex_log_prob_term", (x, a), (
        ir.If(bad, (ir.Return((P.CONSTANTS["NAN"],)),)),
        ir.Call((t,), prog.require(s.log_prob_terms.name), (x, a)), ir.Return((t,))), 1))
    prog.add(ir.Function("simplex_log_prob_total", (a0,), (
        ir.Call((tot,), prog.require(s.log_prob_total.name), (a0,)), ir.Return((tot,))), 1))
    return "simplex_log_prob_term", "simplex_log_prob_total"


def build_row_kernels(s: Simplex, prog: Program) -> list[Kernel]:
    check_simplex(s)
    c = s.component
    parts = {k.name: k for k in build_kernels(c, prog)}
    a, w = _sym(s.param.name), _sym("w")
    fixed = tuple(sp.Float(v) for v in s.fixed)
    below, logs = in_log_space(a, s)
    m = len(c.params)

    def call(fn, args, n=1, base="r"):
        targets = tuple(_sym(f"{base}_{i}") for i in range(n))
        return ir.Call(targets, fn, tuple(args) + fixed), targets

    def function(name, params, body):
        fn = ir.Function(f"simplex_{name}", params, tuple(body), 1)
        prog.add(fn)
        return fn.name

    def either(name, params, log_part, direct_part):
        """log_part where alpha is in log space, else direct_part: each (function, n)."""
        (lf, ln), (df, dn) = log_part, direct_part
        lcall, (lr, *_) = call(lf, params, ln, "l")
        dcall, (dr, *_) = call(df, params, dn, "d")
        return function(name, params, [below, ir.If(logs, (lcall, ir.Return((lr,))),
                                                    (dcall, ir.Return((dr,))))])

    draw = either("draw", (a,), (parts["log_sample"].function, 1),
                  (parts["sample"].function, 1))
    grad = either("grad", (w, a), (parts["log_implicit_grad"].function, m),
                  (parts["implicit_grad"].function, m))
    # draws in log space and direct ones apart (each runs its own rejection loop), and
    # within each the component's sampler groups, if it has any (0 and 1)
    group, body, g = "", [below], sp.Integer(0)
    if c.sample_group is not None:
        gcall, (g,) = call(prog.require(c.sample_group.name), (a,))
        body.append(gcall)
    draw_group = function("draw_group", (a,), body + [ir.Return(
        (sp.Piecewise((g + 2, logs), (g, True)),))])
    if c.group is not None:
        gcall, (g,) = call(prog.require(c.group.name), (w, a))
        group = function("group", (w, a), [below, ir.If(logs, (ir.Return((LOG_SPACE_GROUP,)),)),
                                           gcall, ir.Return((g,))])
    terms = total = ""
    if s.log_prob_terms is not None:
        terms, total = _log_prob(s, prog, a)
    # only what the row kernels call: the component's other kernels stay in its own file
    prog.keep_reachable((draw, grad, draw_group, group, terms, total))
    p = s.param.name
    density = [Kernel("log_prob", terms, ("x", p), ("log_prob",),
                      f"the log density at x, {p} along the last axis", then=total,
                      rows="sum")] if terms else []
    return density + [
        Kernel("sample", draw, (p,), ("z",), f"samples z, {p} along the last axis",
               kind="sample", draw_group=draw_group, rows="z"),
        Kernel("log_sample", draw, (p,), ("log_z",),
               f"samples in log space, log z, {p} along the last axis", kind="sample",
               draw_group=draw_group, rows="log_z"),
        Kernel("rsample", draw, (p,), ("z", "v"),
               f"samples z and their gradients v, dz_i/d{p}_j = v_j (delta_ij - z_i)",
               group, kind="rsample", then=grad,
               draw_group=draw_group, rows="z"),
    ]
