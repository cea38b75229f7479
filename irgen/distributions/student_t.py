"""Student-t(df, loc, scale): for t = (x - loc) / scale below 0,
F = I_w(df / 2, 1 / 2) / 2 with w = df / (df + t^2); for large df, where the fraction
loses about df eps and the df gradient more, the asymptotic series of F around the normal
CDF."""
from fractions import Fraction

import sympy

from irgen.dsl import *
from irgen.distributions.gamma import log_sample as log_gamma_sample
from irgen.lib.incomplete_beta import lgamma_step, log_ibeta, shape_band, split
from irgen.lib.portable import portable_exp, portable_log
from irgen.lib.special import erfcx_large, log_ndtr, ndtri_rough

LOG_2 = 0.6931471805599453
LOG_PI = 1.1447298858494002
LOG_SQRT_2PI = 0.9189385332046728
SQRT_2_OVER_PI = 0.7978845608028654
SQRT1_2 = 0.7071067811865476


def _large_df_series(terms: int) -> tuple:
    """F(t) = Phi(t) - phi(t) sum_k a_k(t) / df^k as df grows (Fisher's expansion), with
    a_1 = (t^3 + t) / 4. Derived in exact rationals: log(q / phi) as a series in e = 1/df
    (Stirling's series of lgamma((df + 1)/2) - lgamma(df/2), and log(1 + t^2 e)), its
    exponential d_k(t), then a_k from d/dt(-phi a_k) = phi d_k, i.e. t a_k - a_k' = d_k.
    Returns (coefficients, block ends) twice: a_K .. a_1, each as t P_k(t^2) with P_k's 2K
    coefficients from the highest power (zeros in front), in one table for one loop; and
    each as t (1/t^2) R_k(1/t^2) (t^(4k-1) / df^k = (t^4 / df)^k (1/t^2) (1/t), so P_k's
    2k coefficients read from the lowest power are R_k's from the highest), for |t| > 1."""
    def add(a, b, scale=1):
        out = dict(a)
        for n, c in b.items():
            out[n] = out.get(n, 0) + scale * c
        return {n: c for n, c in out.items() if c}

    def mul(a, b):
        out = {}
        for n, c in a.items():
            for m, d in b.items():
                out[n + m] = out.get(n + m, 0) + c * d
        return {n: c for n, c in out.items() if c}

    log_ratio = [{} for _ in range(terms + 1)]       # powers of e -> polynomials in t
    for m in range(1, terms):
        k = 2 * m - 1                                # (2 e)^(2m - 1) from 1 / z^(2m - 1)
        if k <= terms:
            b = sympy.bernoulli(2 * m)
            c = -(2 - Fraction(2) ** (1 - 2 * m)) * Fraction(b.p, b.q) / (2 * m * (2 * m - 1))
            log_ratio[k] = add(log_ratio[k], {0: c * 2 ** k})
    for k in range(1, terms + 1):
        log_ratio[k] = add(log_ratio[k], {2 * k + 2: Fraction((-1) ** (k + 1), 2 * (k + 1)),
                                          2 * k: Fraction((-1) ** k, 2 * k)})
    d = [{0: Fraction(1)}]                           # exp of the series: k d_k = sum j L_j d_k-j
    for k in range(1, terms + 1):
        acc = {}
        for j in range(1, k + 1):
            acc = add(acc, mul(log_ratio[j], d[k - j]), j)
        d.append({n: c / k for n, c in acc.items()})
    coefficients, ends, inverse, inverse_ends = [], [], [], []
    for k in range(terms, 0, -1):
        a = {}
        for n in range(max(d[k]), 0, -1):            # t^n: a_(n-1) - (n + 1) a_(n+1) = d_n
            a[n - 1] = d[k].get(n, 0) + (n + 1) * a.get(n + 1, 0)
        assert -a.get(1, 0) == d[k].get(0, 0)        # the series of q integrates to 1
        assert max(n for n, c in a.items() if c) == 4 * k - 1 and not a.get(0, 0)
        block = [float(a.get(2 * j + 1, 0)) for j in range(2 * terms - 1, -1, -1)]
        coefficients += block
        ends += [0.0] * (len(block) - 1) + [1.0]
        inverse += [float(a.get(2 * j + 1, 0)) for j in range(2 * k)]
        inverse_ends += [0.0] * (2 * k - 1) + [1.0]
    return (tuple(coefficients), tuple(ends)), (tuple(inverse), tuple(inverse_ends))


