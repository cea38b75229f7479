"""irgen's distributions as NumPyro distributions (the `numpyro` extra), reparameterized in
every parameter: numpyro's SVI takes the pathwise gradient for them where its own VonMises
reparameterizes only the location and its mixtures not at all.

    import numpyro, irgen.numpyro as ind
    def guide(data):
        loc = numpyro.param("loc", 0.0)
        conc = numpyro.param("conc", 1.0, constraint=constraints.positive)
        numpyro.sample("theta", ind.VonMises(loc, conc))

Every built-in with NumPyro's class name and argument names (Normal, Gamma, Beta, VonMises,
StudentT, LogNormal, Gumbel, Weibull, Chi2, InverseGamma, Kumaraswamy, Dirichlet);
from_module(generated_module) for a user's DSL distribution; Truncated(base, low, high) for
any univariate one; MixtureSameFamily(Categorical, components) with rsample. Draws, log
densities and CDFs run through irgen.jax (the XLA target's handlers)."""
from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpyro.distributions as nd
from numpyro.distributions import constraints
from numpyro.distributions.kl import kl_divergence

from .. import jax as _ijax
from ..jax import compose as _compose
from ..names import BUILT_INS, options

def _support(module):
    low, high, kind = module.support
    if kind == "periodic":
        return constraints.circular
    if low == -math.inf and high == math.inf:
        return constraints.real
    if high == math.inf:
        return constraints.positive if low == 0 else constraints.greater_than(low)
    if (low, high) == (0.0, 1.0):
        return constraints.unit_interval
    return constraints.interval(low, high)


class _Generated(nd.Distribution):
    """What every class over a generated module shares; subclasses set _functions (irgen.jax's
    functions of the module), _names (NumPyro's argument names), _order (the module's
    parameters as those names) and _defaults (values of trailing arguments that may be left
    out)."""
    _functions = None
    _names: tuple = ()
    _order: tuple = ()
    _defaults: dict = {}
    _equivalent = None

    def __init__(self, *args, validate_args=None, **kwargs):
        values = list(args) + [kwargs.pop(n) for n in self._names[len(args):] if n in kwargs]
        values += [self._defaults[n] for n in self._names[len(values):] if n in self._defaults]
        if kwargs or len(values) != len(self._names):
            raise TypeError(f"{type(self).__name__}({', '.join(self._names)})")
        shape = jax.lax.broadcast_shapes(*(jnp.shape(v) for v in values))
        for n, v in zip(self._names, values):
            setattr(self, n, v)
        super().__init__(batch_shape=shape, validate_args=validate_args)

    @property
    def _params(self):
        return [getattr(self, n) for n in self._order]

    def sample(self, key, sample_shape=()):
        return self._functions.rsample(key, *self._params,
                                       shape=tuple(sample_shape) + self.batch_shape)

    def log_prob(self, value):
        return self._functions.log_prob(value, *self._params)

    def cdf(self, value):
        return self._functions.cdf(value, *self._params)

    def icdf(self, q):
        """The quantile, from the module's icdf kernel: differentiable in q (dz/dq = 1 / q(z))
        and in every parameter (the implicit gradients)."""
        return self._functions.icdf(q, *self._params)

    def entropy(self):
        """NumPyro's closed form, where NumPyro has one (NotImplementedError otherwise)."""
        return self._numpyro().entropy()

    def _numpyro(self):
        if self._equivalent is None:
            raise NotImplementedError(f"numpyro has no {type(self).__name__}")
        return self._equivalent(*(getattr(self, n) for n in self._names))

    @property
    def mean(self):
        return self._numpyro().mean

    @property
    def variance(self):
        return self._numpyro().variance


