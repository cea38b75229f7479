"""Shape conformance of irgen.torch against torch's own classes.

For every class, parameters given as Python numbers or tensors of shapes (), (1,), (3,),
(2, 1) and (2, 3) (every combination; they broadcast), sample shapes (), (1,), (4,) and
(2, 2), and both float dtypes: sample, rsample, log_prob, cdf, icdf, entropy, mean and
variance give results of the shape and dtype torch's class of the same distribution gives.
Where torch raises NotImplementedError (a Beta CDF, a von Mises entropy), irgen may do the
same or give a result of the shape torch's conventions imply. rsample's backward reaches
every parameter, with a gradient of the parameter's shape. The NumPy modules are held to
NumPy's own rules the same way: their results have the shape, dtype and type (array or
NumPy scalar) of a ufunc on the same arguments."""
import itertools
import math

import numpy as np
import pytest

torch = pytest.importorskip("torch")
import torch.distributions as D  # noqa: E402
from torch.distributions import Categorical  # noqa: E402

import irgen.torch as it  # noqa: E402
from cases import TORCH as TORCH_CASES  # noqa: E402

PARAM_SHAPES = [None, (), (1,), (3,), (2, 1), (2, 3)]     # None: a Python number
SAMPLE_SHAPES = [(), (1,), (4,), (2, 2)]
DTYPES = [torch.float32, torch.float64]

# class name: (torch's class, a valid value per parameter, in torch's argument order), for
# every irgen.torch class of tests/cases.py
UNIVARIATE = {name: (getattr(D, name), c.torch_typical) for name, c in TORCH_CASES.items()}
METHODS = ("sample", "rsample", "log_prob", "cdf", "icdf", "entropy", "mean", "variance")


def _param(value, shape, dtype, grad=False):
    """A parameter of the given shape near value (entries differ), or value itself."""
    if shape is None:
        return value
    n = math.prod(shape)
    t = value * (1 + 0.05 * torch.arange(n, dtype=dtype)).reshape(shape)
    return t.requires_grad_(grad)


def _call(d, method, sample_shape, value, u, missing=(NotImplementedError,)):
    """d's method as a test calls it; NotImplementedError where it raises one of `missing`
    (for torch's classes also RuntimeError: torch's MixtureSameFamily cannot draw where its
    mixture's batch shape only broadcasts against its components')."""
    try:
        if method in ("sample", "rsample"):
            return getattr(d, method)(torch.Size(sample_shape))
        if method in ("log_prob", "cdf"):
            return getattr(d, method)(value)
        if method == "icdf":
            return d.icdf(u)
        if method == "entropy":
            return d.entropy()
        return getattr(d, method)
    except missing:
        return NotImplementedError


def _expected(method, d, sample_shape):
    """The shape torch's conventions give a method where torch has no implementation."""
    if method in ("sample", "rsample", "log_prob", "cdf", "icdf"):
        return torch.Size(sample_shape) + d.batch_shape + (
            d.event_shape if method in ("sample", "rsample") else torch.Size())
    return d.batch_shape + (d.event_shape if method in ("mean", "variance") else torch.Size())


def _compare(ours, theirs, sample_shape, dtype, where, value, u):
    """Every method of ours against theirs: shapes and dtypes."""
    for method in METHODS:
        missing = (NotImplementedError, RuntimeError)
        if method == "rsample" and not theirs.has_rsample:
            want = _call(theirs, "sample", sample_shape, value, u, missing)
        else:
            want = _call(theirs, method, sample_shape, value, u, missing)
        got = _call(ours, method, sample_shape, value, u)
        if want is NotImplementedError:
            if got is NotImplementedError:
                continue
            shape, want_dtype = _expected(method, ours, sample_shape), dtype
        else:
            shape, want_dtype = want.shape, want.dtype
        assert got is not NotImplementedError, f"{where}: {method} not implemented"
        assert isinstance(got, torch.Tensor), f"{where}: {method} gave {type(got)}"
        assert (got.shape, got.dtype) == (shape, want_dtype), \
            f"{where}: {method} gave {tuple(got.shape)} {got.dtype}, torch {tuple(shape)} " \
            f"{want_dtype}"
        assert not (method == "sample" and got.requires_grad), f"{where}: sample has grad"


