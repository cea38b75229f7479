"""The regularized incomplete beta function I_x(a, b) in log space.

Below x = (a + 1) / (a + b + 2) the continued fraction for I_x(a, b) converges quickly;
above it the same fraction gives I_{1-x}(b, a) = 1 - I_x(a, b), so each tail is computed
where it is the small one. The functions take x together with log x and log(1 - x): callers
in log space (x may underflow) or with 1 - x known exactly (Student-t) pass them without
forming 1 - x from a rounded x.

The derivative in x is stated in closed form, d log I / dx = a / (x (1 - x) h) with h the
fraction's value, carried by u = (lx - detach(lx)) - (l1x - detach(l1x)), zero in value with
tangent dx / (x (1 - x)) (as in incomplete_gamma.py): the fraction carries the tangents in
a and b only, and the density has no cancellation."""
from irgen.dsl import *
from irgen.lib.special import lgamma1p, log1pmx, stirling_correction

MAX_PAIRS = 20000         # about sqrt(max(a, b)) pairs near the split: a, b up to ~1e8
STIRLING_FROM = 14.0      # shapes from which log B(a, b) is taken from Stirling's series
LOG_SQRT_2PI = 0.9189385332046728


@dsl
def lgamma_step(c, d):
    """lgamma(c + d) - lgamma(c) for c > 0, d >= 0, without the cancellation of two lgammas
    (for d small against c their tangents agree to many digits): c is raised to
    STIRLING_FROM by lgamma(c + d) - lgamma(c) = (the same at c + 1) - log1p(d / c), then
    Stirling's series gives (c - 1/2) log1p(d / c) + d (log(c + d) - 1) + corrections."""
    shift = 0.0
    for _ in range(15):
        if c >= STIRLING_FROM:
            break
        shift = shift + log1p(d / c)
        c = c + 1.0
    s = c + d
    return ((c - 0.5) * log1p(d / c) + d * (log(s) - 1.0)
            + stirling_correction(s) - stirling_correction(c) - shift)


@dsl
def log_a_beta(a, b):
    """log(a B(a, b)) = lgamma(a + 1) + lgamma(b) - lgamma(a + b), the difference of the
    larger shape's lgammas taken by lgamma_step; Stirling's form where both shapes are
    large, so that B(1000, 1000) ~ e^-1386 keeps its digits."""
    if a < STIRLING_FROM or b < STIRLING_FROM:
        if a <= b:
            return lgamma1p(a) - lgamma_step(b, a)
        return lgamma(b) + log(a) - lgamma_step(a, b)
    s = a + b
    small = min(a, b)
    # the smaller share's log directly, the larger one's through log1p: both keep digits
    l_small = log(small / s)
    l_large = log1p(-small / s)
    la = l_small if a <= b else l_large
    lb = l_large if a <= b else l_small
    return (log(a) + LOG_SQRT_2PI + (a - 0.5) * la + (b - 0.5) * lb - 0.5 * log(s)
            + stirling_correction(a) + stirling_correction(b) - stirling_correction(s))


@dsl
def shape_band(s):
    """0 below 1 (lgamma near its pole), 1 up to Stirling's form, 2 to 200, 3 beyond: bands
    of a shape within which the fraction's length and the branches taken vary little (for
    the branch groups of the distributions built on I_x)."""
    return 0.0 if s < 1.0 else (1.0 if s < STIRLING_FROM else (2.0 if s < 200.0 else 3.0))


@dsl
def split(a, b):
    """Below this x the fraction for I_x(a, b) converges fast and I is the smaller tail,
    or close enough to it."""
    return (a + 1.0) / (a + b + 2.0)


