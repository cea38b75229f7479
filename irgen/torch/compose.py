"""Truncation and mixtures of irgen.torch distributions, with rsample: what
torch.distributions has no reparameterized sampler for.

    q = Truncated(Normal(loc, scale), low, high)          # any univariate irgen.torch one
    m = MixtureSameFamily(Categorical(logits=l), Gamma(a, b))    # components on the last axis
    v = MixtureSameFamily(Categorical(logits=l), Independent(Normal(mu, sigma), 1))  # (K, D)
    z = q.rsample((64,)); f(z).mean().backward()           # to loc, scale, low, high

Both run irgen.compose's combinators on the tensors' device (CPU or CUDA) with the generated
kernels, their draws from torch's generators; the gradients are the combinators' implicit
gradients (truncation: the base's, at z and at the bounds, with the window's mass; mixtures:
the components' times their posterior weights, and w_k (F(z) - F_k(z)) / q(z) for the
logits; mixtures of products: through the multivariate distributional transform)."""
from __future__ import annotations

import torch
from torch.distributions import Independent, constraints
from torch.distributions import MixtureSameFamily as _TorchMixture
from torch.autograd.function import once_differentiable

from ..compose.factorised_mixture import factorised_mixture
from ..compose.mixture import mixture
from ..compose.truncated import truncated
from . import launch
from .distributions import _Generated, from_module, seed
from .functions import _grads, unbroadcast

_truncated: dict = {}
_mixtures: dict = {}


def _univariate(d, what):
    if not isinstance(d, _Generated):
        raise TypeError(f"{what} takes a univariate irgen.torch distribution (a built-in one "
                        f"or one made by from_module), not {type(d).__name__}")


class Truncated(_Generated):
    """base restricted to [low, high]: Truncated(base, low, high), base any univariate
    irgen.torch distribution; its parameters are base's, then low and high (an infinite
    bound leaves that side open). Bad input (low >= high, a NaN bound, parameters base
    refuses) gives NaN."""

    def __new__(cls, *args, **kwargs):
        if cls is Truncated:           # Truncated(base, ...): the class for base's family
            base = args[0] if args else kwargs.get("base")
            _univariate(base, "Truncated")
            cls = _truncated_class(type(base))
        return super().__new__(cls)

    def __init__(self, base, low, high, validate_args=None):
        self.base = base
        super().__init__(*(getattr(base, n) for n in base._names), low, high,
                         validate_args=validate_args)

    def expand(self, batch_shape, _instance=None):
        new = super().expand(batch_shape, _instance)
        new.base = self.base.expand(batch_shape)
        return new

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        return constraints.interval(self.low, self.high)


def _truncated_class(base_class, parent=None):
    """The subclass of parent (Truncated, or an integration's class derived from it) for a
    family: from_module over the truncation of its module, its arguments the family's
    followed by low and high."""
    parent = parent or Truncated
    found = _truncated.get((base_class, parent))
    if found is None:
        found = _truncated[base_class, parent] = from_module(
            truncated(base_class._module), base_class._names + ("low", "high"),
            order=base_class._order + ("low", "high"), parent=parent,
            name=f"Truncated{base_class.__name__}", support=vars(Truncated)["support"])
        found.__doc__ = f"{base_class.__name__} truncated to [low, high] (see Truncated)."
        found.__module__ = parent.__module__
    return found


class _MixtureRSample(torch.autograd.Function):
    """z drawn from a mixture given its logits (components on the last axis) and the
    components' parameters; the gradients for the logits (grad_logits: no cancellation in
    either tail) and every component parameter, contracted with the incoming gradient."""

    @staticmethod
    def forward(ctx, module, shape, seed, logits, *params):
        w = torch.softmax(logits.detach(), -1)
        z, grads = module.rsample(w, *params, size=shape, seed=seed, logits=True)
        ctx.save_for_backward(*grads)
        ctx.shapes = [logits.shape] + [p.shape for p in params]
        return z

    @staticmethod
    @once_differentiable
    def backward(ctx, g):
        return (None, None, None) + _grads(ctx, g.unsqueeze(-1), ctx.saved_tensors, 3)


