"""Gumbel(mu, beta): the distribution of the maximum, location mu and scale beta."""
from irgen.dsl import *
from irgen.lib.portable import log_of_draw, portable_log

MEDIAN = 0.36651292058166435      # -log(log 2): the median is mu + beta MEDIAN


@dsl
def cdf(x, mu, beta):
    return exp(-exp((mu - x) / beta))


@dsl
def log_prob(x, mu, beta):
    t = (x - mu) / beta
    return -t - exp(-t) - log(beta)


@dsl
def log_cdf(x, mu, beta):
    return -exp((mu - x) / beta)


@dsl
def log_sf(x, mu, beta):
    return log(-expm1(-exp((mu - x) / beta)))


@dsl
def upper(x, mu, beta):
    return (x - mu) / beta - MEDIAN


@dsl
def sample(mu, beta):
    """Inversion: mu - beta log(-log u)."""
    e = -log_of_draw(uniform())
    return mu - beta * portable_log(e)


@dsl
def quantile_guess(u, mu, beta):
    """The quantile itself, mu - beta log(-log u): the solver only confirms it."""
    return mu - beta * log(-log(u))


gumbel = Distribution(
    name="gumbel",
    doc="""Gumbel (maximum) distribution with location mu and scale beta.

F(x) = exp(-exp(-(x - mu) / beta)); a location-scale family, so the implicit gradients are
1 and (z - mu) / beta in closed form. Samples by inversion.""",
    params=(Param("mu", "location", "real", role="location"),
            Param("beta", "scale", "positive", role="scale")),
    support=Interval(-INF, INF),
    cdf=cdf, log_prob=log_prob, log_cdf=log_cdf, log_sf=log_sf, upper=upper, sample=sample,
    quantile_guess=quantile_guess,
)