def _rsample_reaches_every_parameter(ours_of, values, shapes, sample_shape, dtype, where):
    params = [_param(v, s, dtype, grad=True) for v, s in zip(values, shapes)]
    z = ours_of(params).rsample(torch.Size(sample_shape))
    if not z.requires_grad:          # all parameters Python numbers: nothing to reach
        assert not any(isinstance(p, torch.Tensor) for p in params), where
        return
    z.sum().backward()
    for i, p in enumerate(params):
        if isinstance(p, torch.Tensor):
            assert p.grad is not None, f"{where}: no gradient for parameter {i}"
            assert p.grad.shape == p.shape and p.grad.dtype == dtype, where
            assert torch.isfinite(p.grad).all(), f"{where}: {p.grad}"


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("name", sorted(UNIVARIATE))
def test_univariate_shapes_match_torch(name, dtype):
    torch_class, values = UNIVARIATE[name]
    ours_class = getattr(it, name)
    torch.manual_seed(0)
    for shapes in itertools.product(PARAM_SHAPES, repeat=len(values)):
        if all(s is None for s in shapes):
            # all Python numbers: torch's default dtype, as torch's own classes
            dtype_here = torch.get_default_dtype()
        else:
            dtype_here = dtype
        params = [_param(v, s, dtype) for v, s in zip(values, shapes)]
        ours, theirs = ours_class(*params), torch_class(*params)
        assert (ours.batch_shape, ours.event_shape) == (theirs.batch_shape, theirs.event_shape)
        for sample_shape in SAMPLE_SHAPES:
            where = f"{name}{shapes} sample_shape={sample_shape}"
            full = torch.Size(sample_shape) + theirs.batch_shape
            value = theirs.sample(torch.Size(sample_shape))
            u = torch.rand(full, dtype=dtype_here) * 0.98 + 0.01
            _compare(ours, theirs, sample_shape, dtype_here, where, value, u)
            _rsample_reaches_every_parameter(lambda p: ours_class(*p), values, shapes,
                                             sample_shape, dtype, where)
        # a single value against batched parameters, and batched values against them
        for value in (torch.tensor(values[0] * 0 + 0.5, dtype=dtype_here),
                      torch.full((5, 1) + tuple(theirs.batch_shape), 0.5, dtype=dtype_here)):
            for method in ("log_prob", "cdf"):
                want = _call(theirs, method, (), value, None)
                got = _call(ours, method, (), value, None)
                if want is NotImplementedError:
                    want = torch.empty(torch.broadcast_shapes(value.shape,
                                                              theirs.batch_shape))
                assert got.shape == want.shape and got.dtype == dtype_here, (name, shapes)


def test_zero_dim_parameters_as_a_new_user_writes_them():
    """The most basic calls: 0-dim tensors, the empty sample shape, a 0-dim value."""
    a = torch.tensor(2.0, requires_grad=True)
    d = it.Gamma(a, torch.tensor(1.0))
    z = d.rsample()
    assert z.shape == () and z.dtype == torch.float32
    lp = d.log_prob(torch.tensor(1.0))
    assert lp.shape == ()
    assert lp.item() == pytest.approx(D.Gamma(2.0, 1.0).log_prob(torch.tensor(1.0)).item(),
                                      rel=1e-6)
    (z + lp).backward()
    assert a.grad.shape == () and torch.isfinite(a.grad)
    assert it.VonMises(0.0, 1.0).sample().shape == ()


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_dirichlet_shapes_match_torch(dtype):
    torch.manual_seed(1)
    for shape in [(3,), (1, 3), (2, 3), (2, 1, 3)]:
        alpha = _param(1.5, shape, dtype)
        ours, theirs = it.Dirichlet(alpha), D.Dirichlet(alpha)
        assert (ours.batch_shape, ours.event_shape) == (theirs.batch_shape, theirs.event_shape)
        for sample_shape in SAMPLE_SHAPES:
            value = theirs.sample(torch.Size(sample_shape))
            _compare(ours, theirs, sample_shape, dtype, f"Dirichlet{shape} {sample_shape}",
                     value, None)
            _rsample_reaches_every_parameter(lambda p: it.Dirichlet(*p), (1.5,), (shape,),
                                             sample_shape, dtype, f"Dirichlet{shape}")


