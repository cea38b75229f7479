"""A target is one small part: a toy target, defined and registered here (a Target subclass
and one `register` call, nothing else of irgen touched), that prints every IR function as
plain Python. `irgen build` writes its file beside the C and CUDA ones, `irgen show
--target` prints it, and the functions it prints compute what the C kernels compute."""
import math

import numpy as np
import pytest
import sympy as sp
from sympy.printing.pycode import PythonCodePrinter

import irgen.dsl
from irgen import build, ir, targets
from irgen import primitives as P
from irgen.cli import main
from irgen.targets.base import Target


class _Expressions(PythonCodePrinter):
    """sympy's Python printer, with and/or/not printed as Python's and the DSL's
    predicates as calls."""

    def _print_And(self, e):
        return "(" + " and ".join(self._print(a) for a in e.args) + ")"

    def _print_Or(self, e):
        return "(" + " or ".join(self._print(a) for a in e.args) + ")"

    def _print_Not(self, e):
        return f"(not {self._print(e.args[0])})"

    def _print_DSLPredicate(self, e):       # converged, isnan, isinf: calls
        return f"{type(e).__name__}({', '.join(self._print(a) for a in e.args)})"


class PythonPrinter:
    """IR statements as Python; expressions through sympy's Python printer, the
    primitives by their names (the DSL's Python functions run them)."""

    def __init__(self):
        self.expr = _Expressions({"allow_unknown_functions": True,
                                  "fully_qualified_modules": False})
        self.tables = {}

    def e(self, x) -> str:
        x = x if isinstance(x, sp.Basic) else sp.sympify(x)
        for t in x.atoms(P.Table):
            self.tables[type(t).__name__] = t.values
        return self.expr.doprint(x)

    def function(self, fn: ir.Function) -> str:
        lines = [f"def {fn.name}({', '.join(p.name for p in fn.params)}):"]
        self.block(fn.body, lines, 1)
        return "\n".join(lines)

    def block(self, stmts, lines, depth):
        pad = "    " * depth
        if not stmts:
            lines.append(pad + "pass")
        for s in stmts:
            if isinstance(s, ir.Assign):
                lines.append(f"{pad}{s.target.name} = {self.e(s.expr)}")
            elif isinstance(s, ir.Call):
                targets_ = ", ".join(t.name for t in s.targets)
                args = ", ".join(self.e(a) for a in s.args)
                lines.append(f"{pad}{targets_}, = _tuple({s.func}({args}))")
            elif isinstance(s, ir.Draw):
                lines.append(f"{pad}{', '.join(t.name for t in s.targets)}, = "
                             f"_draw_{s.kind}()")
            elif isinstance(s, ir.If):
                lines.append(f"{pad}if {self.e(s.cond)}:")
                self.block(s.body, lines, depth + 1)
                if s.orelse:
                    lines.append(f"{pad}else:")
                    self.block(s.orelse, lines, depth + 1)
            elif isinstance(s, ir.Loop):
                index = s.index.name if s.index is not None else "_"
                lines.append(f"{pad}for {index} in range({s.start}, {s.start + s.count}):")
                if s.index is not None:
                    lines.append(f"{pad}    {index} = float({index})")
                self.block(s.body, lines, depth + 1)
            elif isinstance(s, ir.Break):
                lines.append(pad + "break")
            elif isinstance(s, ir.Return):
                lines.append(f"{pad}return {', '.join(self.e(v) for v in s.values)}")


class PythonTarget(Target):
    """The toy target: one .ir.py file per distribution, no binary, no run time."""
    name = "python_ir"
    suffix = ".ir.py"

    def render(self, program, common) -> str:
        printer = PythonPrinter()
        functions = [printer.function(f) for f in program.functions.values()]
        tables = [f"{name} = {list(values)!r}.__getitem__"
                  for name, values in sorted(printer.tables.items())]
        return "\n\n".join([f"# irgen's IR of {common['source']}, as plain Python"]
                           + tables + functions) + "\n"


@pytest.fixture
def toy():
    target = targets.register(PythonTarget())
    yield target
    targets.unregister(target.name)


def _namespace(text: str) -> dict:
    """The toy file executed with the DSL's Python functions and the IR's constants."""
    env = {k: v for k, v in vars(irgen.dsl).items() if not k.startswith("_")}
    env.update({cls.__name__: (lambda *a, cls=cls: cls.run(*a))
                for cls in P.FUNCTIONS.values()})
    values = {"PI": math.pi, "INF": math.inf, "NAN": math.nan, "EPS": 2.0 ** -52,
              "TINY": 2.0 ** -1022}
    env.update({sym.name: values[name] for sym, name in P.CONSTANT_NAMES.items()})
    env.update(detach=lambda x: x, _tuple=lambda r: r if isinstance(r, tuple) else (r,))
    exec(compile(text, "<toy>", "exec"), env)
    return env


@pytest.mark.parametrize("name,params,xs", [
    ("normal", (0.3, 1.7), (-2.0, 0.1, 3.5)),
    ("gamma", (2.5, 1.5), (0.2, 1.3, 6.0)),
])
def test_a_registered_target_is_built_shown_and_computes(toy, tmp_path, capsys, name,
                                                         params, xs):
    (dist,) = [d for d in build.discover() if d.name == name]
    files = build.generate(dist)
    assert set(files) == {f"{name}.py", f"{name}.c", f"{name}.cu", f"{name}_xla.c",
                          f"{name}.ir.py"}
    env = _namespace(files[f"{name}.ir.py"])
    module = build.load_generated(build.PACKAGE.parent / "generated", name)
    for x in xs:
        assert env["kernel_cdf"](x, *params) == pytest.approx(
            float(module.cdf(x, *params)), rel=1e-14)
        grads = env["kernel_implicit_grad"](x, *params)
        assert np.allclose(grads, module.implicit_grad(x, *params), rtol=1e-12)
    assert main(["show", name, "--target", "python_ir"]) == 0
    assert "def kernel_cdf(" in capsys.readouterr().out


def test_the_build_writes_every_registered_target(toy, tmp_path, capsys):
    example = build.PACKAGE.parent / "examples" / "loglogistic.py"
    build.build([example], tmp_path, log=lambda *a: None, cuda_binaries=False)
    assert (tmp_path / "loglogistic.ir.py").exists()
    assert build.check([example], tmp_path, log=lambda *a: None)


def test_unregistered_targets_are_not_built():
    names = [t.name for t in targets.all_targets()]
    assert names[:2] == ["c", "cuda"] and "python_ir" not in names
