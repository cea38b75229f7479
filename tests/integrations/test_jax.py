"""irgen.jax: the XLA target's handlers against the NumPy modules (the same kernels, so the
same bits), derivatives against closed forms, quadrature and finite differences, and the
JAX transformations composed."""
import math

import numpy as np
import pytest
from scipy import integrate, special, stats

jax = pytest.importorskip("jax")
import jax.numpy as jnp  # noqa: E402
from jax.test_util import check_grads  # noqa: E402

import irgen.jax as ij  # noqa: E402
from cases import CASES, UNIVARIATE  # noqa: E402

DTYPES = ["float32", "float64"]


@pytest.fixture(autouse=True)
def x64():
    """float64 in JAX for every test here (float32 tests ask for it), restored after."""
    with jax.enable_x64(True):
        yield


def _seed(key):
    w = np.asarray(ij.seed_words(key))[:2].astype(np.uint64)
    return int((w[0] << np.uint64(32)) | w[1])


def _same(a, b):
    a, b = np.asarray(a), np.asarray(b)
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", UNIVARIATE)
def test_values_and_gradients_equal_the_numpy_modules(name, dtype):
    case = CASES[name]
    module, f = case.module, getattr(ij, name)
    cols = case.inputs(np.random.default_rng(0), dtype, n=500)
    for kernel in ("cdf", "log_prob", "log_cdf", "log_sf"):
        if kernel in module._kernels.kernels:
            want = getattr(module, kernel)(*cols)
            assert _same(jax.jit(getattr(f, kernel))(*cols), want), (name, kernel)
    for kernel in ("cdf_grad", "implicit_grad"):
        got, want = getattr(f, kernel)(*cols), getattr(module, kernel)(*cols)
        assert type(got) is tuple if type(want) is tuple else not isinstance(got, tuple)
        got, want = (got, want) if type(want) is tuple else ((got,), (want,))
        assert all(_same(a, b) for a, b in zip(got, want)), (name, kernel)
    # the derivatives of cdf in every argument are the kernels' (cdf_grad, the density)
    grads = jax.grad(lambda *a: f.cdf(*a).sum(), argnums=tuple(range(len(cols))))(
        *map(jnp.asarray, cols))
    if "log_prob" in module._kernels.kernels:
        with np.errstate(over="ignore"):             # XLA rounds exp its own way
            density = np.exp(module.log_prob(*cols).astype(float)).astype(dtype)
        assert np.allclose(grads[0], density, rtol=4 * np.finfo(dtype).eps,
                           atol=np.finfo(dtype).tiny,
                           equal_nan=True), name
    # (XLA's own arithmetic, the cotangent's product, flushes subnormals to zero)
    flushed = [np.where(np.abs(w) < np.finfo(dtype).tiny, 0 * w, w)
               for w in module.cdf_grad(*cols)[1:]]
    assert all(_same(g, w) for g, w in zip(grads[1:], flushed)), name


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", UNIVARIATE)
def test_draws_and_their_gradients_equal_the_numpy_modules(name, dtype):
    case = CASES[name]
    module, f = case.module, getattr(ij, name)
    params = [np.asarray(p, dtype) for p in case.typical]
    key = jax.random.key(11)
    z = f.rsample(key, *params, shape=(64,), dtype=dtype)
    zn, grads = module.rsample(*params, size=(64,), seed=_seed(key), dtype=dtype)
    assert _same(z, zn), name
    assert _same(f.sample(key, *params, shape=(64,), dtype=dtype), zn), name
    w = np.linspace(-1, 1, 64).astype(dtype)
    got = jax.grad(lambda *p: (w * f.rsample(key, *p, shape=(64,), dtype=dtype)).sum(),
                   argnums=tuple(range(len(params))))(*map(jnp.asarray, params))
    for g, d in zip(got, grads):
        assert np.asarray(g).dtype == dtype
        assert np.allclose(g, (w * d).sum(), rtol=1e-5 if dtype == "float32" else 1e-12), name


