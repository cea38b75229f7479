"""Derivative rules of the primitives, one line each: the partial derivatives with respect
to each argument. A rule that needs a function C lacks calls a DSL function (digamma from
irgen/lib/special.py). tests/compiler/test_rules.py checks every rule against sympy.diff."""
from __future__ import annotations

import sympy as sp

from . import primitives as P

TWO_OVER_SQRT_PI = sp.Float(1.1283791670955126)


def _indicator(cond):
    return sp.Piecewise((1, cond), (0, True))


RULES = {
    P.exp:      lambda x: (P.exp(x),),
    P.log:      lambda x: (1 / x,),
    P.log1p:    lambda x: (1 / (1 + x),),
    P.expm1:    lambda x: (P.exp(x),),
    P.sqrt:     lambda x: (1 / (2 * P.sqrt(x)),),
    P.sin:      lambda x: (P.cos(x),),
    P.cos:      lambda x: (-P.sin(x),),
    P.tan:      lambda x: (1 + P.tan(x) ** 2,),
    P.atan:     lambda x: (1 / (1 + x ** 2),),
    P.atan2:    lambda y, x: (x / (x ** 2 + y ** 2), -y / (x ** 2 + y ** 2)),
    P.sinh:     lambda x: (P.cosh(x),),
    P.cosh:     lambda x: (P.sinh(x),),
    P.tanh:     lambda x: (1 - P.tanh(x) ** 2,),
    P.erf:      lambda x: (TWO_OVER_SQRT_PI * P.exp(-x ** 2),),
    P.erfc:     lambda x: (-TWO_OVER_SQRT_PI * P.exp(-x ** 2),),
    P.lgamma:   lambda x: (P.dsl_call("digamma", (x,)),),
    P.floor:    lambda x: (sp.Integer(0),),
    P.fabs:     lambda x: (P.copysign(1, x),),
    P.fmin:     lambda a, b: (_indicator(sp.Le(a, b)), _indicator(sp.Gt(a, b))),
    P.fmax:     lambda a, b: (_indicator(sp.Ge(a, b)), _indicator(sp.Lt(a, b))),
    P.copysign: lambda a, b: (P.copysign(1, a) * P.copysign(1, b), sp.Integer(0)),
    P.detach:   lambda x: (sp.Integer(0),),
    P.exponent: lambda x: (sp.Integer(0),),
    P.mantissa: lambda x: (P.pow2(-P.exponent(x)),),  # x / 2^e, e constant where it is smooth
    P.pow2:     lambda n: (sp.Integer(0),),           # of whole numbers only
}

# DSL functions that rules call, and the module that defines them.
RULE_LIBRARY = {"digamma": "irgen.lib.special"}


def pow_partials(base, exponent):
    """d(b**e)/db and d(b**e)/de; the second only where the exponent is not a number."""
    db = exponent * sp.Pow(base, exponent - 1)
    de = sp.Integer(0) if exponent.is_number else sp.Pow(base, exponent) * P.log(base)
    return db, de
