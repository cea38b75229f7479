"""The primitive functions and constants a DSL function may use.

Each primitive is an opaque sympy function: sympy must not rewrite it (it would turn
erfc(-x) into 2 - erfc(x), which loses the lower tail), so none of sympy's own special
functions appear in the IR. Each primitive also knows how to run on Python floats and on
mpmath numbers, which is how a DSL function runs as ordinary Python.
"""
from __future__ import annotations

import math

import mpmath
import sympy as sp
from sympy.logic.boolalg import BooleanFunction


def _is_mp(*args) -> bool:
    return any(isinstance(a, (mpmath.mpf, mpmath.mpc)) for a in args)


class Primitive(sp.Function):
    """A real function of real arguments, printed as a call in C."""

    c_name: str  # double-precision C name; the float variant appends 'f' where C does
    float_suffix = True
    py = staticmethod(lambda *a: NotImplemented)
    mp = staticmethod(lambda *a: NotImplemented)

    @classmethod
    def run(cls, *args):
        return cls.mp(*args) if _is_mp(*args) else cls.py(*map(float, args))


class DSLPredicate(BooleanFunction):
    """A boolean function of real arguments (isnan, isinf, converged)."""

    @classmethod
    def run(cls, *args):
        return cls.mp(*args) if _is_mp(*args) else cls.py(*args)


def _prim(name, nargs, py, mp, c_name=None, float_suffix=True):
    cls = type(name, (Primitive,), {
        "nargs": nargs, "c_name": c_name or name, "float_suffix": float_suffix,
        "py": staticmethod(py), "mp": staticmethod(mp),
    })
    return cls


def _safe(f):
    """Python's math raises where C returns NaN or inf; the DSL follows C."""
    def g(*a):
        try:
            return f(*a)
        except (ValueError, ZeroDivisionError):
            return math.nan
        except OverflowError:
            return math.inf
    return g


def _lgamma(x):
    if x <= 0 and x == math.floor(x):
        return math.inf
    return math.lgamma(x)


def _mp_min(a, b):
    return b if mpmath.isnan(a) else a if mpmath.isnan(b) else min(a, b)


def _mp_max(a, b):
    return b if mpmath.isnan(a) else a if mpmath.isnan(b) else max(a, b)


def _fmin(a, b):
    return b if math.isnan(a) else a if math.isnan(b) else min(a, b)


def _fmax(a, b):
    return b if math.isnan(a) else a if math.isnan(b) else max(a, b)


exp = _prim("exp", 1, _safe(math.exp), mpmath.exp)
log = _prim("log", 1, _safe(lambda x: -math.inf if x == 0 else math.log(x)), mpmath.log)
log1p = _prim("log1p", 1, _safe(lambda x: -math.inf if x == -1 else math.log1p(x)), mpmath.log1p)
expm1 = _prim("expm1", 1, _safe(math.expm1), mpmath.expm1)
sqrt = _prim("sqrt", 1, _safe(math.sqrt), mpmath.sqrt)
sin = _prim("sin", 1, _safe(math.sin), mpmath.sin)
cos = _prim("cos", 1, _safe(math.cos), mpmath.cos)
tan = _prim("tan", 1, _safe(math.tan), mpmath.tan)
atan = _prim("atan", 1, math.atan, mpmath.atan)
atan2 = _prim("atan2", 2, math.atan2, mpmath.atan2)
sinh = _prim("sinh", 1, _safe(math.sinh), mpmath.sinh)
cosh = _prim("cosh", 1, _safe(math.cosh), mpmath.cosh)
tanh = _prim("tanh", 1, math.tanh, mpmath.tanh)
erf = _prim("erf", 1, math.erf, mpmath.erf)
erfc = _prim("erfc", 1, math.erfc, mpmath.erfc)
lgamma = _prim("lgamma", 1, _lgamma, lambda x: mpmath.log(abs(mpmath.gamma(x))),
               c_name="irgen_lgamma")
floor = _prim("floor", 1, lambda x: float(math.floor(x)) if math.isfinite(x) else x,
              mpmath.floor)
fabs = _prim("fabs", 1, abs, abs)
fmin = _prim("fmin", 2, _fmin, _mp_min)
fmax = _prim("fmax", 2, _fmax, _mp_max)
copysign = _prim("copysign", 2, math.copysign, lambda a, b: abs(a) if b >= 0 else -abs(a))
powf = _prim("pow", 2, _safe(lambda a, b: math.pow(a, b)), mpmath.power)
def _exponent(x):
    """e with |x| = m 2^e, 1 <= m < 2, for finite nonzero x; NaN otherwise."""
    if x == 0 or not math.isfinite(x):
        return math.nan
    return float(math.frexp(x)[1] - 1)


def _mp_exponent(x):
    if x == 0 or not mpmath.isfinite(x):
        return mpmath.nan
    return mpmath.mpf(mpmath.frexp(x)[1] - 1)


def _mantissa(x):
    """m = x / 2^e with e = exponent(x), so 1 <= |m| < 2 with x's sign; NaN where exponent is."""
    if x == 0 or not math.isfinite(x):
        return math.nan
    return 2.0 * math.frexp(x)[0]


def _mp_mantissa(x):
    if x == 0 or not mpmath.isfinite(x):
        return mpmath.nan
    return 2 * mpmath.frexp(x)[0]


