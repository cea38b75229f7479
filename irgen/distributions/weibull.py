"""Weibull(k, lam): shape k, scale lam."""
from irgen.dsl import *
from irgen.lib.portable import log_of_draw, portable_exp, portable_log

LOG_LOG2 = -0.36651292058166435   # log(log 2): the median is lam (log 2)^(1/k)


@dsl
def cdf(x, k, lam):
    return -expm1(-pow(x / lam, k))


@dsl
def log_prob(x, k, lam):
    """log(k / lam) + (k - 1) log(x / lam) - (x / lam)^k; at x = 0 with k = 1, -log(lam)."""
    if x == 0.0 and k == 1.0:
        return -log(lam)
    return log(k / lam) + (k - 1.0) * log(x / lam) - pow(x / lam, k)


@dsl
def log_cdf(x, k, lam):
    lt = k * (log(x) - log(lam))          # log t, t = (x / lam)^k
    if lt < -20.0:
        # log(1 - e^-t) = log t - t / 2 + t^2 / 24 - ..., from log t: t itself underflows
        # (float32, k = 50: at x / lam = 1/6) long before F's logarithm does
        return lt - 0.5 * exp(lt)
    return log(-expm1(-pow(x / lam, k)))


@dsl
def log_sf(x, k, lam):
    return -pow(x / lam, k)


@dsl
def upper(x, k, lam):
    """Positive above the median, where 1 - F is the accurate side."""
    return k * log(x / lam) - LOG_LOG2


@dsl
def sample(k, lam):
    """Inversion: lam (-log u)^(1/k)."""
    e = -log_of_draw(uniform())
    return lam * portable_exp(portable_log(e) / k)


@dsl
def quantile_guess(u, k, lam):
    """The quantile itself, lam (-log(1 - u))^(1/k)."""
    return lam * exp(log(-log1p(-u)) / k)


weibull = Distribution(
    name="weibull",
    doc="""Weibull distribution with shape k and scale lam.

F(x) = 1 - exp(-(x / lam)^k); the log density is declared (for its scores). The implicit
gradients equal the explicit ones of z = lam (-log u)^(1/k): -z log(z / lam) / k and
z / lam. Samples by inversion.""",
    params=(Param("k", "shape", "positive"), Param("lam", "scale", "positive", role="scale")),
    support=Interval(0.0, INF),
    cdf=cdf, log_prob=log_prob, log_cdf=log_cdf, log_sf=log_sf, upper=upper, sample=sample,
    quantile_guess=quantile_guess,
)
