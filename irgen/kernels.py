"""Kernel entry points of a distribution, built as IR around its DSL functions.

KERNELS below is the kernel set, one entry per kernel: its name, what the declaration must
give for it, its inputs and outputs, its description (the generated functions' docstrings
and docs/kernels.md come from it) and how its IR is built. In short: cdf, log_prob,
log_prob_grad, log_cdf, log_sf, cdf_grad and implicit_grad (dz/dp_i = -(dF/dp_i)(z) / q(z),
with q = dF/dx from the same forward-mode pass, over log F or log S where they are
declared); with a sampler sample, rsample (draws and implicit_grad at them, in one kernel)
and rsample_log_prob; with the log-space form (the distribution of log z)
log_implicit_grad, log_sample and log_rsample; and the quantile kernels icdf, icdf_grad,
log_icdf and icdf_upper (quantile.py).

Each checks its parameters first: invalid ones give NaN, x outside the support gives the
limits (CDF 0 or 1, log density -inf, gradients 0)."""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Callable

from . import abi
from .abi import kernel_cdecl
from .dsl import Distribution
from .kernel_ir import Builder, check_declaration, refuse_draws
from .program import Program
from .quantile import QuantileBuilder


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
    first_apart: bool = False  # a map kernel returning (first, (the rest)), as rsample does

    @property
    def grouped(self) -> bool:
        """Whether its elements are evaluated ordered by branch group."""
        return bool(self.group or self.draw_group)

    @property
    def cdecl(self) -> dict:
        """Its exported C declaration, per array dtype."""
        return {d: kernel_cdecl(self.name, d, len(self.inputs), len(self.outputs), self.kind,
                                bool(self.rows)) for d in ("float64", "float32")}

    @property
    def arguments(self) -> list[str]:
        """The names of its C arguments, in cdecl's order."""
        return abi.kernel_arguments(len(self.inputs), len(self.outputs), self.kind,
                                    bool(self.rows))

    @property
    def packed(self) -> dict:
        """Its packed entry point's C declaration, per array dtype (abi.packed_cdecl)."""
        return {d: abi.packed_cdecl(self.name, d) for d in ("float64", "float32")}

    def record(self) -> tuple:
        """(name, the record a generated module keeps: abi.Kernel)."""
        return self.name, abi.Kernel(self.inputs, self.outputs, self.grouped, self.kind,
                                     bool(self.rows))


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
    KernelDef("icdf", (), "u", lambda p: ("z",),
              "the quantile z = F^-1(u | {given}): the support's ends at u = 0 and 1, NaN for "
              "u outside [0, 1]", lambda c: c.make(c.quantiles.icdf(), group=c.quantiles.group("icdf"))),
    KernelDef("icdf_grad", (), "u", lambda p: ("z", "dz/du") + _d("dz", p),
              "the quantile z = F^-1(u | {given}) with dz/du = 1 / q(z) and the implicit "
              "gradients dz/dp for p in {given}, at the same z",
              lambda c: c.make(c.quantiles.icdf(c.made["implicit_grad"].function),
                               group=c.quantiles.group("icdf_grad"), first_apart=True)),
    KernelDef("log_icdf", (), "log_u", lambda p: ("z",),
              "the quantile of u = exp(log_u) at {given}, for u too small for a float",
              lambda c: c.make(c.quantiles.log_icdf(), group=c.quantiles.group("log_icdf"))),
    KernelDef("icdf_upper", (), "log_1mu", lambda p: ("z",),
              "the quantile of u = 1 - exp(log_1mu) at {given}, for u too near 1 for a float",
              lambda c: c.make(c.quantiles.icdf_upper(),
                               group=c.quantiles.group("icdf_upper"))),
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
        self.b = Builder(dist, prog)
        self.group = prog.require(dist.group.name) if dist.group is not None else ""
        self.made: dict = {}
        self.spec = None                 # the KernelDef being built
        self._samplers: dict = {}
        self._sample_group = None
        self._log = None
        self._quantiles = None

    @property
    def quantiles(self) -> QuantileBuilder:
        """The quantile kernels' builder, on the log F, log S and log density kernels."""
        if self._quantiles is None:
            self._quantiles = QuantileBuilder(self.b, *(self.made[k].function for k in
                                                        ("log_cdf", "log_sf", "log_prob")))
        return self._quantiles

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
            self._log = Builder(self.dist.log_space, self.prog, prefix="log_")
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
        refuse_draws(prog, k)
    return kernels
