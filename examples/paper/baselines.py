"""The gradient estimators irgen is compared with in the paper's experiments, written from
their published descriptions, vectorised in NumPy.

- Central finite differences of the CDF, divided by the density (what one writes without
  irgen), with a relative step.
- Knowles (2015), "Stochastic gradient variational Bayes for gamma approximating
  distributions": dz/dalpha of an approximate inverse CDF. For small shapes (alpha < 1
  where (24 - 22.6 u) log alpha < -10) the inverse of F(x) ~ x^alpha / Gamma(alpha + 1),
  x = (u alpha Gamma(alpha))^(1/alpha); for alpha > 1000 the normal approximation
  x = alpha + sqrt(alpha) Phi^-1(u); in between, a forward difference (step 1e-10) of a
  numerical inverse CDF (his code interpolates a table of it; here scipy's gammaincinv,
  which is more accurate than the table).
- RSVI (Naesseth, Ruiz, Linderman and Blei, AISTATS 2017): reparameterization through an
  acceptance-rejection sampler. A draw z = h(eps, theta) from an accepted eps; the gradient
  of E[f(z)] is g_rep + g_cor, g_rep = f'(z) dh/dtheta at fixed eps and g_cor =
  f(z) d/dtheta log pi(eps; theta), pi the density of accepted eps. Gamma through
  Marsaglia and Tsang's sampler, h(eps, a) = (a - 1/3)(1 + eps / sqrt(9 a - 3))^3 for
  a >= 1, with shape augmentation: z = h(eps, alpha + B) prod_{i=1..B} u_i^(1/(alpha+i-1)),
  the u part reparameterized exactly, the correction from pi(eps; alpha + B) alone.
  von Mises through Best and Fisher's sampler (a wrapped Cauchy proposal): eps = (u1, u3),
  h(eps, kappa) = sign(u3 - 1/2) arccos((1 + r cos(pi u1)) / (r + cos(pi u1))).

Every gradient here is with respect to one parameter per element (alpha or kappa); the
Dirichlet's is the sum over its components when they share one alpha."""
from __future__ import annotations

import numpy as np
from scipy import special, stats

# ---------------------------------------------------------------- finite differences


def fd_gamma(z, alpha, step):
    """dz/dalpha of Gamma(alpha, 1) by central differences of scipy's regularized lower
    incomplete gamma function, relative step `step`, in z's dtype."""
    t = z.dtype.type
    h = t(step) * alpha
    dF = (special.gammainc(alpha + h, z) - special.gammainc(alpha - h, z)) / (t(2) * h)
    return -dF / np.exp((alpha - t(1)) * np.log(z) - z - special.gammaln(alpha)).astype(t)


def fd_von_mises(z, kappa, step):
    """dz/dkappa of von Mises(0, kappa) by central differences of scipy.stats.vonmises.cdf
    (which computes in double), relative step `step`, rounded to z's dtype."""
    t = z.dtype.type
    h = t(step) * kappa
    up = stats.vonmises.cdf(z, kappa + h).astype(t)
    down = stats.vonmises.cdf(z, kappa - h).astype(t)
    return (-(up - down) / (t(2) * h) / stats.vonmises.pdf(z, kappa).astype(t)).astype(t)


# ---------------------------------------------------------------- Knowles


def knowles_small(u, alpha):
    """Whether Knowles' small-shape form serves (alpha < 1, (24 - 22.6 u) log alpha < -10)."""
    return (alpha < 1) & ((24 - 22.6 * u) * np.log(alpha) < -10)


