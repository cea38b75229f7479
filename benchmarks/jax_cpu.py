"""irgen.jax against JAX's own samplers on one CPU core, jitted, side by side in one run.

Rows (alpha log-uniform in [0.1, 10], one draw per alpha):
- Gamma rsample with its gradient: jax.grad of sum(w * z) in alpha, z drawn by
  irgen.jax.gamma.rsample against jax.random.gamma (whose gradient is
  jax.lax.random_gamma_grad);
- implicit_grad at given draws against jax.lax.random_gamma_grad;
- Dirichlet rsample with its backward pass (rows of K = 16) against jax.random.dirichlet;
in float32 and float64, at 2^18 elements and at 16 (an SVI step's size, where fixed costs
decide). Times per call are medians of calls taken in turn; (x ratio) = JAX's time / irgen's
(above 1: irgen is faster). One core: the process is pinned to one CPU, XLA runs one
thread, and irgen's kernels run on one thread. At 2^18 elements each timed call follows a
pause of 0.1 s: after a computation XLA's runtime keeps threads running for several
milliseconds (about 12 after JAX's float32 Gamma, 8 after irgen's call), which on the
one pinned core would otherwise be timed as the next call's.

    python benchmarks/jax_cpu.py [--repeat R] [--out results/jax_cpu.md]
"""
import argparse
import os
import sys
from pathlib import Path

os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                                   "intra_op_parallelism_threads=1")
if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import irgen.jax as ij  # noqa: E402
from irgen.runtime import set_num_threads  # noqa: E402
from timing import cpu_name, interleaved_rounds  # noqa: E402


def _ready(f):
    return lambda: jax.block_until_ready(f())


def gamma_rows(n, dtype, key):
    rng = np.random.default_rng(0)
    a = jnp.asarray(np.exp(rng.uniform(np.log(0.1), np.log(10), n)), dtype)
    w = jnp.asarray(rng.uniform(-1, 1, n), dtype)
    ours = jax.jit(jax.value_and_grad(lambda a: (w * ij.gamma.rsample(key, a, 1.0)).sum()))
    theirs = jax.jit(jax.value_and_grad(lambda a: (w * jax.random.gamma(key, a, dtype=dtype))
                                        .sum()))
    z = jax.random.gamma(key, a, dtype=dtype)
    grad_ours = jax.jit(lambda z, a: ij.gamma.implicit_grad(z, a, 1.0)[0])
    grad_theirs = jax.jit(jax.lax.random_gamma_grad)
    return [("Gamma rsample + gradient", _ready(lambda: ours(a)), _ready(lambda: theirs(a))),
            ("Gamma implicit_grad", _ready(lambda: grad_ours(z, a)),
             _ready(lambda: grad_theirs(a, z)))]


def dirichlet_row(n, dtype, key, k=16):
    rows = max(1, n // k)
    rng = np.random.default_rng(1)
    alpha = jnp.asarray(np.exp(rng.uniform(np.log(0.1), np.log(10), (rows, k))), dtype)
    w = jnp.asarray(rng.uniform(-1, 1, (rows, k)), dtype)
    ours = jax.jit(jax.value_and_grad(lambda al: (w * ij.dirichlet.rsample(key, al)).sum()))
    theirs = jax.jit(jax.value_and_grad(
        lambda al: (w * jax.random.dirichlet(key, al, dtype=dtype)).sum()))
    return [(f"Dirichlet rsample + backward (K = {k})", _ready(lambda: ours(alpha)),
             _ready(lambda: theirs(alpha)))]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=15)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    set_num_threads(1)
    jax.config.update("jax_enable_x64", True)
    key = jax.random.key(0)
    lines = [f"# irgen.jax against JAX on one core ({cpu_name()}; jax {jax.__version__})", "",
             "| what | dtype | elements | irgen.jax | JAX | JAX / irgen |", "|---|---|---|---|---|---|"]
    print("\n".join(lines), flush=True)
    for dtype in (jnp.float32, jnp.float64):
        for n in (2 ** 18, 16):
            rows = gamma_rows(n, dtype, key) + dirichlet_row(n, dtype, key)
            for what, ours, theirs in rows:
                repeat = args.repeat if n > 1000 else args.repeat * 20
                t = interleaved_rounds([ours, theirs], repeat, pause=0.1 if n > 1000 else 0)
                a, b = np.median(t[0]), np.median(t[1])
                ratio = np.median(t[1] / t[0])
                line = (f"| {what} | {np.dtype(dtype).name} | {n} | {_fmt(a)} | {_fmt(b)} "
                        f"| {ratio:.1f}x |")
                lines.append(line)
                print(line, flush=True)
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text("\n".join(lines) + "\n")


def _fmt(seconds):
    return f"{seconds * 1e3:.3g} ms" if seconds >= 1e-3 else f"{seconds * 1e6:.3g} us"


if __name__ == "__main__":
    main()
