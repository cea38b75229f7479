import numpy as np
import pytest

FIXTURES = __import__("pathlib").Path(__file__).parent / "fixtures"


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
