"""Normal(mu, sigma) truncated to [low, high], written in the DSL with irgen.lib.windows.

The bounds are parameters like mu and sigma, so `irgen build` gives implicit gradients with
respect to all four by forward mode through this CDF. Build and use:

    irgen build examples/truncated_normal.py --out examples/generated
    z, (dmu, dsigma, dlow, dhigh) = truncated_normal.rsample(0.0, 1.0, 10.0, 12.0, seed=1)

For a one-sided window pass a bound far out (1e300): its tail mass is then exactly 0.
(irgen.compose.truncated does the same for any generated module, from Python.)"""
from irgen.dsl import *
from irgen.lib.windows import window_log_cdf, window_log_mass, window_log_sf
from irgen.lib.special import log_ndtr

LOG_SQRT_2PI = 0.9189385332046728
REACH = 1e4            # no double u puts a quantile further than this beyond a window edge


@dsl
def log_phi(t):
    """log Phi(t); exactly -inf, without a tangent, beyond REACH standard deviations (where
    t^2 may overflow and the mass is 0 to every digit)."""
    if t < -REACH:
        return -INF
    return log_ndtr(t)


@dsl
def standard_log_cdf(t, a, b):
    """log F_T for the standardised t in the window [a, b]."""
    return window_log_cdf(log_phi(t), log_phi(a), log_phi(b), log_phi(-t), log_phi(-a),
                          log_phi(-b))


@dsl
def standard_log_sf(t, a, b):
    """log(1 - F_T) for the standardised t in the window [a, b]."""
    return window_log_sf(log_phi(t), log_phi(a), log_phi(b), log_phi(-t), log_phi(-a),
                         log_phi(-b))


@dsl
def log_cdf(x, mu, sigma, low, high):
    if low >= high:
        return NAN
    if x <= low:
        return -INF
    if x >= high:
        return 0.0
    return standard_log_cdf((x - mu) / sigma, (low - mu) / sigma, (high - mu) / sigma)


@dsl
def log_sf(x, mu, sigma, low, high):
    if low >= high:
        return NAN
    if x <= low:
        return 0.0
    if x >= high:
        return -INF
    return standard_log_sf((x - mu) / sigma, (low - mu) / sigma, (high - mu) / sigma)


@dsl
def cdf(x, mu, sigma, low, high):
    return exp(log_cdf(x, mu, sigma, low, high))


@dsl
def log_prob(x, mu, sigma, low, high):
    if low >= high:
        return NAN
    if x < low or x > high:
        return -INF
    t = (x - mu) / sigma
    a = (low - mu) / sigma
    b = (high - mu) / sigma
    mass = window_log_mass(log_phi(a), log_phi(b), log_phi(-a), log_phi(-b))
    return -0.5 * t * t - LOG_SQRT_2PI - log(sigma) - mass


@dsl
def tn_sample(mu, sigma, low, high):
    """Inversion: F_T(t) = u by Newton's method on log F_T, inside a bracket that a
    bisection halves whenever a Newton step would leave it; at most 200 steps."""
    if low >= high:
        return NAN
    lu = log(uniform())
    a = (low - mu) / sigma
    b = (high - mu) / sigma
    la = log_phi(a)
    lb = log_phi(b)
    sa = log_phi(-a)
    sb = log_phi(-b)
    mass = window_log_mass(la, lb, sa, sb)
    lo = max(a, min(b, 0.0) - REACH)
    hi = min(b, max(a, 0.0) + REACH)
    t = 0.5 * (lo + hi)
    done = 0.0
    while bounded(done < 1.0, 200):
        lf = window_log_cdf(log_phi(t), la, lb, log_phi(-t), sa, sb)
        r = lf - lu
        if r < 0.0:
            lo = t
        else:
            hi = t
        slope = exp(-0.5 * t * t - LOG_SQRT_2PI - lf - mass)     # d log F_T / dt
        nt = t - r / slope
        if isnan(nt) or nt <= lo or nt >= hi:
            nt = 0.5 * (lo + hi)
        if abs(r) <= 32.0 * EPS * (1.0 + abs(lu)):
            nt = t      # log F_T is the target to its own rounding: near t = 0 a step is
                        # noise there, and may never shrink below t's ulps
        if abs(nt - t) <= 4.0 * EPS * abs(t) or hi - lo <= 4.0 * EPS * max(abs(lo), abs(hi)):
            done = 1.0
        t = nt
    return mu + sigma * t


truncated_normal = Distribution(
    name="truncated_normal",
    doc="""Normal(mu, sigma) truncated to [low, high], with implicit gradients with respect to
mu, sigma and both bounds; accurate for windows far in either tail.""",
    params=(Param("mu", "mean of the untruncated normal"),
            Param("sigma", "its standard deviation", "positive"),
            Param("low", "lower bound"), Param("high", "upper bound")),
    support=Interval(-INF, INF),
    cdf=cdf, log_prob=log_prob, log_cdf=log_cdf, log_sf=log_sf, sample=tn_sample,
)
