"""Kumaraswamy(a, b) on [0, 1]: F(x) = 1 - (1 - x^a)^b."""
from irgen.dsl import *
from irgen.lib.portable import log_of_draw, portable_exp, portable_log


@dsl
def log1m_pow(x, a):
    """log(1 - x^a). Near x = 1, x^a rounds to 1 before the subtraction (x = 1 - 1e-16,
    a = 0.2 gives 1 - 2e-17, which is 1), so there it is log(-expm1(a log x)); below
    x^a = 1/2, log1p(-x^a)."""
    y = a * log(x)
    if y < -0.6931471805599453:
        return log1p(-exp(y))
    return log(-expm1(y))


@dsl
def cdf(x, a, b):
    return -expm1(b * log1m_pow(x, a))


@dsl
def log_prob(x, a, b):
    """log a + log b + (a - 1) log x + (b - 1) log(1 - x^a); the terms with a or b equal to
    1 are 0 at the ends, where the logarithms are -inf."""
    first = 0.0 if a == 1.0 else (a - 1.0) * log(x)
    second = 0.0 if b == 1.0 else (b - 1.0) * log1m_pow(x, a)
    return log(a * b) + first + second


@dsl
def log_cdf(x, a, b):
    y = a * log(x)
    ls = log(b) + y
    if y < -40.0 and ls < -40.0:
        # F = b x^a (1 + O(x^a + b x^a)): from logarithms, as x^a underflows long before
        # log F does (a = 100 at x = 1e-30)
        return ls
    return log(-expm1(b * log1m_pow(x, a)))


@dsl
def log_sf(x, a, b):
    return b * log1m_pow(x, a)


@dsl
def sample(a, b):
    """Inversion: (1 - u^(1/b))^(1/a)."""
    w = portable_exp(log_of_draw(uniform()) / b)
    rest = 1.0 - w
    return portable_exp(portable_log(rest) / a)


@dsl
def quantile_guess(u, a, b):
    """The quantile itself, (1 - (1 - u)^(1/b))^(1/a)."""
    return exp(log(-expm1(log1p(-u) / b)) / a)


kumaraswamy = Distribution(
    name="kumaraswamy",
    doc="""Kumaraswamy distribution with shapes a and b, on [0, 1].

F(x) = 1 - (1 - x^a)^b, a Beta-like distribution with a closed-form CDF and density; the
implicit gradients come from forward mode through the CDF (log S = b log(1 - x^a) in the
upper tail, with log(1 - x^a) as log(-expm1(a log x)) near x = 1, where x^a rounds to 1).
float32 kernels compute in double: in float, 1 - x^a near x = 1 keeps too few digits for
the gradients. Samples by inversion.""",
    params=(Param("a", "shape", "positive"), Param("b", "shape", "positive")),
    support=Interval(0.0, 1.0),
    cdf=cdf, log_prob=log_prob, log_cdf=log_cdf, log_sf=log_sf, sample=sample,
    float32="double",
    quantile_guess=quantile_guess,
)
