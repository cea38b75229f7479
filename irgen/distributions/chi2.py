"""Chi2(k): the chi-squared distribution with k degrees of freedom, Gamma(k/2, rate 1/2)."""
from irgen.dsl import *
from irgen.distributions.gamma import gamma_guess
from irgen.distributions.gamma import group as gamma_group
from irgen.distributions.gamma import sample as gamma_sample
from irgen.lib.incomplete_gamma import (gamma_p, log_gamma_p, log_gamma_p_of_log,
                                        log_gamma_q, split)

LOG_2 = 0.6931471805599453


@dsl
def cdf(x, k):
    return gamma_p(0.5 * k, 0.5 * x)


@dsl
def log_prob(x, k):
    if x == 0.0 and k == 2.0:
        return -LOG_2
    h = 0.5 * k
    return (h - 1.0) * log(x) - 0.5 * x - h * LOG_2 - lgamma(h)


@dsl
def log_cdf(x, k):
    if 0.5 * x < TINY:     # x / 2 subnormal or 0 for x > 0: from log x - log 2
        return log_gamma_p_of_log(0.5 * k, log(x) - LOG_2)
    return log_gamma_p(0.5 * k, 0.5 * x)


@dsl
def log_sf(x, k):
    return log_gamma_q(0.5 * k, 0.5 * x)


@dsl
def upper(x, k):
    return 0.5 * x - split(0.5 * k)


@dsl
def chi2_group(x, k):
    return gamma_group(0.5 * x, 0.5 * k, 1.0)


@dsl
def chi2_sample(k):
    return gamma_sample(0.5 * k, 0.5)


@dsl
def quantile_guess(u, k):
    return gamma_guess(u, 0.5 * k, 0.5)


chi2 = Distribution(
    name="chi2",
    doc="""Chi-squared distribution with k degrees of freedom (k > 0, not only whole).

Gamma(k/2, rate 1/2): the CDF, its forward-mode derivative in k and the sampler are
Gamma's (irgen/lib/incomplete_gamma.py, Marsaglia and Tsang).""",
    params=(Param("k", "degrees of freedom", "positive"),),
    support=Interval(0.0, INF),
    cdf=cdf, log_prob=log_prob, log_cdf=log_cdf, log_sf=log_sf, upper=upper,
    group=chi2_group, sample=chi2_sample,
    quantile_guess=quantile_guess,
)
