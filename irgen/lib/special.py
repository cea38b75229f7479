"""Special functions written once in the DSL and reused by distributions and by the
derivative rules (lgamma' = digamma)."""
import mpmath

from irgen.dsl import *

SQRT_PI = 1.7724538509055160
LOG_2 = 0.6931471805599453
EULER = 0.5772156649015329
# lgamma(1 + a) = -euler a + sum over k >= 2 of zeta(k)/k (-a)^k. For |a| < 0.2 the terms
# beyond k = 25 are below 1e-17 relative, and in float32 those beyond k = 13 below 3e-9 (of
# the value and of its derivative, digamma(1 + a)). The polynomial p(x) = sum zeta(k)/k
# x^(k-2), x = -a, is evaluated as four chains in x^4, p = (c0 + x c1) + x^2 (c2 + x c3):
# six dependent steps in float64 (three in float32) where Horner's rule took 24.
# LGAMMA1P_<j>: chain j's coefficients, of x^(j + 4i) for i = 5, ..., 0 (highest first);
# float32 takes the last three of each, i < 3.
with mpmath.workdps(40):        # fixed precision: the tables must not depend on the caller's
    globals().update({f"LGAMMA1P_{j}": tuple(float(mpmath.zeta(k) / k)
                                             for k in range(j + 22, 1, -4)) for j in range(4)})
# sin x = x sum_k S_k (x^2)^k, S_k = (-1)^k / (2k+1)!, k < 12: the terms left out are below
# 1e-18 relative for |x| <= pi/2. Named S0 ... S11, lowest degree first, for Estrin's scheme.
with mpmath.workdps(40):
    globals().update({f"S{k}": float(mpmath.mpf(-1) ** k / mpmath.factorial(2 * k + 1))
                      for k in range(12)})


@dsl
def digamma(x):
    """psi(x): reflection below 0, upward recurrence by 10 below x = 10, then the asymptotic
    series."""
    if isnan(x) or x == -INF:
        return NAN
    if x == INF:
        return INF
    shift = 0.0
    if x <= 0.0:
        if x == floor(x):
            return NAN
        shift = -PI / tan(PI * x)
        x = 1.0 - x
    # psi(x) = psi(x + m) - sum over k < m of 1/(x + k), the sum as p'/p for the
    # product p = x (x + 1) ... (x + m - 1): one division instead of m
    if EPS > 1e-10:
        # float: from x = 4 the series' sixth term is below 6e-9, a fifth of an ulp
        if x < 4.0:
            num = 0.0
            den = 1.0
            for _ in range(4):
                num = num * x + den
                den = den * x
                x = x + 1.0
            shift = shift - num / den
        f = 1.0 / (x * x)
        series = f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240 - f * (
            1.0 / 132)))))
        return shift + log(x) - 0.5 / x - series
    if x < 10.0:                  # below 10 (and above 0) p stays within 1e-310 .. 1e12
        num = 0.0
        den = 1.0
        for _ in range(10):
            num = num * x + den
            den = den * x
            x = x + 1.0
        shift = shift - num / den
    f = 1.0 / (x * x)
    series = f * (1.0 / 12 - f * (1.0 / 120 - f * (1.0 / 252 - f * (1.0 / 240 - f * (
        1.0 / 132 - f * (691.0 / 32760 - f * (1.0 / 12 - f * 3617.0 / 8160)))))))
    return shift + log(x) - 0.5 / x - series


@dsl
def log1pmx(t):
    """log(1 + t) - t without cancellation for small |t|."""
    if abs(t) > 0.25:
        return log1p(t) - t
    # -t^2/2 + t^3/3 - ... : alternating, terms shrink by at least 4x
    term = -t * t
    total = 0.0
    for k in range(2, 60):
        total = total + term / k
        term = -term * t
        if converged(term / k, total):
            break
    return total


@dsl
def stirling_correction(y):
    """lgamma(y) - ((y - 1/2) log y - y + log(2 pi)/2) for y >= 10 (Stirling series)."""
    f = 1.0 / (y * y)
    return (1.0 / 12 - f * (1.0 / 360 - f * (1.0 / 1260 - f * (1.0 / 1680 - f * (
        1.0 / 1188 - f * (691.0 / 360360 - f * (1.0 / 156 - f * 3617.0 / 122400))))))) / y


