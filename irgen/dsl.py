"""What a DSL file imports: the @dsl decorator, primitives, constants and declarations.

A DSL function is plain, restricted Python. It runs as ordinary Python on floats or on
mpmath numbers (the reference the generated code is checked against), and the front end
compiles the same source to IR:

    from irgen.dsl import *

    @dsl
    def cdf(x, mu, sigma):
        return 0.5 * erfc((mu - x) / (sigma * sqrt(2.0)))
"""
from __future__ import annotations

import ast
import contextlib
import contextvars
import inspect
import keyword
import math
import numbers
import sys
import textwrap
from dataclasses import dataclass
from typing import Callable, Optional

from . import primitives as P
from .errors import DeclarationError

_precision = contextvars.ContextVar("irgen_precision", default="float64")


@contextlib.contextmanager
def precision(name: str):
    """Run DSL functions as Python with the constants of 'float64', 'float32' or 'mpmath'."""
    token = _precision.set(name)
    try:
        yield
    finally:
        _precision.reset(token)


_draw_source = contextvars.ContextVar("irgen_draw_source", default=None)


@contextlib.contextmanager
def draws(generator):
    """Take the draws of DSL functions run as Python from a numpy.random.Generator."""
    token = _draw_source.set(generator)
    try:
        yield
    finally:
        _draw_source.reset(token)


def _generator():
    g = _draw_source.get()
    if g is None:
        import numpy as np
        g = np.random.default_rng()
        _draw_source.set(g)
    return g


def _as_precision(v: float):
    if _precision.get() == "mpmath":
        import mpmath
        return mpmath.mpf(v)
    return v


def uniform():
    """A uniform draw in (0, 1). Compiled, the element's next value of its Philox stream;
    run as Python, from the generator of `draws` (a fresh one by default)."""
    g = _generator()
    u = g.random()
    while u == 0.0:                # the open interval, as in the kernels
        u = g.random()
    return _as_precision(u)


def normal():
    """A standard normal draw (see uniform)."""
    return _as_precision(_generator().standard_normal())


def bounded(cond, max_iterations: int):
    """`while bounded(cond, N):` is a while loop that runs at most N times."""
    raise RuntimeError("bounded() only has meaning as the condition of a DSL while loop")


class DSLFunction:
    """A function written in the DSL: callable as Python, compiled by irgen."""

    def __init__(self, fn: Callable):
        self.fn = fn
        self.name = fn.__name__
        self.__doc__ = fn.__doc__
        self.__name__ = fn.__name__
        self.file = inspect.getsourcefile(fn)
        lines, self.first_line = inspect.getsourcelines(fn)
        self.source = textwrap.dedent("".join(lines))
        self.col_offset = len(lines[0]) - len(lines[0].lstrip())
        self._python = {}

    def __repr__(self):
        return f"<DSL function {self.name} from {self.file}:{self.first_line}>"

    def parse(self) -> ast.FunctionDef:
        tree = ast.parse(self.source)
        ast.increment_lineno(tree, self.first_line - 1)
        node = tree.body[0]
        for sub in ast.walk(node):
            if hasattr(sub, "col_offset"):
                sub.col_offset += self.col_offset
        return node

    def _python_for(self, prec: str) -> Callable:
        """The function recompiled for running in Python at one precision: constants take that
        precision's values and bounded while loops really stop after N iterations."""
        if prec not in self._python:
            node = _PythonRun().visit(self.parse())
            node.decorator_list = []
            module = ast.fix_missing_locations(ast.Module(body=[node], type_ignores=[]))
            consts = P.constant_values(prec)
            eps = consts["EPS"]
            env = dict(self.fn.__globals__)
            env.update(consts)
            env["converged"] = lambda s, t, tol=eps: abs(s) <= tol * abs(t)
            exec(compile(module, self.file, "exec"), env)
            self._python[prec] = env[self.name]
        return self._python[prec]

    def __call__(self, *args):
        return self._python_for(_precision.get())(*args)


class _PythonRun(ast.NodeTransformer):
    """while bounded(c, N): body  ->  for _ in range(N): if not c: break; body"""

    def visit_While(self, node):
        self.generic_visit(node)
        test = node.test
        if (isinstance(test, ast.Call) and isinstance(test.func, ast.Name)
                and test.func.id == "bounded" and len(test.args) == 2):
            cond, bound = test.args
            stop = ast.If(test=ast.UnaryOp(op=ast.Not(), operand=cond),
                          body=[ast.Break()], orelse=[])
            loop = ast.For(target=ast.Name(id="_irgen_it", ctx=ast.Store()),
                           iter=ast.Call(func=ast.Name(id="range", ctx=ast.Load()),
                                         args=[bound], keywords=[]),
                           body=[stop] + node.body, orelse=[])
            return ast.copy_location(loop, node)
        return node


def dsl(fn: Callable) -> DSLFunction:
    """Mark a function as written in the DSL."""
    return DSLFunction(fn)


# ---------------------------------------------------------------- declarations

