"""The XLA target's CUDA handlers without a GPU: registered for XLA's CPU platform with a
stand-in for the CUDA driver whose launches run the host build of the same .cu file
(cuda_on_host.py), so that everything between XLA's call frame and the kernel runs as on a
GPU: argument checks, the stream and device queries, module and function loading, the launch
shape, the parameter block, and a sampler's seed read by the kernel from device memory.
Results equal the CPU handlers' (the same streams; values within the two targets' math
libraries)."""
import ctypes
from pathlib import Path

import numpy as np
import pytest

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402

import irgen.jax as ij  # noqa: E402
from cuda_on_host import compile_host  # noqa: E402

CU = ctypes.c_int
P = ctypes.c_void_p
PP = ctypes.POINTER(ctypes.c_void_p)
FIELDS = [
    ("init", ctypes.CFUNCTYPE(CU, ctypes.c_uint)),
    ("device_get", ctypes.CFUNCTYPE(CU, ctypes.POINTER(ctypes.c_int), ctypes.c_int)),
    ("primary_ctx_retain", ctypes.CFUNCTYPE(CU, PP, ctypes.c_int)),
    ("ctx_push", ctypes.CFUNCTYPE(CU, P)),
    ("ctx_pop", ctypes.CFUNCTYPE(CU, PP)),
    ("module_load_data", ctypes.CFUNCTYPE(CU, PP, P)),
    ("module_get_function", ctypes.CFUNCTYPE(CU, PP, P, ctypes.c_char_p)),
    ("device_get_attribute", ctypes.CFUNCTYPE(CU, ctypes.POINTER(ctypes.c_int), ctypes.c_int,
                                              ctypes.c_int)),
    ("occupancy", ctypes.CFUNCTYPE(CU, ctypes.POINTER(ctypes.c_int), P, ctypes.c_int,
                                   ctypes.c_size_t)),
    ("launch", ctypes.CFUNCTYPE(CU, P, *[ctypes.c_uint] * 7, P, PP, PP)),
    ("error_string", ctypes.CFUNCTYPE(CU, CU, ctypes.POINTER(ctypes.c_char_p))),
]
IMAGE = b"a stand-in for the fatbin\0"


class Driver(ctypes.Structure):
    _fields_ = [(name, kind) for name, kind in FIELDS]


class StandIn:
    """The driver calls the handlers make, recorded; launches run the host-built kernels."""

    def __init__(self, functions, cu_path, build_dir, pushed_contexts=7):
        self.functions = functions        # kernel name -> (argument ctypes)
        self.lib = compile_host(cu_path, build_dir)
        self.calls, self.launches, self.depth = [], [], 0
        self.names = {}

        def ok(name, f):
            def g(*args):
                self.calls.append(name)
                return f(*args)
            return g

        def set_int(p, v):
            p[0] = v

        def load(module, image):
            assert ctypes.string_at(image, len(IMAGE)) == IMAGE
            module[0] = 5
            return 0

        def function(out, module, name):
            assert module == 5
            self.names.setdefault(name.decode(), len(self.names) + 1)
            out[0] = self.names[name.decode()]
            return 0

        def push(context):
            assert context == pushed_contexts
            self.depth += 1
            return 0

        def pop(out):
            self.depth -= 1
            return 0

        def launch(f, gx, gy, gz, bx, by, bz, shared, stream, params, extra):
            name = {v: k for k, v in self.names.items()}[f]
            kinds = self.functions[name]
            args = [ctypes.cast(params[i], ctypes.POINTER(t))[0] for i, t in enumerate(kinds)]
            self.launches.append((name, gx, bx))
            getattr(self.lib, name)(*[t(a) for t, a in zip(kinds, args)])
            return 0

        self.table = Driver(
            FIELDS[0][1](ok("init", lambda flags: 0)),
            FIELDS[1][1](ok("device_get", lambda p, ordinal: set_int(p, ordinal) or 0)),
            FIELDS[2][1](ok("primary_ctx_retain",
                            lambda p, d: set_int(p, pushed_contexts) or 0)),
            FIELDS[3][1](ok("ctx_push", push)), FIELDS[4][1](ok("ctx_pop", pop)),
            FIELDS[5][1](ok("module_load_data", load)),
            FIELDS[6][1](ok("module_get_function", function)),
            FIELDS[7][1](ok("device_get_attribute", lambda p, attr, d: set_int(p, 3) or 0)),
            FIELDS[8][1](ok("occupancy", lambda p, f, block, shared: set_int(p, 2) or 0)),
            FIELDS[9][1](ok("launch", launch)),
            FIELDS[10][1](lambda status, text: 0))


