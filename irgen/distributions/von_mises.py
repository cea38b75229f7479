"""von Mises(mu, kappa) on [-pi, pi): angles are wrapped around mu.

The CDF is the integral of the density, by Gauss-Legendre quadrature, over the smaller of
the two pieces that never cancel: from the angle to the far end (-pi) in the tails, where
the integrand is scaled by its value at the angle so nothing underflows, or from the angle
to the mode in the body. Hill's series and normal approximation (AS 518, used by TensorFlow
Probability) cancel in the far tails and give only about 8 digits of the kappa derivative
above kappa = 10.5; the quadrature has neither problem."""
from irgen.dsl import *
from irgen.lib.bessel import ASYMPTOTIC_FROM, log_i0e
from irgen.lib.portable import cos_turns, portable_atan, portable_log, sin_turns
from irgen.lib.quadrature import gauss_legendre
from irgen.lib.special import sin_small

LOG_2PI = 1.8378770664093453
PI_LO = 1.2246467991473532e-16   # pi minus PI (pi rounded to double); kernels run in double
# Gauss-Legendre rules, sized by measurement against mpmath: on the body integral in
# u = sin(t / 2) up to r = sin(w / 2), where the integrand falls by exp(-e), e <= 4.5,
# 10 nodes reach 4e-16 for r <= 1/2 and e <= 1, 12 nodes 5e-16 for r <= 1/2, and 14 nodes
# 6e-16 up to r = sin(pi / 4); in the tail the integrand falls by exp(-E), E <= 40, and 12,
# 16 or 24 nodes reach 1e-16 for E up to 5, 12 and 40.
B10_X, B10_W = gauss_legendre(10)
B12_X, B12_W = gauss_legendre(12)
B14_X, B14_W = gauss_legendre(14)
T12_X, T12_W = gauss_legendre(12)
T16_X, T16_W = gauss_legendre(16)
T24_X, T24_W = gauss_legendre(24)
TAIL_FROM = 4.5       # kappa (1 - cos w) above which the tail form is used
CUTOFF = 40.0         # the tail integral stops where the integrand falls below exp(-40)


@dsl
def wrap(x, mu):
    """x - mu wrapped into [-pi, pi)."""
    y = x - mu
    y = y - 2.0 * PI * floor((y + PI) / (2.0 * PI))
    if y < -PI:                 # rounding in the line above can step just outside
        y = y + 2.0 * PI
    if y >= PI:
        y = y - 2.0 * PI
    return y


@dsl
def tail_integrand(w, k, e, s):
    """exp(k (cos t - cos w)) at t = w + s, as -2 k sin((t + w) / 2) sin((t - w) / 2), the
    first sine taken from whichever end of [0, pi] its argument is nearer (e = pi - w)."""
    a = e - 0.5 * s if w > 0.5 * PI else w + 0.5 * s
    return exp(-2.0 * k * sin_small(a) * sin_small(0.5 * s))


@dsl
def tail_mass(w, k):
    """Integral over [w, pi] of exp(k (cos t - cos w)) dt, 0 <= w <= pi."""
    e = PI - w
    e = e + PI_LO                         # pi - w, without the rounding of pi
    length = e
    fall = k * (1.0 + cos(w))             # -log of the integrand at t = pi
    c = cos(w) - CUTOFF / k
    if c > -1.0:                          # stop where the integrand falls below exp(-40)
        length = atan2(sqrt((1.0 - c) * (1.0 + c)), c) - w
        fall = CUTOFF
    # (the cutoff's end moves with k, but the integrand there is exp(-40) of its start, so
    # the end is held fixed: the nodes carry no tangent, and neither do their sines)
    h = 0.5 * detach(length)
    total = 0.0
    if fall <= 5.0:
        for i in range(12):
            total = total + T12_W[i] * tail_integrand(w, k, e, h * (1.0 + T12_X[i]))
    elif fall <= 12.0:
        for i in range(16):
            total = total + T16_W[i] * tail_integrand(w, k, e, h * (1.0 + T16_X[i]))
    else:
        for i in range(24):
            total = total + T24_W[i] * tail_integrand(w, k, e, h * (1.0 + T24_X[i]))
    return h * total


@dsl
def body_mass(r, k):
    """Integral over [0, w] of exp(k (cos t - 1)) dt, r = sin(w / 2) <= sin(pi / 4), as
    the integral over [0, r] of 2 exp(-2 k u^2) / sqrt(1 - u^2) du (u = sin(t / 2)): no sine
    at the nodes, and the integrand stays analytic well beyond the interval."""
    h = 0.5 * r
    e = 2.0 * k * r * r
    total = 0.0
    if r <= 0.5 and e <= 1.0:
        for i in range(10):
            u = h * (1.0 + B10_X[i])
            total = total + B10_W[i] * exp(-2.0 * k * u * u) / sqrt(1.0 - u * u)
    elif r <= 0.5:
        for i in range(12):
            u = h * (1.0 + B12_X[i])
            total = total + B12_W[i] * exp(-2.0 * k * u * u) / sqrt(1.0 - u * u)
    else:
        for i in range(14):
            u = h * (1.0 + B14_X[i])
            total = total + B14_W[i] * exp(-2.0 * k * u * u) / sqrt(1.0 - u * u)
    return 2.0 * h * total


