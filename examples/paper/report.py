"""What the paper's experiment scripts share: where they write, the machine they ran on, a
Markdown table, one-core timing side by side, and matplotlib where it is installed."""
from __future__ import annotations

import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "tests"))

from timing import cpu_name, interleaved_rounds  # noqa: E402

OUT = ROOT / "results" / "paper"


def one_core():
    """Every library on one thread: irgen's kernels, torch's and XLA's (before JAX is
    imported)."""
    os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false "
                          "intra_op_parallelism_threads=1")
    from irgen.runtime import set_num_threads
    set_num_threads(1)
    try:
        import torch
        torch.set_num_threads(1)
    except ImportError:
        pass


def versions(*extra) -> str:
    """Python's version and those of the libraries imported (and of `extra` ones)."""
    parts = [f"Python {platform.python_version()}"]
    for name in ("numpy", "scipy", "torch", "jax") + extra:
        module = sys.modules.get(name)
        if module is not None:
            parts.append(f"{name} {getattr(module, '__version__', '?')}")
    return ", ".join(parts)


def machine() -> str:
    return f"{cpu_name()}, {os.cpu_count()} cores"


def table(header, rows) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(lines)


def ns_per_element(functions: dict, n: int, repeat: int) -> dict:
    """Median nanoseconds per element of each function (name -> f()), over n elements,
    timed in interleaved rounds so that a slow spell of the machine falls on all."""
    names = list(functions)
    rounds = interleaved_rounds([functions[k] for k in names], repeat)
    return {k: float(np.median(t)) / n * 1e9 for k, t in zip(names, rounds)}


def pyplot():
    """matplotlib's pyplot (Agg), or None where it is not installed."""
    try:
        import matplotlib
    except ImportError:
        return None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    return plt


def shown(path: Path) -> str:
    """A path relative to the repository where it is inside it."""
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


def write(name: str, text: str) -> Path:
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / name
    path.write_text(text)
    return path


class Progress:
    """One line per step, with the seconds since the start."""

    def __init__(self):
        self.start = time.perf_counter()

    def __call__(self, message: str):
        print(f"[{time.perf_counter() - self.start:6.1f} s] {message}", flush=True)
