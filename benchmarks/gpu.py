"""GPU benchmark: throughput and accuracy of the implicit gradients and of sampling on a
CUDA GPU, side by side with torch._standard_gamma_grad and jax.lax.random_gamma_grad, and
torch._standard_gamma and jax.random.gamma, where importable.

Gamma: N = 2^26, alpha log-uniform in [0.1, 10], z drawn from Gamma(alpha, 1). von Mises:
kappa log-uniform in [0.1, 10], z drawn from von Mises(0, kappa) (no library has a von Mises
concentration gradient on the GPU; irgen's figures stand alone). Time: median of 20 runs
after warm-up, CUDA events around each call (irgen's Python boundary included). Accuracy:
max relative / mean absolute error on 2^16 of the inputs against irgen's C kernels in
float64 (within 1e-13 of mpmath, tests/distributions/test_accuracy.py), beside the C float32 kernel's.
Sampling: Gamma(alpha, 1) with the same alpha; irgen's sample, rsample (samples and
gradients in one kernel) and log_sample against torch's sampler alone and followed by its
gradient, and JAX's sampler; and how far the GPU's samples are from the CPU's for the same
seed (the share equal, and within 4 units in the last place, on 2^20 of them).
Beta: a, b log-uniform over [1e-2, 1e3], both gradients, against torch.distributions.Beta's
backward (torch._dirichlet_grad). Dirichlet: N / 32 rows of K = 32, alpha log-uniform in
[0.1, 10]; irgen.generated.dirichlet's rsample (one kernel: draws, gradients, normalisation)
against torch's Dirichlet sampler alone and its rsample + backward. Writes
results/gpu_benchmark.md with the card's name.

--variants also times builds of the Gamma kernel from the same source with other options:
without the ordering by branch group (what divergence costs), tiles of 1024 and 4096
elements, and with fused multiply-adds.

    python benchmarks/gpu.py [--n N] [--repeat R] [--variants]
                             [--parts gamma,von_mises,beta,dirichlet,sampling]
                             [--out results/gpu_benchmark.md]
"""
import argparse
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import irgen.generated.beta as be  # noqa: E402
import irgen.generated.dirichlet as di  # noqa: E402
import irgen.generated.gamma as g  # noqa: E402
import irgen.generated.von_mises as v  # noqa: E402
from irgen.targets.cuda import compile as cuda  # noqa: E402
from irgen.targets.cuda.runtime import CudaKernels, _pycuda, active  # noqa: E402
from timing import median_seconds  # noqa: E402

NO_FMAD = [f for f in cuda.NVCC_FLAGS if f != "--fmad=false"]
VARIANTS = {
    "unsorted (no ordering by group)": list(cuda.NVCC_FLAGS) + ["-DIRGEN_UNSORTED"],
    "tiles of 1024": list(cuda.NVCC_FLAGS) + ["-DIRGEN_TILE_ITEMS=4"],
    "tiles of 4096": list(cuda.NVCC_FLAGS) + ["-DIRGEN_TILE_ITEMS=16"],
    "fused multiply-adds": NO_FMAD + ["--fmad=true"],
}


def timed(f, repeat, events):
    """Median seconds of f() between two CUDA events."""
    f()
    times = []
    for _ in range(repeat):
        start, end = events()
        start.record()
        f()
        end.record()
        end.synchronize()
        times.append(start.time_till(end) / 1e3 if hasattr(start, "time_till")
                     else start.elapsed_time(end) / 1e3)
    return float(np.median(times))


def torch_events(torch):
    """A maker of (start, end) timing events, as `timed` takes, for torch's streams."""
    return lambda: (torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))


def accuracy(got, ref):
    got, ref = np.asarray(got, np.float64), np.asarray(ref, np.float64)
    ok = np.isfinite(ref) & (ref != 0)
    rel = np.abs(got[ok] - ref[ok]) / np.abs(ref[ok])
    return (f"max rel / mean abs {np.nanmax(rel):.1e} / "
            f"{np.nanmean(np.abs(got[ok] - ref[ok])):.1e}")


