"""irgen: implicit reparameterization gradients from CDFs written once in a Python DSL.

The built-in distributions are the modules of irgen.generated (`import irgen.generated.gamma`);
their kernels compile on first use into a per-user cache (irgen/runtime/cache.py)."""
__version__ = "0.1.0"


def _checkout_builtins():
    """Run from a source checkout without installing, irgen.generated is the repository's
    generated/ folder (an installed irgen has it as a subpackage of its own)."""
    import importlib.util
    import sys
    from pathlib import Path

    here = Path(__file__).resolve().parent
    folder = here.parent / "generated"
    if (here / "generated").is_dir() or not (folder / "__init__.py").is_file():
        return

    class Finder:
        @staticmethod
        def find_spec(name, path=None, target=None):
            if name != __name__ + ".generated":
                return None
            return importlib.util.spec_from_file_location(
                name, folder / "__init__.py", submodule_search_locations=[str(folder)])

    sys.meta_path.append(Finder)


_checkout_builtins()
