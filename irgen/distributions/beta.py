"""Beta(a, b) on [0, 1]: F(x) = I_x(a, b), the regularized incomplete beta function."""
from irgen.dsl import *
from irgen.distributions.gamma import log_sample as log_gamma_sample
from irgen.lib.incomplete_beta import (ibeta, log_a_beta, log_ibeta, log_ibetac, shape_band,
                                       split)
from irgen.lib.portable import portable_exp, portable_log
from irgen.lib.special import ndtri_rough, wilson_hilferty


@dsl
def cdf(x, a, b):
    return ibeta(a, b, x, 1.0 - x, log(x), log1p(-x))


@dsl
def log_prob(x, a, b):
    lower = 0.0 if a == 1.0 else (a - 1.0) * log(x)      # 0, not NaN, at x = 0 for a = 1
    high = 0.0 if b == 1.0 else (b - 1.0) * log1p(-x)
    return lower + high - log_a_beta(a, b) + log(a)


@dsl
def log_cdf(x, a, b):
    return log_ibeta(a, b, x, 1.0 - x, log(x), log1p(-x))


@dsl
def log_sf(x, a, b):
    return log_ibetac(a, b, x, 1.0 - x, log(x), log1p(-x))


@dsl
def upper(x, a, b):
    """Above the split the fraction for 1 - F is the accurate form."""
    return x - split(a, b)


@dsl
def group(x, a, b):
    """Branch groups: the side of the split (which fraction), and the bands of the smaller and
    the larger shape (which form of log B, how long the fraction). Sorting by them makes
    the implicit gradients 1.8x faster on random shapes (benchmarks/beta.py)."""
    side = 16.0 if x > split(a, b) else 0.0
    return side + 4.0 * min(shape_band(min(a, b)), 2.0) + shape_band(max(a, b))


@dsl
def log_shares(a, b):
    """(log Ga - log Gb) for Gamma(a) and Gamma(b) draws, in log space so that draws of
    small shapes (u^(1/a) underflows for a = 0.01) keep their ratio."""
    return log_gamma_sample(a, 1.0) - log_gamma_sample(b, 1.0)


@dsl
def beta_sample(a, b):
    """Ga / (Ga + Gb) = 1 / (1 + e^-d), written so that neither exp overflows."""
    d = log_shares(a, b)
    e = portable_exp(-abs(d))
    return 1.0 / (1.0 + e) if d >= 0.0 else e / (1.0 + e)


@dsl
def beta_log_sample(a, b):
    """log(Ga / (Ga + Gb)) = -log(1 + e^-d)."""
    d = log_shares(a, b)
    if d >= 0.0:
        return -portable_log(1.0 + portable_exp(-d))
    return d - portable_log(1.0 + portable_exp(d))


# The distribution of y = log x, F(e^y) written in y: x = e^y may underflow, 1 - x = -expm1(y).

@dsl
def log_space_cdf(y, a, b):
    return ibeta(a, b, exp(y), -expm1(y), y, log(-expm1(y)))


@dsl
def log_space_log_cdf(y, a, b):
    return log_ibeta(a, b, exp(y), -expm1(y), y, log(-expm1(y)))


@dsl
def log_space_log_sf(y, a, b):
    return log_ibetac(a, b, exp(y), -expm1(y), y, log(-expm1(y)))


@dsl
def log_space_upper(y, a, b):
    return exp(y) - split(a, b)


@dsl
def beta_guess(u, a, b):
    """The quantile solver's first guess, Cran, Martin and Thomas's (Applied Statistics
    26(1), 1977, AS 109) for the lower tail p = min(u, 1 - u), the shapes swapped above the
    median: for both shapes above 1 a normal approximation of the log odds, otherwise
    through a chi-squared approximation, falling back to either tail's power law."""
    p = 1.0 - u if u > 0.5 else u
    pa = b if u > 0.5 else a
    pb = a if u > 0.5 else b
    y = -ndtri_rough(p)
    log_b = log_a_beta(pa, pb) - log(pa)
    if pa > 1.0 and pb > 1.0:
        r = (y * y - 3.0) / 6.0
        s = 1.0 / (2.0 * pa - 1.0)
        t = 1.0 / (2.0 * pb - 1.0)
        h = 2.0 / (s + t)
        w = y * sqrt(h + r) / h - (t - s) * (r + 5.0 / 6.0 - 2.0 / (3.0 * h))
        x = pa / (pa + pb * exp(2.0 * w))
    else:
        c = 2.0 * wilson_hilferty(y, pb)     # chi-squared(2 pb) at the level's upper tail
        if c <= 0.0:
            x = -expm1((log1p(-p) + log(pb) + log_b) / pb)
        else:
            c = (4.0 * pa + 2.0 * pb - 2.0) / c
            x = exp((log(p * pa) + log_b) / pa) if c <= 1.0 else 1.0 - 2.0 / (c + 1.0)
    return 1.0 - x if u > 0.5 else x


log_beta = Distribution(
    name="log_beta",
    doc="The distribution of log z for z ~ Beta(a, b).",
    params=(Param("a", "shape", "positive"), Param("b", "shape", "positive")),
    support=Interval(-INF, 0.0),
    cdf=log_space_cdf, log_cdf=log_space_log_cdf, log_sf=log_space_log_sf,
    upper=log_space_upper,
)


beta = Distribution(
    name="beta",
    doc="""Beta distribution with shapes a and b, on [0, 1].

The CDF is the regularized incomplete beta function I_x(a, b), from its continued fraction
below x = (a + 1) / (a + b + 2) and from the fraction of I_(1-x)(b, a) above, with log B(a, b)
in Stirling's form for large shapes (irgen/lib/incomplete_beta.py). The implicit gradients
go through this CDF: they have lower variance than the usual route through two Gamma
samples (benchmarks/beta_variance.py). Samples are Ga / (Ga + Gb) for Gamma draws taken in
log space; log_sample, log_implicit_grad and log_rsample work with log z, for shapes so small
that z underflows. float32 kernels compute in double: in float, the tangent in b of
lgamma(b) - lgamma(a + b) for a small keeps only four digits.""",
    params=(Param("a", "shape", "positive"), Param("b", "shape", "positive")),
    support=Interval(0.0, 1.0),
    cdf=cdf, log_prob=log_prob, log_cdf=log_cdf, log_sf=log_sf, upper=upper, group=group,
    sample=beta_sample, log_space=log_beta, log_sample=beta_log_sample, float32="double",
    quantile_guess=beta_guess,
)
