"""The array boundary: dtypes, broadcasting, out=, errors."""
import numpy as np
import pytest

import irgen.generated.gamma as g
import irgen.generated.normal as n


def test_float32_in_float32_out():
    x = np.linspace(0.1, 3, 7, dtype=np.float32)
    for f in (g.cdf, g.log_prob):
        assert f(x, np.float32(2.0), np.float32(1.5)).dtype == np.float32
    da, db = g.implicit_grad(x, 2.0, 1.5)          # Python floats are weak
    assert da.dtype == db.dtype == np.float32
    assert g.cdf(x.astype(np.float64), 2.0, 1.5).dtype == np.float64
    assert g.cdf(x, np.float64(2.0), 1.0).dtype == np.float64  # NumPy promotion


def test_broadcasting_matches_elementwise():
    x = np.linspace(0.1, 5, 6)[:, None]
    a = np.array([0.5, 1.0, 7.0])[None, :]
    got = g.cdf_grad(x, a, 2.0)
    assert all(r.shape == (6, 3) for r in got)
    for i in range(6):
        for j in range(3):
            one = g.cdf_grad(float(x[i, 0]), float(a[0, j]), 2.0)
            assert [r[i, j] for r in got] == [float(v) for v in one]


def test_non_contiguous_inputs():
    x = np.linspace(0.1, 5, 20)[::2]
    a = np.full(10, 3.0)
    assert np.array_equal(g.cdf(x, a, 1.0), g.cdf(np.ascontiguousarray(x), a, 1.0))


def test_scalars_give_scalars():
    v = n.cdf(0.0, 0.0, 1.0)
    assert np.ndim(v) == 0 and v == 0.5


def test_out_is_written_and_returned():
    x = np.linspace(-2, 2, 5)
    out = np.empty(5)
    assert n.cdf(x, 0.0, 1.0, out=out) is out
    assert np.array_equal(out, n.cdf(x, 0.0, 1.0))
    outs = (np.empty(5), np.empty(5))
    assert n.implicit_grad(x, 0.0, 2.0, out=outs) is outs
    assert np.allclose(outs[1], x / 2.0)


def test_bad_out_refused():
    x = np.linspace(-2, 2, 5)
    with pytest.raises(ValueError, match="out"):
        n.cdf(x, 0.0, 1.0, out=np.empty(4))
    with pytest.raises(ValueError, match="out"):
        n.cdf(x, 0.0, 1.0, out=np.empty(5, np.float32))
    with pytest.raises(ValueError, match="2 array"):
        n.implicit_grad(x, 0.0, 1.0, out=np.empty(5))


def test_shape_mismatch_is_value_error():
    with pytest.raises(ValueError, match="broadcast"):
        g.cdf(np.ones(3), np.ones(4), 1.0)


@pytest.mark.parametrize("bad", [np.arange(3), np.ones(3, np.float16), np.ones(3, complex),
                                 np.array(["a"]), np.ones(3, bool)])
def test_non_float_dtypes_are_type_errors(bad):
    with pytest.raises(TypeError, match="float32 or float64"):
        g.cdf(bad, 1.0, 1.0)


def test_empty_arrays():
    assert g.implicit_grad(np.empty(0), 1.0, 1.0)[0].shape == (0,)


def test_large_arrays_use_threads_and_agree():
    from irgen.runtime import get_num_threads, set_num_threads
    rng = np.random.default_rng(0)
    a = rng.uniform(0.1, 10, 50000)
    z = rng.gamma(a)
    set_num_threads(1)
    one = g.implicit_grad(z, a, 1.0)
    set_num_threads(0)
    assert get_num_threads() >= 1
    many = g.implicit_grad(z, a, 1.0)
    assert all(np.array_equal(p, q) for p, q in zip(one, many))


def test_read_only_and_zero_dimensional_inputs():
    x = np.linspace(0.5, 3, 6)
    x.flags.writeable = False
    a = np.array(2.0)                      # 0-d
    assert np.array_equal(g.cdf(x, a, 1.0), g.cdf(x.copy(), 2.0, 1.0))
    ro = np.broadcast_to(np.float64(1.5), (6,))   # read-only, zero strides
    assert np.array_equal(g.cdf(x, ro, 1.0), g.cdf(x, 1.5, 1.0))
