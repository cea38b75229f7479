"""The generated C on other instruction sets and without glibc's vector math library: the
lane width and the math functions change, the results may differ by rounding only."""
import ctypes
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

import irgen.generated.gamma as g
import irgen.generated.von_mises as v
from irgen.targets.c.compile import host_cpu
from paths import ROOT

CC = shutil.which("gcc") or shutil.which("cc")
# -O1: the arithmetic is the same at every level (no fast-math), and it compiles quickly;
# but GCC 12 stops with an internal error on SSE2's vector selects at -O1, so -O2 there
BASE = ["-std=c99", "-ffp-contract=off", "-fopenmp", "-fno-math-errno", "-Wno-psabi",
        "-shared", "-fPIC"]
VARIANTS = {                   # lanes: 2 (SSE), 4 (AVX2), native; libm lane by lane
    "sse2": ["-O2", "-march=x86-64"],
    "avx2": ["-O1", "-march=haswell"],
    "native-libm": ["-O1", "-march=native"],
}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(name, variant) -> the library, or the compiler's refusal (a str): every variant
    that runs here (see _variants), compiled two at a time."""
    tmp = tmp_path_factory.mktemp("isa")

    def compile_one(job):
        name, variant = job
        so = tmp / f"{name}_{variant}.so"
        cmd = [CC, *BASE, *VARIANTS[variant], str(ROOT / "generated" / f"{name}.c"), "-o",
               str(so), "-lm"]
        r = subprocess.run(cmd, capture_output=True, text=True)
        return job, (f"compiler refused {VARIANTS[variant]}: {r.stderr[:200]}"
                     if r.returncode else so)
    jobs = [(name, variant) for variant in _variants() for name in ("gamma", "von_mises")]
    with ThreadPoolExecutor(max_workers=2) as pool:
        done = dict(pool.map(compile_one, jobs))
    return {job: so if isinstance(so, str) else ctypes.CDLL(str(so))
            for job, so in done.items()}


def _variants():
    """The variants that differ from one another here: on a host without AVX-512 the
    AVX2 build is native-libm's (or, without AVX2, cannot run)."""
    return [v for v in sorted(VARIANTS) if v != "avx2" or _wider_than_avx2()]


def _wider_than_avx2() -> bool:
    """Whether -march=native has 512-bit vectors (AVX-512), where they differ from AVX2's."""
    return "avx512f" in host_cpu().split()


def _library(built, name, variant):
    found = built[name, variant]
    if isinstance(found, str):
        pytest.skip(found)
    return found


def _call(lib, kernel, dtype, inputs, n_out):
    T = ctypes.c_double if dtype == np.float64 else ctypes.c_float
    f = getattr(lib, f"irgen_{kernel}_{np.dtype(dtype).name}")
    n = inputs[0].size
    outs = [np.empty(n, dtype) for _ in range(n_out)]
    args = [ctypes.c_int64(n)]
    for a in inputs:
        a = np.ascontiguousarray(a, dtype)
        args += [a.ctypes.data_as(ctypes.POINTER(T)), ctypes.c_int64(1)]
    args += [o.ctypes.data_as(ctypes.POINTER(T)) for o in outs]
    f(*args)
    return outs


@pytest.fixture(scope="module")
def inputs():
    rng = np.random.default_rng(11)
    n = 5000
    a = np.exp(rng.uniform(np.log(1e-3), np.log(1e3), n))
    z = rng.gamma(a)
    z[::97] = np.nan
    k = np.exp(rng.uniform(np.log(1e-2), np.log(1e3), n))
    y = rng.uniform(-np.pi, np.pi, n)
    return z, a, y, k


