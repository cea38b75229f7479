import os
import shutil
from pathlib import Path

import numpy as np
import pytest
from hypothesis import settings

# CI draws the same examples every run (HYPOTHESIS_PROFILE=ci in .ci/run); elsewhere each
# run explores new ones
settings.register_profile("ci", derandomize=True)
settings.register_profile("explore", max_examples=2000)
if os.environ.get("HYPOTHESIS_PROFILE"):
    settings.load_profile(os.environ["HYPOTHESIS_PROFILE"])

FIXTURES = Path(__file__).parent / "fixtures"
ROOT = Path(__file__).resolve().parent.parent


_CACHE_BEFORE = pytest.StashKey[set]()


def _cache_folders():
    from irgen.runtime import cache
    return set(cache.root().iterdir()) if cache.root().is_dir() else set()


def pytest_sessionstart(session):
    """Tests build into temporary folders, and the binaries of each go to a cache folder of
    its own (irgen/runtime/cache.py): those the run made go when it ends, except the
    checkout's own. With pytest-xdist only the controlling process does this, after every
    worker has ended: a worker that ended first would remove the folders of builds that
    another worker is still writing."""
    if not hasattr(session.config, "workerinput"):
        session.config.stash[_CACHE_BEFORE] = _cache_folders()


def pytest_sessionfinish(session):
    before = session.config.stash.get(_CACHE_BEFORE, None)
    if before is None:              # an xdist worker
        return
    from irgen.runtime import cache
    keep = {cache.folder(ROOT / "generated" / "x.c"),
            cache.folder(ROOT / "examples" / "generated" / "x.c")}
    for f in _cache_folders() - before - keep:
        shutil.rmtree(f, ignore_errors=True)


def load_fixture(name):
    """{set name: {field: array}} from tests/fixtures/NAME.npz (scripts/make_fixtures.py)."""
    data = np.load(FIXTURES / f"{name}.npz")
    out = {}
    for key in data.files:
        s, field = key.split("/")
        out.setdefault(s, {})[field] = data[key]
    return out


@pytest.fixture(scope="session")
def gamma_ref():
    return load_fixture("gamma")


@pytest.fixture(scope="session")
def vm_ref():
    return load_fixture("von_mises")


def rel_err(got, want):
    got, want = np.asarray(got, float), np.asarray(want, float)
    return np.abs(got - want) / np.abs(want)


@pytest.fixture(params=["c", "cuda-on-host"])
def target(request, monkeypatch, tmp_path_factory):
    """Wraps a generated module so that its functions run on the C kernels, or on the CUDA
    kernels compiled as host code with the inputs presented as CUDA arrays."""
    if request.param == "c":
        return lambda module: module
    from cuda_on_host import OnDevice
    _cuda_on_host(monkeypatch, tmp_path_factory)
    return OnDevice


@pytest.fixture
def launches(monkeypatch, tmp_path_factory):
    """The CUDA run time routed to host builds of the .cu files (tests/cuda_on_host.py);
    the list of the launches it makes."""
    seen = []
    _cuda_on_host(monkeypatch, tmp_path_factory, seen)
    return seen


def _cuda_on_host(monkeypatch, tmp_path_factory, launches=None):
    from cuda_on_host import CXX, run_on_host
    if CXX is None:
        pytest.skip("needs a C++ compiler")
    build_dir = tmp_path_factory.getbasetemp() / "cuda_host"
    build_dir.mkdir(exist_ok=True)
    run_on_host(monkeypatch, build_dir, launches)
