"""Normal(mu, sigma): the CDF through erfc, accurate in both tails."""
from irgen.dsl import *
from irgen.lib.special import log_ndtr, ndtri_rough

LOG_SQRT_2PI = 0.9189385332046728
SQRT1_2 = 0.7071067811865476


@dsl
def cdf(x, mu, sigma):
    return 0.5 * erfc((mu - x) / sigma * SQRT1_2)


@dsl
def log_prob(x, mu, sigma):
    t = (x - mu) / sigma
    return -0.5 * t * t - log(sigma) - LOG_SQRT_2PI


@dsl
def log_cdf(x, mu, sigma):
    return log_ndtr((x - mu) / sigma)


@dsl
def log_sf(x, mu, sigma):
    return log_ndtr((mu - x) / sigma)


@dsl
def upper(x, mu, sigma):
    return x - mu


@dsl
def quantile_guess(u, mu, sigma):
    return mu + sigma * ndtri_rough(u)


@dsl
def sample(mu, sigma):
    return mu + sigma * normal()


normal = Distribution(
    name="normal",
    doc="""Normal distribution with mean mu and standard deviation sigma.

The CDF is erfc-based so both tails keep full relative accuracy; log F and log S are
computed through a continued fraction where erfc underflows. Samples are mu + sigma x with x a
Box-Muller normal draw.""",
    params=(Param("mu", "mean", "real", role="location"),
            Param("sigma", "standard deviation", "positive", role="scale")),
    support=Interval(-INF, INF),
    cdf=cdf, log_prob=log_prob, log_cdf=log_cdf, log_sf=log_sf, upper=upper,
    sample=sample, quantile_guess=quantile_guess,
)
