"""Temporary builds for tests that compare values: compiled at -O0, which GCC takes a
quarter of -O3's time over (Gamma's kernels: 14 against about 50 s). The values are the same
at every level: no fast-math, no contraction into fused multiply-adds. A binary's key holds
its flags, so a module built here must also be loaded here: loaded(module)."""
import contextlib

import pytest

from irgen.targets.c import compile as c_compile


@contextlib.contextmanager
def unoptimised():
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(c_compile, "CFLAGS", tuple("-O0" if f == "-O3" else f
                                                 for f in c_compile.CFLAGS))
        yield


def loaded(module):
    """module, its binary loaded (by its first call) under the flags in force."""
    module.cdf(*[0.5] * (1 + len(module.params)))
    return module
