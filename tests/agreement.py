"""Whether a distribution's kernels on another target agree with its C kernels: the
inputs (random valid ones, then rows of bad and edge values) and the comparison, shared by
the host build of the CUDA kernels and the GPU tests."""
import numpy as np

from cases import CASES

KERNELS = ("cdf", "log_prob", "cdf_grad", "implicit_grad")


def random_inputs(name, rng, dtype, n=3000):
    """Columns (x, *params) of a built-in distribution, in dtype (tests/cases.py)."""
    return CASES[name].inputs(rng, dtype, n)


def assert_agrees(kernel, want, got, ref, inputs=()):
    """want: the C kernels' results at the inputs; got: the other target's, as NumPy
    arrays; ref: the C kernels' in float64 at the same inputs.

    Equal NaN and infinity patterns. float64: within 4096 eps of the C kernels, relative to
    the value or to 1 below it (the two use different math libraries); a log density,
    relative to the largest input too, since it sums terms of the size of alpha log z
    whose roundings do not cancel (at alpha = 1000 a log density near -5 is a difference
    of terms near 7000, so its last 12 bits are rounding). float32: the
    largest relative error against float64 at most 4 times that of the C kernels in
    float32, plus rounding (values above 1e-30)."""
    tup = (lambda r: r if isinstance(r, tuple) else (r,))
    for w, o, r in zip(tup(want), tup(got), tup(ref)):
        eps = np.finfo(w.dtype).eps
        assert o.dtype == w.dtype and o.shape == w.shape, kernel
        assert np.array_equal(np.isnan(o), np.isnan(w)), kernel
        assert np.array_equal(o[np.isinf(w)], w[np.isinf(w)]), kernel
        if w.dtype == np.float64:
            ok = np.isfinite(w)
            scale = np.maximum(np.abs(w), 1)
            if kernel == "log_prob":
                for c in inputs:
                    scale = np.fmax(scale, np.abs(np.asarray(c, np.float64)))
            err = np.abs(o[ok] - w[ok]) / scale[ok]
            assert err.max() <= 4096 * eps, (kernel, err.max() / eps)
        else:
            ok = np.isfinite(w) & (np.abs(r) >= 1e-30)
            err, err_c = (np.abs(x[ok] - r[ok]) / np.abs(r[ok]) for x in (o, w))
            assert err.max() <= 4 * err_c.max() + 64 * eps, (kernel, err.max(), err_c.max())


# ---------------------------------------------------------------- samplers

# each distribution's samplers, in the order its module declares them
SAMPLERS = {name: tuple(k for k, r in case.module._kernels.kernels.items() if r.kind != "map")
            for name, case in CASES.items()}


def sampler_params(name, rng, dtype, n=20000):
    """Parameter columns of a built-in distribution across its regimes, then bad rows."""
    return CASES[name].inputs(rng, dtype, n)[1:]


def ulps_apart(w, o):
    """How many units in the last place (of the larger) o is from w; 0 where equal."""
    with np.errstate(invalid="ignore", divide="ignore"):
        apart = np.abs(w.astype(np.float64) - o) / np.spacing(np.maximum(np.abs(w), np.abs(o)))
    return np.where(w == o, 0.0, apart)


# Beta's and Student-t's gradients are differences of digamma-sized terms (a relative error
# of up to 1e-12 against mpmath, tests/distributions/test_beta_t.py): targets agree to about 2^20 ulp
GRAD_ULPS = {"beta": 2 ** 20, "student_t": 2 ** 20}


def assert_same_stream(kernel, want, got, ulps=4, share=0.9999, grad_ulps=4096):
    """want: the C kernels' draws; got: another target's for the same seed.

    The samples: the same NaN pattern and at least `share` of them within `ulps` units in
    the last place. (Samplers compute with irgen.lib.portable's elementary functions, which
    give the same bits on every target, so in practice all are equal.) The gradients of
    rsample come from implicit_grad, whose math library differs between targets: within
    grad_ulps (an ill-conditioned sum here and there costs digits alike on both). The log
    density and its scores (rsample_log_prob's third part) are sums of terms of order one
    that may cancel (log beta + log z - digamma(alpha)): within grad_ulps of that order."""
    parts = list(want) if isinstance(want, tuple) else [want]
    scores = len(parts[2]) if len(parts) > 2 else 0
    flat = (lambda r: [r[0], *(x for part in r[1:] for x in part)]
            if isinstance(r, tuple) else [r])
    outs = list(zip(flat(want), flat(got)))
    for j, (w, o) in enumerate(outs):
        assert o.dtype == w.dtype and o.shape == w.shape, kernel
        assert np.array_equal(np.isnan(o), np.isnan(w)), kernel
        ok = ~np.isnan(w)
        w, o = w[ok], o[ok]
        close = ulps_apart(w, o) <= (ulps if j == 0 else grad_ulps)
        if j >= len(outs) - scores:
            with np.errstate(invalid="ignore"):
                close |= np.abs(w - o) <= grad_ulps * np.finfo(w.dtype).eps
        need = share if j == 0 else 0.999
        assert close.mean() >= need, (kernel, j, close.mean(), w[~close][:5], o[~close][:5])