def test_the_same_key_gives_the_same_draws():
    g = ij.gamma
    k1, k2 = jax.random.split(jax.random.key(0))
    a = jnp.array([0.5, 2.0, 9.0])
    assert _same(g.sample(k1, a, 1.0, shape=(100, 3)), g.sample(k1, a, 1.0, shape=(100, 3)))
    assert not np.array_equal(g.sample(k1, a, 1.0, shape=(100, 3)),
                              g.sample(k2, a, 1.0, shape=(100, 3)))
    raw = jax.random.PRNGKey(5)                       # raw uint32 keys as well as typed
    assert _same(jax.jit(lambda k: g.sample(k, a, 1.0))(raw), g.sample(raw, a, 1.0))


def test_monte_carlo_gradients_agree_with_closed_forms():
    """d/dtheta E[f(z)] from rsample's gradients against the exact derivative, within 5
    standard errors: Gamma E[z^2] = a (a + 1) / b^2; von Mises E[cos z] = I1(k) / I0(k)
    (loc 0); Beta E[z] = a / (a + b)."""
    n = 200_000
    key = jax.random.key(1)

    def check(estimate_per_draw, exact):
        per = np.asarray(estimate_per_draw)
        mean, se = per.mean(), per.std() / math.sqrt(n)
        assert abs(mean - exact) < 5 * se + 1e-12, (mean, exact, se)

    a, b = 1.7, 2.0
    per = jax.jacfwd(lambda a: ij.gamma.rsample(key, a, b, shape=(n,)) ** 2)(a)
    check(per, (2 * a + 1) / b ** 2)
    k = 3.0
    per = jax.jacfwd(lambda k: jnp.cos(ij.von_mises.rsample(key, 0.0, k, shape=(n,))))(k)
    dratio = (special.ive(0, k) - special.ive(1, k) / k) / special.ive(0, k) \
        - (special.ive(1, k) / special.ive(0, k)) ** 2       # d/dk I1/I0 = I1'/I0 - (I1/I0)^2
    check(per, dratio)
    p, q = 0.8, 2.5
    per = jax.jacfwd(lambda p: ij.beta.rsample(key, p, q, shape=(n,)))(p)
    check(per, q / (p + q) ** 2)


def test_gradient_of_an_expectation_against_quadrature():
    """Student-t: d/d df E[|z|^(1/2)] by Monte Carlo against the quadrature of the same
    expectation differentiated by central differences."""
    n = 200_000
    df = 4.0

    def expectation(d):
        value, _ = integrate.quad(lambda x: abs(x) ** 0.5 * stats.t(d).pdf(x), -np.inf, np.inf,
                                  epsabs=1e-12, epsrel=1e-12)
        return value

    exact = (expectation(df + 1e-4) - expectation(df - 1e-4)) / 2e-4
    per = np.asarray(jax.jacfwd(lambda d: jnp.abs(
        ij.student_t.rsample(jax.random.key(2), d, 0.0, 1.0, shape=(n,))) ** 0.5)(df))
    assert abs(per.mean() - exact) < 5 * per.std() / math.sqrt(n)


def test_check_grads_on_cdf_and_log_prob():
    x, a, b = jnp.array([0.3, 1.2, 4.0]), jnp.array([0.8, 2.0, 5.0]), jnp.array(1.3)
    check_grads(ij.gamma.cdf, (x, a, b), order=1, modes=("fwd", "rev"))
    check_grads(ij.gamma.log_prob, (x, a, b), order=1, modes=("fwd", "rev"))
    check_grads(ij.beta.cdf, (jnp.array([0.2, 0.7]), jnp.array([0.5, 3.0]),
                              jnp.array([2.0, 0.9])), order=1, modes=("fwd", "rev"))
    check_grads(ij.von_mises.log_cdf, (jnp.array([-1.0, 0.5]), 0.2, jnp.array([0.7, 8.0])),
                order=1, modes=("fwd", "rev"))
    check_grads(ij.normal.log_sf, (jnp.array([-1.0, 2.5]), 0.1, 1.7), order=1,
                modes=("fwd", "rev"))


