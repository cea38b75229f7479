"""Weibull(k, lam): shape k, scale lam, written in the irgen DSL.

Build and import it:

    irgen build examples/weibull.py --out examples/generated
    python examples/weibull_demo.py
"""
from irgen.dsl import *


@dsl
def cdf(x, k, lam):
    return -expm1(-pow(x / lam, k))


@dsl
def log_sf(x, k, lam):
    return -pow(x / lam, k)


@dsl
def log_cdf(x, k, lam):
    return log(-expm1(-pow(x / lam, k)))


@dsl
def sample(k, lam):
    """Inversion: z = lam (-log u)^(1/k), with u a uniform draw."""
    return lam * pow(-log(uniform()), 1.0 / k)


weibull = Distribution(
    name="weibull",
    doc="""Weibull distribution with shape k and scale lam.

F(x) = 1 - exp(-(x / lam)^k); the log density is derived by forward mode.""",
    params=(Param("k", "shape", "positive"), Param("lam", "scale", "positive")),
    support=Interval(0.0, INF),
    cdf=cdf, log_cdf=log_cdf, log_sf=log_sf, sample=sample,
)
