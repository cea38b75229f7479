"""Modified Bessel function I0 in exponentially scaled log form."""
import math

from irgen.dsl import *

LOG_2PI = 1.8378770664093453
ASYMPTOTIC_FROM = 30.0
INV_SQUARES = tuple(1.0 / (j * j) if j else 0.0 for j in range(80))
# Hankel's series I0(k) e^-k sqrt(2 pi k) = sum_j c_j / k^j, c_j = ((2j-1)!!)^2 / (j! 8^j);
# from k = 30 on, 18 terms reach 1e-18. Highest power first, for Horner's rule.
HANKEL = tuple(reversed([math.prod(range(1, 2 * j, 2)) ** 2 / (math.factorial(j) * 8 ** j)
                         for j in range(18)]))


@dsl
def log_i0e(k):
    """log(I0(k) exp(-k)) for k >= 0: the power series (positive terms) below k = 30,
    Hankel's asymptotic series above."""
    if k < ASYMPTOTIC_FROM:
        q = 0.25 * k * k
        term = 1.0
        total = 1.0
        for j in range(1, 80):
            term = term * q * INV_SQUARES[j]
            total = total + term
            if converged(term, total):
                break
        return log(total) - k
    u = 1.0 / k
    total = 0.0
    for j in range(18):
        total = total * u + HANKEL[j]
    return log(total) - 0.5 * (LOG_2PI + log(k))
