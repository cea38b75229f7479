"""PyTorch distributions over irgen's generated kernels (the `torch` extra; torch is never a
dependency of the rest of irgen).

    from irgen.torch import Gamma, VonMises
    q = VonMises(loc, concentration)      # tensors with requires_grad, CPU or CUDA
    z = q.rsample((64,))
    f(z).mean().backward()                # gradients reach loc and concentration

Every built-in distribution is a torch.distributions.Distribution with torch's argument
names, has_rsample, arg_constraints, support, batch shapes, broadcasting, expand, log_prob,
cdf, mean and variance; from_module(generated_module) makes one for a user's own DSL
distribution. rsample's gradients are the implicit reparameterization gradients of the
generated kernels (functions.py); seeds come from torch's generator, so torch.manual_seed
makes runs repeat.

Truncated(base, low, high) and MixtureSameFamily(categorical, components) add what torch has
no reparameterized sampler for (compose.py): any of these truncated, and their mixtures."""
from . import arrays  # noqa: F401  (registers the tensors' namespace with irgen.compose)
from . import distributions
from .compose import MixtureSameFamily, Truncated
from .distributions import *  # noqa: F401,F403  (every built-in class, from_module, seed)

__all__ = sorted(distributions.__all__ + ["MixtureSameFamily", "Truncated"])
