"""A two-component Normal mixture written in the DSL with irgen.lib.windows.log_add.

The weight is a logit (w = 1 / (1 + e^-logit)), so every parameter is unconstrained and
`irgen build` gives implicit gradients with respect to all five by forward mode through
log F = log(w Phi(t1) + (1 - w) Phi(t2)), each tail kept in logs:

    irgen build examples/normal_mixture.py --out examples/generated

(irgen.compose.mixture does K components of any generated module, from Python.)"""
from irgen.dsl import *
from irgen.lib.windows import log_add
from irgen.lib.special import log_ndtr

LOG_SQRT_2PI = 0.9189385332046728


@dsl
def log_w(logit):
    """log(1 / (1 + e^-logit)) without overflow."""
    return -log1p(exp(-logit)) if logit > 0.0 else logit - log1p(exp(logit))


@dsl
def log_cdf(x, logit, mu1, sigma1, mu2, sigma2):
    return log_add(log_w(logit) + log_ndtr((x - mu1) / sigma1),
                   log_w(-logit) + log_ndtr((x - mu2) / sigma2))


@dsl
def log_sf(x, logit, mu1, sigma1, mu2, sigma2):
    return log_add(log_w(logit) + log_ndtr((mu1 - x) / sigma1),
                   log_w(-logit) + log_ndtr((mu2 - x) / sigma2))


@dsl
def cdf(x, logit, mu1, sigma1, mu2, sigma2):
    return exp(log_cdf(x, logit, mu1, sigma1, mu2, sigma2))


@dsl
def log_prob(x, logit, mu1, sigma1, mu2, sigma2):
    t1 = (x - mu1) / sigma1
    t2 = (x - mu2) / sigma2
    return log_add(log_w(logit) - 0.5 * t1 * t1 - log(sigma1),
                   log_w(-logit) - 0.5 * t2 * t2 - log(sigma2)) - LOG_SQRT_2PI


@dsl
def mix_sample(logit, mu1, sigma1, mu2, sigma2):
    """The first component with probability w, then its normal draw."""
    lu = log(uniform())
    z = normal()
    return mu1 + sigma1 * z if lu < log_w(logit) else mu2 + sigma2 * z


normal_mixture = Distribution(
    name="normal_mixture",
    doc="""w Normal(mu1, sigma1) + (1 - w) Normal(mu2, sigma2), w = 1 / (1 + e^-logit).""",
    params=(Param("logit", "log(w / (1 - w))"), Param("mu1", "first mean"),
            Param("sigma1", "first standard deviation", "positive"),
            Param("mu2", "second mean"),
            Param("sigma2", "second standard deviation", "positive")),
    support=Interval(-INF, INF),
    cdf=cdf, log_prob=log_prob, log_cdf=log_cdf, log_sf=log_sf, sample=mix_sample,
)
