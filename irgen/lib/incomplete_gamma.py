"""The regularized incomplete gamma functions P(a, y) and Q(a, y) in log space.

Below the split (y = a + 1 for a >= 1, y = 1/2 for a < 1) P comes from a series, above it Q
from Lentz's continued fraction, so each is computed where it is the smaller one and its
derivatives keep their digits. For a >= 1 the series is sum y^n / ((a+1)...(a+n)) with the
prefactor y^a e^-y / Gamma(a + 1) in log space, for large a in a Stirling form in
t = y / (a + 1) - 1 whose derivative in a keeps the digits log(y) - digamma(a + 1) would
lose. For a < 1, where P is close to 1, the series is Kummer's alternating one, which has
no e^-y to cancel against and so keeps the derivative in y (the density) accurate."""
from irgen.dsl import *
from irgen.lib.special import lgamma1p, log1pmx, stirling_correction

INV_ODD = tuple(1.0 / (2 * k + 1) for k in range(100))      # 1/n and 1/(n + 1), n = 2k + 1
INV_EVEN = tuple(1.0 / (2 * k + 2) for k in range(100))
MAX_TERMS = 200000         # about 9 sqrt(a) terms are needed near y = a: a up to ~5e8
MAX_PAIRS = MAX_TERMS // 2
SMALL_A_Q_BELOW = 1.5      # for a < 1, Q by Kummer's series below this y, the fraction above
SMALL_A_PAIRS = 11         # the most steps of Kummer's series there (small_a_sum)
STIRLING_FROM = 14.0       # a from which the Stirling form of the prefactor is used
LOG_SQRT_2PI = 0.9189385332046728


@dsl
def log_prefactor(a, y):
    """log(y^a exp(-y) / Gamma(a + 1))."""
    if a < STIRLING_FROM or y < 0.5 * a:   # far below the mode nothing cancels
        return a * log(y) - y - lgamma(a + 1.0)
    b = a + 1.0
    t = (y - b) / b
    return b * log1pmx(t) - log1p(t) - 0.5 * log(b) - LOG_SQRT_2PI - stirling_correction(b)


@dsl
def lower_series(a, y):
    """sum over n >= 0 of y^n / ((a + 1) ... (a + n)); P = prefactor * this. Two terms a
    step, with one division for both: y / (a + n) = (a + n + 1) y / ((a + n)(a + n + 1)).
    The ratios are named, so that from one step to the next the term (and its tangent)
    passes through one multiplication, the total through one addition: the loop runs at the
    speed of that chain, not of three products in a row."""
    term = 1.0
    total = 1.0
    done = 0.0
    for k in range(MAX_PAIRS):
        b = a + (2.0 * k + 1.0)
        q = b * (b + 1.0)         # named, so that forward mode divides by q, not by b and b + 1
        r = y / q
        to_first = (b + 1.0) * r  # y / b
        to_next = y * r           # y^2 / (b (b + 1))
        first = term * to_first
        term = term * to_next
        pair = first + term
        total = total + pair
        if converged(term, total):
            done = 1.0
            break
    return total if done > 0.0 else NAN     # out of its range: no answer, not a wrong one


@dsl
def small_a_sum(a, y):
    """sum over n >= 1 of (-y)^n / (n! (a + n)) for 0 <= a < 1, y < SMALL_A_Q_BELOW, where it
    alternates with shrinking terms. Two terms a step with one division, as in lower_series,
    and as there the power passes from step to step through one multiplication.

    A fixed number of steps by y's band and the precision, and no convergence test: for
    every a in [0, 1) at each band's top the terms left out change the sum and its
    derivative by less than 0.06 ulp (mpmath), and the test (the term's and its tangent's
    sizes against the totals) took a third of a step: float32 Gamma implicit_grad is 25%
    faster for alpha in [0.1, 1], and cdf_grad gave the same bits at 10^5 points (a in
    [1e-4, 1), y in [1e-6, 1.5)).

    No step makes a subnormal number, which costs a hundred cycles or more on many x86
    processors: the small bands take few steps, so the powers they reach stay normal; a lane
    that has taken its steps sets its power to zero, so that the steps other lanes of a
    vector still take multiply zeros; and a caller passes y = 0 for y below EPS^2 (where y^2
    could be subnormal, and the sum is below EPS^2 of the terms it is added to)."""
    if EPS > 1e-10:
        pairs = 1.0 if y < 2.0 ** -13 else (2.0 if y < 2.0 ** -6 else
                                             (4.0 if y < 0.5 else 7.0))
    else:
        pairs = 1.0 if y < 2.0 ** -28 else (2.0 if y < 2.0 ** -14 else
                                            (3.0 if y < 2.0 ** -8 else
                                             (7.0 if y < 0.5 else 11.0)))
    power = 1.0
    total = 0.0
    for k in range(SMALL_A_PAIRS):
        b = a + (2.0 * k + 1.0)
        q = b * (b + 1.0)
        r = 1.0 / q
        to_odd = y * INV_ODD[k]
        to_next = to_odd * (y * INV_EVEN[k])
        odd = -(power * to_odd)
        power = power * to_next
        first = odd * ((b + 1.0) * r)
        second = power * (b * r)
        pair = first + second
        total = total + pair
        if k + 1.0 >= pairs:
            break
        power = power if k + 1.0 < pairs else 0.0   # in every lane, in the branch or not
    return total


