"""NoncentralChi2(k, lam): degrees of freedom k, noncentrality lam, written in the irgen DSL
as a Poisson mixture of central chi-squared CDFs, a distribution whose quantile has no
closed form. Its icdf kernel comes from this CDF alone (benchmarks/quantiles.py sets it
against scipy.stats' generic rv_continuous.ppf):

    irgen build examples/noncentral_chi2.py --out examples/generated
"""
from irgen.dsl import *
from irgen.lib.incomplete_gamma import gamma_p
from irgen.lib.special import ndtri_rough, wilson_hilferty

MAX_TERMS = 1000     # Poisson(lam / 2) terms: enough for lam up to about 1500


@dsl
def cdf(x, k, lam):
    """The sum over j of Poisson(j | lam / 2) P(k / 2 + j, x / 2), from j = 0 up, until past
    the Poisson mode the weights no longer move the sum."""
    h = 0.5 * lam
    total = 0.0
    log_w = -h                       # log Poisson(j | h), j = 0
    for j in range(MAX_TERMS):
        term = exp(log_w) * gamma_p(0.5 * k + j, 0.5 * x)
        total = total + term
        if j > h and exp(log_w) < EPS * total:
            break
        log_w = log_w + log(h) - log(j + 1.0)
    return min(total, 1.0)           # (a sum of rounded terms may pass 1 by an ulp)


@dsl
def patnaik_guess(u, k, lam):
    """The solver's first guess: Patnaik's c chi-squared(nu) with the same mean and variance,
    c = (k + 2 lam) / (k + lam), nu = (k + lam)^2 / (k + 2 lam), its quantile by Wilson and
    Hilferty's cube of a normal quantile; where that cube is not positive (a far lower
    tail), half the mean."""
    c = (k + 2.0 * lam) / (k + lam)
    x = 2.0 * c * wilson_hilferty(ndtri_rough(u), 0.5 * (k + lam) / c)   # chi2(nu) = 2 Gamma(nu / 2)
    return x if x > 0.0 else 0.5 * (k + lam)


noncentral_chi2 = Distribution(
    name="noncentral_chi2",
    doc="""Noncentral chi-squared distribution with k degrees of freedom and noncentrality
lam, as a Poisson(lam / 2) mixture of chi-squared(k + 2j) CDFs; the log density is derived
by forward mode.""",
    params=(Param("k", "degrees of freedom", "positive"),
            Param("lam", "noncentrality", "positive")),
    support=Interval(0.0, INF),
    cdf=cdf, quantile_guess=patnaik_guess,
)
