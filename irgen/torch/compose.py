"""Truncation and mixtures of irgen.torch distributions, with rsample: what
torch.distributions has no reparameterized sampler for.

    q = Truncated(Normal(loc, scale), low, high)          # any univariate irgen.torch one
    m = MixtureSameFamily(Categorical(logits=l), Gamma(a, b))    # components on the last axis
    z = q.rsample((64,)); f(z).mean().backward()           # to loc, scale, low, high

Both run irgen.compose's combinators on the tensors' device (CPU or CUDA) with the generated
kernels, their draws from torch's generators; the gradients are the combinators' implicit
gradients (truncation: the base's, at z and at the bounds, with the window's mass; mixtures:
the components' times their posterior weights, and -F_k(z) / q(z) for the weights)."""
from __future__ import annotations

import torch
from torch.distributions import constraints
from torch.distributions import MixtureSameFamily as _TorchMixture
from torch.autograd.function import once_differentiable

from ..compose.mixture import mixture
from ..compose.truncated import truncated
from .distributions import _Generated, from_module, seed
from .functions import unbroadcast

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


def _truncated_class(base_class):
    """The Truncated subclass for a family: from_module over the truncation of its module,
    its arguments the family's followed by low and high."""
    found = _truncated.get(base_class)
    if found is None:
        found = _truncated[base_class] = from_module(
            truncated(base_class._module), base_class._names + ("low", "high"),
            order=base_class._order + ("low", "high"), parent=Truncated,
            name=f"Truncated{base_class.__name__}", support=vars(Truncated)["support"])
        found.__doc__ = f"{base_class.__name__} truncated to [low, high] (see Truncated)."
        found.__module__ = __name__
    return found


class _MixtureRSample(torch.autograd.Function):
    """z drawn from the mixture; the gradients (..., K) for the weights and every component
    parameter, reduced against the incoming gradient on the components' axis."""

    @staticmethod
    def forward(ctx, module, shape, seed, *params):
        z, grads = module.rsample(*params, size=shape, seed=seed)
        ctx.save_for_backward(*grads)
        ctx.shapes = [p.shape for p in params]
        return z

    @staticmethod
    @once_differentiable
    def backward(ctx, g):
        g = g.unsqueeze(-1)
        return (None, None, None) + tuple(
            unbroadcast(g * d, s) if ctx.needs_input_grad[3 + i] else None
            for i, (d, s) in enumerate(zip(ctx.saved_tensors, ctx.shapes)))


class MixtureSameFamily(_TorchMixture):
    """torch.distributions.MixtureSameFamily with rsample, for a univariate irgen.torch
    component distribution (batch shape (..., K)): the draw picks a component by its
    weight and draws it; gradients reach the mixture's probabilities (so its logits, where
    it has them) and every component parameter. log_prob, cdf, mean and variance are
    torch's, over the components' own."""
    has_rsample = True

    def __init__(self, mixture_distribution, component_distribution, validate_args=None):
        _univariate(component_distribution, "MixtureSameFamily")
        super().__init__(mixture_distribution, component_distribution, validate_args)

    def rsample(self, sample_shape=torch.Size()):
        components = self.component_distribution
        module = _mixtures.get(components._module)
        if module is None:
            module = _mixtures[components._module] = mixture(components._module)
        params = [self.mixture_distribution.probs] + components._params
        shape = tuple(self._extended_shape(sample_shape))
        return _MixtureRSample.apply(module, shape, seed(), *params)
