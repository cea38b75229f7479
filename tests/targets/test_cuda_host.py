"""The CUDA path on the CPU: the generated .cu files compiled as host code and driven by
the CUDA run time (tests/cuda_on_host.py), against the C kernels, with the CPU's rules for
dtypes, broadcasting, layouts, out= and streams. (tests/distributions/test_accuracy.py runs the same
host build against mpmath.) A numeric mistake in the CUDA kernels, or in how the run time
lays out their arguments, fails here without a GPU."""
from pathlib import Path

import numpy as np
import pytest

import irgen.generated.gamma as g
import irgen.generated.normal as nrm
from agreement import (GRAD_ULPS, KERNELS, SAMPLERS, assert_agrees, assert_same_stream,
                       random_inputs, sampler_params)
from cases import CASES, CUDA_HOST
from cuda_on_host import CXX, FakeCudaArray, host

pytestmark = pytest.mark.skipif(CXX is None, reason="needs a C++ compiler")
MODULES = {name: CASES[name].module for name in CUDA_HOST}


def dev(a, dtype=None, stream=None):
    return FakeCudaArray(np.ascontiguousarray(a, dtype), stream)


# ---------------------------------------------------------------- against the C kernels

@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", sorted(MODULES))
def test_every_kernel_agrees_with_the_c_kernels(name, dtype, launches):
    """Same inputs through the CUDA path and the C path (agreement.py)."""
    mod = MODULES[name]
    cols = random_inputs(name, np.random.default_rng(3), dtype)
    for kernel in KERNELS:
        f = getattr(mod, kernel)
        assert_agrees(kernel, f(*cols), host(f(*[dev(c) for c in cols])),
                      f(*[c.astype(np.float64) for c in cols]))
    assert {n for n, _, _ in launches} >= {f"irgen_{k}_{np.dtype(dtype).name}"
                                           for k in KERNELS}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", sorted(MODULES))
def test_quantiles_agree_with_the_c_kernels(name, dtype, launches):
    """icdf through the CUDA path and the C path, at u uniform in (0, 1) and its ends,
    with the parameters (valid, then bad rows) of the other kernels' test."""
    mod = MODULES[name]
    rng = np.random.default_rng(5)
    params = random_inputs(name, rng, dtype)[1:]
    u = rng.uniform(size=params[0].shape).astype(dtype)
    u[:3] = (0, 1, 0.5)
    u64, p64 = u.astype(np.float64), [c.astype(np.float64) for c in params]
    assert_agrees("icdf", mod.icdf(u, *params),
                  host(mod.icdf(dev(u), *[dev(c) for c in params])), mod.icdf(u64, *p64))
    # icdf_grad's z is icdf's, on each target
    z, _ = mod.icdf_grad(dev(u), *[dev(c) for c in params])
    assert np.array_equal(host(z), host(mod.icdf(dev(u), *[dev(c) for c in params])),
                          equal_nan=True)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", sorted(MODULES))
def test_samplers_draw_the_c_kernels_streams(name, dtype, launches):
    """The CUDA samplers (one element per thread, scalar draws) and the C samplers (SIMD
    lanes, vector draws) give the same samples for the same seed."""
    mod = MODULES[name]
    cols = sampler_params(name, np.random.default_rng(5), dtype)
    for kernel in SAMPLERS[name]:
        f = getattr(mod, kernel)
        assert_same_stream(kernel, f(*cols, seed=99), host(f(*[dev(c) for c in cols], seed=99)),
                           grad_ulps=GRAD_ULPS.get(name, 4096))
    out = FakeCudaArray(np.empty((7, 5), dtype))        # scalar parameters, the size of out
    ps = [dtype(1.5 + 0.5 * i) for i in range(len(mod.params))]
    assert mod.sample(*ps, size=(7, 5), seed=3, out=out) is out
    assert_same_stream("sample", mod.sample(*ps, size=(7, 5), seed=3),
                       out.array)


def test_the_cuda_source_has_the_same_generator(launches, tmp_path):
    """The raw Philox4x32-10 of the host-built .cu file against the published values."""
    import ctypes

    from cuda_on_host import compile_host
    from philox_kat import KAT
    lib = compile_host(Path(g.__file__).with_suffix(".cu"), tmp_path)
    for ctr, key, want in KAT:
        c, k = np.array(ctr, np.uint32), np.array(key, np.uint32)
        out = np.empty(4, np.uint32)
        lib.irgen_philox4x32_10(ctypes.c_int64(1), c.ctypes.data_as(ctypes.c_void_p),
                                k.ctypes.data_as(ctypes.c_void_p),
                                out.ctypes.data_as(ctypes.c_void_p))
        assert list(out) == want


