"""Reference values for the accuracy tests, computed with mpmath at 40 digits.

Writes tests/fixtures/{gamma,von_mises,beta,quantiles}.npz. The first three hold sample sets
(parameters drawn log-uniformly, z drawn from the distribution itself; tails at CDF levels
1e-12..1e-4 on both sides), in float64 and at float32-rounded inputs, with F, dF/dtheta and
dz/dtheta.
Slow (minutes), so the results are committed; rerun after changing what is sampled:

    python scripts/make_fixtures.py [gamma] [von_mises] [beta] [quantiles]

quantiles.npz holds quantiles solved by mpmath's findroot for the icdf kernels' tests.
"""
import sys
import time
from pathlib import Path

import mpmath as mp
import numpy as np
from scipy import special, stats

mp.mp.dps = 40
OUT = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
TINY64, TINY32 = np.finfo(np.float64).tiny, np.finfo(np.float32).tiny


def progress(label, i, n, t0):
    if i % max(1, n // 20) == 0 or i == n:
        sys.stdout.write(f"\r{label}: {i}/{n} ({time.time() - t0:.0f} s)")
        sys.stdout.flush()
        if i == n:
            sys.stdout.write("\n")


def gamma_ref(a, z):
    """F, dF/da, dz/da at exactly these doubles."""
    a, z = mp.mpf(float(a)), mp.mpf(float(z))
    lower = mp.gammainc(a, 0, z, regularized=True)
    if lower < 0.5:
        F, dF = lower, mp.diff(lambda s: mp.gammainc(s, 0, z, regularized=True), a)
    else:
        F = 1 - mp.gammainc(a, z, mp.inf, regularized=True)
        dF = -mp.diff(lambda s: mp.gammainc(s, z, mp.inf, regularized=True), a)
    q = mp.exp((a - 1) * mp.log(z) - z - mp.loggamma(a))
    return float(F), float(dF), float(-dF / q)


def vm_mass(y, k):
    """(mass below y, mass above y) of the centred von Mises, each without cancellation."""
    f = lambda t: mp.exp(k * (mp.cos(t) - 1))
    z = 2 * mp.pi * mp.besseli(0, k) * mp.exp(-k)
    if y <= 0:
        low = mp.quad(f, [-mp.pi, y]) / z
        return low, 1 - low
    high = mp.quad(f, [y, mp.pi]) / z
    return 1 - high, high


def vm_ref(k, y):
    k, y = mp.mpf(float(k)), mp.mpf(float(y))
    low, _ = vm_mass(y, k)
    part = 0 if y <= 0 else 1
    dF = mp.diff(lambda s: vm_mass(y, s)[part], k) * (1 if part == 0 else -1)
    q = mp.exp(k * (mp.cos(y) - 1)) / (2 * mp.pi * mp.besseli(0, k) * mp.exp(-k))
    return float(low), float(dF), float(-dF / q)


def beta_ref(ab, y, log_space=False):
    """F, (dF/da, dF/db), (dz/da, dz/db) at exactly these doubles; with log_space, y = log z
    and the gradients are d(log z)/dp."""
    a, b, y = (mp.mpf(float(v)) for v in (*ab, y))
    z = mp.exp(y) if log_space else y
    lower = mp.betainc(a, b, 0, z, regularized=True)
    if lower < 0.5:
        f = lambda s, t: mp.betainc(s, t, 0, z, regularized=True)
    else:
        f = lambda s, t: -mp.betainc(s, t, z, 1, regularized=True)
    dF = (mp.diff(lambda s: f(s, b), a), mp.diff(lambda t: f(a, t), b))
    q = mp.exp((a - 1) * mp.log(z) + (b - 1) * mp.log(1 - z) - mp.log(mp.beta(a, b)))
    if log_space:
        q = q * z
    return float(lower), tuple(float(d) for d in dF), tuple(float(-d / q) for d in dF)


def table(label, ref, params, zs):
    t0 = time.time()
    rows = []
    for i, (p, z) in enumerate(zip(params, zs), 1):
        rows.append(ref(p, z))
        progress(label, i, len(zs), t0)
    F, dF, dz = map(np.array, zip(*rows))
    return {"param": np.asarray(params, float), "z": np.asarray(zs, float),
            "F": F, "dF": dF, "dz": dz}


def save(name, sets):
    flat = {f"{s}/{k}": v for s, d in sets.items() for k, v in d.items()}
    np.savez_compressed(OUT / f"{name}.npz", **flat)


def tails(ppf, isf, params, rng):
    u = 10.0 ** rng.uniform(-12, -4, len(params))
    side = rng.integers(0, 2, len(params))
    return np.where(side == 0, ppf(u, params), isf(u, params))


def gamma_sets(rng):
    a = np.exp(rng.uniform(np.log(1e-3), np.log(1e3), 3000))
    z = stats.gamma.rvs(a, random_state=rng)
    keep = z >= TINY64
    sets = {"draws": table("gamma draws", gamma_ref, a[keep], z[keep])}
    a = np.exp(rng.uniform(np.log(1e-3), np.log(1e3), 800))
    z = tails(lambda u, a: special.gammaincinv(a, u), lambda u, a: special.gammainccinv(a, u),
              a, rng)
    keep = (z >= TINY64) & np.isfinite(z)
    sets["tails"] = table("gamma tails", gamma_ref, a[keep], z[keep])
    a = np.exp(rng.uniform(np.log(1e-3), np.log(1e3), 2000)).astype(np.float32)
    z = stats.gamma.rvs(a.astype(float), random_state=rng).astype(np.float32)
    keep = z >= TINY32
    sets["draws32"] = table("gamma float32 draws", gamma_ref, a[keep], z[keep])
    grid_a = np.repeat(np.logspace(-3, 4, 15), 8)
    levels = np.tile([1e-12, 1e-8, 1e-4, 0.1, 0.5, 0.9, 1 - 1e-4, 1 - 1e-8], 15)
    grid_z = special.gammaincinv(grid_a, levels)
    keep = grid_z >= TINY64
    sets["grid"] = table("gamma grid", gamma_ref, grid_a[keep], grid_z[keep])
    return sets


def vm_sets(rng):
    k = np.exp(rng.uniform(np.log(1e-2), np.log(1e3), 1200))
    sets = {"draws": table("von Mises draws", vm_ref, k,
                           stats.vonmises.rvs(k, random_state=rng))}
    k = np.exp(rng.uniform(np.log(1e-2), np.log(1e3), 300))
    y = tails(lambda u, k: stats.vonmises.ppf(u, k), lambda u, k: stats.vonmises.isf(u, k),
              k, rng)
    sets["tails"] = table("von Mises tails", vm_ref, k, y)
    k = np.exp(rng.uniform(np.log(1e-2), np.log(1e3), 800)).astype(np.float32)
    y = stats.vonmises.rvs(k.astype(float), random_state=rng).astype(np.float32)
    sets["draws32"] = table("von Mises float32 draws", vm_ref, k, y)
    grid_k = np.repeat(np.logspace(-3, 3, 13), 8)
    levels = np.tile([1e-12, 1e-8, 1e-4, 0.1, 0.5, 0.9, 1 - 1e-4, 1 - 1e-8], 13)
    grid_y = stats.vonmises.ppf(levels, grid_k)
    sets["grid"] = table("von Mises grid", vm_ref, grid_k, grid_y)
    return sets


def beta_sets(rng):
    def shapes(n, low, high):
        return np.exp(rng.uniform(np.log(low), np.log(high), (n, 2)))

    ab = shapes(3000, 1e-2, 1e3)
    z = stats.beta.rvs(ab[:, 0], ab[:, 1], random_state=rng)
    keep = (z >= TINY64) & (z < 1)        # draws that round to 0 or 1 have no gradient
    sets = {"draws": table("beta draws", beta_ref, ab[keep], z[keep])}
    ab = shapes(600, 1e-2, 1e3)
    z = tails(lambda u, p: special.betaincinv(p[:, 0], p[:, 1], u),
              lambda u, p: special.betainccinv(p[:, 0], p[:, 1], u), ab, rng)
    keep = (z >= TINY64) & (z < 1)
    sets["tails"] = table("beta tails", beta_ref, ab[keep], z[keep])
    # log z for small shapes, where z itself often underflows: log Ga - log(Ga + Gb)
    ab = np.stack([np.exp(rng.uniform(np.log(1e-4), 0.0, 600)),
                   np.exp(rng.uniform(np.log(1e-2), np.log(10.0), 600))], axis=1)
    lg = np.log(stats.gamma.rvs(ab + 1, random_state=rng)) + np.log(rng.random(ab.shape)) / ab
    y = lg[:, 0] - np.logaddexp(lg[:, 0], lg[:, 1])
    keep = y < -1e-3
    sets["log"] = table("beta log space", lambda p, v: beta_ref(p, v, True), ab[keep], y[keep])
    return sets


def _tdist_sf(df, t):
    """S(t) of Student's t through the incomplete beta, without cancellation."""
    w = df / (df + t * t)
    half = mp.betainc(df / 2, mp.mpf(1) / 2, 0, w, regularized=True) / 2
    return half if t > 0 else 1 - half


# per distribution: (log F, log S, log density) at 40 digits, the parameter draws and
# scipy's quantile for a starting point; solved in log x where the support is x > 0
QUANTILE_FAMILIES = {
    "gamma": (lambda x, a: mp.log(mp.gammainc(a, 0, x, regularized=True)),
              lambda x, a: mp.log(mp.gammainc(a, x, mp.inf, regularized=True)),
              lambda x, a: (a - 1) * mp.log(x) - x - mp.loggamma(a),
              lambda rng, n: [np.exp(rng.uniform(np.log(1e-2), np.log(1e2), n))],
              lambda u, a: special.gammaincinv(a, u), True),
    "normal": (lambda x, mu, s: mp.log(mp.ncdf((x - mu) / s)),
               lambda x, mu, s: mp.log(mp.ncdf((mu - x) / s)),
               lambda x, mu, s: -((x - mu) / s) ** 2 / 2 - mp.log(s * mp.sqrt(2 * mp.pi)),
               lambda rng, n: [rng.normal(0, 2, n), np.exp(rng.uniform(-2, 2, n))],
               lambda u, mu, s: mu + s * special.ndtri(u), False),
    "beta": (lambda x, a, b: mp.log(mp.betainc(a, b, 0, x, regularized=True)),
             lambda x, a, b: mp.log(mp.betainc(a, b, x, 1, regularized=True)),
             lambda x, a, b: ((a - 1) * mp.log(x) + (b - 1) * mp.log1p(-x)
                              - mp.log(mp.beta(a, b))),
             lambda rng, n: [np.exp(rng.uniform(np.log(0.1), np.log(10), n)),
                             np.exp(rng.uniform(np.log(0.1), np.log(10), n))],
             lambda u, a, b: special.betaincinv(a, b, u), True),
    "student_t": (lambda x, df, mu, s: mp.log(_tdist_sf(df, (mu - x) / s)),
                  lambda x, df, mu, s: mp.log(_tdist_sf(df, (x - mu) / s)),
                  lambda x, df, mu, s: (mp.loggamma((df + 1) / 2) - mp.loggamma(df / 2)
                                        - mp.log(mp.sqrt(df * mp.pi) * s)
                                        - (df + 1) / 2 * mp.log1p(((x - mu) / s) ** 2 / df)),
                  lambda rng, n: [np.exp(rng.uniform(np.log(0.5), np.log(100), n)),
                                  rng.normal(0, 2, n), np.exp(rng.uniform(-1, 1, n))],
                  lambda u, df, mu, s: mu + s * special.stdtrit(df, u), False),
}


def _bracketed_root(f, v0, scale):
    """The root of the increasing or decreasing f near v0: a bracket around v0 widened
    from 1e-9 scale until f changes sign in it, then the Illinois method; None where no
    bracket up to one scale holds a sign change."""
    for width in (1e-9, 1e-6, 1e-3, 1e-1, 1.0):
        a, b = v0 - width * scale, v0 + width * scale
        try:
            fa, fb = f(a), f(b)
        except (ValueError, ZeroDivisionError, OverflowError):
            continue
        if isinstance(fa, mp.mpf) and isinstance(fb, mp.mpf) and fa * fb < 0:
            return mp.findroot(f, (a, b), solver="illinois")
    return None


def quantile_sets(rng, n=300):
    """u in the body and both tails (1e-300 .. 1e-3, 1 - 1e-3 .. 1 - 1e-15), its quantile
    by mpmath's findroot (Illinois) on log F (or log S) in a bracket around scipy's, kept
    where the root checks out to 30 digits and is a normal double; with |d log z / d log F|
    there."""
    out = {}
    for name, (log_f, log_s, log_q, draw, start, positive) in QUANTILE_FAMILIES.items():
        params = draw(rng, n)
        u = np.concatenate([rng.uniform(0.01, 0.99, n // 3),
                            10.0 ** rng.uniform(-300, -3, n // 3),
                            1 - 10.0 ** rng.uniform(-15, -3, n - 2 * (n // 3))])
        rows, t0 = [], time.time()
        for i in range(n):
            p = [mp.mpf(float(v[i])) for v in params]
            ui = float(u[i])
            upper = ui > 0.5
            level = mp.log1p(-mp.mpf(ui)) if upper else mp.log(mp.mpf(ui))
            form = log_s if upper else log_f
            x0 = float(start(ui, *(float(v[i]) for v in params)))
            progress(f"{name} quantiles", i + 1, n, t0)
            if not np.isfinite(x0) or (positive and not x0 > 1e-290):
                continue
            z = _bracketed_root(lambda v: form(mp.exp(v) if positive else v, *p) - level,
                                mp.log(x0) if positive else mp.mpf(x0),
                                1 if positive else max(1.0, abs(x0)))
            if z is None:
                continue
            z = mp.exp(z) if positive else z
            if not isinstance(z, mp.mpf) or (positive and not z > 0):
                continue
            if abs(form(z, *p) - level) > mp.mpf(10) ** -30 * (1 + abs(level)):
                continue
            zf = float(z)
            if not (np.isfinite(zf) and abs(zf) > TINY64):
                continue
            slope = abs(mp.exp(log_q(z, *p) - form(z, *p)))      # |d log F / dz|
            rows.append([ui, zf, float(1 / (slope * abs(z)))] + [float(v) for v in p])
        rows = np.array(rows)
        for j, key in enumerate(("u", "z", "cond")):
            out[f"{name}:{key}"] = rows[:, j]
        for j in range(len(params)):
            out[f"{name}:p{j}"] = rows[:, 3 + j]
    return out


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    which = sys.argv[1:] or ["gamma", "von_mises", "beta", "quantiles"]
    if "quantiles" in which:
        np.savez_compressed(OUT / "quantiles.npz", **quantile_sets(np.random.default_rng(2029)))
    if "gamma" in which:
        save("gamma", gamma_sets(np.random.default_rng(20180101)))
    if "von_mises" in which:
        save("von_mises", vm_sets(np.random.default_rng(20180102)))
    if "beta" in which:
        save("beta", beta_sets(np.random.default_rng(20180103)))
    print(f"wrote {OUT}")