# 12 terms: within 1.2e-16 of F (mpmath) for df >= 100 and t^4 <= df, 1e-18 from df = 300
LARGE_DF_TERMS = 12
(LARGE_DF_COEF, LARGE_DF_END), (LARGE_T_COEF, LARGE_T_END) = _large_df_series(LARGE_DF_TERMS)
assert len(LARGE_DF_COEF) == 288 and len(LARGE_T_COEF) == 156   # large_df_correction's loops
LARGE_DF_FROM = 100.0


@dsl
def large_df_correction(t, df):
    """sum_k a_k(t) / df^k, so that F = Phi(t) - phi(t) times it. For |t| <= 1, Horner's
    rule in t^2 within each a_k, in 1/df across them; beyond, where a_k's powers of t
    overflow long before df^k divides them (|t| = 1e7 at df = 1e28), in 1/t^2 within each,
    in t^4 / df (at most 1 where the series is used) across them."""
    s = t * t
    p = 0.0
    acc = 0.0
    if s <= 1.0:
        e = 1.0 / df
        for i in range(288):
            p = p * s + LARGE_DF_COEF[i]
            if LARGE_DF_END[i] > 0.5:
                acc = (acc + p) * e
                p = 0.0
        r = t * acc
    else:
        v = 1.0 / s
        q = s * s / df
        for j in range(156):
            p = p * v + LARGE_T_COEF[j]
            if LARGE_T_END[j] > 0.5:
                acc = (acc + p) * q
                p = 0.0
        r = t * v * acc
    return r


@dsl
def normal_hazard(u):
    """phi(u) / Phi(u) for u <= 0. Far out (|u| / sqrt 2 >= 8) as sqrt(2 / pi) / erfcx(-u /
    sqrt 2), where the exponentials cancel exactly: exp(log phi - log Phi) there loses
    u^2 / 2 eps, 3.5e-13 at u = -56, to the difference of two logarithms near -1577."""
    z = -u * SQRT1_2
    if z >= 8.0:
        return SQRT_2_OVER_PI / erfcx_large(z)
    return exp(-0.5 * u * u - LOG_SQRT_2PI - log_ndtr(u))


@dsl
def log_lower_half(t, df):
    """log P(T < -|t|) = log(I_w(df/2, 1/2) / 2), with w and 1 - w = t^2 / (df + t^2) each
    formed directly (not as 1 - the other), and t^2 not formed where it would overflow.
    For df >= 100 and t^4 <= df, the large-df series instead: log Phi(u) + log1p(-phi(u)
    c / Phi(u)) at u = -|t|, c < 0 there (no cancellation), and its derivative in df is a
    sum of terms of one order, where the fraction's is a difference."""
    if df >= LARGE_DF_FROM and t * t * t * t <= df:
        u = -abs(t)
        return log_ndtr(u) + log1p(-normal_hazard(u) * large_df_correction(u, df))
    if t * t > df:
        s = sqrt(df) / abs(t)
        s2 = s * s
        w = s2 / (1.0 + s2)
        w1 = 1.0 / (1.0 + s2)
        lw = 2.0 * log(s) - log1p(s2)
        l1w = -log1p(s2)
    else:
        r = t * t / df
        w = 1.0 / (1.0 + r)
        w1 = r / (1.0 + r)
        lw = -log1p(r)
        l1w = log(r) - log1p(r)
    return log_ibeta(0.5 * df, 0.5, w, w1, lw, l1w) - LOG_2


@dsl
def log_density_ratio(df):
    """log(Gamma((df + 1)/2) / Gamma(df/2))."""
    return lgamma_step(0.5 * df, 0.5)


@dsl
def log_prob_standard(t, df):
    v = t / sqrt(df)
    grow = log1p(v * v) if abs(v) < 1e150 else 2.0 * log(abs(v))
    return log_density_ratio(df) - 0.5 * (log(df) + LOG_PI) - 0.5 * (df + 1.0) * grow