# ---------------------------------------------------------------- the array boundary

def test_layouts_broadcasting_and_dtypes_follow_the_cpu(launches):
    """A transposed float32 array, a float64 row and a Python scalar: promoted to float64,
    broadcast, the strided input copied by the expand kernel; the result equals the CPU's."""
    rng = np.random.default_rng(4)
    z = rng.gamma(2.0, size=(4, 3)).astype(np.float32).T          # (3, 4), not contiguous
    a = np.array([0.5, 1.0, 2.0, 30.0])
    got = g.implicit_grad(FakeCudaArray(z), dev(a), 2.0)
    want = g.implicit_grad(z, a, 2.0)
    for o, w in zip(host(got), want):
        assert o.dtype == np.float64 and o.shape == (3, 4)
        assert np.allclose(o, w, rtol=1e-13, atol=0)
    names = [n for n, _, _ in launches]
    assert names == ["irgen_expand_f_d", "irgen_expand_d_d", "irgen_implicit_grad_float64"]


def test_scalars_single_values_and_reversed_strides(launches):
    z = np.linspace(0.1, 5, 7)[::-1]                              # negative stride
    one = FakeCudaArray(np.array([1.5], np.float32))             # size 1, other dtype
    got = host(g.cdf(FakeCudaArray(z), one, np.float64(2.0)))
    assert np.allclose(got, g.cdf(z, 1.5, 2.0), rtol=1e-14)
    zero_d = FakeCudaArray(np.array(0.3))
    got = host(nrm.cdf(zero_d, 0.0, 1.0))
    assert got.shape == () and np.isclose(got, nrm.cdf(0.3, 0.0, 1.0), rtol=1e-15)


def test_out_and_empty_arrays(launches):
    z = np.linspace(0.5, 3, 10)
    outs = (FakeCudaArray(np.full(10, np.nan)), FakeCudaArray(np.full(10, np.nan)))
    assert g.implicit_grad(dev(z), 2.0, 1.0, out=outs) is outs
    assert np.allclose(outs[0].array, g.implicit_grad(z, 2.0, 1.0)[0], rtol=1e-14)
    n = len(launches)
    empty = host(g.cdf(dev(np.empty(0)), 2.0, 1.0))
    assert empty.shape == (0,) and len(launches) == n


def test_bad_arguments_are_refused(launches):
    z = dev(np.ones(4))
    with pytest.raises(TypeError, match="host array"):
        g.cdf(z, np.ones(4), 1.0)
    with pytest.raises(TypeError, match="float32 or float64"):
        g.cdf(FakeCudaArray(np.ones(4, np.int32)), 1.0, 1.0)
    with pytest.raises(ValueError, match="broadcast"):
        g.cdf(z, dev(np.ones(3)), 1.0)
    with pytest.raises(ValueError, match="out for"):
        g.cdf(z, 1.0, 1.0, out=FakeCudaArray(np.empty(3)))
    with pytest.raises(ValueError, match="out= needs 2"):
        g.implicit_grad(z, 1.0, 1.0, out=FakeCudaArray(np.empty(4)))
    with pytest.raises(TypeError, match="stream"):
        g.cdf(z, 1.0, 1.0, stream="default")
    assert not launches


class _TorchLikeStream:
    cuda_stream = 0x5150


def test_streams(launches):
    z = np.linspace(0.5, 3, 10)
    g.cdf(dev(z), 2.0, 1.0)                                       # nothing named: legacy
    g.cdf(dev(z, stream=77), 2.0, 1.0)                            # the producer's stream
    g.cdf(dev(z, stream=77), 2.0, 1.0, stream=_TorchLikeStream()) # the caller's
    g.cdf(dev(z), 2.0, 1.0, stream=12)
    assert [s for _, _, s in launches] == [0, 77, 0x5150, 12]


def test_contiguity_ignores_the_strides_of_single_dimensions():
    """Libraries give any stride to a dimension of length 1 (torch does): still contiguous."""
    from irgen.targets.cuda.arrays import view

    class Odd:
        __cuda_array_interface__ = {"shape": (3, 1, 4), "typestr": "<f4", "version": 3,
                                    "data": (1024, False), "strides": (16, 999 * 4, 4)}
    assert view(Odd(), "x").contiguous
    Odd.__cuda_array_interface__ = dict(Odd.__cuda_array_interface__, strides=(4, 4, 12))
    assert not view(Odd(), "x").contiguous
