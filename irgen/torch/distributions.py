"""torch.distributions.Distribution classes over generated modules, with torch's names and
conventions, so that each is a drop-in replacement where torch has the distribution.

from_module(module, ...) makes such a class for any generated module, a user's own DSL
distribution included; the built-in ones below are made by it with torch's argument names
and their closed-form moments."""
from __future__ import annotations

import importlib
import math
import threading

import torch
import torch.distributions as D
from torch.distributions import Distribution, constraints, kl_divergence, register_kl
from torch.distributions.utils import broadcast_all

from ..names import BUILT_INS, options
from . import functions as F
from . import launch

EULER = 0.5772156649015329


def _support(module):
    low, high, kind = module.support
    if kind == "periodic" or (low == -math.inf and high == math.inf):
        return constraints.real             # as torch's VonMises: angles are wrapped
    if high == math.inf:     # the support is closed: [low, inf)
        return constraints.greater_than_eq(low)
    if (low, high) == (0.0, 1.0):
        return constraints.unit_interval
    return constraints.interval(low, high)


_word = threading.local()


def seed() -> int:
    """A kernel seed from torch's default generator: torch.manual_seed makes runs repeat.
    (A 63-bit draw into a scalar kept per thread: two dispatches per call, not three.)"""
    word = getattr(_word, "tensor", None)
    if word is None:
        word = _word.tensor = torch.empty((), dtype=torch.int64)
    return word.random_().item()


class _Equivalent:
    """What a class shares with torch's class of the same distribution, where torch has one
    (_equivalent): entropy and KL divergences in closed form come from torch's, with
    the same parameters (so with their gradients); without one they raise
    NotImplementedError, as torch's do where it has no closed form."""
    _equivalent = None

    def _torch(self) -> Distribution:
        """torch's distribution with this one's parameters."""
        if self._equivalent is None:
            raise NotImplementedError(f"torch.distributions has no {type(self).__name__}")
        return self._equivalent(*(getattr(self, n) for n in self._names),
                                validate_args=False)

    def entropy(self):
        return self._torch().entropy()


def _as_torch(d: Distribution) -> Distribution:
    return d._torch() if isinstance(d, _Equivalent) else d


# KL(p || q) where either is one of these: torch's closed form for the torch equivalents
@register_kl(_Equivalent, _Equivalent)
@register_kl(_Equivalent, Distribution)
@register_kl(Distribution, _Equivalent)
def _kl(p, q):
    return kl_divergence(_as_torch(p), _as_torch(q))


