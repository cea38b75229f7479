"""irgen's distributions as Pyro distributions (the `pyro` extra), with rsample: SVI takes
the reparameterized estimator wherever a guide samples one of these.

    import pyro, irgen.pyro as ipd
    def guide(data):
        loc = pyro.param("loc", torch.tensor(0.0))
        conc = pyro.param("conc", torch.tensor(1.0), constraint=constraints.positive)
        pyro.sample("theta", ipd.VonMises(loc, conc))    # gradients reach loc and conc

Every irgen.torch class is here, made a Pyro distribution the way Pyro makes its own from
torch's (the class, then Pyro's TorchDistributionMixin): to_event, expand, mask, plates,
poutine handlers and the ELBOs behave as with Pyro's classes. from_module(generated_module)
does the same for a user's DSL distribution. Truncated and MixtureSameFamily also take
Pyro's (or torch's) own distributions of the families irgen has, converted by their
parameters: ipd.Truncated(dist.Gamma(a, b), 0.5, 2.0)."""
from __future__ import annotations

from pyro.distributions.torch_distribution import TorchDistributionMixin
from torch.distributions import Independent

from .. import torch as _torch
from ..torch import compose as _compose
from ..torch import distributions as _distributions

_classes: dict = {}


def pyro_class(cls):
    """cls, an irgen.torch class, as a Pyro distribution class (cached, so that one family
    is one class)."""
    found = _classes.get(cls)
    if found is None:
        found = _classes[cls] = type(cls.__name__, (cls, TorchDistributionMixin), {
            "__module__": __name__,
            "__doc__": cls.__doc__})
    return found


def from_module(module, names=None, **options):
    """A Pyro distribution class for a generated module: irgen.torch.from_module's class
    (the same arguments), with Pyro's mixin."""
    return pyro_class(_distributions.from_module(module, names, **options))


# torch's classes (so Pyro's, which derive from them) -> irgen's of the same distribution
_families = {cls._equivalent: cls for cls in vars(_distributions).values()
             if isinstance(cls, type) and getattr(cls, "_equivalent", None) is not None
             and cls.__module__ == _distributions.__name__}


def as_irgen(d):
    """d as an irgen distribution: itself where it is one; a Pyro or torch distribution of a
    family irgen has, by its parameters (so their gradients); an Independent of those, with
    its base converted. Anything else is returned as it is (the caller refuses it)."""
    if isinstance(d, _distributions._Equivalent):
        return d
    if isinstance(d, Independent):
        base = as_irgen(d.base_dist)
        return d if base is d.base_dist else Independent(base, d.reinterpreted_batch_ndims)
    for cls in type(d).__mro__:
        family = _families.get(cls)
        if family is not None:
            return pyro_class(family)(*(getattr(d, n) for n in family._names),
                                      validate_args=d._validate_args)
    return d


class Truncated(_compose.Truncated, TorchDistributionMixin):
    __doc__ = _compose.Truncated.__doc__ + """

    In Pyro: base may also be Pyro's or torch's distribution of a family irgen has."""

    def __new__(cls, *args, **kwargs):
        if cls is Truncated:
            base = as_irgen(args[0] if args else kwargs.get("base"))
            _compose._univariate(base, "Truncated")
            cls = _compose._truncated_class(type(base), parent=Truncated)
        return super().__new__(cls)

    def __init__(self, base, low, high, validate_args=None):
        super().__init__(as_irgen(base), low, high, validate_args=validate_args)


class MixtureSameFamily(_compose.MixtureSameFamily, TorchDistributionMixin):
    __doc__ = _compose.MixtureSameFamily.__doc__ + """

    In Pyro: the components may also be Pyro's or torch's distributions of a family irgen
    has (or their to_event(1))."""

    def __init__(self, mixture_distribution, component_distribution, validate_args=None):
        super().__init__(mixture_distribution, as_irgen(component_distribution),
                         validate_args)


seed = _torch.seed
for _name in _distributions.__all__:
    _cls = getattr(_distributions, _name)
    if isinstance(_cls, type):
        globals()[_name] = pyro_class(_cls)

__all__ = sorted(_torch.__all__ + ["as_irgen", "pyro_class"])