def kernel_arguments(kernel, T):
    """The CUDA kernel's parameters as ctypes types (the .cu template's order)."""
    args = [ctypes.c_int64] + ([ctypes.c_int64] if kernel.rows else [])
    if kernel.kind != "map":
        args += [ctypes.c_uint64, ctypes.c_int64, P]
    args += [P, ctypes.c_int64, T] * len(kernel.inputs)
    return args + [P] * len(kernel.outputs)


def on_cpu_through_cuda(functions, tmp_path):
    """The module's CUDA handlers registered for the CPU platform with the stand-in, under
    names of their own: a Functions object whose calls go through them, and the stand-in."""
    xla, host = functions._xla, functions._host
    names = xla.names(host)
    kinds = {}
    for kernel, k in functions.kernels.items():
        for dtype, T in (("float64", ctypes.c_double), ("float32", ctypes.c_float)):
            kinds[f"irgen_{kernel}_{dtype}"] = kernel_arguments(k, T)
    cu = Path(functions.module.__file__).with_suffix(".cu")
    driver = StandIn(kinds, cu, tmp_path)
    renamed = {key: "cuda_standin_" + name for key, name in names.items()}
    xla.register_cuda(xla._lib, renamed, driver=ctypes.addressof(driver.table),
                      platform="cpu", image=IMAGE)
    through = ij.Functions(functions.module)
    through._xla = type("Renamed", (), {"names": lambda self, host: renamed})()
    return through, driver


@pytest.fixture(autouse=True)
def x64():
    with jax.enable_x64(True):
        yield


def test_without_a_driver_the_handlers_say_so():
    """First in this file: the stand-in driver, once set up, serves the module's library."""
    f = ij.gamma
    names = f._xla.names(f._host)
    lib = f._xla._lib
    name = "cuda_no_driver_" + names["cdf", "float64"]
    jax.ffi.register_ffi_target(name, jax.ffi.pycapsule(lib.irgen_xla_cuda_cdf_float64),
                                platform="cpu")
    call = jax.ffi.ffi_call(name, [jax.ShapeDtypeStruct((3,), jnp.float64)])
    with pytest.raises(Exception, match="no CUDA driver"):
        np.asarray(call(jnp.ones(3), jnp.ones(3), jnp.ones(3)))