def knowles_gamma(z, alpha):
    """Knowles' dz/dalpha at z ~ Gamma(alpha, 1), from u = F(z): his small-shape closed
    form, his normal approximation above alpha = 1000, his forward difference of the
    inverse CDF in between. Computed in float64 (his step is below float32's spacing) and
    returned in z's dtype."""
    t = z.dtype.type
    z, alpha = z.astype(np.float64), alpha.astype(np.float64)
    u = special.gammainc(alpha, z)
    out = np.empty_like(z)
    small = knowles_small(u, alpha)
    large = alpha > 1000
    mid = ~(small | large)
    a, uu = alpha[small], u[small]
    dlog = (-(np.log(uu) + np.log(a) + special.gammaln(a)) / (a * a)
            + (1 / a + special.digamma(a)) / a)
    out[small] = z[small] * dlog
    a = alpha[large]
    out[large] = 1 + special.ndtri(u[large]) / (2 * np.sqrt(a))
    a, uu = alpha[mid], u[mid]
    out[mid] = (special.gammaincinv(a + 1e-10, uu) - special.gammaincinv(a, uu)) / 1e-10
    return out.astype(t)


# ---------------------------------------------------------------- RSVI: Gamma


def mt_draw(a, rng):
    """Marsaglia and Tsang's accepted eps for Gamma(a, 1), a >= 1 (any shape)."""
    shape = np.shape(a)
    a = np.asarray(a, dtype=float).ravel()
    d = a - 1 / 3
    c = 1 / np.sqrt(9 * d)
    eps = np.empty(a.shape)
    todo = np.ones(a.shape, bool)
    while todo.any():
        e = rng.standard_normal(todo.sum())
        v = (1 + c[todo] * e) ** 3
        u = rng.random(todo.sum())
        ok = v > 0
        with np.errstate(invalid="ignore", divide="ignore"):
            ok &= np.log(u) < 0.5 * e * e + d[todo] * (1 - v + np.log(v))
        idx = np.flatnonzero(todo)[ok]
        eps[idx] = e[ok]
        todo[idx] = False
    return eps.reshape(shape)


def mt_h(eps, a):
    """(h, dh/da, d/da log pi(eps; a)) for Marsaglia and Tsang's map at fixed eps."""
    d = a - 1 / 3
    c = 1 / np.sqrt(9 * d)
    w = 1 + c * eps
    h = d * w ** 3
    dh = w ** 3 - 13.5 * eps * d * c ** 3 * w ** 2
    # log pi = log N(eps) + (a - 1) log h - h - lgamma(a) + log(dh/deps),
    # dh/deps = sqrt(d) w^2: d/da log(dh/deps) = 1 / (2 d) - 9 eps c^3 / w
    dlogpi = (np.log(h) + (a - 1) * dh / h - dh - special.digamma(a)
              + 1 / (2 * d) - 9 * eps * c ** 3 / w)
    return h, dh, dlogpi


def rsvi_gamma(alpha, B, rng):
    """One RSVI draw per element of alpha: (z, dz/dalpha at fixed eps and u, the
    correction's score d/dalpha log pi(eps; alpha + B)). B + alpha >= 1 is needed."""
    alpha = np.asarray(alpha, dtype=float)
    a = alpha + B
    if np.any(a < 1):
        raise ValueError("RSVI's Marsaglia-Tsang map needs alpha + B >= 1")
    eps = mt_draw(a, rng)
    h, dh, score = mt_h(eps, a)
    dlogz = dh / h
    logz = np.log(h)
    for i in range(1, B + 1):
        lu = np.log(rng.random(alpha.shape))
        logz = logz + lu / (alpha + i - 1)
        dlogz = dlogz - lu / (alpha + i - 1) ** 2
    return np.exp(logz), dlogz, score, logz


def rsvi_dirichlet_grad(alpha, K, c, f, B, S, rng):
    """S single-sample RSVI estimates of d/dalpha E[f(z)], z ~ Dirichlet(alpha 1_K), for
    f(z) = sum_i c_i log z_i + const (f given as a function of log z): g_rep + g_cor."""
    shape = (S, K)
    _, dlogG, score, logG = rsvi_gamma(np.full(shape, alpha), B, rng)
    logS = special.logsumexp(logG, axis=-1, keepdims=True)
    logz = logG - logS
    z = np.exp(logz)
    # d log z_i / dalpha_k = delta_ik dlogG_k - z_k dlogG_k: df/dalpha_k = dlogG_k (c_k -
    # z_k sum(c)); the shared alpha sums over k
    g_rep = np.sum(dlogG * (c - z * c.sum()), axis=-1)
    g_cor = f(logz) * np.sum(score, axis=-1)
    return g_rep + g_cor