def test_jit_vmap_grad_composed():
    a = jnp.array([[0.5, 2.0, 7.0], [1.0, 3.0, 0.2]])
    x = jnp.array([0.4, 1.1, 3.0])

    def f(a_row):
        return ij.gamma.cdf(x, a_row, 2.0).sum()

    batched = jax.jit(jax.vmap(jax.grad(f)))(a)
    looped = np.stack([jax.grad(f)(row) for row in a])
    assert np.array_equal(batched, looped)
    # vmap over keys draws per key; over parameters, the same as broadcasting
    keys = jax.random.split(jax.random.key(4), 3)
    z = jax.vmap(lambda k: ij.gamma.sample(k, 2.0, 1.0, shape=(5,)))(keys)
    assert z.shape == (3, 5) and _same(z[1], ij.gamma.sample(keys[1], 2.0, 1.0, shape=(5,)))
    assert _same(jax.vmap(ij.gamma.cdf, in_axes=(None, 0, None))(x, a, 2.0),
                 ij.gamma.cdf(x, a, 2.0))
    # jvp of a draw is its implicit gradient times the tangent
    key = jax.random.key(6)
    z, t = jax.jvp(lambda a: ij.gamma.rsample(key, a, 2.0), (a,), (jnp.ones_like(a),))
    assert _same(t, ij.gamma.implicit_grad(z, a, 2.0)[0])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("name", UNIVARIATE)
def test_quantiles_equal_the_numpy_modules_with_implicit_derivatives(name, dtype):
    """icdf, log_icdf and icdf_upper are the NumPy module's kernels bit for bit (NaN outside
    [0, 1] included); their derivatives are dz/du = 1 / q(z) (icdf_grad), u / q(z) in log u
    and -(1 - u) / q(z) in log(1 - u), and the implicit gradients at z in the parameters."""
    case = CASES[name]
    module, f = case.module, getattr(ij, name)
    rng = np.random.default_rng(3)
    params = [np.asarray(p, dtype) for p in case.typical]
    u = np.concatenate([rng.uniform(0.02, 0.98, 40), [0.0, 1.0, -0.5, 1.5, np.nan]]).astype(dtype)
    cols = [u] + [np.broadcast_to(p, u.shape) for p in params]
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = {"icdf": u, "log_icdf": np.log(u), "icdf_upper": np.log1p(-u)}
    for kernel, first in logs.items():
        want = getattr(module, kernel)(first, *cols[1:])
        assert _same(jax.jit(getattr(f, kernel))(first, *cols[1:]), want), (name, kernel)
    (z, dz), (zn, dzn) = f.icdf_grad(*cols), module.icdf_grad(*cols)
    assert _same(z, zn) and len(dz) == len(dzn) and all(map(_same, dz, dzn)), name
    inside = slice(0, 40)
    z, dz_du, *dz_dp = (np.asarray(w)[inside] for w in (zn, *dzn))
    q = np.exp(module.log_prob(z, *params).astype(float))
    tol = dict(rtol=5e-5 if dtype == "float32" else 1e-10, atol=0)
    for kernel, first in logs.items():
        s = jnp.asarray(first[inside])
        ps = [jnp.asarray(np.broadcast_to(p, s.shape)) for p in params]
        grads = jax.grad(lambda *a: getattr(f, kernel)(*a).sum(),
                         argnums=tuple(range(1 + len(ps))))(s, *ps)
        ends = {"icdf": 1.0, "log_icdf": u[inside], "icdf_upper": -(1 - u[inside])}[kernel]
        assert np.allclose(grads[0], ends / q, **tol), (name, kernel)
        for g, d in zip(grads[1:], dz_dp):
            assert np.allclose(g, d, **tol), (name, kernel)


def test_second_derivatives_are_refused_by_name():
    """First derivatives in both modes, and through the gradients' own kernels; a derivative
    of those (which no kernel gives) raises, naming the function, not a silent zero."""
    key = jax.random.key(2)
    a = jnp.array([0.7, 3.0])
    g = jax.grad(lambda a: ij.gamma.log_prob(1.5, a, 1.0).sum())(a)
    assert _same(g, ij.gamma.log_prob_grad(1.5, a, 1.0)[2])
    fwd = jax.jacfwd(lambda a: ij.gamma.rsample(key, a, 1.0))(a)
    assert _same(jnp.diag(fwd), ij.gamma.implicit_grad(ij.gamma.rsample(key, a, 1.0), a, 1.0)[0])
    for what, f in [("log_prob_grad", jax.hessian(lambda a: ij.gamma.log_prob(1.5, a, 1.0))),
                    ("rsample", jax.grad(lambda a: jax.grad(
                        lambda b: ij.gamma.rsample(key, b, 1.0))(a))),
                    ("implicit_grad", jax.grad(lambda a: ij.gamma.implicit_grad(1.0, a, 1.0)[0])),
                    ("cdf_grad", jax.jacfwd(lambda a: ij.gamma.cdf_grad(1.0, a, 1.0)[1]))]:
        with pytest.raises(NotImplementedError, match=f"irgen.jax.gamma: {what}: a derivative"):
            f(jnp.float64(2.0))
    # a draw of sample() is not differentiable, and says so by a zero gradient (stop_gradient)
    assert jax.grad(lambda a: ij.gamma.sample(key, a, 1.0))(2.0) == 0.0


