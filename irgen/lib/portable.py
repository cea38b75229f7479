"""Elementary functions that give the same bits on every target, for samplers.

Math libraries differ from one another by an ulp here and there (glibc's vector functions,
which the C kernels' SIMD lanes call, by up to 4 from CUDA's), and a sampler turns such a
difference into a different sample: u^(1/alpha) multiplies it by |log u| / alpha, and a
rejection test may flip. These functions are built from +, -, *, /, sqrt, floor and the
exact exponent, mantissa and pow2, each step a statement of its own (so that neither
sympy, which would distribute 2 pi over 1/4 - a, nor a compiler rearranges it), and
both targets contract no multiply-add; the C lanes and the CUDA threads therefore compute
identical bits. Within 3 ulp of the true values (tests/distributions/test_portable.py, against mpmath).

The methods are the classical ones: log through s = f / (2 + f) and the series of
atanh (the arrangement of Sun's fdlibm, with Taylor coefficients), exp through
n = round(x / log 2) and a Taylor polynomial, cos and sin of whole turns by reflection to
an eighth of a turn, atan by reflection at 1 and the shift by pi/6 at tan(pi/12). Each
polynomial is evaluated by Estrin's scheme: pairs, then pairs of pairs with z^2, z^4, z^8."""
import math

from irgen.dsl import *

SQRT2 = 1.4142135623730951
SQRT3 = 1.7320508075688772
TWO_PI = 6.283185307179586
PI_2 = 1.5707963267948966
PI_6 = 0.5235987755982989
TAN_PI_12 = 0.2679491924311227
INV_LN2 = 1.4426950408889634
# log 2 in two parts; the first has trailing zero bits, so e * LN2_HI is exact
LN2_HI = 6.93147180369123816490e-01
LN2_LO = 1.90821492927058770002e-10
LN2_HI_F = 0.693145751953125          # the same for float: 16 significant bits
LN2_LO_F = 1.428606765330187e-06
TWO_54 = 18014398509481984.0          # scales a subnormal number up to a normal one
# Taylor coefficients, lowest degree first, as names L0, L1, ... (the polynomials are
# evaluated by Estrin's scheme, whose short dependency chains keep SIMD units busy)
_COEFFICIENTS = {
    "L": [2.0 / (2 * k + 3) for k in range(11)],          # atanh: log(1+f) = 2s + s z sum
    "E": [1.0 / math.factorial(k) for k in range(14)],    # exp
    "C": [(-1) ** k / math.factorial(2 * k) for k in range(13)],       # cos, in x^2
    "S": [(-1) ** k / math.factorial(2 * k + 1) for k in range(9)],    # sin / x, in x^2
    "A": [(-1) ** k / (2 * k + 1) for k in range(14)],    # atan / x, in x^2
}
globals().update({f"{name}{k}": c for name, cs in _COEFFICIENTS.items()
                  for k, c in enumerate(cs)})


@dsl
def ln2_hi(x):
    """The high part of log 2 for the dtype in use (x only carries the dtype)."""
    return LN2_HI if EPS < 1e-10 else LN2_HI_F


@dsl
def ln2_lo(x):
    return LN2_LO if EPS < 1e-10 else LN2_LO_F


@dsl
def log_series(z):
    """sum of L_k z^k, k = 0..10 (float: 0..4)."""
    z2 = z * z
    if EPS > 1e-10:
        return (L0 + L1 * z) + (L2 + L3 * z) * z2 + L4 * (z2 * z2)
    z4 = z2 * z2
    z8 = z4 * z4
    q0 = L0 + L1 * z
    q1 = L2 + L3 * z
    q2 = L4 + L5 * z
    q3 = L6 + L7 * z
    q4 = L8 + L9 * z
    r0 = q0 + q1 * z2
    r1 = q2 + q3 * z2
    r2 = q4 + L10 * z2
    u = r0 + r1 * z4
    return u + r2 * z8