@dsl
def log_q_small_a(a, y):
    """log Q for a < 1, y < 2: Gamma(1+a) Q = (Gamma(1+a) - 1) - (y^a - 1) - y^a a sum,
    each part computed without the cancellation that 1 - P would suffer."""
    yd = detach(y)
    u = log(y) - log(yd)             # zero (y >= 1/2 here); its tangent is dy / y
    lg = lgamma1p(a)
    la = a * log(yd)
    r = expm1(lg) - expm1(la) - exp(la) * a * small_a_sum(a, yd)
    return log(r) - lg + u * detach(-a * exp(la - yd) / r)


@dsl
def split(a):
    """Below this y, P is the smaller of P and Q, or close enough to it."""
    return a + 1.0 if a >= 1.0 else 0.5


@dsl
def upper_fraction(a, y):
    """The continued fraction 1/(y+1-a- 1(1-a)/(y+3-a- 2(2-a)/(y+5-a- ...))); Q = a *
    prefactor * this. Forward recurrence of numerators A and denominators B, divided
    through by the newest B at every step (one division a step; B stays 1):
    A_new = b A + an A_prev, B_new = b + an B_prev, value A_new / B_new."""
    b = y + 1.0 - a
    s = 1.0 / b
    num = s                  # A_1 / B_1: the first convergent 1 / b
    num_prev = 0.0           # A_0 / B_1
    den_prev = s             # B_0 / B_1
    h = num
    done = 0.0
    for i in range(1, MAX_TERMS):
        an = -i * (i - a)
        b = b + 2.0
        s = 1.0 / (b + an * den_prev)
        num_new = (b * num + an * num_prev) * s
        num_prev = num * s
        den_prev = s
        num = num_new
        step = num - h
        h = num
        if converged(step, h):
            done = 1.0
            break
    return h if done > 0.0 else NAN


# In log_p_series, log_q_fraction and log_q_small_a the derivative in y is stated in
# closed form: y d/dy log P = y q/P, -y q/Q with the density q = y^(a-1) e^-y / Gamma(a)
# written through the parts at hand, added as u * detach(y d/dy) with u = log(y) - log(yd),
# yd = detach(y): u is zero and its tangent is dy / y, so the term is zero in value and
# finite wherever the parts are (the logarithms are of max(y, TINY * EPS), the least positive
# subnormal; at y = 0 itself, P is 0 and log P -inf, not P at that subnormal, which for
# a = 0.01 is 5.9e-4). The series and the fraction then carry
# the tangent in a only (a third less work), and q/P and q/Q have no cancellation.

@dsl
def log_p_series(a, y):
    yd = detach(y)
    if yd == 0.0:
        return -INF                  # P(a, 0) = 0 (its tangent too)
    ym = max(yd, TINY * EPS)         # y itself here, as a floor for float32
    u = log(max(y, TINY * EPS)) - log(ym)
    if a < 1.0:
        # a s, about -a y, is below EPS^2 of a log(y) where y < EPS^2: a zero there spares
        # the sum subnormal arithmetic
        s = small_a_sum(a, yd if yd >= EPS * EPS else 0.0)
        return (a * log(ym) - lgamma1p(a) + log1p(a * s)
                + u * detach(a * exp(-yd) / (1.0 + a * s)))
    s = lower_series(a, yd)
    return log_prefactor(a, ym) + log(s) + u * detach(a / s)


@dsl
def log_q_fraction(a, y):
    if a < 1.0 and y < SMALL_A_Q_BELOW:
        return log_q_small_a(a, y)
    yd = detach(y)
    if yd == INF:
        return -INF                  # Q(a, inf) = 0 (InverseGamma's F at x = 0, or where
                                     # beta / x overflows), not inf - inf
    u = log(y) - log(yd)             # y >= 1/2 here
    h = upper_fraction(a, yd)
    return log_prefactor(a, yd) + log(a) + log(h) + u * detach(-1.0 / h)


@dsl
def log_gamma_p(a, y):
    """log P(a, y), the regularized lower incomplete gamma function."""
    if y < split(a):
        return log_p_series(a, y)
    return log1p(-exp(log_q_fraction(a, y)))


@dsl
def log_gamma_q(a, y):
    """log Q(a, y) = log(1 - P(a, y))."""
    if y < split(a):
        return log1p(-exp(log_p_series(a, y)))
    return log_q_fraction(a, y)


@dsl
def gamma_p(a, y):
    if y < split(a):
        return exp(log_p_series(a, y))
    return -expm1(log_q_fraction(a, y))


# In log space, y = log x: where x underflows, P(a, x) = x^a / Gamma(a + 1) to every digit
# (the next term is relatively x a / (a + 1)), so log P = a y - log Gamma(a + 1).

@dsl
def log_gamma_p_of_log(a, ly):
    """log P(a, e^ly), for every ly (e^ly may underflow)."""
    if ly < log(TINY):
        return a * ly - lgamma1p(a) if a < 1.0 else a * ly - lgamma(a + 1.0)
    return log_gamma_p(a, exp(ly))


@dsl
def log_gamma_q_of_log(a, ly):
    """log Q(a, e^ly), for every ly."""
    if ly < log(TINY):
        return log1p(-exp(log_gamma_p_of_log(a, ly)))
    return log_gamma_q(a, exp(ly))
