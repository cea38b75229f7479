"""Modified Bessel function I0 in exponentially scaled log form."""
import math

from irgen.dsl import *

LOG_2PI = 1.8378770664093453
ASYMPTOTIC_FROM = 30.0
INV_SQUARES_ODD = tuple(1.0 / (2 * i + 1) ** 2 for i in range(40))    # 1/j^2, j = 2i + 1
INV_SQUARES_EVEN = tuple(1.0 / (2 * i + 2) ** 2 for i in range(40))   # and j = 2i + 2
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
        for i in range(40):                 # two terms a step, one convergence test
            first = term * q * INV_SQUARES_ODD[i]
            term = first * q * INV_SQUARES_EVEN[i]
            total = total + first + term
            if converged(term, total):
                break
        return log(total) - k
    u = 1.0 / k
    total = 0.0
    for j in range(18):
        total = total * u + HANKEL[j]
    return log(total) - 0.5 * (LOG_2PI + log(k))