@dsl
def log_lower(w, k):
    """log F(-w) for the centred distribution, 0 <= w <= pi: the mass below -w. Its
    derivative in w is stated in closed form, -q(w) / F(-w): in the tail -1 / tail_mass,
    in the body -exp(-e - log_z) / F, added as (w - wd) * detach(...) with wd = detach(w)
    (zero in value, dw in tangent), so that the quadratures carry the tangent in k alone
    and the implicit gradient's ratio -(d log F / dk) / (d log F / dx) needs no density."""
    wd = detach(w)
    log_z = LOG_2PI + log_i0e(k)
    r = sin(0.5 * wd)
    e = 2.0 * k * r * r                     # k (1 - cos w)
    if e > TAIL_FROM or wd > 0.5 * PI:
        m = tail_mass(wd, k)
        return log(m) - e - log_z + (w - wd) * detach(-1.0 / m)
    f = 0.5 - body_mass(r, k) * exp(-log_z)
    return log(f) + (w - wd) * detach(-exp(-e - log_z) / f)    # finite derivative at w = 0


@dsl
def cdf(x, mu, kappa):
    y = wrap(x, mu)
    if y <= 0.0:
        return exp(log_lower(-y, kappa))
    return -expm1(log_lower(y, kappa))


@dsl
def log_cdf(x, mu, kappa):
    y = wrap(x, mu)
    if y <= 0.0:
        return log_lower(-y, kappa)
    return log1p(-exp(log_lower(y, kappa)))


@dsl
def log_sf(x, mu, kappa):
    y = wrap(x, mu)
    if y >= 0.0:
        return log_lower(y, kappa)
    return log1p(-exp(log_lower(-y, kappa)))


@dsl
def upper(x, mu, kappa):
    return wrap(x, mu)


@dsl
def log_prob(x, mu, kappa):
    y = wrap(x, mu)
    r = sin(0.5 * y)
    return -2.0 * kappa * r * r - LOG_2PI - log_i0e(kappa)


@dsl
def group(x, mu, kappa):
    """Branch groups: the side of mu (lower or upper tail form); the body's or the tail's
    rule (kinds 0-2 and 3-4, the rare long tail rules together); kappa's band (log_i0e's
    power series needs more terms as kappa grows; above ASYMPTOTIC_FROM it is Hankel's).
    Conditional expressions, not branches, and sin(w / 2) within 0.5% by a polynomial:
    a group boundary may move a little, never a result."""
    y = wrap(x, mu)
    w = abs(y)
    s = 0.5 * w
    r = s * (1.0 - s * s / 6.0 * (1.0 - s * s / 20.0))
    e = 2.0 * kappa * r * r
    tail = 3.0 if 2.0 * kappa * (1.0 - r * r) <= 5.0 else 4.0
    body = (0.0 if e <= 1.0 else 1.0) if r <= 0.5 else 2.0
    kind = tail if e > TAIL_FROM or w > 0.5 * PI else body
    band = 20.0 if kappa >= ASYMPTOTIC_FROM else (10.0 if kappa >= 4.0 else 0.0)
    return kind + band + (5.0 if y > 0.0 else 0.0)


# Best and Fisher's method accepts at least 65% of its tries, so 64 tries all fail with
# probability below 1e-29; then the sample is NaN, not a wrong one.
MAX_TRIES = 64


@dsl
def sample(mu, kappa):
    """Best and Fisher (Applied Statistics 28(2), 1979): a wrapped Cauchy proposal of
    parameter rho, accepted by their squeeze or log test. Written without their
    cancellations: rho = 2 kappa / (tau + sqrt(2 tau)) with tau = 1 + sqrt(1 + 4 kappa^2), the
    proposal angle as 2 atan(q tan(pi v / 2)) with q = (1 - rho) / (1 + rho) and v uniform
    in (-1, 1) (which also gives the sign), and their c = kappa (r - f) in terms of 1 - rho
    and cos(pi v / 2), so large kappa keeps its digits and tiny kappa does not overflow."""
    k = min(kappa, 1e307)            # no intermediate overflows; the spread is below 1e-153
    s = sqrt(1.0 + 4.0 * k * k) if k < 1e8 else 2.0 * k * sqrt(1.0 + 0.25 / (k * k))
    tau = 1.0 + s
    st = sqrt(2.0 * tau)
    rho = 2.0 * k / (tau + st)
    omr = (1.0 + 1.0 / (s + 2.0 * k) + st) / (tau + st)     # 1 - rho
    q = omr / (1.0 + rho)
    wide = tau + st
    wide = 0.25 * wide
    near = 1.0 + rho
    scale = omr * omr * wide * near * near
    theta = NAN
    while bounded(isnan(theta), MAX_TRIES):
        v = 2.0 * uniform() - 1.0                   # exact, in (-1, 1)
        t = 0.25 * v                                # h = 2 pi t, in (-pi/2, pi/2)
        ch = cos_turns(t)
        c = scale / (omr * omr + 4.0 * rho * ch * ch)
        u = uniform()
        accept = 1.0 if c * (2.0 - c) > u else 0.0
        if accept == 0.0:
            accept = 1.0 if portable_log(c / u) + 1.0 - c >= 0.0 else 0.0
        if accept > 0.0:             # one place, so SIMD lanes share the sine and atan
            theta = 2.0 * portable_atan(q * sin_turns(t) / ch)
    return wrap(mu + theta, 0.0)


von_mises = Distribution(
    name="von_mises",
    doc="""von Mises distribution with location mu and concentration kappa.

Support [-pi, pi): x is wrapped around mu, so F(x) is the mass from mu - pi to x and
dz/dmu = 1. float32 kernels compute in double and round once. Samples come from Best and
Fisher's method, wrapped into [-pi, pi).""",
    params=(Param("mu", "location (radians)", "real", role="location"),
            Param("kappa", "concentration", "positive")),
    support=Periodic(-PI, PI),
    cdf=cdf, log_prob=log_prob, log_cdf=log_cdf, log_sf=log_sf, upper=upper,
    float32="double", group=group, sample=sample,
)