@dsl
def log_cdf_standard(t, df):
    if abs(t) < 1e-100:
        # F = 1/2 + t q(0) to every digit (the next term is t^3); forward mode gives the
        # tangents in t and df from this, where the fraction's would be 0 / 0 or overflow
        return -LOG_2 + log1p(2.0 * t * exp(log_prob_standard(0.0, df)))
    lh = log_lower_half(t, df)
    return lh if t < 0.0 else log1p(-exp(lh))


@dsl
def cdf(x, df, loc, scale):
    return exp(log_cdf_standard((x - loc) / scale, df))


@dsl
def log_prob(x, df, loc, scale):
    return log_prob_standard((x - loc) / scale, df) - log(scale)


@dsl
def log_cdf(x, df, loc, scale):
    return log_cdf_standard((x - loc) / scale, df)


@dsl
def log_sf(x, df, loc, scale):
    return log_cdf_standard((loc - x) / scale, df)


@dsl
def upper(x, df, loc, scale):
    return x - loc


@dsl
def t_group(x, df, loc, scale):
    """Branch groups: which form of w (|t| beyond sqrt(df) or not), which side of the
    incomplete beta's split, and a band of df (the fraction's length, lgamma_step's loop)."""
    t = (x - loc) / scale
    r = t * t / df
    far = 4.0 if r > 1.0 else 0.0
    h = 0.5 * df
    side = 8.0 if 1.0 / (1.0 + r) >= split(h, 0.5) else 0.0      # log_ibeta's choice
    return side + far + shape_band(h)


@dsl
def t_guess(u, df, loc, scale):
    """The quantile solver's first guess: Cornish and Fisher's expansion around the normal
    quantile z (to 1/df^2); in a tail where that is beyond 2 sqrt(df), the tail's power law,
    F(t) ~ df^(df/2 - 1) |t|^-df / B(df/2, 1/2) (within 1.5% of the quantile for df >= 1 and
    4% at df = 1/2, median, against scipy's t.ppf)."""
    p = min(u, 1.0 - u)
    z = ndtri_rough(p)
    z2 = z * z
    t = z * (1.0 + (z2 + 1.0) / (4.0 * df) + (5.0 * z2 * z2 + 16.0 * z2 + 3.0) / (96.0 * df * df))
    log_b = 0.5 * LOG_PI - log_density_ratio(df)
    tail = -sqrt(df) * exp(-(log(p) + log(df) + log_b) / df)
    if tail * tail > 4.0 * df and tail < t:
        t = tail
    if u > 0.5:
        t = -t
    return loc + scale * t


@dsl
def t_sample(df, loc, scale):
    """Z sqrt(df / V) for a chi-squared V = 2 G, G ~ Gamma(df / 2) drawn in log space (for
    df = 0.01 it underflows)."""
    g = log_gamma_sample(0.5 * df, 1.0)
    z = normal()
    return loc + scale * (z * portable_exp(0.5 * (portable_log(0.5 * df) - g)))


student_t = Distribution(
    name="student_t",
    doc="""Student's t distribution with df degrees of freedom, location loc and scale scale.

The CDF is I_w(df/2, 1/2) / 2 below loc, with w = df / (df + t^2), t = (x - loc) / scale,
through the regularized incomplete beta function (irgen/lib/incomplete_beta.py); both w and
1 - w are formed without cancellation; from df = 100, where t^4 <= df, Fisher's asymptotic
series around the normal CDF (12 terms), whose derivative in df keeps its digits where the
fraction's loses about df eps. The gradient in df is implicit, through this CDF; those in
loc and scale are the closed forms 1 and t. float32 kernels compute in double.
Samples are Z sqrt(df / V), V chi-squared from a Gamma draw in log space.""",
    params=(Param("df", "degrees of freedom", "positive"),
            Param("loc", "location", "real", role="location"),
            Param("scale", "scale", "positive", role="scale")),
    support=Interval(-INF, INF),
    cdf=cdf, log_prob=log_prob, log_cdf=log_cdf, log_sf=log_sf, upper=upper, group=t_group,
    sample=t_sample, quantile_guess=t_guess, float32="double",
)
