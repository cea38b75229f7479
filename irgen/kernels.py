"""Kernel entry points of a distribution, built as IR around its DSL functions.

KERNELS below is the kernel set, one entry per kernel: its name, what the declaration must
give for it, its inputs and outputs, its description (the generated functions' docstrings
and docs/kernels.md come from it) and how its IR is built. In short: cdf, log_prob,
log_prob_grad, log_cdf, log_sf, cdf_grad and implicit_grad (dz/dp_i = -(dF/dp_i)(z) / q(z),
with q = dF/dx from the same forward-mode pass, over log F or log S where they are
declared); with a sampler sample, rsample (draws and implicit_grad at them, in one kernel)
and rsample_log_prob; with the log-space form (the distribution of log z)
log_implicit_grad, log_sample and log_rsample.

Each checks its parameters first: invalid ones give NaN, x outside the support gives the
limits (CDF 0 or 1, log density -inf, gradients 0)."""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Callable

import sympy as sp

from . import abi, ir
from . import primitives as P
from .abi import kernel_cdecl
from .dsl import Distribution, Interval, Periodic
from .errors import DeclarationError, DSLError
from .program import Program

NAN, INF = P.CONSTANTS["NAN"], P.CONSTANTS["INF"]


@dataclass(frozen=True)
class Kernel:
    name: str            # cdf, log_prob, cdf_grad, implicit_grad
    function: str        # emitted IR function
    inputs: tuple
    outputs: tuple
    doc: str
    group: str = ""      # IR function giving each element its branch group, if any
    kind: str = "map"    # map: elementwise; sample: draws; rsample: draws, then `then` at z
    then: str = ""       # rsample: the implicit-gradient kernel function evaluated at z
    draw_group: str = ""   # samplers: IR function giving each element's branch group
    rows: str = ""       # simplex kernels (rows.py): the row's tail, to z, log_z, or a sum
    hold: bool = False   # rsample_log_prob: draws that rounded to an end of a bounded support
                         # move to the nearest number inside, where log q is finite
    then_kernel: str = ""  # rsample: the map kernel evaluated at z, where there is one

    @property
    def grouped(self) -> bool:
        """Whether its elements are evaluated ordered by branch group."""
        return bool(self.group or self.draw_group)

    @property
    def cdecl(self) -> dict:
        """Its exported C declaration, per array dtype."""
        return {d: kernel_cdecl(self.name, d, len(self.inputs), len(self.outputs), self.kind,
                                bool(self.rows)) for d in ("float64", "float32")}

    def record(self) -> tuple:
        """(name, the record a generated module keeps: abi.Kernel)."""
        return self.name, abi.Kernel(self.inputs, self.outputs, self.grouped, self.kind,
                                     bool(self.rows))


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


class _Builder:
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


def _refuse_draws(prog: Program, k: Kernel):
    """Only samplers draw: a CDF or density that drew would not be a function."""
    for name in (k.group, k.draw_group) + ((k.function,) if k.kind == "map" else ()):
        if name and prog.functions[name].draws:
            d = _first_draw(prog, name, set())
            loc = d.loc or ir.Loc("?", 0, 0)
            raise DSLError(f"'{d.kind}()' draws a random number in a function the '{k.name}' "
                           f"kernel evaluates", loc.file, loc.line, loc.col,
                           "draws belong in a sampler (Distribution(sample=...)) and the "
                           "functions it calls")


@dataclass(frozen=True)
class KernelDef:
    """One kernel of the table: `requires` names the declaration fields it needs,
    `variable` its input before the parameters ("" for samplers), `outputs` gives its
    output names from the parameter names, `doc` describes it ({given}: the parameters),
    and `build` makes its Kernel from a _Context."""
    name: str
    requires: tuple
    variable: str
    outputs: Callable
    doc: str
    build: Callable = field(compare=False)


def _d(prefix, params):
    return tuple(f"{prefix}/d{p}" for p in params)


