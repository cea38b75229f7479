"""LogLogistic(alpha, beta): scale alpha, shape beta (scipy's fisk), written in the irgen DSL.

Build and import it:

    irgen build examples/loglogistic.py --out examples/generated
    python examples/loglogistic_demo.py
"""
from irgen.dsl import *


@dsl
def cdf(x, alpha, beta):
    t = pow(x / alpha, beta)
    return t / (1.0 + t)


@dsl
def log_cdf(x, alpha, beta):
    return -log1p(pow(x / alpha, -beta))


@dsl
def log_sf(x, alpha, beta):
    return -log1p(pow(x / alpha, beta))


@dsl
def sample(alpha, beta):
    """Inversion: z = alpha (u / (1 - u))^(1/beta), with u a uniform draw."""
    u = uniform()
    return alpha * exp((log(u) - log1p(-u)) / beta)


loglogistic = Distribution(
    name="loglogistic",
    doc="""Log-logistic distribution with scale alpha and shape beta.

F(x) = 1 / (1 + (x / alpha)^-beta); the log density is derived by forward mode.""",
    params=(Param("alpha", "scale", "positive"), Param("beta", "shape", "positive")),
    support=Interval(0.0, INF),
    cdf=cdf, log_cdf=log_cdf, log_sf=log_sf, sample=sample,
)
