"""The main job: build the built-in distributions and show what they compute.

Prints implicit reparameterization gradients dz/dtheta of Gamma and von Mises next to an
independent reference, -(dF/dtheta)/q with dF/dtheta by mpmath at 30 digits, and the
forward-mode CDF derivative dF/dsigma of Normal next to its closed form, Beta's dz/da next to
mpmath; then sampling: samples and their gradients in one call, checked against the mean and
variance of the distribution and against d/dalpha E[z] = 1 / beta; then Dirichlet, a
truncated Normal far out and a Gamma mixture, composed from the generated modules."""
import sys
from pathlib import Path

import mpmath as mp
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from irgen.build import build  # noqa: E402

mp.mp.dps = 30


def gamma_ref(a, z):
    a, z = mp.mpf(a), mp.mpf(z)
    dF = mp.diff(lambda s: mp.gammainc(s, 0, z, regularized=True), a)
    return float(-dF / mp.exp((a - 1) * mp.log(z) - z - mp.loggamma(a)))


def vm_ref(y, k):
    y, k = mp.mpf(y), mp.mpf(k)
    F = lambda s: mp.quad(lambda t: mp.exp(s * (mp.cos(t) - 1)), [-mp.pi, y]) / (
        2 * mp.pi * mp.besseli(0, s) * mp.exp(-s))
    q = mp.exp(k * (mp.cos(y) - 1)) / (2 * mp.pi * mp.besseli(0, k) * mp.exp(-k))
    return float(-mp.diff(F, k) / q)


def beta_ref(a, b, z):
    """dz/da = -(dI_z(a, b)/da) / q by mpmath."""
    a, b, z = mp.mpf(a), mp.mpf(b), mp.mpf(z)
    dF = mp.diff(lambda s: mp.betainc(s, b, 0, z, regularized=True), a)
    return float(-dF / (z ** (a - 1) * (1 - z) ** (b - 1) / mp.beta(a, b)))


def row(name, theta, z, got, want):
    err = abs(got - want) / abs(want)
    print(f"  {name:<10} {theta:<16} z = {z:<11.5g} {got:>+.15e}  {want:>+.15e}  {err:.1e}")


