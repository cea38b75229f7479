"""Timing the benchmarks share: the median of repeated runs after one warm-up run."""
import platform
import time

import numpy as np


def median_seconds(f, repeat):
    f()
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        f()
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def median_ns(f, n, repeat):
    """Nanoseconds per element of f() over n elements."""
    return median_seconds(f, repeat) / n * 1e9


def interleaved_ns(fs, n, repeat, inner=1):
    """Nanoseconds per element of each f() in fs over n elements: medians of rounds taken in
    turn (each f `inner` times in a row per round, as a loop of training steps would), so
    that a slow spell of a shared machine falls on all."""
    for f in fs:
        f()
    times = [[] for _ in fs]
    for _ in range(repeat):
        for f, t in zip(fs, times):
            start = time.perf_counter()
            for _ in range(inner):
                f()
            t.append((time.perf_counter() - start) / inner)
    return [float(np.median(t)) / n * 1e9 for t in times]


def cpu_name():
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
