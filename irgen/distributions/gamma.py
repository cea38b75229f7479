"""Gamma(alpha, beta): shape alpha, rate beta; F(x) = P(alpha, beta x)."""
from irgen.dsl import *
from irgen.lib.portable import log_of_draw, portable_exp, portable_log
from irgen.lib.special import ndtri_rough, wilson_hilferty
from irgen.lib.incomplete_gamma import (SMALL_A_Q_BELOW, gamma_p, log_gamma_p,
                                        log_gamma_p_of_log, log_gamma_q, log_gamma_q_of_log,
                                        split)

ONE_THIRD = 1.0 / 3.0
# Marsaglia and Tsang's method accepts at least 95% of its tries for shapes >= 1, so 64
# tries all fail with probability below 1e-83; then the sample is NaN, not a wrong one.
MAX_TRIES = 64


@dsl
def cdf(x, alpha, beta):
    return gamma_p(alpha, x * beta)


@dsl
def log_prob(x, alpha, beta):
    if x == 0.0 and alpha == 1.0:
        return log(beta)
    return alpha * log(beta) + (alpha - 1.0) * log(x) - beta * x - lgamma(alpha)


@dsl
def log_cdf(x, alpha, beta):
    y = x * beta
    if y < TINY:       # beta x subnormal or 0 for x > 0: from log x + log beta, every digit
        return log_gamma_p_of_log(alpha, log(x) + log(beta))
    return log_gamma_p(alpha, y)


@dsl
def log_sf(x, alpha, beta):
    return log_gamma_q(alpha, x * beta)


@dsl
def upper(x, alpha, beta):
    """Above the split the upper tail (the continued fraction) is the accurate form."""
    return x * beta - split(alpha)


@dsl
def group(x, alpha, beta):
    """Branch groups: series or fraction, in bands of y = beta x (or of its distance from the
    split) within which the number of terms varies little; for alpha < 1, Kummer's series
    below y = 1.5 and lgamma1p's Taylor series below alpha = 0.2. Conditional expressions,
    not branches: every lane computes every case, and no test is mispredicted."""
    y = x * beta
    d = y - split(alpha)
    series = 0.0 if y < 1.0 else (1.0 if y < 3.0 else (2.0 if y < 6.0 else 3.0))
    fraction = 4.0 if d < 1.0 else (5.0 if d < 4.0 else 6.0)
    small = 1.0 if alpha < 0.2 else 0.0
    below_one = 7.0 + small if d < 0.0 else (9.0 + small if y < SMALL_A_Q_BELOW else 11.0)
    above_one = series if d < 0.0 else fraction
    return above_one if alpha >= 1.0 else below_one


@dsl
def gamma_guess(u, alpha, beta):
    """Wilson and Hilferty's cube of a normal quantile, within a few percent for alpha >= 1
    away from the tails; where it is below the lower tail's bound, or not positive, that bound
    (u alpha Gamma(alpha))^(1/alpha), or the exponential upper tail for alpha < 1."""
    x = wilson_hilferty(ndtri_rough(u), alpha)
    small = exp((log(u) + lgamma(alpha + 1.0)) / alpha)
    if alpha < 1.0:
        t = 1.0 - alpha * (0.253 + alpha * 0.12)
        x = small if u < t else 1.0 - log1p(-(u - t) / (1.0 - t))
    elif x <= 0.0 or x < small:       # small is a lower bound: P(a, x) < x^a / Gamma(a + 1)
        x = small
    return x / beta


@dsl
def tsang_tail(v):
    """1 - v + log v, a function of its own so that sympy does not distribute d over it."""
    return 1.0 - v + portable_log(v)