def main():
    build(out_dir=ROOT / "generated")
    import irgen.generated.gamma as g
    import irgen.generated.normal as n
    n_mod = n
    import irgen.generated.beta as be
    import irgen.generated.von_mises as v
    import irgen.generated.dirichlet as dirichlet
    from irgen.compose.mixture import mixture
    from irgen.compose.truncated import truncated

    print("\nirgen (float64) | independent reference | relative error")
    print("dF/dsigma of the Normal CDF (forward mode through erfc) against -phi(t) t / sigma:")
    for mu, sigma, z in ((0.0, 1.0, -1.3), (2.0, 0.5, 4.5), (0.0, 1.0, -30.0)):
        _, _, ds = n.cdf_grad(z, mu, sigma)
        t = mp.mpf(z - mu) / sigma
        row("normal", f"sigma={sigma}", z, float(ds), float(-mp.npdf(t) * t / sigma))
    print("implicit gradients dz/dtheta against -(dF/dtheta)/q by mpmath:")
    for a, z in ((1e-3, 1e-200), (0.1, 2e-5), (1.0, 0.7), (10.0, 12.3), (1e3, 960.0),
                 (3.0, 30.0)):
        da, _ = g.implicit_grad(z, a, 1.0)
        row("gamma", f"alpha={a:g}", z, float(da), gamma_ref(a, z))
    for k, y in ((0.01, 2.5), (2.0, -1.0), (30.0, 0.2), (500.0, -0.15), (50.0, -1.2)):
        _, dk = v.implicit_grad(y, 0.0, k)
        row("von_mises", f"kappa={k:g}", y, float(dk), vm_ref(y, k))
    for a, b, z in ((0.02, 0.5, 1e-30), (2.0, 3.0, 0.4), (800.0, 900.0, 0.47), (5.0, 0.05, 0.9999)):
        da, _ = be.implicit_grad(z, a, b)
        row("beta", f"a={a:g},b={b:g}", z, float(da), beta_ref(a, b, z))
    rng = np.random.default_rng(0)
    a = np.exp(rng.uniform(np.log(1e-3), np.log(1e3), 10**6))
    z = rng.gamma(a)
    da32, _ = g.implicit_grad(z.astype(np.float32), a.astype(np.float32), np.float32(1))
    print(f"\nfloat32 works the same way: {da32.dtype}, {da32.size} Gamma gradients, "
          f"all finite where z is a normal float32: "
          f"{bool(np.all(np.isfinite(da32[z.astype(np.float32) > 1.2e-38])))}")

    print("\nsampling (Philox4x32-10 streams: the same seed draws the same numbers on the "
          "CPU and the GPU):")
    n = 1 << 20
    for alpha, beta in ((0.3, 2.0), (4.0, 0.5)):
        z, (da, db) = g.rsample(np.full(n, alpha), beta, seed=42)
        print(f"  gamma({alpha}, {beta}): mean {z.mean():.4f} (exact {alpha / beta:.4f}), "
              f"variance {z.var():.4f} (exact {alpha / beta ** 2:.4f}); mean dz/dalpha "
              f"{da.mean():.4f} (d/dalpha E[z] = 1/beta = {1 / beta:.4f})")
    y, (dy, _) = g.log_rsample(np.full(n, 1e-4, np.float32), np.float32(1), seed=42)
    print(f"  gamma(1e-4) in float32 through log_rsample: log z from {y.min():.4g} to "
          f"{y.max():.4g}, all finite: {bool(np.all(np.isfinite(y) & np.isfinite(dy)))}; "
          f"mean d(log z)/dalpha {dy.astype(np.float64).mean():.4g} "
          f"(trigamma(1e-4) = {float(mp.psi(1, 1e-4)):.4g})")
    k = v.sample(0.5, np.full(n, 4.0), seed=42)
    print(f"  von_mises(0.5, 4): circular mean {np.angle(np.exp(1j * k).mean()):.4f}, mean "
          f"resultant length {abs(np.exp(1j * k).mean()):.4f} (exact "
          f"{float(mp.besseli(1, 4) / mp.besseli(0, 4)):.4f})")
    z, (da, db) = be.rsample(2.0, np.full(n, 5.0), seed=42)
    print(f"  beta(2, 5): mean {z.mean():.4f} (exact {2 / 7:.4f}); mean dz/da {da.mean():.4f} "
          f"(d/da E[z] = b / (a + b)^2 = {5 / 49:.4f})")
    alpha = np.array([0.5, 2.0, 7.5])
    z, v_ = dirichlet.rsample(alpha, size=n // 4, seed=7)   # one kernel: draws to v
    print(f"  dirichlet{tuple(alpha.tolist())}: mean {np.round(z.mean(0), 4)} (exact "
          f"{np.round(alpha / alpha.sum(), 4)}); mean dz_0/dalpha_0 "
          f"{dirichlet.jacobian(z[:20000], v_[:20000])[:, 0, 0].mean():.4f} (exact "
          f"{(alpha.sum() - alpha[0]) / alpha.sum() ** 2:.4f})")

    print("\ncomposed from generated modules (irgen.compose):")
    tn = truncated(n_mod)
    z, (dmu, dsigma, dlow, dhigh) = tn.rsample(0.0, 1.0, 10.0, np.inf, size=n // 4, seed=8)
    print(f"  normal(0, 1) truncated to [10, inf): samples from {z.min():.6f} to {z.max():.4f}, "
          f"mean {z.mean():.6f} (exact {float(mp.npdf(10) / mp.ncdf(-10)):.6f}); gradients "
          f"finite: {bool(all(np.all(np.isfinite(x)) for x in (dmu, dsigma, dlow, dhigh)))}")
    mix = mixture(g)
    w, al, bt = np.array([0.3, 0.7]), np.array([0.5, 8.0]), np.array([1.0, 2.0])
    z, (dw, dal, dbt) = mix.rsample(w, al, bt, size=n // 4, seed=9)
    print(f"  mixture of gamma(0.5, 1) and gamma(8, 2) (0.3, 0.7): mean {z.mean():.4f} (exact "
          f"{np.dot(w, al / bt):.4f}); mean dz/dalpha_k {np.round(dal.mean(0), 4)} (exact "
          f"{np.round(w / bt, 4)})")


if __name__ == "__main__":
    main()