KERNELS = (
    KernelDef("cdf", (), "x", lambda p: ("F",), "the CDF F(x | {given})",
              lambda c: c.make(c.b.cdf(), group=c.group)),
    # the log density has too few branches to be worth grouping
    KernelDef("log_prob", (), "x", lambda p: ("log_prob",),
              "the log density log q(x | {given})", lambda c: c.make(c.b.log_prob())),
    KernelDef("log_prob_grad", ("log_prob",), "x",
              lambda p: ("log_prob", "dlog_q/dx") + _d("dlog_q", p),
              "the log density log q(x | {given}) and its scores d log q / dx and / dp for p "
              "in {given}", lambda c: c.make(c.b.log_prob_grad())),
    KernelDef("log_cdf", (), "x", lambda p: ("log_F",),
              "log F(x | {given}), accurate in the lower tail",
              lambda c: c.make(c.b.log_tail(True), group=c.group)),
    KernelDef("log_sf", (), "x", lambda p: ("log_S",),
              "log(1 - F(x | {given})), accurate in the upper tail",
              lambda c: c.make(c.b.log_tail(False), group=c.group)),
    KernelDef("cdf_grad", (), "x", lambda p: ("F",) + _d("dF", p),
              "the CDF F(x | {given}) and its partial derivatives in {given}",
              lambda c: c.make(c.b.cdf_grad(), group=c.group)),
    KernelDef("implicit_grad", (), "z", lambda p: _d("dz", p),
              "implicit reparameterization gradients dz/dp = -(dF/dp)(z) / q(z) for p in "
              "{given}", lambda c: c.make(c.b.implicit_grad(), group=c.group)),
    KernelDef("sample", ("sample",), "", lambda p: ("z",),
              "samples z of the distribution at {given}",
              lambda c: c.make_sampler("sample", kind="sample")),
    KernelDef("rsample", ("sample",), "", lambda p: ("z",) + _d("dz", p),
              "samples z and their implicit reparameterization gradients dz/dp for p in "
              "{given}, in one pass",
              lambda c: c.make_sampler("sample", group=c.group, kind="rsample",
                                       then=c.made["implicit_grad"].function)),
    # a variational objective's log q of its own draws: one pass over them, not two
    KernelDef("rsample_log_prob", ("sample", "log_prob"), "",
              lambda p: ("z",) + _d("dz", p) + ("log_prob", "dlog_q/dz") + _d("dlog_q", p),
              "samples z with their implicit reparameterization gradients dz/dp, and their "
              "log density log q(z | {given}) with its scores d log q / dz and / dp, for p "
              "in {given}, in one pass; a draw that rounded to an end of the support taken "
              "as the nearest number inside it",
              lambda c: c.make_sampler("sample", group=c.group, kind="rsample", hold=True,
                                       then=c.b.implicit_score(
                                           c.made["implicit_grad"].function,
                                           c.made["log_prob_grad"].function))),
    KernelDef("log_implicit_grad", ("log_space",), "log_z", lambda p: _d("dlog_z", p),
              "gradients d(log z)/dp of samples given as log z, for p in {given}",
              lambda c: c.make_log_implicit()),
    KernelDef("log_sample", ("log_space", "log_sample"), "", lambda p: ("log_z",),
              "samples in log space, log z, at {given}",
              lambda c: c.make_sampler("log_sample", kind="sample")),
    KernelDef("log_rsample", ("log_space", "log_sample"), "",
              lambda p: ("log_z",) + _d("dlog_z", p),
              "samples in log space, log z, and their gradients d(log z)/dp for p in "
              "{given}, in one pass",
              lambda c: c.make_sampler("log_sample", group=c.log_group, kind="rsample",
                                       then=c.made["log_implicit_grad"].function)),
)


def table_markdown() -> str:
    """The kernel table as Markdown, for docs/kernels.md (`irgen kernels` prints it)."""
    rows = ["| kernel | needs | arguments | results | what it computes |",
            "|---|---|---|---|---|"]
    for k in KERNELS:
        args = ", ".join(filter(None, (k.variable, "p_1, ..., p_m")))
        outs = ", ".join(k.outputs(("p_i",)))
        needs = ", ".join(f"`{r}`" for r in k.requires) or "-"
        doc = k.doc.format(given="p_1, ..., p_m").replace("|", "\\|")
        rows.append(f"| `{k.name}` | {needs} | {args} | {outs} | {doc} |")
    return "\n".join(rows)


class _Context:
    """What the table's build functions share while one distribution's kernels are made:
    its builders, its branch-group functions and the kernels made so far. The program
    registers functions in the order they are first needed, which is the order of the
    generated file; the samplers' groups come before the sampler, the log-space builder
    before its groups."""

    def __init__(self, dist: Distribution, prog: Program):
        self.dist, self.prog = dist, prog
        self.b = _Builder(dist, prog)
        self.group = prog.require(dist.group.name) if dist.group is not None else ""
        self.made: dict = {}
        self.spec = None                 # the KernelDef being built
        self._samplers: dict = {}
        self._sample_group = None
        self._log = None

    def make(self, function: str, **modes) -> Kernel:
        params = self.dist.param_names
        spec = self.spec
        inputs = ((spec.variable,) if spec.variable else ()) + params
        return Kernel(spec.name, function, inputs, spec.outputs(params),
                      spec.doc.format(given=", ".join(params)), **modes)

    @property
    def sample_group(self) -> str:
        if self._sample_group is None:
            self._sample_group = ""
            if self.dist.sample_group is not None:
                self.prog.register(self.dist.sample_group)
                self._sample_group = self.prog.require(self.dist.sample_group.name)
        return self._sample_group

    def make_sampler(self, role: str, **modes) -> Kernel:
        draw_group = self.sample_group
        if role not in self._samplers:
            self._samplers[role] = self.b.sampler(role)
        return self.make(self._samplers[role], draw_group=draw_group, **modes)

    @property
    def log_builder(self):
        if self._log is None:          # registers the log-space functions
            self._log = _Builder(self.dist.log_space, self.prog, prefix="log_")
        return self._log

    @property
    def log_group(self) -> str:
        space = self.dist.log_space
        return self.prog.require(space.group.name) if space.group is not None else ""

    def make_log_implicit(self) -> Kernel:
        builder, group = self.log_builder, self.log_group
        return self.make(builder.implicit_grad(), group=group)


def build_kernels(dist: Distribution, prog: Program) -> list[Kernel]:
    """The kernels of the table that the declaration provides for, in the table's order."""
    check_declaration(dist)
    c = _Context(dist, prog)
    for spec in KERNELS:
        if all(getattr(dist, r) is not None for r in spec.requires):
            c.spec = spec
            c.made[spec.name] = spec.build(c)
    kernels = list(c.made.values())
    maps = {}
    for k in kernels:
        if k.kind == "map":
            maps.setdefault(k.function, k.name)
    kernels = [replace(k, then_kernel=maps.get(k.then, "")) for k in kernels]
    for k in kernels:
        _refuse_draws(prog, k)
    return kernels