@dsl
def erfcx_large(z):
    """exp(z^2) erfc(z) for z >= 8 by Laplace's continued fraction, evaluated backward."""
    f = z
    for k in range(60):
        f = z + 0.5 * (60 - k) / f
    return 1.0 / (SQRT_PI * f)


@dsl
def log_erfc(z):
    """log(erfc(z)) for all real z: erfc itself while exp(-z^2) is a normal number."""
    if z * z < -0.9 * log(TINY) or z < 0.0:
        return log(erfc(z))
    return log(erfcx_large(z)) - z * z


@dsl
def log_ndtr(t):
    """log of the standard normal CDF."""
    return log_erfc(-t * 0.7071067811865476) - LOG_2


@dsl
def lgamma1p(a):
    """log Gamma(1 + a), accurate also for small |a|, where 1 + a would round:
    -euler a + sum over k >= 2 of zeta(k) (-a)^k / k, a fixed polynomial for |a| < 0.2 (the
    tables above)."""
    if abs(a) >= 0.2:
        return lgamma(1.0 + a)
    x = -a
    x2 = x * x
    x4 = x2 * x2
    c0 = 0.0
    c1 = 0.0
    c2 = 0.0
    c3 = 0.0
    if EPS > 1e-10:
        for i in range(3, 6):
            c0 = c0 * x4 + LGAMMA1P_0[i]
            c1 = c1 * x4 + LGAMMA1P_1[i]
            c2 = c2 * x4 + LGAMMA1P_2[i]
            c3 = c3 * x4 + LGAMMA1P_3[i]
    else:
        for i in range(6):
            c0 = c0 * x4 + LGAMMA1P_0[i]
            c1 = c1 * x4 + LGAMMA1P_1[i]
            c2 = c2 * x4 + LGAMMA1P_2[i]
            c3 = c3 * x4 + LGAMMA1P_3[i]
    lo = c0 + x * c1
    hi = c2 + x * c3
    p = lo + x2 * hi
    return a * (a * p - EULER)


@dsl
def sin_small(x):
    """sin x for |x| <= pi/2 by its Taylor polynomial: no argument reduction, relative
    accuracy near 0, and a few multiply-adds instead of a library call. Estrin's scheme
    (pairs, then pairs of pairs with z^2, z^4, z^8): four dependent steps, not Horner's
    twelve, so that the nodes of a quadrature overlap; each step a statement of its own,
    so that sympy keeps the order."""
    z = x * x
    z2 = z * z
    z4 = z2 * z2
    z8 = z4 * z4
    q0 = S0 + S1 * z
    q1 = S2 + S3 * z
    q2 = S4 + S5 * z
    q3 = S6 + S7 * z
    q4 = S8 + S9 * z
    q5 = S10 + S11 * z
    r0 = q0 + q1 * z2
    r1 = q2 + q3 * z2
    r2 = q4 + q5 * z2
    u = r0 + r1 * z4
    return x * (u + r2 * z8)


@dsl
def wilson_hilferty(z, a):
    """The Gamma(a) quantile at the standard normal quantile z by Wilson and Hilferty's cube,
    a (1 - c + z sqrt(c))^3 with c = 1 / (9a): within a few percent for a >= 1 away from
    the tails; not positive where the cube's base is not (a far lower tail)."""
    c = 1.0 / (9.0 * a)
    w = 1.0 - c + z * sqrt(c)
    return a * w * w * w


@dsl
def ndtri_rough(p):
    """The standard normal quantile within 4.5e-4 absolute, for a solver's first guess
    (Abramowitz and Stegun 26.2.23, a rational function of sqrt(-2 log p))."""
    q = min(p, 1.0 - p)
    t = sqrt(-2.0 * log(q))
    x = t - (2.515517 + t * (0.802853 + t * 0.010328)) / (
        1.0 + t * (1.432788 + t * (0.189269 + t * 0.001308)))
    return -x if p < 0.5 else x
