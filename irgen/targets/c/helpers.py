"""The C helpers that lane-parallel functions call, rendered from the C target's templates
(templates/lane_helpers.c.j2, lane_draws.c.j2) for one compute dtype: selects and
broadcasts, vector forms of the primitives (glibc's vector math library where present,
else lane by lane; exp and lgamma as polynomials of irgen's own), and each lane's random
stream."""
from __future__ import annotations

import functools
import math

from ... import primitives as P
from ..cfamily import Dtype
from .lanes import MVEC, MVEC_OLD, VECTOR_PRIMITIVES, lane_types


def _render(template: str, **values) -> str:
    from . import CTarget
    return CTarget().environment().get_template(template).render(**values).rstrip("\n")


def helpers(t: Dtype) -> str:
    """The vector helpers the lane-parallel functions of one dtype call
    (templates/lane_helpers.c.j2)."""
    V, M, W = lane_types(t)
    s, f = t.suffix, t.literal_suffix
    double = t.name == "float64"
    bits = dict(bits=52, bias=1023, width=0x7FF, tiny="DBL_MIN", scale="0x1p54", up=54) \
        if double else dict(bits=23, bias=127, width=0xFF, tiny="FLT_MIN", scale="0x1p25f",
                            up=25)
    primitives = []
    for prim in P.FUNCTIONS.values():
        name = prim.__name__
        if name in VECTOR_PRIMITIVES or prim is P.detach:
            continue
        n = int(max(prim.nargs))
        primitives.append(dict(
            name=name, c=prim.c_name + (f if prim.float_suffix else ""),
            params=", ".join(f"{V} x{i}" for i in range(n)),
            args=", ".join(f"x{i}[l]" for i in range(n)),
            mvec=name in MVEC, mvec_old=name in MVEC_OLD,
            mv=f"IRGEN_MV{'2' if n == 2 else ''}{s}({name})", mv_args=", ".join([V] * n),
            mv_call=", ".join(f"irgen_sel{s}(m, x{i}, irgen_bc{s}(1))" for i in range(n))))
    return _render("lane_helpers.c.j2", V=V, M=M, W=W, T=t.ctype, s=s, f=f, bits=bits,
                   inf=t.consts["INF"], nan=t.consts["NAN"], primitives=primitives,
                   exp=_exp(t), lgamma=_lgamma(t))


def draw_helpers(t: Dtype) -> str:
    """The random streams of a vector of elements and their draws
    (templates/lane_draws.c.j2)."""
    V, M, W = lane_types(t)
    double = t.name == "float64"
    Q = "irgen_ud" if double else "irgen_wf"     # the queue's words, as wide as M's lanes
    return _render("lane_draws.c.j2", V=V, M=M, W=W, s=t.suffix, U=f"irgen_u{V[-1]}",
                   Q=Q, R=f"irgen_rng_v{t.suffix}", cvt=f"IRGEN_CVT{t.suffix}",
                   double=double)


# exp(x) = 2^n exp(r), n = round(x / ln 2) (by adding and taking away 1.5 2^52, or 1.5 2^23
# in float), r = x - n ln 2 in [-ln2/2, ln2/2] with ln 2 in two
# parts (n times the first is exact), exp(r) by its Taylor polynomial (the next term is below
# 5e-18 in double, 5e-9 in float), 2^n as two powers of two built from their bits, so that
# results near overflow and in the subnormal range round once. Within 1.2 ulp (measured
# against mpmath), no table, no call: where glibc's vector library is missing this is much
# faster than libm lane by lane (where it is present, its table-based exp is faster still).
_EXP = {
    "float64": {"lo": -746.0, "hi": 710.0, "c1": "0.6931471801362932",
                "c2": "4.236521365809284e-10", "degree": 13, "bias": 1023, "shift": 52,
                "magic": "6755399441055744.0"},
    "float32": {"lo": -104.0, "hi": 89.0, "c1": "0.693115234375f",
                "c2": "3.194618329871446e-05f", "degree": 7, "bias": 127, "shift": 23,
                "magic": "12582912.0f"},
}


def _exp(t: Dtype) -> dict:
    """The values of the polynomial exp in templates/lane_helpers.c.j2."""
    f, c = t.literal_suffix, _EXP[t.name]
    coef = [1.0 / math.factorial(k) for k in range(c["degree"] + 1)]
    return dict(c, poly=_horner(coef, "r", f), inv_ln2=repr(1 / math.log(2)))


def _horner(coef, x: str, f: str) -> str:
    """The C expression of sum coef[k] x^k by Horner's rule (coefficients lowest first, as
    literals with suffix f)."""
    poly = f"{coef[-1]!r}{f}"
    for a in reversed(coef[:-1]):
        poly = f"({poly} * {x} + {a!r}{f})"
    return poly


# lgamma(1 + t) / (t (t - 1)) on [0, 2] is analytic but for lgamma's pole at t = -1: its
# Chebyshev series falls by 2 + sqrt(3) a degree, and a polynomial of degree 28 (12 in
# float) through its values at Chebyshev points is within rounding of it (measured against
# mpmath: lgamma(1 + t) to 1.7 ulp, 1.4 in float). Stirling's series from x = 10 with the
# terms up to B_16 (B_6 in float): the next is below 2e-18 (6e-11) relative.
_LGAMMA_DEGREE = {"float64": 28, "float32": 12}
_STIRLING = ((1, 12), (1, 360), (1, 1260), (1, 1680), (1, 1188), (691, 360360), (1, 156),
             (3617, 122400))


@functools.lru_cache(maxsize=None)
def _lgamma_coefficients(degree: int) -> tuple:
    """R(c) = lgamma(2 + c) / ((1 + c) c) through degree + 1 Chebyshev points of [-1, 1]: its
    coefficients in powers of c, lowest first (solved at 50 digits, then rounded: the same
    on every machine)."""
    import mpmath
    with mpmath.workdps(50):
        def r(c):
            t = c + 1     # (the middle point, cos(pi / 2), rounds to t = 1: the limit there)
            return 1 - mpmath.euler if t == 1 else mpmath.loggamma(1 + t) / (t * c)
        n = degree + 1
        points = [mpmath.cos(mpmath.pi * (j + mpmath.mpf(1) / 2) / n) for j in range(n)]
        a = mpmath.matrix([[c ** k for k in range(n)] for c in points])
        coef = mpmath.lu_solve(a, mpmath.matrix([r(c) for c in points]))
        return tuple(float(coef[k]) for k in range(n))


def _lgamma(t: Dtype) -> dict:
    """The polynomial and Stirling terms of the vector lgamma in templates/lane_helpers.c.j2."""
    f = t.literal_suffix
    coef = _lgamma_coefficients(_LGAMMA_DEGREE[t.name])
    # in powers of c^4 (c^2 in float): four (two) Horner chains of a quarter (half) the
    # length, run side by side, where one chain would make every call wait its whole length
    ways = 4 if t.name == "float64" else 2
    chains = [_horner(coef[j::ways], "cc", f) for j in range(ways)]
    poly = chains[-1]
    for chain in reversed(chains[:-1]):
        poly = f"({chain} + c * {poly})"
    terms = _STIRLING if t.name == "float64" else _STIRLING[:3]
    stirling = f"{terms[-1][0] / terms[-1][1]!r}{f}"
    for p, q in reversed(terms[:-1]):
        stirling = f"({p / q!r}{f} - f * {stirling})"
    return dict(poly=poly, power=" * ".join(["c"] * ways), stirling=stirling,
                log_sqrt_2pi=repr(0.5 * math.log(2 * math.pi)),
                ulps="2.5" if t.name == "float64" else "4")
