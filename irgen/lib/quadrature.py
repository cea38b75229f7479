"""Gauss-Legendre nodes and weights on [-1, 1], computed with mpmath at 40 digits and
rounded once, so the tables in generated code do not depend on the NumPy version."""
import functools

import mpmath


@functools.lru_cache(maxsize=None)
def gauss_legendre(n: int) -> tuple[tuple, tuple]:
    with mpmath.workdps(40):
        nodes, weights = [], []
        for i in range(1, n + 1):
            x = mpmath.cos(mpmath.pi * (i - mpmath.mpf(1) / 4) / (n + mpmath.mpf(1) / 2))
            for _ in range(100):
                p0, p1 = mpmath.mpf(1), x
                for k in range(2, n + 1):
                    p0, p1 = p1, ((2 * k - 1) * x * p1 - (k - 1) * p0) / k
                dp = n * (x * p1 - p0) / (x * x - 1)
                step = p1 / dp
                x -= step
                if abs(step) < mpmath.mpf(10) ** -38:
                    break
            nodes.append(float(x))
            weights.append(float(2 / ((1 - x * x) * dp * dp)))
    return tuple(nodes), tuple(weights)