class _Generated(_Equivalent, Distribution):
    """What every class made by from_module shares; subclasses set _module, _names (torch's
    argument names, in torch's order), _order (the module's parameters as those names) and
    _defaults (values of trailing arguments that may be left out).

    A variational objective asks for log q of the draws it took (q.log_prob(q.rsample())).
    Once a class has seen that, its later draws that carry gradients bring their log density
    along from the same kernel call (rsample_log_prob), and log_prob of such a draw, while
    unchanged, returns it: one pass over the draws and one autograd node, not two. Values
    and gradients are the same either way; what differs is that log q then depends on the
    parameters directly, not through z (z.grad of a retained z leaves out log q's part).
    The class attribute _fuse holds the choice; setting it fixes it."""
    has_rsample = True
    _module = None
    _names: tuple = ()
    _order: tuple = ()
    _defaults: dict = {}
    _fusable = False       # the module has rsample_log_prob
    _fuse = False          # log_prob of own draws seen: draw it with them
    _own = None            # the last draw: (z, its version, its log q or None)

    def __init__(self, *args, validate_args=None, **kwargs):
        values = args
        if kwargs or len(args) != len(self._names):
            values = list(args) + [kwargs.pop(n) for n in self._names[len(args):]
                                   if n in kwargs]
            values += [self._defaults[n] for n in self._names[len(values):]]
            if kwargs or len(values) != len(self._names):
                raise TypeError(f"{type(self).__name__}({', '.join(self._names)})")
        values = broadcast_all(*values)
        for n, v in zip(self._names, values):
            setattr(self, n, v)
        super().__init__(values[0].shape, validate_args=validate_args)

    @property
    def _params(self):
        """The parameters in the module's order."""
        return [getattr(self, n) for n in self._order]

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(type(self), _instance)
        batch_shape = torch.Size(batch_shape)
        for n in self._names:
            setattr(new, n, getattr(self, n).expand(batch_shape))
        super(_Generated, new).__init__(batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def rsample(self, sample_shape=torch.Size()):
        params = self._params
        if not F._wants_grad(*params):      # the same draws, without their gradients
            z, lq = self.sample(sample_shape), None
        else:
            shape = self._batch_shape if not sample_shape and not self._event_shape \
                else tuple(self._extended_shape(sample_shape))
            z, lq = (F.rsample(self._module, shape, seed(), params, log_prob=True)
                     if self._fuse else (F.rsample(self._module, shape, seed(), params), None))
        self._own = (z, z._version, lq)
        return z

    def sample(self, sample_shape=torch.Size()):
        shape = tuple(self._extended_shape(sample_shape))
        params = [p.detach() for p in self._params]
        z, = launch.call(self._module, "sample", params, shape, seed(), hold=True)
        return z

    def _value(self, value):
        """value, checked against the support, as a tensor of the parameters' kind."""
        if self._validate_args:
            self._validate_sample(value)
        p = self._params[0]
        return torch.as_tensor(value, dtype=p.dtype, device=p.device)

    def log_prob(self, value):
        own = self._own
        if own is not None and value is own[0] and value._version == own[1]:
            if own[2] is not None:
                return own[2]
            if self._fusable:
                type(self)._fuse = True
        return F.log_prob(self._module, self._value(value), self._params)

    def cdf(self, value):
        return F.apply(F.Cdf, self._module, self._value(value), *self._params)

    def icdf(self, value):
        """The quantile, from the module's compiled icdf kernel: differentiable in value
        (dz/du = 1 / q(z)) and in every parameter (the implicit gradients)."""
        p = self._params[0]         # a probability, not a value of the support: unchecked
        u = torch.as_tensor(value, dtype=p.dtype, device=p.device)
        return F.apply(F.Icdf, self._module, u, *self._params)


def from_module(module, names=None, *, order=None, defaults=None, mean=None, variance=None,
                support=None, name=None, parent=None, equivalent=None, entropy=None):
    """A Distribution class for a generated module.

    names: the class's argument names, in its order (default: the module's parameters);
    order: the module's parameters as those names (default: names, in the same order);
    defaults: values of trailing arguments that may be left out; mean, variance: closed
    forms, functions of the instance; support: a torch constraint (default: from the
    module's support); parent: the class's base (default _Generated, the base of all);
    equivalent: torch's class of the same distribution, taking the same arguments (entropy,
    icdf and KL divergences come from it); entropy: a closed form, a function of the
    instance, where torch has none."""
    if isinstance(module, str):
        module = importlib.import_module(module)
    names = tuple(names or module.params)
    order = tuple(order or names)
    domains = dict(zip(order, module.domains))
    body = {
        "_module": module, "_names": names, "_order": order, "_defaults": dict(defaults or {}),
        "_fusable": hasattr(module, "rsample_log_prob"),
        "arg_constraints": {n: constraints.positive if domains[n] == "positive"
                            else constraints.real for n in names},
        "support": support or _support(module),
        "__doc__": (module.__doc__ or "").split("\n")[0]
                   + f"\n\nirgen's {module.name} kernels, as a torch Distribution.",
    }
    if equivalent is not None:
        body["_equivalent"] = equivalent
    if entropy is not None:
        body["entropy"] = entropy
    if mean is not None:
        body["mean"] = property(mean)
    if variance is not None:
        body["variance"] = property(variance)
    return type(name or module.name.title().replace("_", ""), (parent or _Generated,), body)


def _lbeta(a, b):
    return torch.lgamma(a) + torch.lgamma(b) - torch.lgamma(a + b)


def _where(cond, value, other):
    return torch.where(cond, value, torch.full_like(value, other))


Normal = from_module(**options("Normal"), equivalent=D.Normal, mean=lambda d: d.loc,
                     variance=lambda d: d.scale ** 2)
Gamma = from_module(**options("Gamma"), equivalent=D.Gamma,
                    mean=lambda d: d.concentration / d.rate,
                    variance=lambda d: d.concentration / d.rate ** 2)
Beta = from_module(
    **options("Beta"), equivalent=D.Beta,
    mean=lambda d: d.concentration1 / (d.concentration1 + d.concentration0),
    variance=lambda d: (d.concentration1 * d.concentration0
                        / ((d.concentration1 + d.concentration0) ** 2
                           * (d.concentration1 + d.concentration0 + 1))))
VonMises = from_module(
    **options("VonMises"),
    # torch's VonMises has no entropy: log(2 pi I0(k)) - k I1(k) / I0(k), scaled Bessels
    entropy=lambda d: (math.log(2 * math.pi) + torch.log(torch.special.i0e(d.concentration))
                       + d.concentration * (1 - torch.special.i1e(d.concentration)
                                            / torch.special.i0e(d.concentration))),
    mean=lambda d: d.loc,
    # torch's convention: the circular variance 1 - I1(kappa) / I0(kappa)
    variance=lambda d: 1 - (torch.special.i1e(d.concentration)
                            / torch.special.i0e(d.concentration)))
StudentT = from_module(
    **options("StudentT"), equivalent=D.StudentT,
    mean=lambda d: _where(d.df > 1, d.loc, math.nan),
    variance=lambda d: torch.where(
        d.df > 2, d.scale ** 2 * d.df / (d.df - 2),
        _where(d.df > 1, torch.full_like(d.df, math.inf), math.nan)))
LogNormal = from_module(
    **options("LogNormal"), support=constraints.positive,
    equivalent=D.LogNormal,
    mean=lambda d: torch.exp(d.loc + d.scale ** 2 / 2),
    variance=lambda d: torch.expm1(d.scale ** 2) * torch.exp(2 * d.loc + d.scale ** 2))
Gumbel = from_module(**options("Gumbel"), equivalent=D.Gumbel,
                     mean=lambda d: d.loc + d.scale * EULER,
                     variance=lambda d: (math.pi ** 2 / 6) * d.scale ** 2)
Weibull = from_module(
    **options("Weibull"), support=constraints.positive, equivalent=D.Weibull,
    mean=lambda d: d.scale * torch.exp(torch.lgamma(1 + 1 / d.concentration)),
    variance=lambda d: d.scale ** 2 * (torch.exp(torch.lgamma(1 + 2 / d.concentration))
                                       - torch.exp(2 * torch.lgamma(1 + 1 / d.concentration))))
Chi2 = from_module(**options("Chi2"), equivalent=D.Chi2,
                   mean=lambda d: d.df, variance=lambda d: 2 * d.df)
InverseGamma = from_module(
    **options("InverseGamma"), equivalent=D.InverseGamma,
    support=constraints.positive,
    mean=lambda d: _where(d.concentration > 1, d.rate / (d.concentration - 1), math.inf),
    variance=lambda d: _where(d.concentration > 2, d.rate ** 2 / (
        (d.concentration - 1) ** 2 * (d.concentration - 2)), math.inf))
Kumaraswamy = from_module(
    **options("Kumaraswamy"), equivalent=D.Kumaraswamy,
    mean=lambda d: d.concentration0 * torch.exp(
        _lbeta(1 + 1 / d.concentration1, d.concentration0)),
    variance=lambda d: d.concentration0 * torch.exp(
        _lbeta(1 + 2 / d.concentration1, d.concentration0)) - (d.concentration0 * torch.exp(
            _lbeta(1 + 1 / d.concentration1, d.concentration0))) ** 2)


@register_kl(VonMises, VonMises)
@register_kl(VonMises, D.VonMises)
@register_kl(D.VonMises, VonMises)
def _kl_von_mises(p, q):
    """log(I0(k_q) / I0(k_p)) + A(k_p) (k_p - k_q cos(mu_p - mu_q)), A = I1 / I0 (torch has
    no von Mises divergence; between this class and torch's too, so that a model's prior
    may be torch's)."""
    kp, kq = p.concentration, q.concentration
    a = torch.special.i1e(kp) / torch.special.i0e(kp)
    return (torch.log(torch.special.i0e(kq) / torch.special.i0e(kp)) + kq - kp
            + a * (kp - kq * torch.cos(p.loc - q.loc)))


class Dirichlet(_Equivalent, Distribution):
    """Dirichlet distribution with concentrations along the last axis: irgen's
    irgen.generated.dirichlet (a row per batch entry in one kernel), as a torch Distribution."""
    _equivalent = D.Dirichlet
    _names = ("concentration",)
    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, concentration, validate_args=None):
        if concentration.dim() < 1:
            raise ValueError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        super().__init__(concentration.shape[:-1], concentration.shape[-1:],
                         validate_args=validate_args)

    @property
    def _module(self):
        return importlib.import_module("irgen.generated.dirichlet")

    def expand(self, batch_shape, _instance=None):
        new = self._get_checked_instance(Dirichlet, _instance)
        batch_shape = torch.Size(batch_shape)
        new.concentration = self.concentration.expand(batch_shape + self.event_shape)
        super(Dirichlet, new).__init__(batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def rsample(self, sample_shape=torch.Size()):
        if not F._wants_grad(self.concentration):
            return self.sample(sample_shape)     # the same draws, without their gradients
        shape = tuple(self._extended_shape(sample_shape))
        return F.simplex_rsample(self._module, shape, seed(), self.concentration)

    def sample(self, sample_shape=torch.Size()):
        shape = tuple(self._extended_shape(sample_shape))
        with torch.no_grad():
            z, = launch.call_rows(self._module, "sample", (self.concentration.detach(),),
                                  shape, seed())
        return z

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return F.simplex_log_prob(self._module, value, self.concentration)

    @property
    def mean(self):
        return self.concentration / self.concentration.sum(-1, keepdim=True)

    @property
    def variance(self):
        a0 = self.concentration.sum(-1, keepdim=True)
        m = self.concentration / a0
        return m * (1 - m) / (a0 + 1)


# a built-in without a line above (no closed-form moments yet) gets its class all the same
for _name in BUILT_INS:
    if _name not in globals():
        globals()[_name] = from_module(**options(_name))

# Every class defined above is exported (irgen/torch/__init__.py imports *).
__all__ = sorted(n for n, v in list(globals().items())
                 if isinstance(v, type) and issubclass(v, Distribution)
                 and v.__module__ == __name__ and not n.startswith("_")) + ["from_module", "seed"]
