"""LogNormal(mu, sigma): log z ~ Normal(mu, sigma)."""
from irgen.dsl import *
from irgen.lib.portable import portable_exp
from irgen.lib.special import log_ndtr, ndtri_rough

LOG_SQRT_2PI = 0.9189385332046728
SQRT1_2 = 0.7071067811865476


@dsl
def cdf(x, mu, sigma):
    return 0.5 * erfc((mu - log(x)) / sigma * SQRT1_2)


@dsl
def log_prob(x, mu, sigma):
    if x == 0.0:
        return -INF                  # the density's limit, not -inf + inf
    lx = log(x)
    t = (lx - mu) / sigma
    return -0.5 * t * t - log(sigma) - LOG_SQRT_2PI - lx


@dsl
def log_cdf(x, mu, sigma):
    return log_ndtr((log(x) - mu) / sigma)


@dsl
def log_sf(x, mu, sigma):
    return log_ndtr((mu - log(x)) / sigma)


@dsl
def upper(x, mu, sigma):
    return log(x) - mu


@dsl
def sample(mu, sigma):
    y = mu + sigma * normal()
    return portable_exp(y)


@dsl
def quantile_guess(u, mu, sigma):
    return exp(mu + sigma * ndtri_rough(u))


lognormal = Distribution(
    name="lognormal",
    doc="""Log-normal distribution: log z is Normal(mu, sigma).

The CDF is the normal CDF of log x (erfc-based, both tails accurate); the implicit
gradients (z and z (log z - mu) / sigma in closed form) come from forward mode through it.
Samples are exp(mu + sigma x) with x a normal draw.""",
    params=(Param("mu", "mean of log z", "real"),
            Param("sigma", "standard deviation of log z", "positive")),
    support=Interval(0.0, INF),
    cdf=cdf, log_prob=log_prob, log_cdf=log_cdf, log_sf=log_sf, upper=upper, sample=sample,
    quantile_guess=quantile_guess,
)