def test_dirichlet_rows():
    key = jax.random.key(8)
    alpha = jnp.array([[1.0, 2.0, 3.0], [0.5, 0.5, 4.0]])
    module = ij.dirichlet.module
    z = ij.dirichlet.rsample(key, alpha, shape=(4, 2))
    zn, v = module.rsample(np.asarray(alpha), size=(4, 2), seed=_seed(key))
    assert _same(z, zn)
    w = jnp.arange(3.0)
    g = jax.grad(lambda al: (ij.dirichlet.rsample(key, al, shape=(4, 2)) * w).sum())(alpha)
    want = (v * (np.asarray(w) - (zn * np.asarray(w)).sum(-1, keepdims=True))).sum(0)
    assert np.allclose(g, want, rtol=1e-12)
    lp = ij.dirichlet.log_prob(z, alpha)
    assert lp.shape == (4, 2)
    want = [[stats.dirichlet.logpdf(zn[i, j], np.asarray(alpha[j])) for j in range(2)]
            for i in range(4)]
    assert np.allclose(lp, want, rtol=1e-12)
    # in alpha (a density on the simplex has no derivative off it for differences to see)
    check_grads(lambda a: ij.dirichlet.log_prob(z[0, 0], a), (alpha[0],), order=1,
                modes=("fwd", "rev"))


def test_invalid_parameters_give_nan_and_dtypes_follow_jax():
    assert np.isnan(ij.gamma.cdf(1.0, -1.0, 1.0))
    assert np.isnan(ij.gamma.sample(jax.random.key(0), jnp.array([-1.0, 2.0]), 1.0)[0])
    assert ij.gamma.cdf(jnp.float32(1.0), jnp.float32(2.0), 1.0).dtype == jnp.float32
    assert ij.gamma.cdf(1.0, 2, 1).dtype == jnp.float64
    with jax.enable_x64(False):
        assert ij.gamma.cdf(1.0, 2.0, 1.0).dtype == jnp.float32
        assert ij.gamma.sample(jax.random.key(0), 2.0, 1.0, shape=(3,)).dtype == jnp.float32


@pytest.mark.parametrize("half", ["float16", "bfloat16"])
def test_half_floats_give_half_floats_computed_in_float32(half):
    """As JAX's own functions of half floats: the results and tangents in the inputs' dtype,
    here the float32 kernels' rounded; a sampler asked for a half dtype gives the float32
    draws rounded (by default, the float32 draws themselves)."""
    h = jnp.dtype(half)
    x, a = jnp.array([0.5, 1.0, 2.0], h), jnp.array([0.7, 2.0, 5.0], h)
    x32, a32 = x.astype(jnp.float32), a.astype(jnp.float32)
    for kernel in ("cdf", "log_prob", "log_cdf", "log_sf"):
        got = getattr(ij.gamma, kernel)(x, a, 1.0)
        assert _same(got, getattr(ij.gamma, kernel)(x32, a32, 1.0).astype(h)), kernel
    g = jax.grad(lambda a: ij.gamma.log_prob(x, a, 1.0).sum())(a)
    assert _same(g, ij.gamma.log_prob_grad(x32, a32, 1.0)[2].astype(h))
    assert all(r.dtype == h for r in ij.gamma.implicit_grad(x, a, 1.0))
    u = jnp.array([0.3, 0.9], h)
    assert _same(ij.gamma.icdf(u, a[:2], 1.0),
                 ij.gamma.icdf(u.astype(jnp.float32), a32[:2], 1.0).astype(h))
    key = jax.random.key(5)
    z = ij.gamma.rsample(key, a, 1.0, dtype=h)
    assert _same(z, ij.gamma.rsample(key, a32, 1.0, dtype=jnp.float32).astype(h))
    gz = jax.grad(lambda a: ij.gamma.rsample(key, a, 1.0, dtype=h).sum())(a)
    z32 = ij.gamma.rsample(key, a32, 1.0, dtype=jnp.float32)
    assert _same(gz, ij.gamma.implicit_grad(z32, a32, 1.0)[0].astype(h))
    assert ij.gamma.sample(key, a, 1.0, dtype=h).dtype == h
    assert ij.gamma.sample(key, a, 1.0).dtype == jnp.float32     # the kernels' float


