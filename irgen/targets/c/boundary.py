"""The array boundary's fast path (boundary.c), a CPython extension compiled on first use
into the binary cache beside the kernels, against this Python's and this NumPy's headers.
Where it cannot be built (no Python headers) the run time's general path takes every call."""
from __future__ import annotations

import functools
import sys
import sysconfig
from pathlib import Path

from .compile import compile_binary, load_extension

NAME = "_irgen_boundary"


@functools.lru_cache(maxsize=None)
def extension():
    """The compiled module (call(plan, args, seed)), or None where it cannot be built."""
    import numpy as np

    include = Path(sysconfig.get_paths()["include"])
    if not (include / "Python.h").exists():
        return None
    source = Path(__file__).with_name("boundary.c")
    version = (f"python {sys.version} {sysconfig.get_config_var('EXT_SUFFIX')} "
               f"numpy {np.__version__}")
    try:
        # a fraction of a second: not announced, as the kernels' compilations are
        so = compile_binary(source, announce=False, include=(include, np.get_include()),
                            extra=version)
    except (RuntimeError, OSError) as e:
        print(f"irgen: small calls take the general path: {str(e).splitlines()[0]}",
              file=sys.stderr)
        return None
    return load_extension(NAME, so)
