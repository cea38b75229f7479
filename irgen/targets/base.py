"""What a target is: the small interface through which `irgen build`, the command line and
the run time use it.

A target turns a distribution's IR into one source file (`NAME + suffix`), through its
function printer and its templates (its own folder `templates/` first, then the shared
C-family and Python templates); it may compile that file ahead of time, and its run time
may run the kernels on the arrays it accepts. Generation imports the printer lazily, so
that the run time never imports the code generator."""
from __future__ import annotations

import sys
from pathlib import Path

import jinja2

PACKAGE = Path(__file__).resolve().parent.parent


def shared_templates() -> Path:
    """The templates every target may include and the Python module templates: package
    data (irgen/templates) in a wheel; beside the package in a source checkout."""
    for d in (PACKAGE / "templates", PACKAGE.parent / "templates"):
        if d.is_dir():
            return d
    raise FileNotFoundError("irgen templates not found")


class Target:
    name = ""                 # as in `irgen show NAME --target c`
    suffix = ""               # the generated file is NAME + suffix
    template = ""             # its main template, in its own templates/ folder
    binary_optional = False   # `irgen build --no-cuda-binary` skips its binary

    # ---- generation
    def template_dirs(self) -> list[Path]:
        own = Path(sys.modules[type(self).__module__].__file__).parent / "templates"
        return [own, shared_templates()]

    def environment(self) -> jinja2.Environment:
        return jinja2.Environment(
            loader=jinja2.FileSystemLoader([str(d) for d in self.template_dirs()]),
            undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True,
            keep_trailing_newline=True)

    def printer(self, dtype, program):
        """The function printer for one compute dtype (program: the IR program printed)."""
        raise NotImplementedError

    def preamble(self, dtype, drawing) -> list[str]:
        """Source that comes before the printed functions of one compute dtype."""
        return []

    def render_functions(self, program, float32_compute: str) -> dict:
        """Per compute dtype, the preamble, the tables and every IR function, printed."""
        from .cfamily import F32, F64
        out = {}
        for dtype in (F64, F32) if float32_compute == "float" else (F64,):
            printer = self.printer(dtype, program)
            functions = [printer.function(f) for f in program.functions.values()]
            out[dtype.name] = (self.preamble(dtype, program.drawing) + printer.tables()
                               + functions)
        return out

    def context(self, common: dict) -> dict:
        """Template values of its own, beside the common ones (source, kernels, extra: the
        per-dtype values of a simplex, float32: the float32 compute mode)."""
        return {}

    def render(self, program, common: dict) -> str:
        values = dict(common, functions=self.render_functions(program, common["float32"]))
        values.update(self.context(common))
        return self.environment().get_template(self.template).render(**values)

    # ---- after generation
    def compile(self, source: Path) -> str:
        """Build the binary of a generated source ahead of time, if the target has one;
        a few words for the build's log."""
        return ""

    # ---- run time
    def accepts(self, args, out) -> bool:
        """Whether its run time takes a call on these arguments and outputs."""
        return False

    def runtime(self, source: Path, kernels: dict):
        """The kernels of a generated source, loaded for calls (None: no run time)."""
        return None