def test_a_users_distribution_gets_its_handlers_from_irgen_build(tmp_path):
    """The log-logistic example built from its DSL file: `irgen build` writes its XLA
    handlers beside its C source, and irgen.jax runs them: the NumPy module's values and
    draws, and derivatives by jax.grad."""
    from irgen.build import build, load_generated
    from paths import ROOT
    build([ROOT / "examples" / "loglogistic.py"], tmp_path, log=lambda *a: None,
          cuda_binaries=False)
    assert (tmp_path / "loglogistic_xla.c").exists()
    module = load_generated(tmp_path, "loglogistic")
    f = ij.from_module(module)
    x, a, b = np.array([0.3, 1.0, 4.0]), np.array([1.0, 2.0, 0.5]), np.array([3.0, 1.5, 2.0])
    assert _same(jax.jit(f.cdf)(x, a, b), module.cdf(x, a, b))
    key = jax.random.key(9)
    z = f.rsample(key, a, b, shape=(3,))
    zn, grads = module.rsample(a, b, size=(3,), seed=_seed(key))
    assert _same(z, zn)
    g = jax.grad(lambda a: f.rsample(key, a, b, shape=(3,)).sum())(jnp.asarray(a))
    assert np.allclose(g, grads[0], rtol=1e-12)


def test_truncation_draws_invert_the_cdf_with_the_implicit_gradients():
    """irgen.jax.compose: a truncated draw is the base's quantile of u placed in the window
    (checked against scipy's truncnorm.ppf at the same u, in the body and far in the upper
    tail), and its gradients are those of that quantile (central differences of scipy's)."""
    from irgen.jax import compose
    key = jax.random.key(12)
    for loc, scale, low, high in ((0.35, 0.3, 0.0, np.inf), (0.0, 1.0, 5.0, 6.0),
                                  (1.0, 2.0, -np.inf, -3.0)):
        z = compose.truncated_rsample(ij.normal, key, (loc, scale), low, high, shape=(200,))
        u = np.asarray(compose._bits(key, (200,), jnp.float64))
        a, b = (low - loc) / scale, (high - loc) / scale
        want = stats.truncnorm(a, b, loc, scale).ppf(u)
        assert np.allclose(z, want, rtol=1e-10, atol=1e-12), (loc, scale, low, high)

        def ppf(m, s, lo, hi):
            return stats.truncnorm((lo - m) / s, (hi - m) / s, m, s).ppf(u[:5])
        grads = jax.jacfwd(lambda p: compose.truncated_rsample(
            ij.normal, key, (p[0], p[1]), p[2] if np.isfinite(low) else low,
            p[3] if np.isfinite(high) else high, shape=(200,))[:5])(
            jnp.array([loc, scale, low if np.isfinite(low) else 0.0,
                       high if np.isfinite(high) else 0.0]))
        h = 1e-6
        for j, base in enumerate((loc, scale, low, high)):
            if not np.isfinite(base):
                continue
            up, down = [loc, scale, low, high], [loc, scale, low, high]
            up[j], down[j] = base + h, base - h
            fd = (ppf(*up) - ppf(*down)) / (2 * h)
            assert np.allclose(grads[:, j], fd, rtol=1e-5, atol=1e-8), (j, grads[:, j], fd)
    bad = compose.truncated_rsample(ij.normal, key, (0.0, 1.0), 1.0, 0.0, shape=(3,))
    assert np.isnan(bad).all()