@dsl
def marsaglia_tsang(a):
    """A Gamma(a, 1) draw for a >= 1 (Marsaglia and Tsang, ACM TOMS 26(3), 2000): d v with
    v = (1 + c x)^3, x normal, accepted where log u < x^2/2 + d (1 - v + log v) =: g(x).
    Samplers use irgen.lib.portable's log and exp: the same bits on the CPU and the GPU.

    The squeeze accepts without the logarithms where u < 1 + h(x) <= e^h for a lower bound
    h <= g. With t = c x, g = (ln(1 + t) - t + t^2/2 - t^3/3) / (3 c^2), whose bracket is
    >= -t^4/4 for t >= 0 (its sum with t^4/4 has derivative t^4/(1 + t)) and
    >= -t^4/(4 (1 + t)) for -1 < t < 0 (the sum of t^k/k over k >= 4, each 1/k <= 1/4).
    So h = -k x^4 / min(1 + t, 1), k = c^2/12 = 1/(108 d), where the paper takes k = 0.0331
    for every d. Its squeeze fails 8% of tries; this one 5.7% at a = 1.1, 2.6% at 2 and 0.3%
    at 10, of which the log test rejects 3.7%, 1.8% and 0.3%. Both accept only tries the log
    test accepts, so the draws are the same; fewer vectors of lanes take the logarithms.

    Where the try is deferrable (the C lanes' first pass over a chunk), a try the squeeze
    leaves open is left undecided and drawn again, from the same draws, in the second pass,
    which takes the logarithms for those elements alone: a vector of 16 lanes otherwise
    takes them wherever one of its lanes needs them (61% of vectors at a = 1.1, 34% at 2).
    The same draws; float32 sample 9% faster (alpha log-uniform in [0.1, 10])."""
    d = a - ONE_THIRD
    c = 1.0 / sqrt(9.0 * d)
    k = c * c / 12.0
    z = NAN
    while bounded(isnan(z), MAX_TRIES):
        x = normal()
        t = 1.0 + c * x
        if t > 0.0:
            v = t * t * t
            u = uniform()
            x2 = x * x
            s = min(t, 1.0)
            if u * s < s - k * x2 * x2:         # the squeeze: see the note above
                z = d * v
            elif not deferrable():              # the logarithms: see the note above
                if log_of_draw(u) < 0.5 * x2 + d * tsang_tail(v):
                    z = d * v
    return z


@dsl
def sample(alpha, beta):
    """For alpha < 1, z = g u^(1/alpha) with g a Gamma(alpha + 1) draw (Stuart's theorem).
    One Marsaglia-Tsang call for both cases, so SIMD lanes of either kind run it together.
    No sample_group: ordering a chunk so that only lanes below 1 take the boost (a uniform,
    a logarithm and an exponential) cost more than it saved (float32 rsample 3% faster
    without it, sample 2%, alpha log-uniform in [0.1, 10], 16 lanes; 2% and 1% with 8)."""
    z = marsaglia_tsang(alpha + 1.0 if alpha < 1.0 else alpha)
    if alpha < 1.0:
        z = z * portable_exp(log_of_draw(uniform()) / alpha)
    return z / beta


@dsl
def log_sample(alpha, beta):
    """log z with the draws of sample: for alpha < 1, log g + log(u) / alpha, finite where
    u^(1/alpha) underflows (alpha = 1e-4 in float32)."""
    y = portable_log(marsaglia_tsang(alpha + 1.0 if alpha < 1.0 else alpha))
    if alpha < 1.0:
        y = y + log_of_draw(uniform()) / alpha
    return y - portable_log(beta)


# The distribution of y = log z: F(e^y) written in y, so that its implicit gradient holds
# where z underflows.

@dsl
def log_space_cdf(y, alpha, beta):
    return exp(log_gamma_p_of_log(alpha, y + log(beta)))


@dsl
def log_space_log_cdf(y, alpha, beta):
    return log_gamma_p_of_log(alpha, y + log(beta))


@dsl
def log_space_log_sf(y, alpha, beta):
    return log_gamma_q_of_log(alpha, y + log(beta))


@dsl
def log_space_upper(y, alpha, beta):
    return exp(y + log(beta)) - split(alpha)


log_gamma = Distribution(
    name="log_gamma",
    doc="The distribution of log z for z ~ Gamma(alpha, beta).",
    params=(Param("alpha", "shape", "positive"), Param("beta", "rate", "positive")),
    support=Interval(-INF, INF),
    cdf=log_space_cdf, log_cdf=log_space_log_cdf, log_sf=log_space_log_sf,
    upper=log_space_upper,
)


gamma = Distribution(
    name="gamma",
    doc="""Gamma distribution with shape alpha and rate beta.

The CDF is the regularized lower incomplete gamma function P(alpha, beta x): a series
for P below beta x = alpha + 1 (1/2 for alpha < 1), a continued fraction for the upper tail
Q above, with the prefactor in log space. float32 kernels compute in float: series and
fraction stop at float precision, twice as fast as computing in double, and still within
2e-6 of mpmath (benchmarks/float32_compute.py). Series and fraction have an iteration bound
that covers alpha up to about 1e8; beyond it the gradients are NaN rather than unconverged.

Samples come from Marsaglia and Tsang's method, for alpha < 1 boosted by u^(1/alpha);
log_sample draws log z with the same draws, in log space, and log_implicit_grad and
log_rsample give d(log z)/dp through the CDF written in log z, so alpha down to 1e-4 works
in float32, where z itself underflows.""",
    params=(Param("alpha", "shape", "positive"), Param("beta", "rate", "positive", role="rate")),
    support=Interval(0.0, INF),
    cdf=cdf, log_prob=log_prob, log_cdf=log_cdf, log_sf=log_sf, upper=upper,
    group=group, sample=sample, log_space=log_gamma,
    log_sample=log_sample, quantile_guess=gamma_guess,
)
