"""The built-in distributions as the integrations name them (torch, Pyro and NumPyro agree
on these): class name -> the generated module, the argument names in the class's order,
the module's parameters as those names (where the orders differ), and the values of
trailing arguments that may be left out. irgen.torch and irgen.numpyro make a class for
every entry, so that a new built-in is its DSL file and one line here."""
from __future__ import annotations

from typing import NamedTuple


class BuiltIn(NamedTuple):
    module: str
    names: tuple
    order: tuple | None = None
    defaults: dict | None = None


BUILT_INS = {
    "Normal": BuiltIn("normal", ("loc", "scale")),
    "Gamma": BuiltIn("gamma", ("concentration", "rate")),
    "Beta": BuiltIn("beta", ("concentration1", "concentration0")),
    "VonMises": BuiltIn("von_mises", ("loc", "concentration")),
    "StudentT": BuiltIn("student_t", ("df", "loc", "scale"),
                        defaults={"loc": 0.0, "scale": 1.0}),
    "LogNormal": BuiltIn("lognormal", ("loc", "scale")),
    "Gumbel": BuiltIn("gumbel", ("loc", "scale")),
    "Weibull": BuiltIn("weibull", ("scale", "concentration"),
                       order=("concentration", "scale")),
    "Chi2": BuiltIn("chi2", ("df",)),
    "InverseGamma": BuiltIn("inverse_gamma", ("concentration", "rate")),
    "Kumaraswamy": BuiltIn("kumaraswamy", ("concentration1", "concentration0")),
}


def options(name: str) -> dict:
    """from_module's arguments (irgen.torch's and irgen.numpyro's) for a built-in."""
    b = BUILT_INS[name]
    return dict(module=f"irgen.generated.{b.module}", names=b.names, order=b.order,
                defaults=b.defaults, name=name)
