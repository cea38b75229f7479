"""InverseGamma(alpha, beta): z = beta / g with g ~ Gamma(alpha, 1)."""
from irgen.dsl import *
from irgen.distributions.gamma import gamma_guess
from irgen.distributions.gamma import group as gamma_group
from irgen.distributions.gamma import sample as gamma_sample
from irgen.lib.incomplete_gamma import log_gamma_p, log_gamma_p_of_log, log_gamma_q, split


@dsl
def cdf(x, alpha, beta):
    return exp(log_gamma_q(alpha, beta / x))


@dsl
def log_prob(x, alpha, beta):
    if x == 0.0:
        return -INF                  # the density's limit, not inf - inf
    return alpha * log(beta) - lgamma(alpha) - (alpha + 1.0) * log(x) - beta / x


@dsl
def log_cdf(x, alpha, beta):
    return log_gamma_q(alpha, beta / x)


@dsl
def log_sf(x, alpha, beta):
    y = beta / x
    if y < TINY:       # beta / x subnormal or 0 for finite x: from log beta - log x
        return log_gamma_p_of_log(alpha, log(beta) - log(x))
    return log_gamma_p(alpha, y)


@dsl
def upper(x, alpha, beta):
    """Where beta / x is below the split, P(alpha, beta / x), the upper tail here, is the
    accurate one."""
    return split(alpha) - beta / x


@dsl
def inverse_gamma_group(x, alpha, beta):
    return gamma_group(beta / x, alpha, 1.0)


@dsl
def inverse_gamma_sample(alpha, beta):
    return beta / gamma_sample(alpha, 1.0)


@dsl
def quantile_guess(u, alpha, beta):
    """beta / g with g Gamma(alpha, 1)'s guess at 1 - u."""
    return beta / gamma_guess(1.0 - u, alpha, 1.0)


inverse_gamma = Distribution(
    name="inverse_gamma",
    doc="""Inverse-gamma distribution with shape alpha and scale beta.

F(x) = Q(alpha, beta / x), Gamma's upper incomplete function, so the CDF, its derivative in
alpha and the sampler (beta over a Gamma draw) are Gamma's; beta is a scale, with the
closed-form gradient z / beta.""",
    params=(Param("alpha", "shape", "positive"),
            Param("beta", "scale", "positive", role="scale")),
    support=Interval(0.0, INF),
    cdf=cdf, log_prob=log_prob, log_cdf=log_cdf, log_sf=log_sf, upper=upper,
    group=inverse_gamma_group, sample=inverse_gamma_sample,
    quantile_guess=quantile_guess,
)