def test_truncated_cdf_and_quantile_against_scipy_with_their_derivatives():
    """compose.truncated_cdf and truncated_icdf against scipy's truncnorm (a lower, an upper
    and a far-tail window) and a Gamma window in the upper half (where S keeps the digits);
    their derivatives in x or u, the parameters and both bounds against central differences
    of scipy's; u outside [0, 1] gives NaN, x outside the window 0 or 1."""
    from irgen.jax import compose
    x, u = np.array([-1.0, 0.2, 0.9, 5.3, 5.9, 7.0]), np.array([0.0, 0.1, 0.5, 0.97, 1.0])
    for loc, scale, low, high in ((0.35, 0.3, 0.0, np.inf), (0.0, 1.0, 5.0, 6.0),
                                  (1.0, 2.0, -np.inf, -3.0)):
        ref = stats.truncnorm((low - loc) / scale, (high - loc) / scale, loc, scale)
        assert np.allclose(compose.truncated_cdf(ij.normal, x, (loc, scale), low, high),
                           ref.cdf(x), rtol=1e-12, atol=1e-15)
        assert np.allclose(compose.truncated_icdf(ij.normal, u, (loc, scale), low, high),
                           ref.ppf(u), rtol=1e-10, atol=1e-12)
    assert np.isnan(compose.truncated_icdf(ij.normal, jnp.array([-0.1, 1.1]), (0.0, 1.0),
                                           -1.0, 1.0)).all()
    gamma = stats.gamma
    assert np.allclose(compose.truncated_cdf(ij.gamma, jnp.array([5.5, 8.0]), (2.0, 1.0), 5.0,
                                             jnp.inf),
                       1 - gamma.sf([5.5, 8.0], 2.0) / gamma.sf(5.0, 2.0), rtol=1e-12)

    def ref_icdf(a, lo, hi, v):
        f_lo, f_hi = gamma.cdf(lo, a), gamma.cdf(hi, a)
        return gamma.ppf(f_lo + v * (f_hi - f_lo), a)

    def ref_cdf(a, lo, hi, v):
        f_lo, f_hi = gamma.cdf(lo, a), gamma.cdf(hi, a)
        return (gamma.cdf(v, a) - f_lo) / (f_hi - f_lo)

    h = 1e-6
    for ours, ref, at in ((compose.truncated_icdf, ref_icdf, 0.4),
                          (compose.truncated_cdf, ref_cdf, 1.4)):
        base = (2.0, 0.5, 3.0, at)
        got = jax.grad(lambda a, lo, hi, v: ours(ij.gamma, v, (a, 1.0), lo, hi),
                       argnums=(0, 1, 2, 3))(*base)
        for j in range(4):
            up, down = list(base), list(base)
            up[j], down[j] = base[j] + h, base[j] - h
            assert np.isclose(got[j], (ref(*up) - ref(*down)) / (2 * h), rtol=1e-6), (ours, j)


def test_mixture_draws_and_their_gradients():
    """irgen.jax.compose's mixture: draws follow the mixture (its CDF at the draws is
    uniform: Kolmogorov-Smirnov), and the mean of the draws' gradients is the derivative of
    the mixture's mean within 5 standard errors, in the logits and the components' means."""
    from irgen.jax import compose
    n = 100_000
    key = jax.random.key(13)
    logits, mu, sigma = jnp.array([0.3, -0.2, 0.0]), jnp.array([-2.0, 0.5, 3.0]), \
        jnp.array([0.5, 1.0, 0.7])
    z = compose.mixture_rsample(ij.normal, key, logits, (mu, sigma), shape=(n,))
    w = np.asarray(jax.nn.softmax(logits))
    cdf = (w * stats.norm.cdf((np.asarray(z)[:, None] - np.asarray(mu)) / np.asarray(sigma))
           ).sum(-1)
    assert stats.kstest(cdf, "uniform").pvalue > 1e-3
    per_mu = jax.jacfwd(lambda m: compose.mixture_rsample(ij.normal, key, logits,
                                                          (m, sigma), shape=(n,)))(mu)
    per_logits = jax.jacfwd(lambda l: compose.mixture_rsample(ij.normal, key, l,
                                                              (mu, sigma), shape=(n,)))(logits)
    mean = (w * np.asarray(mu)).sum()
    for per, exact in ((per_mu, w), (per_logits, w * (np.asarray(mu) - mean))):
        per = np.asarray(per)
        se = per.std(0) / np.sqrt(n)
        assert np.all(np.abs(per.mean(0) - exact) < 5 * se + 1e-12), (per.mean(0), exact)
