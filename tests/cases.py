"""The built-in distributions as the tests see them: one entry each, that every test module
draws from. A new univariate distribution is its DSL file, one entry here and one line in
irgen/names.py; the tests over "every distribution" then cover it.

An entry gives the generated module's name; `draw(rng, n)`, valid inputs (x, *params) over
the parameters' test ranges with x drawn from the distribution; `bad`, rows of invalid or
extreme inputs; `typical`, one valid parameter tuple in the module's order; the
irgen.torch class with its arguments in torch's order (`torch_typical`; `torch_args`, two
values per argument, and `torch_x`, two values in the support); and `reference`, what the
distribution's values are checked against. `cuda_host` marks the distributions whose
CUDA kernels are compiled as host C++ and checked against the C kernels (each .cu takes
up to a minute to compile, so a representative set: every numeric method)."""
from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Callable

import numpy as np


@dataclass(frozen=True)
class Case:
    name: str
    draw: Callable
    bad: tuple
    typical: tuple
    torch: str = ""
    torch_typical: tuple = ()
    torch_args: tuple = ()
    torch_x: tuple = ()
    reference: str = "scipy"
    cuda_host: bool = False

    @property
    def module(self):
        return importlib.import_module(f"irgen.generated.{self.name}")

    def inputs(self, rng, dtype, n=3000):
        """Columns (x, *params) in dtype: the draws, then the bad rows."""
        cols = self.draw(rng, n)
        with np.errstate(over="ignore"):          # 1e300 is infinite in float32
            return [np.concatenate([c, np.array(self.bad, float)[:, j]]).astype(dtype)
                    for j, c in enumerate(cols)]


def _log_uniform(rng, lo, hi, n):
    return np.exp(rng.uniform(np.log(lo), np.log(hi), n))


def _gamma(rng, n):
    a, b = _log_uniform(rng, 1e-3, 1e3, n), _log_uniform(rng, 0.1, 10, n)
    return [rng.gamma(a) / b, a, b]


def _normal(rng, n):
    return [rng.normal(0, 3, n), rng.normal(0, 1, n), np.exp(rng.uniform(-3, 3, n))]


def _beta(rng, n):
    a, b = _log_uniform(rng, 1e-2, 1e3, n), _log_uniform(rng, 1e-2, 1e3, n)
    return [rng.beta(a, b), a, b]


def _student_t(rng, n):
    df = _log_uniform(rng, 0.05, 1e4, n)
    loc, scale = rng.normal(0, 2, n), np.exp(rng.uniform(-2, 2, n))
    return [loc + scale * rng.standard_t(df), df, loc, scale]


def _von_mises(rng, n):
    return [rng.uniform(-4, 4, n), rng.uniform(-np.pi, np.pi, n),
            _log_uniform(rng, 1e-3, 1e3, n)]


def _positive_pair(sample):
    """Two positive parameters log-uniform in [0.1, 10], x from sample(rng, p, q)."""
    def draw(rng, n):
        p, q = _log_uniform(rng, 0.1, 10, n), _log_uniform(rng, 0.1, 10, n)
        return [sample(rng, p, q), p, q]
    return draw


def _lognormal(rng, n):
    mu, sigma = rng.normal(0, 1, n), _log_uniform(rng, 0.1, 3, n)
    return [np.exp(mu + sigma * rng.normal(size=n)), mu, sigma]


def _gumbel(rng, n):
    mu, beta = rng.normal(0, 2, n), _log_uniform(rng, 0.1, 10, n)
    return [rng.gumbel(mu, beta), mu, beta]


def _chi2(rng, n):
    k = _log_uniform(rng, 0.1, 100, n)
    return [rng.chisquare(k), k]


_POSITIVE_BAD = ((np.nan, 1, 1), (1, np.nan, 1), (1, -1, 1), (1, 1, 0), (-1, 2, 1),
                 (np.inf, 2, 1))
_REAL_BAD = ((np.nan, 0, 1), (0, np.nan, 1), (0, 0, -1), (0, 0, 0), (np.inf, 0, 1),
             (-np.inf, 0, 1))

