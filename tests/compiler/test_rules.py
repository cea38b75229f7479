"""Every derivative rule against sympy.diff of the corresponding sympy function."""
import math

import mpmath
import pytest
import sympy as sp

from irgen import primitives as P
from irgen.lib.special import digamma
from irgen.rules import RULES

x, y = sp.symbols("x y", real=True)
SYMPY = {
    P.exp: sp.exp, P.log: sp.log, P.log1p: lambda a: sp.log(1 + a),
    P.expm1: lambda a: sp.exp(a) - 1, P.sqrt: sp.sqrt, P.sin: sp.sin, P.cos: sp.cos,
    P.tan: sp.tan, P.atan: sp.atan, P.atan2: sp.atan2, P.sinh: sp.sinh, P.cosh: sp.cosh,
    P.tanh: sp.tanh, P.erf: sp.erf, P.erfc: sp.erfc, P.lgamma: sp.loggamma,
    P.floor: sp.floor, P.fabs: sp.Abs, P.fmin: sp.Min, P.fmax: sp.Max,
    P.copysign: lambda a, b: sp.Abs(a) * sp.sign(b),
}
POINTS = [(0.3, 0.7), (1.7, -0.4), (2.9, 1.3), (-0.6, 2.2)]


def _value(expr, subs):
    """Evaluate a rule's output numerically; DSL calls (digamma) run as Python."""
    expr = expr.replace(lambda e: isinstance(e, P.DSLCall),
                        lambda e: sp.Float(digamma(float(e.args[0].subs(subs)))))
    expr = expr.replace(lambda e: isinstance(e, P.Primitive),
                        lambda e: sp.Float(type(e).run(*[float(a.subs(subs)) for a in e.args])))
    return float(expr.subs(subs))


def test_every_primitive_has_a_rule():
    assert set(P.FUNCTIONS.values()) - {P.powf} <= set(RULES)


def test_detach_is_the_value_without_a_tangent():
    """detach(x) is x when run, and forward mode passes nothing through it."""
    from irgen.ad import depends_on, tangent
    assert P.detach.run(0.3) == 0.3 and P.detach.run(mpmath.mpf(2)) == 2
    e = x * P.detach(x * y) + P.exp(P.detach(y))
    assert depends_on(e) == {x}
    assert sp.simplify(tangent(e, {x: sp.Integer(1), y: sp.Integer(1)})
                       - P.detach(x * y)) == 0


def test_exact_scalings_are_piecewise_constant():
    """exponent and pow2 (of whole numbers) have zero derivatives where they have one."""
    assert RULES[P.exponent](x) == (0,) and RULES[P.pow2](x) == (0,)
    assert P.exponent.run(0.75) == -1 and P.exponent.run(5e-324) == -1074
    assert math.isnan(P.exponent.run(0.0)) and math.isnan(P.exponent.run(math.inf))
    assert P.pow2.run(-1022) == 2.0 ** -1022 and P.pow2.run(-1023) == 0
    assert P.pow2.run(1024) == math.inf


def test_mantissa_and_its_rule():
    """mantissa(x) = x / 2^exponent(x), exact, NaN where exponent is; its derivative
    2^-exponent(x) against a central difference inside a binade."""
    assert P.mantissa.run(0.75) == 1.5 and P.mantissa.run(-12.0) == -1.5
    assert P.mantissa.run(5e-324) == 1.0 and math.isnan(P.mantissa.run(0.0))
    assert math.isnan(P.mantissa.run(-math.inf)) and math.isnan(P.mantissa.run(math.nan))
    (rule,) = RULES[P.mantissa](x)
    for point in (0.75, -12.0, 3e-300, 1.3e5):
        h = abs(point) * 1e-7
        fd = (P.mantissa.run(point + h) - P.mantissa.run(point - h)) / (2 * h)
        assert abs(_value(rule, {x: point}) - fd) <= 1e-6 * abs(fd)


@pytest.mark.parametrize("prim", sorted(set(RULES) - {P.detach, P.exponent, P.pow2,
                                                      P.mantissa},
                                        key=lambda c: c.__name__),
                         ids=lambda c: c.__name__)
def test_rule_matches_sympy(prim):
    n = prim.nargs.args[0] if hasattr(prim.nargs, "args") else prim.nargs
    args = (x, y)[:n]
    partials = RULES[prim](*args)
    want = [sp.diff(SYMPY[prim](*args), a) for a in args]
    checked = 0
    for px, py in POINTS:
        subs = {x: px, y: py}
        if prim in (P.log, P.sqrt, P.lgamma) and px <= 0:
            continue
        if prim is P.log1p and px <= -1:
            continue
        for got, ref in zip(partials, want):
            r = ref.subs(subs)
            if prim is P.floor:
                r = 0.0   # sympy leaves floor' unevaluated; it is 0 almost everywhere
            r = float(sp.N(r, 30))
            assert _value(sp.sympify(got), subs) == pytest.approx(r, rel=1e-13, abs=1e-14)
            checked += 1
    assert checked


def test_digamma_against_mpmath():
    # absolute error of a few ulps of the summed terms (the relative error near the root
    # x = 1.4616... is unbounded, as for any digamma computed by recurrence)
    for v in (1e-3, 0.25, 1.0, 1.4616321449683622, 3.5, 9.99, 10.0, 57.0, 1e4):
        assert digamma(v) == pytest.approx(float(mpmath.digamma(v)), rel=4e-16, abs=1e-15)
    for v in (-0.5, -2.75, -7.3):   # reflection
        assert digamma(v) == pytest.approx(float(mpmath.digamma(v)), rel=1e-14)
    assert math.isnan(digamma(-3.0))


def test_pow_rule_through_forward_mode():
    from irgen.ad import tangent
    dx, dy = sp.symbols("dx dy", real=True)
    t = tangent(x ** y, {x: dx, y: dy})
    want = sp.diff(x ** y, x) * dx + sp.diff(x ** y, y) * dy
    vals = {x: 1.3, y: 0.7, dx: 0.2, dy: -0.5}
    got = t.replace(lambda e: isinstance(e, P.Primitive),
                    lambda e: sp.Float(type(e).run(*[float(a.subs(vals)) for a in e.args])))
    assert float(got.subs(vals)) == pytest.approx(float(want.subs(vals)), rel=1e-14)