@dsl
def beta_fraction(a, b, x):
    """h in I_x(a, b) = x^a (1 - x)^b h / (a B(a, b)): h = 1/(1+ d1/(1+ d2/(1+ ...))) with
    d_(2m+1) = -(a + m)(a + b + m) x / ((a + 2m)(a + 2m + 1)) and
    d_(2m+2) = (m + 1)(b - m - 1) x / ((a + 2m + 1)(a + 2m + 2)).
    Forward recurrence of numerators and denominators divided by the newest denominator at
    each step, two steps a pass sharing one division for both coefficients. The change
    between convergents is carried multiplicatively, f_(n+1) - f_n = -d_n (B_(n-1) / B_(n+1))
    (f_n - f_(n-1)), so that the test sees the true change, not the rounding of the
    recurrence (at x = 1e-16 the convergents drift by an ulp a step and never agree)."""
    num = 1.0                # the first convergent, 1 / 1
    num_prev = 0.0
    den_prev = 1.0
    step = 1.0
    done = 0.0
    for m in range(MAX_PAIRS):
        c = a + 2.0 * m
        q = c * (c + 1.0)
        q = q * (c + 2.0)    # named, so that forward mode divides by q, not by its factors
        r = x / q
        odd = -(a + m) * (a + b + m) * ((c + 2.0) * r)
        even = (m + 1.0) * (b - (m + 1.0)) * (c * r)
        s = 1.0 / (1.0 + odd * den_prev)
        num_new = (num + odd * num_prev) * s
        num_prev = num * s
        num = num_new
        step = -odd * (den_prev * s) * step
        t = 1.0 / (1.0 + even * s)
        num_new = (num + even * num_prev) * t
        num_prev = num * t
        den_prev = t
        num = num_new
        step = -even * (s * t) * step
        if converged(step, num):
            done = 1.0
            break
    return num if done > 0.0 else NAN    # out of its range: no answer, not a wrong one


@dsl
def log_prefactor(a, b, x, x1, lx, l1x):
    """log(x^a (1 - x)^b / (a B(a, b))). Near the mode x0 = a / (a + b) of large shapes the
    terms of a log x + b log(1 - x) - log B(a, b) reach a thousand and cancel to order one;
    there it is written in d = x - x0 (as DiDonato and Morris do): a log1pmx(d / x0)
    + b log1pmx(-d / y0) plus terms of order one, since a d / x0 - b d / y0 = 0."""
    if a < STIRLING_FROM or b < STIRLING_FROM:
        return a * lx + b * l1x - log_a_beta(a, b)
    s = a + b
    x0 = a / s
    y0 = b / s
    d = x - x0 if x < 0.5 else y0 - x1
    if abs(d) > 0.5 * min(x0, y0):        # far from the mode nothing cancels
        return a * lx + b * l1x - log_a_beta(a, b)
    return (a * log1pmx(d / x0) + b * log1pmx(-d / y0) - log(a) - LOG_SQRT_2PI
            + 0.5 * (log(x0) + log(b)) - stirling_correction(a) - stirling_correction(b)
            + stirling_correction(s))


@dsl
def log_ibeta_fraction(a, b, x, x1, lx, l1x):
    """log I_x(a, b) by the fraction, accurate below split(a, b); lx = log x and
    l1x = log(1 - x) carry x's tangent, x and x1 = 1 - x only their values (x may be 0
    when lx is finite: then h = 1)."""
    if lx == -INF:           # x = 0: I = 0 (u would be NaN)
        return -INF
    lxd = detach(lx)
    l1xd = detach(l1x)
    xd = detach(x)
    h = beta_fraction(a, b, xd)
    u = (lx - lxd) - (l1x - l1xd)
    v = log_prefactor(a, b, xd, detach(x1), lxd, l1xd) + log(h) + u * detach(a / h)
    # its terms can cancel to one rounding above 0 (a = 5e-21, b = 2e16): I is a probability.
    # A test, not min(), so that a NaN (a fraction out of its range) stays NaN
    return 0.0 if v > 0.0 else v


@dsl
def log_ibeta(a, b, x, x1, lx, l1x):
    """log I_x(a, b) for x1 = 1 - x, lx = log x, l1x = log(1 - x)."""
    if x < split(a, b):
        return log_ibeta_fraction(a, b, x, x1, lx, l1x)
    return log1p(-exp(log_ibeta_fraction(b, a, x1, x, l1x, lx)))


@dsl
def log_ibetac(a, b, x, x1, lx, l1x):
    """log(1 - I_x(a, b)) = log I_(1-x)(b, a)."""
    return log_ibeta(b, a, x1, x, l1x, lx)


@dsl
def ibeta(a, b, x, x1, lx, l1x):
    if x < split(a, b):
        return exp(log_ibeta_fraction(a, b, x, x1, lx, l1x))
    return -expm1(log_ibeta_fraction(b, a, x1, x, l1x, lx))