@dsl
def exp_series(r):
    """sum of E_k r^k, k = 0..13 (float: 0..7)."""
    r2 = r * r
    r4 = r2 * r2
    if EPS > 1e-10:
        lo = (E0 + E1 * r) + (E2 + E3 * r) * r2
        hi = (E4 + E5 * r) + (E6 + E7 * r) * r2
        return lo + hi * r4
    r8 = r4 * r4
    q0 = E0 + E1 * r
    q1 = E2 + E3 * r
    q2 = E4 + E5 * r
    q3 = E6 + E7 * r
    q4 = E8 + E9 * r
    q5 = E10 + E11 * r
    q6 = E12 + E13 * r
    t0 = q0 + q1 * r2
    t1 = q2 + q3 * r2
    t2 = q4 + q5 * r2
    u0 = t0 + t1 * r4
    u1 = t2 + q6 * r4
    return u0 + u1 * r8


@dsl
def atan_series(z):
    """sum of A_k z^k, k = 0..13 (float: 0..6)."""
    z2 = z * z
    z4 = z2 * z2
    if EPS > 1e-10:
        lo = (A0 + A1 * z) + (A2 + A3 * z) * z2
        hi = (A4 + A5 * z) + A6 * z2
        return lo + hi * z4
    z8 = z4 * z4
    q0 = A0 + A1 * z
    q1 = A2 + A3 * z
    q2 = A4 + A5 * z
    q3 = A6 + A7 * z
    q4 = A8 + A9 * z
    q5 = A10 + A11 * z
    q6 = A12 + A13 * z
    t0 = q0 + q1 * z2
    t1 = q2 + q3 * z2
    t2 = q4 + q5 * z2
    u0 = t0 + t1 * z4
    u1 = t2 + q6 * z4
    return u0 + u1 * z8


@dsl
def cos_poly(x):
    """cos x for |x| <= pi/4: C_k x^2k, k = 0..8 (float: 0..5)."""
    z = x * x
    z2 = z * z
    z4 = z2 * z2
    if EPS > 1e-10:
        return ((C0 + C1 * z) + (C2 + C3 * z) * z2) + (C4 + C5 * z) * z4
    z8 = z4 * z4
    q0 = C0 + C1 * z
    q1 = C2 + C3 * z
    q2 = C4 + C5 * z
    q3 = C6 + C7 * z
    t0 = q0 + q1 * z2
    t1 = q2 + q3 * z2
    u = t0 + t1 * z4
    return u + C8 * z8


@dsl
def sin_poly(x):
    """sin x for |x| <= pi/4: x S_k x^2k, k = 0..8 (float: 0..5)."""
    z = x * x
    z2 = z * z
    z4 = z2 * z2
    if EPS > 1e-10:
        return x * (((S0 + S1 * z) + (S2 + S3 * z) * z2) + (S4 + S5 * z) * z4)
    z8 = z4 * z4
    q0 = S0 + S1 * z
    q1 = S2 + S3 * z
    q2 = S4 + S5 * z
    q3 = S6 + S7 * z
    t0 = q0 + q1 * z2
    t1 = q2 + q3 * z2
    u = t0 + t1 * z4
    p = u + S8 * z8
    return x * p


@dsl
def cos_wide(x):
    """cos x for 0 <= x <= pi/2, one polynomial (C_k x^2k, k = 0..12): within 2 eps in
    absolute terms, not relative ones near pi/2 (box_muller needs no more); float: 0..7."""
    z = x * x
    z2 = z * z
    z4 = z2 * z2
    if EPS > 1e-10:
        lo = (C0 + C1 * z) + (C2 + C3 * z) * z2
        hi = (C4 + C5 * z) + (C6 + C7 * z) * z2
        return lo + hi * z4
    z8 = z4 * z4
    q0 = C0 + C1 * z
    q1 = C2 + C3 * z
    q2 = C4 + C5 * z
    q3 = C6 + C7 * z
    q4 = C8 + C9 * z
    q5 = C10 + C11 * z
    t0 = q0 + q1 * z2
    t1 = q2 + q3 * z2
    t2 = q4 + q5 * z2
    u0 = t0 + t1 * z4
    u1 = t2 + C12 * z4
    return u0 + u1 * z8


