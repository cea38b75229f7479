"""Gamma(alpha, beta): shape alpha, rate beta; F(x) = P(alpha, beta x)."""
from irgen.dsl import *
from irgen.lib.incomplete_gamma import (SMALL_A_Q_BELOW, gamma_p, log_gamma_p, log_gamma_q,
                                        split)


@dsl
def cdf(x, alpha, beta):
    return gamma_p(alpha, x * beta)


@dsl
def log_prob(x, alpha, beta):
    if x == 0.0 and alpha == 1.0:
        return log(beta)
    return alpha * log(beta) + (alpha - 1.0) * log(x) - beta * x - lgamma(alpha)


@dsl
def log_cdf(x, alpha, beta):
    return log_gamma_p(alpha, x * beta)


@dsl
def log_sf(x, alpha, beta):
    return log_gamma_q(alpha, x * beta)


@dsl
def upper(x, alpha, beta):
    """Above the split the upper tail (the continued fraction) is the accurate form."""
    return x * beta - split(alpha)


@dsl
def group(x, alpha, beta):
    """Branch groups: series or fraction, in bands of y = beta x (or of its distance from the
    split) within which the number of terms varies little; for alpha < 1, Kummer's series
    below y = 1.5 and lgamma1p's Taylor series below alpha = 0.2. Conditional expressions,
    not branches: every lane computes every case, and no test is mispredicted."""
    y = x * beta
    d = y - split(alpha)
    series = 0.0 if y < 1.0 else (1.0 if y < 3.0 else (2.0 if y < 6.0 else 3.0))
    fraction = 4.0 if d < 1.0 else (5.0 if d < 4.0 else 6.0)
    small = 1.0 if alpha < 0.2 else 0.0
    below_one = 7.0 + small if d < 0.0 else (9.0 + small if y < SMALL_A_Q_BELOW else 11.0)
    above_one = series if d < 0.0 else fraction
    return above_one if alpha >= 1.0 else below_one


gamma = Distribution(
    name="gamma",
    doc="""Gamma distribution with shape alpha and rate beta.

The CDF is the regularized lower incomplete gamma function P(alpha, beta x): a series
for P below beta x = alpha + 1 (1/2 for alpha < 1), a continued fraction for the upper tail
Q above, with the prefactor in log space. float32 kernels compute in float: series and
fraction stop at float precision, twice as fast as computing in double, and still within
2e-6 of mpmath (benchmarks/float32_compute.py). Series and fraction have an iteration bound
that covers alpha up to about 1e8; beyond it the gradients are NaN rather than unconverged.""",
    params=(Param("alpha", "shape", "positive"), Param("beta", "rate", "positive", role="rate")),
    support=Interval(0.0, INF),
    cdf=cdf, log_prob=log_prob, log_cdf=log_cdf, log_sf=log_sf, upper=upper,
    group=group,
)