class _FactorisedRSample(torch.autograd.Function):
    """x drawn from a mixture of products of D univariate components (parameters
    (..., K, D)); the backward pass takes the incoming gradient through the distributional
    transform by the combinator's vjp (one triangular solve per draw), with no Jacobians."""

    @staticmethod
    def forward(ctx, module, shape, seed, logits, *params):
        w = torch.softmax(logits.detach(), -1)
        x = module.sample(w, *params, size=shape[:-1], seed=seed)
        ctx.module = module
        ctx.save_for_backward(x, w, *params)
        ctx.shapes = [logits.shape] + [p.shape for p in params]
        return x

    @staticmethod
    @once_differentiable
    def backward(ctx, g):
        x, w, *params = ctx.saved_tensors
        grads = ctx.module.vjp(x, g, w, *params)
        return (None, None, None) + tuple(
            unbroadcast(d, s) if ctx.needs_input_grad[3 + i] else None
            for i, (d, s) in enumerate(zip(grads, ctx.shapes)))


def _components(d):
    """(the univariate irgen.torch distribution, whether it is a product over the last
    axis: Independent(d, 1))."""
    if isinstance(d, Independent) and d.reinterpreted_batch_ndims == 1:
        _univariate(d.base_dist, "MixtureSameFamily")
        return d.base_dist, True
    _univariate(d, "MixtureSameFamily")
    return d, False


class MixtureSameFamily(_TorchMixture):
    """torch.distributions.MixtureSameFamily with rsample, for components that are a
    univariate irgen.torch distribution (batch shape (..., K)) or a product of them,
    Independent(d, 1) (batch (..., K, D): mixtures of factorised distributions, such as
    diagonal Gaussians). A draw picks a component by its weight and draws it; gradients
    reach the mixture's logits (so its probabilities, where it was given those) and every
    component parameter: univariate, by the mixture's implicit gradient; factorised,
    through the multivariate distributional transform (irgen.compose.factorised_mixture,
    O(D^2) per draw). log_prob, cdf, mean and variance are torch's, over the components'
    own."""
    has_rsample = True

    def __init__(self, mixture_distribution, component_distribution, validate_args=None):
        _components(component_distribution)
        super().__init__(mixture_distribution, component_distribution, validate_args)

    def expand(self, batch_shape, _instance=None):
        # torch's expand, into an instance of this class (torch's refuses a subclass with
        # its own __init__ unless it is handed the instance)
        return super().expand(batch_shape, _instance or type(self).__new__(type(self)))

    def _combinator(self):
        """(the combinator over the components' module, the components, whether they are
        products)."""
        base, product = _components(self.component_distribution)
        key = (base._module, product)
        module = _mixtures.get(key)
        if module is None:
            module = _mixtures[key] = (factorised_mixture if product else mixture)(base._module)
        return module, base, product

    def rsample(self, sample_shape=torch.Size()):
        module, base, product = self._combinator()
        function = _FactorisedRSample if product else _MixtureRSample
        shape = tuple(self._extended_shape(sample_shape))
        return function.apply(module, shape, seed(), self.mixture_distribution.logits,
                              *base._params)

    def sample(self, sample_shape=torch.Size()):
        """Draws without gradients, by the combinator (torch's sample cannot draw where the
        mixture's batch shape only broadcasts against the components')."""
        module, base, product = self._combinator()
        shape = tuple(self._extended_shape(sample_shape))
        with torch.no_grad():
            w = torch.softmax(self.mixture_distribution.logits, -1)
            return module.sample(w, *(p.detach() for p in base._params),
                                 size=shape[:-1] if product else shape, seed=seed())