CASES = {c.name: c for c in (
    Case("gamma", _gamma,
         ((np.nan, 1, 1), (1, np.nan, 1), (1, -1, 1), (1, 0, 1), (1, 1, 0), (-1, 2, 1),
          (0, 2, 1), (np.inf, 2, 1), (1, np.inf, 1), (1e-300, 0.5, 1), (1e300, 3, 1)),
         (2.0, 1.0), "Gamma", (2.5, 1.5), ((0.3, 4.0), (2.0, 0.5)), (0.2, 9.0),
         reference="mpmath", cuda_host=True),
    Case("normal", _normal,
         ((np.nan, 0, 1), (0, np.nan, 1), (0, 0, -1), (0, 0, 0), (np.inf, 0, 1),
          (-np.inf, 0, 1), (40, 0, 1), (-40, 0, 1)),
         (0.0, 1.0), "Normal", (0.3, 1.5), ((0.5, -1.0), (2.0, 0.3)), (0.1, -0.7),
         reference="closed form", cuda_host=True),
    Case("beta", _beta,
         ((np.nan, 1, 1), (0.5, np.nan, 1), (0.5, -1, 1), (0.5, 1, 0), (0.5, np.inf, 1),
          (-0.5, 2, 2), (1.5, 2, 2), (0, 2, 3), (1, 2, 3), (1e-300, 0.5, 0.5)),
         (0.5, 3.0), "Beta", (2.0, 3.0), ((0.5, 3.0), (2.0, 0.7)), (0.3, 0.9),
         reference="mpmath", cuda_host=True),
    Case("student_t", _student_t,
         ((np.nan, 1, 0, 1), (0, np.nan, 0, 1), (0, -1, 0, 1), (0, 1, 0, 0),
          (np.inf, 2, 0, 1), (-np.inf, 2, 0, 1), (1e200, 3, 0, 1), (0, np.inf, 0, 1)),
         (3.0, 0.5, 2.0), "StudentT", (4.0, 0.2, 1.3),
         ((3.0, 30.0), (0.5, -1.0), (2.0, 0.5)), (1.0, -1.3), reference="mpmath",
         cuda_host=True),
    Case("von_mises", _von_mises,
         ((np.nan, 0, 1), (0, np.nan, 1), (0, 0, -1), (0, 0, 0), (np.inf, 0, 1),
          (0, 0, np.inf), (np.pi, 0, 1), (-np.pi, 0, 1), (0, 0, 1e6)),
         (0.3, 4.0), "VonMises", (0.5, 2.0), ((0.5, -2.0), (0.8, 12.0)), (1.0, -2.2),
         reference="mpmath", cuda_host=True),
    Case("lognormal", _lognormal, _REAL_BAD, (0.2, 0.8), "LogNormal", (0.1, 0.5),
         ((0.2, -1.0), (0.5, 1.5)), (1.3, 0.2)),
    Case("gumbel", _gumbel, _REAL_BAD, (0.5, 2.0), "Gumbel", (0.2, 1.2),
         ((0.2, -1.0), (0.5, 1.5)), (1.3, -0.2)),
    Case("weibull", _positive_pair(lambda rng, k, lam: lam * rng.weibull(k)), _POSITIVE_BAD,
         (1.5, 2.0), "Weibull", (1.5, 2.0), ((1.5, 0.3), (0.7, 4.0)), (2.0, 0.25)),
    Case("chi2", _chi2, ((np.nan, 1), (1, np.nan), (1, -1), (1, 0), (-1, 2), (np.inf, 2)),
         (3.0,), "Chi2", (3.0,), ((0.7, 9.0),), (0.4, 11.0)),
    Case("inverse_gamma", _positive_pair(lambda rng, a, b: b / rng.gamma(a)), _POSITIVE_BAD,
         (3.0, 2.0), "InverseGamma", (3.0, 2.0), ((2.5, 0.8), (1.5, 3.0)), (0.6, 5.0)),
    Case("kumaraswamy", _positive_pair(
        lambda rng, a, b: (1 - rng.uniform(size=a.shape) ** (1 / b)) ** (1 / a)),
        ((np.nan, 1, 1), (0.5, np.nan, 1), (0.5, -1, 1), (0.5, 1, 0), (-0.5, 2, 2),
         (1.5, 2, 2)),
        (0.5, 3.0), "Kumaraswamy", (2.0, 3.0), ((0.5, 3.0), (2.0, 0.7)), (0.3, 0.9)),
)}

UNIVARIATE = sorted(CASES)                                   # every one
CUDA_HOST = sorted(n for n, c in CASES.items() if c.cuda_host)
TORCH = {c.torch: c for c in CASES.values() if c.torch}      # irgen.torch class -> case