def agreement(gpu, cpu):
    """Share of GPU samples equal to the CPU's for the same seed, and within 4 ulp."""
    gpu, cpu = np.asarray(gpu), np.asarray(cpu)
    ok = ~np.isnan(cpu)
    with np.errstate(invalid="ignore", divide="ignore"):
        ulps = np.abs(gpu[ok].astype(np.float64) - cpu[ok]) / np.spacing(
            np.maximum(np.abs(gpu[ok]), np.abs(cpu[ok])))
    ulps[gpu[ok] == cpu[ok]] = 0
    return (f"vs CPU, same seed: {np.mean(ulps == 0):.4%} equal, "
            f"{np.mean(ulps <= 4):.4%} within 4 ulp")


def variant_kernels():
    """The Gamma kernels built with each of VARIANTS' options, by label."""
    return {label: CudaKernels(g._kernels.c_path.with_suffix(".cu"), g._kernels.kernels, flags)
            for label, flags in VARIANTS.items()}


def sampling(dtype, alpha, n, rep, events, row, section, torch, jax, variants):
    """Gamma sampling: irgen, torch and JAX on the same alpha; irgen's agreement with the
    CPU for the same seed on 2^20 samples; and irgen's other builds (`variants`, by label)."""
    import pycuda.gpuarray as ga
    name = np.dtype(dtype).name
    m = min(n, 1 << 20)
    aa = alpha.astype(dtype)
    section[0] = f"Gamma sampling, {name}"
    print(section[0], flush=True)
    gaa, one = ga.to_gpu(aa), dtype(1)
    z = ga.empty(n, dtype)
    s = timed(lambda: g.sample(gaa, one, seed=5, out=z), rep, events)
    row("irgen sample (CUDA)", name, s, agreement(z.get()[:m], g.sample(aa[:m], one, seed=5)))
    outs = (ga.empty(n, dtype), ga.empty(n, dtype), ga.empty(n, dtype))
    s = timed(lambda: g.rsample(gaa, one, seed=5, out=outs), rep, events)
    want = g.rsample(aa[:m], one, seed=5)[1][0]
    row("irgen rsample (CUDA), samples and gradients", name, s,
        "gradient " + agreement(outs[1].get()[:m], want))
    for label, k in variants.items():
        s = timed(lambda: k.call("sample", (gaa, one), z, None, seed=5), rep, events)
        row(f"irgen sample (CUDA), {label}", name, s, "")
        s = timed(lambda: k.call("rsample", (gaa, one), outs, None, seed=5), rep, events)
        row(f"irgen rsample (CUDA), {label}", name, s, "")
    s = timed(lambda: g.log_sample(gaa, one, seed=5, out=z), rep, events)
    row("irgen log_sample (CUDA)", name, s,
        agreement(z.get()[:m], g.log_sample(aa[:m], one, seed=5)))
    if torch is not None:
        ta = torch.from_numpy(aa).cuda()
        tev = torch_events(torch)
        s = timed(lambda: torch._standard_gamma(ta), rep, tev)
        row("torch._standard_gamma", name, s, "")

        def both():
            tz = torch._standard_gamma(ta)
            return torch._standard_gamma_grad(ta, tz)
        s = timed(both, rep, tev)
        row("torch sample + _standard_gamma_grad", name, s, "two calls")
        del ta
    if jax is not None:
        ja = jax.numpy.asarray(aa)
        f = jax.jit(lambda key, a: jax.random.gamma(key, a, dtype=a.dtype))
        key = jax.random.PRNGKey(0)
        s = median_seconds(lambda: f(key, ja).block_until_ready(), rep)
        row("jax.random.gamma (wall clock)", name, s, "")
        del ja


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1 << 26)
    ap.add_argument("--repeat", type=int, default=20)
    ap.add_argument("--variants", action="store_true")
    ap.add_argument("--parts", default="gamma,von_mises,beta,dirichlet,sampling",
                    help="comma-separated: gamma (implicit_grad), von_mises, beta, dirichlet, "
                         "sampling")
    ap.add_argument("--out", default="results/gpu_benchmark.md")
    args = ap.parse_args()
    parts = set(args.parts.split(","))
    n, rep, m = args.n, args.repeat, 1 << 16
    pd = _pycuda()
    dev = pd.Device(0)
    card = dev.name()
    try:
        import torch
        torch_cuda = torch.cuda.is_available()
    except ImportError:
        torch, torch_cuda = None, False
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")   # share the card
    try:
        import jax
        jax.config.update("jax_enable_x64", True)    # else float64 arrays become float32
        import jax.numpy as jnp
        jax_gpu = any(d.platform == "gpu" for d in jax.devices())
    except Exception:                      # not installed, or no GPU backend
        jax = None
        jax_gpu = False
    rows = []            # (section, label, dtype, G elements/s, accuracy, irgen / this)
    section = [""]

    def row(label, dtype, seconds, acc):
        rate = n / seconds / 1e9
        mine = next((r for sec, lab, d, r, *_ in rows
                     if sec == section[0] and lab.startswith("irgen") and d == dtype), None)
        ratio = mine / rate if mine and not label.startswith("irgen") else None
        rows.append((section[0], label, dtype, rate, acc, ratio))
        shown = f"   irgen / this {ratio:5.2f}x" if ratio else ""
        print(f"  {label:44s} {dtype:8s} {rate:8.2f} G elem/s   {acc}{shown}", flush=True)

    print(f"{card}: N = {n}, median of {rep} runs", flush=True)
    rng = np.random.default_rng(0)
    t0 = time.perf_counter()
    alpha = np.exp(rng.uniform(np.log(0.1), np.log(10), n))
    z = rng.gamma(alpha)
    if "von_mises" in parts:
        kappa = np.exp(rng.uniform(np.log(0.1), np.log(10), n))
        y = rng.vonmises(0.0, kappa)
    if "beta" in parts:
        ab = np.exp(rng.uniform(np.log(1e-2), np.log(1e3), (2, n)))
        zb = np.clip(rng.beta(ab[0], ab[1]), 1e-300, 1 - 2 ** -53)
    print(f"inputs drawn in {time.perf_counter() - t0:.1f} s", flush=True)
    import pycuda.gpuarray as ga
    with active(0):
        events = (lambda: (pd.Event(), pd.Event()))
        variants = variant_kernels() if args.variants else {}
        for dtype in (np.float32, np.float64) if "gamma" in parts else ():
            name = np.dtype(dtype).name
            za, aa = z.astype(dtype), alpha.astype(dtype)
            ref = g.implicit_grad(za[:m].astype(np.float64), aa[:m].astype(np.float64), 1.0)[0]
            section[0] = f"Gamma implicit_grad, {name}"
            print(section[0], flush=True)
            gz, gaa, one = ga.to_gpu(za), ga.to_gpu(aa), dtype(1)
            outs = (ga.empty(n, dtype), ga.empty(n, dtype))
            s = timed(lambda: g.implicit_grad(gz, gaa, one, out=outs), rep, events)
            row("irgen (CUDA)", name, s, accuracy(outs[0].get()[:m], ref))
            for label, k in variants.items():
                s = timed(lambda: k.call("implicit_grad", (gz, gaa, one), outs, None), rep,
                          events)
                row(f"irgen (CUDA), {label}", name, s, accuracy(outs[0].get()[:m], ref))
            cpu = g.implicit_grad(za[:m], aa[:m], one)[0]
            print(f"  {'irgen C kernel, same dtype (accuracy only)':44s} {name:8s} "
                  f"{'':16s} {accuracy(cpu, ref)}")
            if torch_cuda:
                tz = torch.from_numpy(za).cuda()
                ta = torch.from_numpy(aa).cuda()
                tev = torch_events(torch)
                s = timed(lambda: torch._standard_gamma_grad(ta, tz), rep, tev)
                got = torch._standard_gamma_grad(ta[:m], tz[:m]).cpu().numpy()
                row("torch._standard_gamma_grad", name, s, accuracy(got, ref))
                del tz, ta
            if jax_gpu:
                jz, ja = jnp.asarray(za), jnp.asarray(aa)
                f = jax.jit(jax.lax.random_gamma_grad)
                s = median_seconds(lambda: f(ja, jz).block_until_ready(), rep)
                got = np.asarray(f(ja[:m], jz[:m]))
                row("jax.lax.random_gamma_grad (wall clock)", name, s, accuracy(got, ref))
                del jz, ja
        for dtype in (np.float32, np.float64) if "von_mises" in parts else ():
            name = np.dtype(dtype).name
            ya, ka = y.astype(dtype), kappa.astype(dtype)
            ref = v.implicit_grad(ya[:m].astype(np.float64), 0.0, ka[:m].astype(np.float64))[1]
            section[0] = f"von Mises implicit_grad, {name}"
            print(section[0], flush=True)
            gy, gk, zero = ga.to_gpu(ya), ga.to_gpu(ka), dtype(0)
            outs = (ga.empty(n, dtype), ga.empty(n, dtype))
            s = timed(lambda: v.implicit_grad(gy, zero, gk, out=outs), rep, events)
            row("irgen (CUDA)", name, s, accuracy(outs[1].get()[:m], ref))
        for dtype in (np.float32, np.float64) if "beta" in parts else ():
            name = np.dtype(dtype).name
            zd, ad, bd = zb.astype(dtype), ab[0].astype(dtype), ab[1].astype(dtype)
            ref = be.implicit_grad(*(c[:m].astype(np.float64) for c in (zd, ad, bd)))[0]
            section[0] = f"Beta implicit_grad (both gradients), {name}"
            print(section[0], flush=True)
            gz, gaa, gb = ga.to_gpu(zd), ga.to_gpu(ad), ga.to_gpu(bd)
            outs = (ga.empty(n, dtype), ga.empty(n, dtype))
            s = timed(lambda: be.implicit_grad(gz, gaa, gb, out=outs), rep, events)
            row("irgen (CUDA)", name, s, accuracy(outs[0].get()[:m], ref))
            if torch_cuda:
                # torch.distributions.Beta's backward: dz/da = (1 - z) _dirichlet_grad(z, a, a + b)
                tz, ta, tb = (torch.from_numpy(c).cuda() for c in (zd, ad, bd))
                tev, ts = torch_events(torch), ta + tb
                s = timed(lambda: ((1 - tz) * torch._dirichlet_grad(tz, ta, ts),
                                   -tz * torch._dirichlet_grad(1 - tz, tb, ts)), rep, tev)
                got = ((1 - tz[:m]) * torch._dirichlet_grad(tz[:m], ta[:m], ts[:m])).cpu().numpy()
                row("torch._dirichlet_grad, both gradients", name, s, accuracy(got, ref))
                del tz, ta, tb, ts
        for dtype in (np.float32, np.float64) if "dirichlet" in parts else ():
            name = np.dtype(dtype).name
            ad = alpha.reshape(-1, 32).astype(dtype)
            section[0] = f"Dirichlet rsample, K = 32, {name}"
            print(section[0], flush=True)
            gaa = ga.to_gpu(ad)
            outs = (ga.empty(ad.shape, dtype), ga.empty(ad.shape, dtype))
            s = timed(lambda: di.rsample(gaa, seed=3, out=outs), rep, events)
            cpu = di.sample(ad[:m // 32], seed=3)
            row("irgen (CUDA), z and v", name, s, agreement(outs[0].get()[:m // 32], cpu))
            if torch_cuda:
                ta = torch.from_numpy(ad).cuda().requires_grad_()
                tev = torch_events(torch)
                s = timed(lambda: torch._sample_dirichlet(ta.detach()), rep, tev)
                row("torch._sample_dirichlet, no gradient", name, s, "")

                def torch_both():
                    ta.grad = None
                    torch.distributions.Dirichlet(ta).rsample().sum().backward()
                s = timed(torch_both, rep, tev)
                row("torch Dirichlet rsample + backward", name, s, "")
                del ta
        for dtype in (np.float32, np.float64) if "sampling" in parts else ():
            sampling(dtype, alpha, n, rep, events, row, section, torch if torch_cuda else None,
                     jax if jax_gpu else None, variants)
    versions = [f"Python {platform.python_version()}", f"NumPy {np.__version__}"]
    if torch is not None:
        versions.append(f"torch {torch.__version__}")
    if jax is not None:
        versions.append(f"JAX {jax.__version__}")
    lines = [f"# GPU benchmark on {card}", "",
             f"`python benchmarks/gpu.py {' '.join(sys.argv[1:])}` (N = {n}, median of "
             f"{rep} runs); {', '.join(versions)}.",
             "Accuracy: max relative / mean absolute error against the float64 C kernels on "
             f"{m} of the inputs.", "",
             "| task | method | dtype | G elements/s | irgen / this | accuracy, agreement |",
             "|---|---|---|---|---|---|"]
    lines += [f"| {sec} | {lab} | {d} | {r:.2f} | {f'{q:.2f}' if q else ''} | {acc} |"
              for sec, lab, d, r, acc, q in rows]
    out = ROOT / args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print(f"written {args.out}")


if __name__ == "__main__":
    main()