@dsl
def log_reduced(m, e, x):
    """e log 2 + log m for m in [sqrt(2)/2, sqrt(2)] (fdlibm's method: log m from
    s = (m - 1) / (m + 1) and an odd series); x, the argument, picks ln 2's split."""
    f = m - 1.0
    s = f / (2.0 + f)
    z = s * s
    r = z * log_series(z)
    hfsq = 0.5 * f * f
    t = hfsq + r
    t = s * t
    t = t + e * ln2_lo(x)
    t = hfsq - t
    t = t - f
    return e * ln2_hi(x) - t


@dsl
def portable_log(x):
    """log x. The special values are chosen at the end, not by early returns, so that SIMD
    lanes run one straight path."""
    big = x * TWO_54 if x < TINY else x         # a subnormal x is scaled up first
    e = exponent(big)
    m = mantissa(big)                           # x / 2^e, in [1, 2), exactly
    m = 0.5 * m if m > SQRT2 else m
    e = e + (1.0 if m < 1.0 else 0.0) - (54.0 if x < TINY else 0.0)
    y = log_reduced(m, e, x)
    return y if x > 0.0 and x < INF else (-INF if x == 0.0 else (INF if x == INF else NAN))


@dsl
def log_of_draw(u):
    """log u for a uniform draw u in (0, 1] (at least 2^-64): portable_log's arithmetic,
    the same bits, without its cases for subnormal, huge and special arguments, which a
    draw never is; a sampler takes a logarithm or two per draw."""
    e = exponent(u)
    m = mantissa(u)                             # u / 2^e, in [1, 2), exactly
    m = 0.5 * m if m > SQRT2 else m
    return log_reduced(m, e + (1.0 if m < 1.0 else 0.0), u)


@dsl
def portable_exp(x):
    """exp x; 0 where it underflows, inf where it overflows."""
    c = min(max(x, -1100.0), 1100.0)
    n = floor(c * INV_LN2 + 0.5)
    r = c - n * ln2_hi(x)
    r = r - n * ln2_lo(x)
    p = exp_series(r)
    h = floor(0.5 * n)
    y = p * pow2(h)                     # exact: p 2^h is a normal number
    y = y * pow2(n - h)                 # the one rounding, where the result is subnormal
    return x if isnan(x) else y


@dsl
def cos_turns(t):
    """cos(2 pi t): t reduced to [0, 1/2] (exactly), reflected to [0, 1/4], and the last
    eighth of a turn through sin."""
    a = abs(t - floor(t + 0.5))
    sign = -1.0 if a > 0.25 else 1.0
    a = 0.5 - a if a > 0.25 else a
    d = 0.25 - a                        # exact; a statement, so that sympy does not
    c = 0.0                             # distribute 2 pi over the difference
    if a > 0.125:
        c = sin_poly(TWO_PI * d)
    else:
        c = cos_poly(TWO_PI * a)
    return sign * c


@dsl
def sin_turns(t):
    """sin(2 pi t), by the same reductions."""
    r = t - floor(t + 0.5)
    a = abs(r)
    a = 0.5 - a if a > 0.25 else a
    d = 0.25 - a
    c = 0.0
    if a > 0.125:
        c = cos_poly(TWO_PI * d)
    else:
        c = sin_poly(TWO_PI * a)
    return copysign(c, r)


@dsl
def portable_atan(x):
    """atan x."""
    a = abs(x)
    inverted = 1.0 if a > 1.0 else 0.0
    a = 1.0 / a if a > 1.0 else a
    shifted = 1.0 if a > TAN_PI_12 else 0.0
    num = a * SQRT3 - 1.0
    b = num / (a + SQRT3)
    a = b if shifted > 0.0 else a
    r = a * atan_series(a * a)
    r = (PI_6 + r) if shifted > 0.0 else r
    r = (PI_2 - r) if inverted > 0.0 else r
    return x if isnan(x) else copysign(r, x)


@dsl
def box_muller(radius, angle):
    """A normal() draw from its two uniforms: sqrt(-2 log radius) cos(2 pi angle), the
    cosine by one polynomial on a quarter turn (no branch for SIMD lanes to split on)."""
    a = abs(angle - floor(angle + 0.5))
    sign = -1.0 if a > 0.25 else 1.0
    a = 0.5 - a if a > 0.25 else a
    return sqrt(-2.0 * log_of_draw(radius)) * (sign * cos_wide(TWO_PI * a))