def test_jax_with_cuda_devices_but_no_cuda_binary_keeps_the_cpu(monkeypatch):
    """Where JAX has CUDA devices but the CUDA handlers cannot be prepared (no nvcc to build
    the fatbin), irgen.jax warns and its CPU handlers still register and run."""
    from irgen.targets.xla import runtime
    monkeypatch.setattr(runtime, "cuda_devices", lambda: True)

    def no_binary(cu_path):
        raise RuntimeError("nvcc was not found")
    monkeypatch.setattr(runtime, "cuda_image", no_binary)
    fresh = runtime.XlaKernels(ij.normal._xla.source, ij.normal._xla.kernels)
    with pytest.warns(RuntimeWarning, match="no CUDA handlers for normal_xla.c"):
        names = fresh.names(ij.normal._host)
    call = jax.ffi.ffi_call(names["cdf", "float64"], [jax.ShapeDtypeStruct((2,), jnp.float64)])
    got, = call(jnp.array([0.0, 1.0]), jnp.zeros(2), jnp.ones(2))
    np.testing.assert_allclose(got, [0.5, 0.8413447460685429], rtol=1e-15)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_gamma_through_the_cuda_handlers(dtype, tmp_path):
    through, driver = on_cpu_through_cuda(ij.gamma, tmp_path)
    rng = np.random.default_rng(3)
    n = 3000
    a = jnp.asarray(np.exp(rng.uniform(np.log(0.1), np.log(10), n)), dtype)
    x = jnp.asarray(rng.gamma(2.0, size=n), dtype)
    tol = dict(rtol=2e-5 if dtype == "float32" else 1e-12, atol=0)
    np.testing.assert_allclose(through.cdf(x, a, 2.0), ij.gamma.cdf(x, a, 2.0), **tol)
    for got, want in zip(through.implicit_grad(x, a, 2.0), ij.gamma.implicit_grad(x, a, 2.0)):
        np.testing.assert_allclose(got, want, **tol)
    key = jax.random.key(11)
    z = through.sample(key, a, 1.5, offset=12)
    want = ij.gamma.sample(key, a, 1.5, offset=12)
    assert z.dtype == want.dtype and z.shape == (n,)
    np.testing.assert_allclose(z, want, **tol)
    # the jitted rsample and its gradient, through the rsample kernel
    w = jnp.linspace(-1, 1, n, dtype=dtype)
    g_through = jax.jit(jax.grad(lambda a: (w * through.rsample(key, a, 1.0)).sum()))(a)
    g_cpu = jax.jit(jax.grad(lambda a: (w * ij.gamma.rsample(key, a, 1.0)).sum()))(a)
    np.testing.assert_allclose(g_through, g_cpu, rtol=1e-3 if dtype == "float32" else 1e-9)
    # the launch shape of irgen/targets/cuda/runtime.py: 256 threads; grouped kernels take
    # 2048 elements a block (rsample's gradients are grouped, Gamma's draws are not); at
    # most 3 multiprocessors x 2 blocks
    launched = {name: (grid, block) for name, grid, block in driver.launches}
    assert launched[f"irgen_cdf_{dtype}"] == (2, 256)
    assert launched[f"irgen_rsample_{dtype}"] == (2, 256)
    assert launched[f"irgen_sample_{dtype}"] == (6, 256)
    assert driver.depth == 0                  # every pushed context popped
    assert driver.calls.count("module_load_data") <= 1    # once a device, for the process


def test_dirichlet_rows_through_the_cuda_handlers(tmp_path):
    through, driver = on_cpu_through_cuda(ij.dirichlet, tmp_path)
    rng = np.random.default_rng(4)
    alpha = jnp.asarray(np.exp(rng.uniform(-1, 1, (40, 5))))
    key = jax.random.key(2)
    np.testing.assert_allclose(through.sample(key, alpha), ij.dirichlet.sample(key, alpha),
                               rtol=1e-12)
    x = ij.dirichlet.sample(key, alpha)
    np.testing.assert_allclose(through.log_prob(x, alpha), ij.dirichlet.log_prob(x, alpha),
                               rtol=1e-12)
    launched = {name: (grid, block) for name, grid, block in driver.launches}
    assert launched["irgen_log_prob_float64"] == (5, 256)     # 40 rows, 8 a block (a warp each)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_on_jax_cuda_devices(dtype):
    """On a GPU with JAX's CUDA plugin (marked `gpu`): the real driver, XLA's stream; the
    draws are the CPU's, and values and gradients agree with them."""
    try:
        gpu = jax.devices("cuda")[0]
    except RuntimeError:
        pytest.skip("JAX has no CUDA device")
    cpu = jax.devices("cpu")[0]
    rng = np.random.default_rng(5)
    a = np.exp(rng.uniform(np.log(0.1), np.log(10), 10000)).astype(dtype)
    key = jax.random.key(3)
    w = np.linspace(-1, 1, a.size, dtype=dtype)

    def run(device):
        with jax.default_device(device):
            aa = jax.device_put(a, device)
            z = ij.gamma.sample(key, aa, 2.0)
            g = jax.jit(jax.grad(lambda b: (w * ij.gamma.rsample(key, b, 1.0)).sum()))(aa)
            return np.asarray(z), np.asarray(g), np.asarray(ij.gamma.cdf(z, aa, 2.0))

    f32 = dtype == "float32"
    for got, want, tol in zip(run(gpu), run(cpu), (2e-5, 1e-3, 2e-5) if f32 else
                              (1e-12, 1e-9, 1e-12)):
        np.testing.assert_allclose(got, want, rtol=tol, atol=0)
