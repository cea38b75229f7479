"""Modified Bessel function I0 in exponentially scaled log form."""
from irgen.dsl import *

LOG_2PI = 1.8378770664093453


@dsl
def log_i0e(k):
    """log(I0(k) exp(-k)) for k >= 0: the power series below k = 20 (positive terms),
    Hankel's asymptotic series above (its smallest term is below exp(-2k))."""
    if k < 20.0:
        q = 0.25 * k * k
        term = 1.0
        total = 1.0
        for j in range(1, 200):
            term = term * q / (j * j)
            total = total + term
            if converged(term, total):
                break
        return log(total) - k
    term = 1.0
    total = 1.0
    for j in range(1, 60):
        term = term * (2.0 * j - 1.0) * (2.0 * j - 1.0) / (8.0 * j * k)
        total = total + term
        if converged(term, total):
            break
    return log(total) - 0.5 * (LOG_2PI + log(k))
