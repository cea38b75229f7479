"""Student-t(df, loc, scale): for t = (x - loc) / scale below 0,
F = I_w(df / 2, 1 / 2) / 2 with w = df / (df + t^2)."""
from irgen.dsl import *
from irgen.distributions.gamma import log_sample as log_gamma_sample
from irgen.lib.incomplete_beta import lgamma_step, log_ibeta, shape_band, split
from irgen.lib.portable import portable_exp, portable_log

LOG_2 = 0.6931471805599453
LOG_PI = 1.1447298858494002


@dsl
def log_lower_half(t, df):
    """log P(T < -|t|) = log(I_w(df/2, 1/2) / 2), with w and 1 - w = t^2 / (df + t^2) each
    formed directly (not as 1 - the other), and t^2 not formed where it would overflow."""
    if t * t > df:
        s = sqrt(df) / abs(t)
        s2 = s * s
        w = s2 / (1.0 + s2)
        w1 = 1.0 / (1.0 + s2)
        lw = 2.0 * log(s) - log1p(s2)
        l1w = -log1p(s2)
    else:
        r = t * t / df
        w = 1.0 / (1.0 + r)
        w1 = r / (1.0 + r)
        lw = -log1p(r)
        l1w = log(r) - log1p(r)
    return log_ibeta(0.5 * df, 0.5, w, w1, lw, l1w) - LOG_2


@dsl
def log_density_ratio(df):
    """log(Gamma((df + 1)/2) / Gamma(df/2))."""
    return lgamma_step(0.5 * df, 0.5)


@dsl
def log_prob_standard(t, df):
    v = t / sqrt(df)
    grow = log1p(v * v) if abs(v) < 1e150 else 2.0 * log(abs(v))
    return log_density_ratio(df) - 0.5 * (log(df) + LOG_PI) - 0.5 * (df + 1.0) * grow


@dsl
def log_cdf_standard(t, df):
    if abs(t) < 1e-100:
        # F = 1/2 + t q(0) to every digit (the next term is t^3); forward mode gives the
        # tangents in t and df from this, where the fraction's would be 0 / 0 or overflow
        return -LOG_2 + log1p(2.0 * t * exp(log_prob_standard(0.0, df)))
    lh = log_lower_half(t, df)
    return lh if t < 0.0 else log1p(-exp(lh))


@dsl
def cdf(x, df, loc, scale):
    return exp(log_cdf_standard((x - loc) / scale, df))


@dsl
def log_prob(x, df, loc, scale):
    return log_prob_standard((x - loc) / scale, df) - log(scale)


@dsl
def log_cdf(x, df, loc, scale):
    return log_cdf_standard((x - loc) / scale, df)


@dsl
def log_sf(x, df, loc, scale):
    return log_cdf_standard((loc - x) / scale, df)


@dsl
def upper(x, df, loc, scale):
    return x - loc


@dsl
def t_group(x, df, loc, scale):
    """Branch groups: which form of w (|t| beyond sqrt(df) or not), which side of the
    incomplete beta's split, and a band of df (the fraction's length, lgamma_step's loop)."""
    t = (x - loc) / scale
    r = t * t / df
    far = 4.0 if r > 1.0 else 0.0
    h = 0.5 * df
    side = 8.0 if 1.0 / (1.0 + r) >= split(h, 0.5) else 0.0      # log_ibeta's choice
    return side + far + shape_band(h)


@dsl
def t_sample(df, loc, scale):
    """Z sqrt(df / V) for a chi-squared V = 2 G, G ~ Gamma(df / 2) drawn in log space (for
    df = 0.01 it underflows)."""
    g = log_gamma_sample(0.5 * df, 1.0)
    z = normal()
    return loc + scale * (z * portable_exp(0.5 * (portable_log(0.5 * df) - g)))


student_t = Distribution(
    name="student_t",
    doc="""Student's t distribution with df degrees of freedom, location loc and scale scale.

The CDF is I_w(df/2, 1/2) / 2 below loc, with w = df / (df + t^2), t = (x - loc) / scale,
through the regularized incomplete beta function (irgen/lib/incomplete_beta.py); both w and
1 - w are formed without cancellation. The gradient in df is implicit, through this CDF;
those in loc and scale are the closed forms 1 and t. float32 kernels compute in double.
Samples are Z sqrt(df / V), V chi-squared from a Gamma draw in log space.""",
    params=(Param("df", "degrees of freedom", "positive"),
            Param("loc", "location", "real", role="location"),
            Param("scale", "scale", "positive", role="scale")),
    support=Interval(-INF, INF),
    cdf=cdf, log_prob=log_prob, log_cdf=log_cdf, log_sf=log_sf, upper=upper, group=t_group,
    sample=t_sample, float32="double",
)