@pytest.mark.skipif(CC is None or not Path("/proc/cpuinfo").exists(), reason="needs gcc")
@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_other_lane_widths_agree(variant, dtype, inputs, built):
    if variant not in _variants():
        pytest.skip("without AVX-512 this is native-libm's build (or cannot run here)")
    z, a, y, k = inputs
    tol = 1e-12 if dtype == np.float64 else 2e-5
    gl = _library(built, "gamma", variant)
    got = _call(gl, "implicit_grad", dtype, [z, a, np.ones_like(z)], 2)[0]
    want = g.implicit_grad(z.astype(dtype), a.astype(dtype), dtype(1))[0]
    assert np.array_equal(np.isnan(got), np.isnan(want))
    ok = ~np.isnan(want)
    assert np.allclose(got[ok], want[ok], rtol=tol, atol=0)
    vl = _library(built, "von_mises", variant)
    got = _call(vl, "implicit_grad", dtype, [y, np.zeros_like(y), k], 2)[1]
    want = v.implicit_grad(y.astype(dtype), dtype(0), k.astype(dtype))[1]
    assert np.allclose(got, want, rtol=tol, atol=0)


@pytest.mark.skipif(CC is None or not Path("/proc/cpuinfo").exists(), reason="needs gcc")
@pytest.mark.parametrize("variant", sorted(VARIANTS))
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_other_lane_widths_draw_the_same_bits(variant, dtype, inputs, built):
    """Samplers compute with irgen.lib.portable's exact functions, so every build draws the
    same bits: AVX-512's exponent, mantissa and scale instructions against the bits on
    AVX2 and SSE2 (sample's logarithms of draws, log_sample's portable_log)."""
    if variant not in _variants():
        pytest.skip("without AVX-512 this is native-libm's build (or cannot run here)")
    T = ctypes.c_double if dtype == np.float64 else ctypes.c_float
    a = np.ascontiguousarray(inputs[1], dtype)
    a[::89] = np.nan
    b = np.ones_like(a)
    lib = _library(built, "gamma", variant)
    for kernel, module_kernel in (("sample", g.sample), ("log_sample", g.log_sample)):
        got = np.empty_like(a)
        getattr(lib, f"irgen_{kernel}_{np.dtype(dtype).name}")(
            ctypes.c_int64(a.size), ctypes.c_uint64(12345), ctypes.c_int64(0),
            a.ctypes.data_as(ctypes.POINTER(T)), ctypes.c_int64(1),
            b.ctypes.data_as(ctypes.POINTER(T)), ctypes.c_int64(1),
            got.ctypes.data_as(ctypes.POINTER(T)))
        want = module_kernel(a, b, seed=12345)
        assert np.array_equal(got, want, equal_nan=True), kernel


EXP_SOURCE = '''
from irgen.dsl import *


@dsl
def cdf(x, c):
    return exp(x * c)


expcdf = Distribution(name="expcdf", doc="F(x) = exp(c x) on x <= 0.",
                      params=(Param("c", "rate", "positive"),), support=Interval(-INF, 0.0),
                      cdf=cdf)
'''


@pytest.mark.skipif(CC is None or not Path("/proc/cpuinfo").exists(), reason="needs gcc")
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_exp_without_the_vector_library_is_within_two_ulp(dtype, tmp_path):
    """Where glibc's vector library is missing, exp is irgen's own polynomial."""
    import mpmath

    from irgen import build
    (tmp_path / "expcdf_dsl.py").write_text(EXP_SOURCE)
    build.build([tmp_path / "expcdf_dsl.py"], tmp_path, log=lambda *a: None,
                cuda_binaries=False)
    so = tmp_path / "expcdf.so"
    subprocess.run([CC, *BASE, "-O1", "-march=native", str(tmp_path / "expcdf.c"), "-o",
                    str(so), "-lm"], check=True)
    lib = ctypes.CDLL(str(so))
    lo = -745.0 if dtype == np.float64 else -103.0
    rng = np.random.default_rng(5)
    x = np.concatenate([rng.uniform(lo, 0, 3000), -np.exp(rng.uniform(-40, 0, 1000)),
                        [0.0, -0.0, lo, -np.inf]]).astype(dtype)
    (got,) = _call(lib, "cdf", dtype, [x, np.ones_like(x)], 1)
    assert got[-1] == 0 and got[-3] == 1 and got[-4] == 1
    tiny = np.finfo(dtype).tiny
    for xi, e in zip(x[:-1], got[:-1]):
        want = mpmath.exp(mpmath.mpf(float(xi)))
        ulp = np.spacing(dtype(max(float(want), tiny)))
        assert abs(mpmath.mpf(float(e)) - want) <= 2 * float(ulp), (xi, e, want)
