"""Windows and mixtures written in the DSL: the building blocks of truncations and mixtures.

A user's distribution calls its base distribution's DSL functions for log F and log S at x
and at the bounds (or per component) and combines them here; forward mode then gives the
implicit gradients with respect to the base parameters, the bounds and the weights, as for any
DSL distribution. examples/truncated_normal.py is a complete one, sampler included.

    F_T(x) = (F(x) - F(low)) / (F(high) - F(low))

is formed from log F where low lies below the median and from log S above it, every
difference as log(e^l1 - e^l0) = l1 + log(-expm1(l0 - l1)): a window 40 standard deviations
out keeps its digits where F itself is 1 - 1e-350."""
from irgen.dsl import *

LOG_HALF = -0.6931471805599453


@dsl
def log_diff(l1, l0):
    """log(e^l1 - e^l0) for l1 >= l0."""
    return l1 + log(-expm1(l0 - l1))


@dsl
def log_add(la, lb):
    """log(e^la + e^lb) without overflow: a mixture's log F from its components' w F."""
    m = max(la, lb)
    return m + log1p(exp(min(la, lb) - m))


@dsl
def window_log_mass(lf_low, lf_high, ls_low, ls_high):
    """log(F(high) - F(low)), from the tail the window lies in."""
    if lf_low < LOG_HALF:
        return log_diff(lf_high, lf_low)
    return log_diff(ls_low, ls_high)


@dsl
def window_log_cdf(lf_x, lf_low, lf_high, ls_x, ls_low, ls_high):
    """log F_T(x) for x in [low, high], given the base's log F and log S at x, low, high."""
    mass = window_log_mass(lf_low, lf_high, ls_low, ls_high)
    if lf_low < LOG_HALF:
        return log_diff(lf_x, lf_low) - mass
    return log_diff(ls_low, ls_x) - mass


@dsl
def window_log_sf(lf_x, lf_low, lf_high, ls_x, ls_low, ls_high):
    """log(1 - F_T(x)) for x in [low, high]: (F(high) - F(x)) / (F(high) - F(low))."""
    mass = window_log_mass(lf_low, lf_high, ls_low, ls_high)
    if lf_low < LOG_HALF:
        return log_diff(lf_high, lf_x) - mass
    return log_diff(ls_x, ls_high) - mass