def from_module(module, names=None, *, order=None, defaults=None, name=None,
                equivalent=None, parent=None, entropy=None):
    """A NumPyro distribution class over a generated module (or its import name): names,
    its argument names (default: the module's parameters); order, the module's parameters
    as those names; defaults, values of trailing arguments that may be left out;
    equivalent, NumPyro's class of the same distribution (for mean, variance and entropy);
    entropy, a closed form (a function of the instance) where NumPyro has none."""
    functions = _ijax.from_module(module)
    module = functions.module
    names = tuple(names or functions.params)
    order = tuple(order or names)
    domains = dict(zip(order, module.domains))
    body = {"_functions": functions, "_names": names, "_order": order,
            "_defaults": dict(defaults or {}), "_equivalent": equivalent,
            "arg_constraints": {n: constraints.positive if domains[n] == "positive"
                                else constraints.real for n in names},
            "reparametrized_params": list(names),
            "support": _support(module),
            "__module__": __name__,
            "__doc__": (module.__doc__ or "").split("\n")[0]
                       + f"\n\nirgen's {module.name} kernels, as a NumPyro distribution."}
    if entropy is not None:
        body["entropy"] = entropy
    return type(name or module.name.title().replace("_", ""), (parent or _Generated,), body)


def _von_mises_entropy(d):
    """log(2 pi I0(k)) - k I1(k) / I0(k), by exponentially scaled Bessel functions (NumPyro's
    VonMises has no entropy; irgen.torch's has the same)."""
    k = jnp.asarray(d.concentration)
    i0e, i1e = jax.scipy.special.i0e(k), jax.scipy.special.i1e(k)
    return jnp.broadcast_to(math.log(2 * math.pi) + jnp.log(i0e) + k * (1 - i1e / i0e),
                            d.batch_shape)


for _name in BUILT_INS:
    globals()[_name] = from_module(**options(_name), equivalent=getattr(nd, _name, None),
                                   entropy=_von_mises_entropy if _name == "VonMises" else None)


class Dirichlet(nd.Distribution):
    """Dirichlet distribution with concentrations on the last axis: irgen's row kernels
    (irgen.generated.dirichlet), reparameterized."""
    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    reparametrized_params = ["concentration"]
    support = constraints.simplex

    def __init__(self, concentration, validate_args=None):
        if jnp.ndim(concentration) < 1:
            raise ValueError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        shape = jnp.shape(concentration)
        super().__init__(batch_shape=shape[:-1], event_shape=shape[-1:],
                         validate_args=validate_args)

    def sample(self, key, sample_shape=()):
        return _ijax.dirichlet.rsample(key, self.concentration,
                                       shape=tuple(sample_shape) + self.batch_shape)

    def log_prob(self, value):
        return _ijax.dirichlet.log_prob(value, self.concentration)

    @property
    def mean(self):
        return nd.Dirichlet(self.concentration).mean

    def entropy(self):
        return nd.Dirichlet(self.concentration).entropy()

    @property
    def variance(self):
        return nd.Dirichlet(self.concentration).variance


# KL(p || q) where either is one of these: NumPyro's closed form for their NumPyro
# equivalents (NotImplementedError where NumPyro has none), so that TraceMeanField_ELBO and
# kl_divergence take them, and a model's prior may be NumPyro's own class
def _as_numpyro(d):
    if isinstance(d, _Generated):
        return d._numpyro()
    if isinstance(d, Dirichlet):
        return nd.Dirichlet(d.concentration)
    return d


def _kl(p, q):
    return kl_divergence(_as_numpyro(p), _as_numpyro(q))


for _ours in (_Generated, Dirichlet):
    kl_divergence.register(_ours, _Generated)(_kl)
    kl_divergence.register(_ours, Dirichlet)(_kl)
    for _theirs in {getattr(nd, n) for n in (*BUILT_INS, "Dirichlet")}:
        kl_divergence.register(_ours, _theirs)(_kl)
        kl_divergence.register(_theirs, _ours)(_kl)


