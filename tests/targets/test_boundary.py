"""The array boundary's fast path (irgen/targets/c/boundary.c): the calls it takes give what
the general path gives (values bit for bit, dtype, shape, result type), the calls it leaves
to the general path keep their answers and messages, and the values hold against scipy."""
import threading

import numpy as np
import pytest
import scipy.special as sc
import scipy.stats as st

import irgen.generated.beta as beta
import irgen.generated.gamma as gamma
import irgen.generated.normal as normal
from irgen.targets.c.boundary import extension

pytestmark = pytest.mark.skipif(extension() is None, reason="no Python headers to build with")

F32, F64 = np.float32, np.float64
A = np.array([0.3, 1.0, 2.5, 7.0])
Z = np.array([0.1, 0.9, 2.0, 9.0])

# calls the fast path takes: arrays of one dtype and shape, one-element arrays, numbers
TAKEN = [
    ("cdf", (Z, A, 1.0)),
    ("cdf", (Z.astype(F32), A.astype(F32), 2)),
    ("implicit_grad", (Z, A, 1.0)),
    ("implicit_grad", (Z.astype(F32).reshape(2, 2), A.astype(F32).reshape(2, 2), 0.5)),
    ("log_prob", (Z, np.array([2.0]), np.array([1.5]))),
    ("log_prob", (Z.reshape(4, 1), np.array([[2.0]]), 1.0)),
    ("cdf_grad", (np.array([1.0]), np.array([2.0]), 1.0)),
    ("log_cdf", (np.zeros((0, 3)), 2.0, 1.0)),
    ("cdf", (Z, np.array([np.nan, -1.0, 0.0, 2.0]), 1.0)),     # invalid shapes: NaN
]
# calls it leaves to the general path
LEFT = [
    ("cdf", (Z, A.astype(F32), 1.0)),                  # mixed dtypes promote
    ("cdf", (Z.reshape(4, 1), A, 1.0)),                # a true broadcast
    ("cdf", (Z, np.ones((1, 1, 1)), 1.0)),             # a value that adds axes
    ("cdf", (Z[::2], A[::2], 1.0)),                    # strided
    ("cdf", (Z.astype(">f8"), A, 1.0)),                # byte-swapped
    ("cdf", (np.float64(0.5), np.float64(2.0), 1.0)),  # NumPy scalars: 0-d results
    ("cdf", (0.5, 2.0, 1.0)),                          # numbers alone
    ("cdf", (Z.astype(F32), A.astype(F32), 1e300)),    # a number float cannot hold
    ("cdf", (Z, A, True)),                             # a bool is not a weak float
    ("cdf", (list(Z), A, 1.0)),                        # a list
]


def _same(a, b):
    assert type(a) is type(b)
    if isinstance(a, tuple):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            _same(x, y)
        return
    assert np.shape(a) == np.shape(b) and np.asarray(a).dtype == np.asarray(b).dtype
    assert np.array_equal(a, b, equal_nan=True)


@pytest.mark.parametrize("kernel, args", TAKEN)
def test_taken_calls_equal_the_general_path(kernel, args):
    host = gamma._kernels.host
    fast = host.fast_call(kernel, args)
    assert fast is not NotImplemented
    _same(fast, host.call(kernel, args))
    _same(getattr(gamma, kernel)(*args), host.call(kernel, args))


@pytest.mark.parametrize("kernel, args", LEFT)
def test_left_calls_take_the_general_path(kernel, args):
    host = gamma._kernels.host
    assert host.fast_call(kernel, args) is NotImplemented
    with np.errstate(over="ignore"):
        try:
            want = host.call(kernel, args)
        except TypeError as e:             # a dtype the kernels do not take: the same message
            with pytest.raises(TypeError, match=str(e)):
                getattr(gamma, kernel)(*args)
            return
        _same(getattr(gamma, kernel)(*args), want)


def test_samplers_draw_the_general_paths_draws():
    host = gamma._kernels.host
    for dt in (F32, F64):
        a = np.exp(np.random.default_rng(0).uniform(-2, 2, 1000)).astype(dt)
        for kernel in ("sample", "rsample", "rsample_log_prob"):
            fast = host.fast_call(kernel, (a, 1.0), 2 ** 64 - 1)
            assert fast is not NotImplemented
            _same(fast, host.call(kernel, (a, 1.0), seed=2 ** 64 - 1))
    z = normal.sample(np.zeros(5000), np.ones(1), seed=3)
    assert st.kstest(z, "norm").pvalue > 1e-3


def test_seeds_the_fast_path_leaves():
    a = np.array([2.0, 3.0])
    host = gamma._kernels.host
    for seed in (None, -1, 2 ** 64, 1.5, True):
        assert host.fast_call("sample", (a, 1.0), seed) is NotImplemented
    assert not np.array_equal(gamma.sample(a, 1.0), gamma.sample(a, 1.0))   # fresh seeds
    with pytest.raises(ValueError, match="seed"):
        gamma.sample(a, 1.0, seed=-1)
    with pytest.raises(TypeError, match="seed"):
        gamma.sample(a, 1.0, seed=1.5)


def test_bad_input_keeps_its_answers():
    with pytest.raises(TypeError, match="float32 or float64"):
        gamma.cdf(np.array([1, 2]), np.array([2, 3]), 1.0)
    with pytest.raises(ValueError, match="broadcast"):
        gamma.cdf(np.ones(3), np.ones(2), 1.0)
    out = gamma.cdf(np.array([1.0, np.nan, 1.0]), np.array([2.0, 2.0, -1.0]), 1.0)
    assert out[0] == pytest.approx(sc.gammainc(2.0, 1.0), rel=1e-15)
    assert np.isnan(out[1:]).all()


def test_values_against_scipy():
    for dt, tol in ((F64, 1e-14), (F32, 2e-6)):
        z, a = Z.astype(dt), A.astype(dt)
        np.testing.assert_allclose(gamma.cdf(z, a, 1.0), sc.gammainc(A, Z), rtol=tol)
        x = np.array([0.2, 0.5, 0.9], dt)
        np.testing.assert_allclose(beta.cdf(x, 2.0, 3.0), st.beta.cdf(x, 2.0, 3.0), rtol=tol)
        # dz/dalpha against central differences of the quantile
        g, _ = gamma.implicit_grad(z, a, 1.0)
        h, u = 1e-6 * A, sc.gammainc(A, Z)
        fd = (sc.gammaincinv(A + h, u) - sc.gammaincinv(A - h, u)) / (2 * h)
        np.testing.assert_allclose(g, fd, rtol=max(tol, 1e-7) * 100)


def test_threads_share_the_fast_path():
    """Calls from several threads at once (large ones release the GIL) each get their own
    results."""
    a = np.linspace(0.5, 5, 20000)
    want = gamma.sample(a, 1.0, seed=9)
    got = [None] * 4

    def run(i):
        got[i] = gamma.sample(a, 1.0, seed=9)
    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for g in got:
        np.testing.assert_array_equal(g, want)


def test_a_call_without_numpy_arrays_loads_no_kernels():
    """Only a call with a NumPy array can take the fast path; any other (numbers alone,
    CUDA arrays) goes on to its target without loading the C kernels here."""
    from irgen.targets.c.runtime import HostKernels
    host = HostKernels(gamma._kernels.host.c_path, gamma._kernels.kernels)
    assert host.fast_call("cdf", (0.5, 2.0, 1.0)) is NotImplemented
    assert host._lib is None
    assert host.fast_call("cdf", (np.array([0.5]), 2.0, 1.0)) is not NotImplemented