def _declared_at() -> tuple:
    """(file, line) of the statement in a DSL file that makes a declaration: the first
    frame out of this module and of generated code (a dataclass's __init__)."""
    f = sys._getframe(1)
    while f is not None and (f.f_code.co_filename == __file__
                             or f.f_code.co_filename.startswith("<")):
        f = f.f_back
    return (f.f_code.co_filename, f.f_lineno) if f is not None else (None, 0)


def _identifier(what: str, name) -> None:
    """Names become file names, Python names and C identifiers."""
    if not isinstance(name, str) or not name.isidentifier() or keyword.iskeyword(name):
        raise DeclarationError(f"{what} {name!r} must be a Python identifier")


def _dsl_function(owner: str, field: str, f, required=False) -> None:
    if f is None and not required:
        return
    if isinstance(f, DSLFunction):
        return
    what = (f"the plain function '{f.__name__}'" if callable(f) and hasattr(f, "__name__")
            else repr(f))
    raise DeclarationError(f"{owner}: {field}= is {what}, not a DSL function; "
                           f"decorate it with @dsl")


def _bound(owner: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise DeclarationError(f"{owner}: the bounds of a support are numbers, not {value!r}")
    return float(value)


@dataclass(frozen=True)
class Param:
    """A distribution parameter; domain is 'real' or 'positive' (finite in both cases).

    role 'location', 'scale' or 'rate' declares that z = loc + scale * eps (eps / rate)
    with eps free of the parameter: its implicit gradient is then the closed form (1,
    (z - loc) / scale, -(z - loc) / rate) and forward mode runs for the others only."""
    name: str
    doc: str = ""
    domain: str = "real"
    role: Optional[str] = None

    def __post_init__(self):
        _identifier("parameter name", self.name)
        if self.domain not in ("real", "positive"):
            raise DeclarationError(f"parameter {self.name}: domain must be 'real' or "
                                   f"'positive', not {self.domain!r}")
        if self.role not in (None, "location", "scale", "rate"):
            raise DeclarationError(f"parameter {self.name}: role must be location, scale or "
                                   f"rate, not {self.role!r}")


@dataclass(frozen=True)
class Interval:
    """Support [low, high]; outside it the CDF is 0 or 1 and the density 0."""
    low: float
    high: float

    def __post_init__(self):
        low, high = _bound("Interval", self.low), _bound("Interval", self.high)
        if not low < high:
            raise DeclarationError(f"Interval({self.low!r}, {self.high!r}): low must be "
                                   f"below high")


@dataclass(frozen=True)
class Periodic:
    """Support [low, high) with angles wrapped; the CDF itself does the wrapping."""
    low: float
    high: float

    def __post_init__(self):
        low, high = _bound("Periodic", self.low), _bound("Periodic", self.high)
        if not (low < high and math.isfinite(low) and math.isfinite(high)):
            raise DeclarationError(f"Periodic({self.low!r}, {self.high!r}): the period is "
                                   f"a finite interval, low below high")


@dataclass
class Distribution:
    """A univariate distribution declared in the DSL.

    cdf(x, *params) is required. log_prob is derived by forward mode in x when absent.
    log_cdf and log_sf (log of the lower and upper tail) let the implicit gradient be formed
    in log space; upper(x, *params) > 0 says where the upper form is the accurate one
    (default: where the CDF exceeds one half). float32='double' makes the float32 kernels
    compute in double and round once at the end. implicit='density' forms the implicit
    gradient with the density instead of the x derivative (see kernels.py).
    group(x, *params), optional, returns a small whole number (0 to 31) that is equal for
    elements taking the same branches of the algorithm; the CPU kernels then evaluate such
    elements side by side in SIMD lanes. It changes the speed, never a result.

    sample(*params), optional, draws one value with uniform() and normal() draws (rejection
    loops are bounded while loops; give NaN when the bound is reached). It brings the
    sample and rsample kernels. log_space, optional, is the distribution of log z, with the
    same parameters (its CDF written in log z, so that z may underflow), and log_sample(*params)
    draws log z with the same draws as sample: they bring log_implicit_grad, log_sample and
    log_rsample. sample_group(*params), optional, is group's counterpart for the samplers:
    elements of one group take the same branches of sample (the draws of an element do not
    depend on the order in which elements are evaluated).

    quantile_guess(u, *params), optional, is a first guess at the quantile, the x with
    F(x) = u, from which the icdf kernels' Newton iteration starts (it only changes how many
    steps they take: a guess outside the support, or NaN, is replaced by the generic start).
    """
    name: str
    params: tuple
    support: object
    cdf: DSLFunction
    doc: str = ""
    log_prob: Optional[DSLFunction] = None
    log_cdf: Optional[DSLFunction] = None
    log_sf: Optional[DSLFunction] = None
    upper: Optional[DSLFunction] = None
    float32: str = "float"
    implicit: str = "ratio"
    group: Optional[DSLFunction] = None
    sample: Optional[DSLFunction] = None
    sample_group: Optional[DSLFunction] = None
    log_space: Optional["Distribution"] = None
    log_sample: Optional[DSLFunction] = None
    quantile_guess: Optional[DSLFunction] = None
    file: Optional[str] = None

    def __post_init__(self):
        self.declared_at = _declared_at()
        _identifier("Distribution name", self.name)
        owner = f"Distribution {self.name!r}"
        if isinstance(self.params, Param) or not isinstance(self.params, (tuple, list)) \
                or not all(isinstance(p, Param) for p in self.params):
            raise DeclarationError(f"{owner}: params= is a tuple of Param(...)")
        self.params = tuple(self.params)
        names = [p.name for p in self.params]
        if len(set(names)) != len(names) or "x" in names:
            raise DeclarationError(f"{owner}: parameter names must differ from each other "
                                   f"and from the variable x")
        if not isinstance(self.support, (Interval, Periodic)):
            raise DeclarationError(f"{owner}: support= is Interval(low, high) or "
                                   f"Periodic(low, high), not {self.support!r}")
        for field in ("cdf", "log_prob", "log_cdf", "log_sf", "upper", "group", "sample",
                      "sample_group", "log_sample", "quantile_guess"):
            _dsl_function(owner, field, getattr(self, field), required=field == "cdf")
        if self.log_space is not None and not isinstance(self.log_space, Distribution):
            raise DeclarationError(f"{owner}: log_space= is a Distribution (of log z)")
        if self.float32 not in ("float", "double"):
            raise DeclarationError(f"{owner}: float32= is 'float' or 'double'")
        if self.implicit not in ("ratio", "density"):
            raise DeclarationError(f"{owner}: implicit= is 'ratio' or 'density'")
        if not isinstance(self.doc, str):
            raise DeclarationError(f"{owner}: doc= is a string")
        if self.file is None:
            self.file = self.cdf.file

    @property
    def param_names(self):
        return tuple(p.name for p in self.params)

    def functions(self) -> dict:
        return {k: getattr(self, k) for k in ("cdf", "log_prob", "log_cdf", "log_sf", "upper",
                                                "group")
                if getattr(self, k) is not None}


@dataclass
class Simplex:
    """A distribution on the probability simplex: z = G / sum(G) along the last axis, with
    independent G_j drawn from `component` at (alpha_j, *fixed); normalised Gammas of unit
    rate make the Dirichlet. The component declares sample, log_sample and log_space.

    Its kernels take a batch of rows (alpha as the last axis) and do one row's work in one
    pass: every G_j, drawn in log space where alpha_j < log_space_below (float64, float32
    arrays: below it G_j can leave the normal range), else directly; with rsample the
    implicit gradient of each G_j (of log G_j in log space); then the row's normalisation,
    which carries the gradients to z: dz_i/dalpha_j = v_j (delta_ij - z_i).

    log_prob_terms(x, alpha) and log_prob_total(a0), optional, declare the log density as
    the sum of the entries' terms and a term of a0 = sum(alpha); they bring the log_prob
    kernel (-inf off the simplex: an entry outside [0, 1], or a row that does not sum to 1
    within 4 K epsilons of its dtype)."""
    name: str
    param: Param
    component: Distribution
    fixed: tuple = ()
    log_space_below: tuple = (0.1, 0.5)
    log_prob_terms: Optional[DSLFunction] = None
    log_prob_total: Optional[DSLFunction] = None
    doc: str = ""
    file: Optional[str] = None

    def __post_init__(self):
        self.declared_at = _declared_at()
        _identifier("Simplex name", self.name)
        owner = f"Simplex {self.name!r}"
        if not isinstance(self.param, Param):
            raise DeclarationError(f"{owner}: param= is a Param(...)")
        if not isinstance(self.component, Distribution):
            raise DeclarationError(f"{owner}: component= is a Distribution")
        self.fixed = tuple(_bound(owner, v) for v in self.fixed)
        for field in ("log_prob_terms", "log_prob_total"):
            _dsl_function(owner, field, getattr(self, field))
        if not isinstance(self.doc, str):
            raise DeclarationError(f"{owner}: doc= is a string")
        if self.file is None:
            self.file = self.component.file

    @property
    def param_names(self):
        return (self.param.name,)


# ---------------------------------------------------------------- names for DSL files

def _python_primitive(cls):
    f = lambda *args: cls.run(*args)  # noqa: E731
    f.__name__ = cls.__name__
    return f


globals().update({name: _python_primitive(cls) for name, cls in P.FUNCTIONS.items()
                  if name not in ("abs", "min", "max", "pow")})
isnan = _python_primitive(P.isnan)
isinf = _python_primitive(P.isinf)
copysign = _python_primitive(P.copysign)
PI, INF, NAN = math.pi, math.inf, math.nan
EPS, TINY = 2.0 ** -52, 2.0 ** -1022


def converged(step, total, tol=EPS):
    return abs(step) <= tol * abs(total)


def deferrable():
    """False when a DSL function runs as Python (see irgen.primitives.deferrable)."""
    return False


__all__ = ["dsl", "bounded", "precision", "uniform", "normal", "draws", "Param", "Interval",
           "Periodic", "Distribution", "Simplex", "PI", "INF", "NAN", "EPS", "TINY", "isnan",
           "isinf", "converged", "deferrable", "copysign"] + [
    n for n in P.FUNCTIONS if n not in ("abs", "min", "max", "pow", "copysign")]