def _kl_von_mises(p, q):
    """log(I0(k_q) / I0(k_p)) + A(k_p) (k_p - k_q cos(mu_p - mu_q)), A = I1 / I0 (NumPyro has
    no von Mises divergence; irgen.torch's is the same)."""
    kp, kq = jnp.asarray(p.concentration), jnp.asarray(q.concentration)
    i0e, i1e = jax.scipy.special.i0e, jax.scipy.special.i1e
    value = (jnp.log(i0e(kq) / i0e(kp)) + kq - kp
             + i1e(kp) / i0e(kp) * (kp - kq * jnp.cos(p.loc - q.loc)))
    return jnp.broadcast_to(value, jax.lax.broadcast_shapes(p.batch_shape, q.batch_shape))


for _p, _q in ((VonMises, VonMises), (VonMises, nd.VonMises),  # noqa: F821 (made above)
               (nd.VonMises, VonMises)):  # noqa: F821
    kl_divergence.register(_p, _q)(_kl_von_mises)


class Truncated(nd.Distribution):
    """base (any univariate irgen.numpyro distribution) restricted to [low, high]; either
    bound may be infinite. Draws invert the base's CDF in its accurate tail form; they are
    reparameterized in the base's parameters and in the bounds."""
    arg_constraints = {"low": constraints.real, "high": constraints.real}
    pytree_data_fields = ("base_dist", "low", "high")

    def __init__(self, base_dist, low=-math.inf, high=math.inf, validate_args=None):
        if not isinstance(base_dist, _Generated):
            raise TypeError("Truncated takes a univariate irgen.numpyro distribution, not "
                            f"{type(base_dist).__name__}")
        self.base_dist, self.low, self.high = base_dist, low, high
        shape = jax.lax.broadcast_shapes(base_dist.batch_shape, jnp.shape(low),
                                         jnp.shape(high))
        super().__init__(batch_shape=shape, validate_args=validate_args)

    @property
    def reparametrized_params(self):
        return ["low", "high"]

    @property
    def has_rsample(self):
        return True

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        return constraints.interval(self.low, self.high)

    def sample(self, key, sample_shape=()):
        return _compose.truncated_rsample(self.base_dist._functions, key,
                                          self.base_dist._params, self.low, self.high,
                                          shape=tuple(sample_shape) + self.batch_shape)

    def log_prob(self, value):
        return _compose.truncated_log_prob(self.base_dist._functions, value,
                                           self.base_dist._params, self.low, self.high)

    def cdf(self, value):
        return _compose.truncated_cdf(self.base_dist._functions, value,
                                      self.base_dist._params, self.low, self.high)

    def icdf(self, q):
        return _compose.truncated_icdf(self.base_dist._functions, q, self.base_dist._params,
                                       self.low, self.high)


class MixtureSameFamily(nd.MixtureSameFamily):
    """NumPyro's MixtureSameFamily with rsample, for components that are a univariate
    irgen.numpyro distribution (batch (..., K)): draws pick a component and draw it;
    gradients reach the mixing logits and every component parameter by the mixture's
    implicit reparameterization."""

    def __init__(self, mixing_distribution, component_distribution, *, validate_args=None):
        if not isinstance(component_distribution, _Generated):
            raise TypeError("MixtureSameFamily takes univariate irgen.numpyro components, "
                            f"not {type(component_distribution).__name__}")
        super().__init__(mixing_distribution, component_distribution,
                         validate_args=validate_args)

    @property
    def has_rsample(self):
        return True

    def rsample(self, key, sample_shape=()):
        return self.sample(key, sample_shape)

    def sample(self, key, sample_shape=()):
        c = self.component_distribution
        logits = jnp.broadcast_to(self.mixing_distribution.logits,
                                  self.batch_shape + (self.mixture_size,))
        return _compose.mixture_rsample(c._functions, key, logits, c._params,
                                        shape=tuple(sample_shape) + self.batch_shape)


__all__ = sorted([*BUILT_INS, "Dirichlet", "Truncated", "MixtureSameFamily", "from_module"])
