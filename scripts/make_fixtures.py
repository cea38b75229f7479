"""Reference values for the accuracy tests, computed with mpmath at 40 digits.

Writes tests/fixtures/{gamma,von_mises,beta}.npz. Each file holds sample sets (parameters drawn
log-uniformly, z drawn from the distribution itself; tails at CDF levels 1e-12..1e-4 on
both sides), in float64 and at float32-rounded inputs, with F, dF/dtheta and dz/dtheta.
Slow (minutes), so the results are committed; rerun after changing what is sampled:

    python scripts/make_fixtures.py [gamma] [von_mises] [beta]
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


if __name__ == "__main__":
    OUT.mkdir(parents=True, exist_ok=True)
    which = sys.argv[1:] or ["gamma", "von_mises", "beta"]
    if "gamma" in which:
        save("gamma", gamma_sets(np.random.default_rng(20180101)))
    if "von_mises" in which:
        save("von_mises", vm_sets(np.random.default_rng(20180102)))
    if "beta" in which:
        save("beta", beta_sets(np.random.default_rng(20180103)))
    print(f"wrote {OUT}")