# (logits, components): torch takes a mixture's batch shape from its components, so the
# logits' batch broadcasts to theirs
MIXTURE_SHAPES = [((4,), (4,)), ((4,), (3, 4)), ((3, 4), (3, 4)), ((1, 4), (2, 3, 4))]


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
@pytest.mark.parametrize("family", ["Gamma", "Normal"])
def test_mixture_shapes_match_torch(family, dtype):
    torch.manual_seed(2)
    torch_class, values = UNIVARIATE[family]
    for logits_shape, component_shape in MIXTURE_SHAPES:
        logits = _param(0.3, logits_shape, dtype)
        params = [_param(v, component_shape, dtype) for v in values]
        ours = it.MixtureSameFamily(Categorical(logits=logits), getattr(it, family)(*params))
        theirs = D.MixtureSameFamily(Categorical(logits=logits), torch_class(*params))
        assert ours.batch_shape == theirs.batch_shape
        for sample_shape in SAMPLE_SHAPES:
            where = f"mixture of {family} {logits_shape} {component_shape} {sample_shape}"
            value = ours.sample(torch.Size(sample_shape))
            _compare(ours, theirs, sample_shape, dtype, where, value, None)
            grads = [logits.clone().requires_grad_()] + [p.clone().requires_grad_()
                                                          for p in params]
            m = it.MixtureSameFamily(Categorical(logits=grads[0]),
                                     getattr(it, family)(*grads[1:]))
            m.rsample(torch.Size(sample_shape)).sum().backward()
            for g in grads:
                assert g.grad is not None and g.grad.shape == g.shape, where
                assert torch.isfinite(g.grad).all(), where


@pytest.mark.parametrize("dtype", DTYPES, ids=["float32", "float64"])
def test_truncated_shapes_follow_torch_conventions(dtype):
    """torch has no truncated distributions: batch shape = the broadcast of the base's and
    the bounds', draws sample_shape + batch_shape, values as any univariate class."""
    torch.manual_seed(3)
    for loc_shape, low_shape in itertools.product([None, (), (3,), (2, 1)],
                                                  [None, (), (1,), (2, 3)]):
        loc = _param(0.2, loc_shape, dtype)
        low = _param(-0.5, low_shape, dtype)
        scale = torch.tensor(1.2, dtype=dtype)
        d = it.Truncated(it.Normal(loc, scale), low, 2.0)
        batch = torch.broadcast_shapes(*(torch.as_tensor(t).shape for t in (loc, low)))
        assert d.batch_shape == batch and d.event_shape == ()
        for sample_shape in SAMPLE_SHAPES:
            full = torch.Size(sample_shape) + batch
            where = f"Truncated loc{loc_shape} low{low_shape} {sample_shape}"
            for method in ("sample", "rsample"):
                z = getattr(d, method)(torch.Size(sample_shape))
                assert (z.shape, z.dtype) == (full, dtype), where
                assert ((z >= torch.as_tensor(low)) & (z <= 2.0)).all(), where
            value = torch.full(full, 0.5, dtype=dtype)
            for method in ("log_prob", "cdf", "icdf"):
                got = getattr(d, method)(value)
                assert (got.shape, got.dtype) == (full, dtype), (where, method)
            params = [t.clone().requires_grad_() if isinstance(t, torch.Tensor) else t
                      for t in (loc, scale, low)]
            it.Truncated(it.Normal(*params[:2]), params[2], 2.0).rsample(
                torch.Size(sample_shape)).sum().backward()
            for p in params:
                if isinstance(p, torch.Tensor):
                    assert p.grad is not None and p.grad.shape == p.shape, where


# ---------------------------------------------------------------- NumPy modules

NUMPY_FORMS = {
    "Python float": lambda v, dt: v,
    "NumPy scalar": lambda v, dt: dt(v),
    "0-dim array": lambda v, dt: np.array(v, dtype=dt),
    "(3,) array": lambda v, dt: np.full(3, v, dtype=dt),
    "(2, 1) array": lambda v, dt: np.full((2, 1), v, dtype=dt),
}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_numpy_modules_follow_numpy_rules(dtype):
    """A kernel's results have NumPy's promoted dtype of its arguments (Python numbers weak),
    their broadcast shape, and a ufunc's type: a NumPy scalar where that shape is (), an
    array otherwise."""
    import irgen.generated.gamma as g
    import irgen.generated.normal as n
    for module, values in ((g, (1.5, 2.0, 1.3)), (n, (0.3, 0.1, 1.2))):
        for forms in itertools.product(NUMPY_FORMS, repeat=3):
            args = [NUMPY_FORMS[f](v, dtype) for f, v in zip(forms, values)]
            for kernel in ("cdf", "log_prob", "cdf_grad", "implicit_grad", "sample", "rsample"):
                inputs = args if kernel not in ("sample", "rsample") else args[1:]
                dt, shape = np.result_type(*inputs), np.broadcast_shapes(*map(np.shape, inputs))
                want = np.ndarray if shape else dt.type
                options = {"seed": 1} if kernel in ("sample", "rsample") else {}
                got = getattr(module, kernel)(*inputs, **options)
                if kernel == "rsample":
                    got = (got[0], *got[1])
                for r in (got if isinstance(got, tuple) else (got,)):
                    assert (type(r), np.shape(r), r.dtype) == (want, shape, dt), \
                        (module.name, kernel, forms, type(r), np.shape(r), r.dtype)
