"""The targets irgen generates code for, one folder each, and their registry.

`irgen build` writes one file per registered target, the command line shows any of them,
and the run time hands a call to the first target whose run time accepts its arrays
(the device targets before the host). A new target is a folder with a Target subclass
(targets/base.py) and one `register` line below (or a call of `register` elsewhere)."""
from __future__ import annotations

from .base import Target

_REGISTRY: dict[str, Target] = {}


def register(target: Target) -> Target:
    """Add a target (replacing one of the same name); returns it."""
    _REGISTRY[target.name] = target
    return target


def unregister(name: str) -> None:
    _REGISTRY.pop(name, None)


def all_targets() -> list[Target]:
    return list(_REGISTRY.values())


def get(name: str) -> Target:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise KeyError(f"no target named {name!r}; targets: {', '.join(_REGISTRY)}") from None


def for_call(args, out) -> Target:
    """The target whose run time takes a call: a device target that accepts the arrays,
    else the host's (registered first)."""
    targets = list(_REGISTRY.values())
    for target in targets[1:]:
        if target.accepts(args, out):
            return target
    return targets[0]


from .c import CTarget      # noqa: E402  (the host: first)
from .cuda import CudaTarget  # noqa: E402
from .xla import XlaTarget  # noqa: E402

register(CTarget())
register(CudaTarget())
register(XlaTarget())