def _pow2(n):
    """2^n for a whole number n, as long as it is a normal float64; inf above, 0 below."""
    if math.isnan(n):
        return n
    n = math.floor(n)
    return math.inf if n > 1023 else 0.0 if n < -1022 else math.ldexp(1.0, n)


# Exact operations for the elementary functions of irgen/lib/portable.py: the exponent of a
# number and a power of two, both without rounding, so that functions built from them and
# the four operations give the same bits on every target.
exponent = _prim("exponent", 1, _exponent, _mp_exponent, c_name="irgen_exponent")
mantissa = _prim("mantissa", 1, _mantissa, _mp_mantissa, c_name="irgen_mantissa")
pow2 = _prim("pow2", 1, _pow2, lambda n: mpmath.mpf(2) ** mpmath.floor(n), c_name="irgen_pow2")
# x itself, through which forward mode passes no tangent: with it a DSL function can state a
# derivative in closed form, as value + (x - detach(x)) * derivative (zero in value).
detach = _prim("detach", 1, lambda x: x, lambda x: x)


class isnan(DSLPredicate):
    nargs = 1
    py = staticmethod(math.isnan)
    mp = staticmethod(mpmath.isnan)


class isinf(DSLPredicate):
    nargs = 1
    py = staticmethod(math.isinf)
    mp = staticmethod(mpmath.isinf)


class deferrable(DSLPredicate):
    """deferrable(): in a sampler's while loop, true where the current try may be left
    undecided (the loop's condition still true) to be run again later with the same draws:
    the C lanes' first pass over a chunk, whose lanes still in such a loop after one try are
    drawn again, from their streams' starts (targets/c/lanes.py, Again). False everywhere
    else (as Python, the scalar C and CUDA), so a branch taken where it is false is the
    algorithm itself, and one taken where it is true can only postpone a decision."""
    nargs = 0
    py = staticmethod(lambda: False)
    mp = py


class converged(DSLPredicate):
    """converged(step, total[, tol]): |step| <= tol * |total|, tol = EPS by default.

    The forward-mode transform extends the test to the tangents of step and total, so a
    loop that stops on convergence also waits for its derivative to converge.
    """
    nargs = (2, 3)
    py = staticmethod(lambda s, t, tol: abs(s) <= tol * abs(t))
    mp = py


class Not(BooleanFunction):
    """Logical not that sympy may not turn into the opposite comparison: with NaN,
    `not (x < y)` is true while `x >= y` is false."""
    nargs = 1

    @classmethod
    def eval(cls, a):
        if a is sp.true:
            return sp.false
        if a is sp.false:
            return sp.true
        return None


class DSLCall(sp.Function):
    """Placeholder for a call to another DSL function inside an expression; the front end
    and the forward-mode pass hoist these into ir.Call statements."""


class Table(sp.Function):
    """NAME[i]: an entry of a module-level tuple of numbers, indexed by a loop variable.
    Emitted as a static const array; its derivative is zero."""
    values: tuple = ()
    nargs = 1


def table(name: str, values) -> type:
    return type(name, (Table,), {"values": tuple(float(v) for v in values)})


def dsl_call(name: str, args) -> sp.Expr:
    cls = type(name, (DSLCall,), {"nargs": len(args)})
    return cls(*args)


# Names a DSL function may call, in the source spelling.
FUNCTIONS: dict[str, type] = {
    "exp": exp, "log": log, "log1p": log1p, "expm1": expm1, "sqrt": sqrt,
    "sin": sin, "cos": cos, "tan": tan, "atan": atan, "atan2": atan2,
    "sinh": sinh, "cosh": cosh, "tanh": tanh, "erf": erf, "erfc": erfc,
    "lgamma": lgamma, "floor": floor, "abs": fabs, "min": fmin, "max": fmax,
    "copysign": copysign, "pow": powf, "detach": detach, "exponent": exponent,
    "mantissa": mantissa, "pow2": pow2,
}
PREDICATES: dict[str, type] = {"isnan": isnan, "isinf": isinf, "converged": converged,
                               "deferrable": deferrable}
# Draws a sampler may take: each call is the next value of the element's random stream.
DRAWS = {"uniform": "a uniform value in the open interval (0, 1)",
         "normal": "a standard normal value"}

# Named constants. EPS and TINY are the kernel dtype's machine epsilon and smallest normal.
CONSTANTS = {name: sp.Symbol("IRGEN_" + name, real=True)
             for name in ("PI", "INF", "NAN", "EPS", "TINY")}
CONSTANT_NAMES = {sym: name for name, sym in CONSTANTS.items()}

_DTYPE_CONSTANTS = {
    "float64": {"EPS": 2.0 ** -52, "TINY": 2.0 ** -1022},
    "float32": {"EPS": 2.0 ** -23, "TINY": 2.0 ** -126},
}


def constant_values(precision: str) -> dict:
    """Values of the named constants when a DSL function runs as Python.

    precision is 'float64', 'float32' (constants of that dtype, arithmetic in Python
    floats) or 'mpmath' (constants at the working precision of mpmath.mp)."""
    if precision == "mpmath":
        return {"PI": +mpmath.pi, "INF": mpmath.inf, "NAN": mpmath.nan,
                "EPS": mpmath.eps, "TINY": mpmath.mpf(2) ** -100000}
    return {"PI": math.pi, "INF": math.inf, "NAN": math.nan, **_DTYPE_CONSTANTS[precision]}