# ---------------------------------------------------------------- RSVI: von Mises


def bf_r(kappa):
    """(r, dr/dkappa) of Best and Fisher's wrapped Cauchy proposal."""
    s = np.sqrt(1 + 4 * kappa * kappa)
    tau = 1 + s
    q = np.sqrt(2 * tau)
    rho = (tau - q) / (2 * kappa)
    dtau = 4 * kappa / s
    drho = dtau * (1 - 1 / q) / (2 * kappa) - rho / kappa
    return (1 + rho * rho) / (2 * rho), 0.5 * (1 - 1 / (rho * rho)) * drho, rho, drho


def bf_draw(kappa, rng):
    """Best and Fisher's accepted eps = (u1, sign) for von Mises(0, kappa)."""
    shape = np.shape(kappa)
    kappa = np.asarray(kappa, dtype=float).ravel()
    r = bf_r(kappa)[0]
    u1 = np.empty(kappa.shape)
    todo = np.ones(kappa.shape, bool)
    while todo.any():
        n = todo.sum()
        a, b = rng.random(n), rng.random(n)
        zc = np.cos(np.pi * a)
        f = (1 + r[todo] * zc) / (r[todo] + zc)
        cc = kappa[todo] * (r[todo] - f)
        with np.errstate(divide="ignore", invalid="ignore"):
            ok = (cc * (2 - cc) - b > 0) | (np.log(cc / b) + 1 - cc >= 0)
        idx = np.flatnonzero(todo)[ok]
        u1[idx] = a[ok]
        todo[idx] = False
    sign = np.where(rng.random(kappa.shape) < 0.5, -1.0, 1.0)
    return u1.reshape(shape), sign.reshape(shape)


def bf_h(u1, sign, kappa):
    """(theta, dtheta/dkappa, d/dkappa log pi(eps; kappa)) at fixed eps: pi(eps) =
    s(eps) q(h) / r_WC(h), q the von Mises density, r_WC the wrapped Cauchy proposal's."""
    r, dr, rho, drho = bf_r(kappa)
    zc = np.cos(np.pi * u1)
    f = (1 + r * zc) / (r + zc)
    f = np.clip(f, -1.0, 1.0)
    theta = sign * np.arccos(f)
    df = (zc * zc - 1) / (r + zc) ** 2 * dr
    with np.errstate(divide="ignore", invalid="ignore"):
        dtheta = np.where(np.abs(f) < 1, -sign * df / np.sqrt(1 - f * f), 0.0)
    ct, st = np.cos(theta), np.sin(theta)
    a = special.i1e(kappa) / special.i0e(kappa)
    dlogq = ct - a - kappa * st * dtheta
    den = 1 + rho * rho - 2 * rho * ct
    dlogr = ((-2 * rho / (1 - rho * rho) - (2 * rho - 2 * ct) / den) * drho
             - 2 * rho * st / den * dtheta)
    return theta, dtheta, dlogq - dlogr


def rsvi_von_mises_grad(kappa, D, fprime, f, S, rng):
    """S single-sample RSVI estimates of d/dkappa E[f(z)], z ~ prod_d vonMises(0, kappa)
    over D dimensions (f of the (S, D) draws, fprime its gradient): g_rep + g_cor."""
    k = np.full((S, D), float(kappa))
    u1, sign = bf_draw(k, rng)
    theta, dtheta, score = bf_h(u1, sign, k)
    return np.sum(fprime(theta) * dtheta, axis=-1) + f(theta) * np.sum(score, axis=-1)
