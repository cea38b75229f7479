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


def interleaved_rounds(fs, repeat, inner=1, pause=0.0):
    """Seconds per call of each f() in fs, per round: rounds taken in turn (each f `inner`
    times in a row per round, as a loop of training steps would), so that a slow spell of
    a shared machine falls on all; an array (len(fs), repeat).

    pause: seconds slept before each timed f, so that what the previous call left running
    is not timed as this one's. XLA's CPU runtime keeps worker threads busy for several
    milliseconds after a computation; pinned to the same core, they take that time from
    whatever runs next."""
    for f in fs:
        f()
    times = [[] for _ in fs]
    for _ in range(repeat):
        for f, t in zip(fs, times):
            if pause:
                time.sleep(pause)
            start = time.perf_counter()
            for _ in range(inner):
                f()
            t.append((time.perf_counter() - start) / inner)
    return np.array(times)


def interleaved_ns(fs, n, repeat, inner=1):
    """Nanoseconds per element of each f() in fs over n elements: medians of
    interleaved_rounds."""
    return [float(np.median(t)) / n * 1e9 for t in interleaved_rounds(fs, repeat, inner)]


def paired_ratio(baseline, ours) -> tuple:
    """(median, first quartile, third quartile) of baseline / ours per round: times taken
    side by side, so that the ratio is less swayed by a slow spell than one of medians."""
    r = np.asarray(baseline) / np.asarray(ours)
    return tuple(float(v) for v in np.percentile(r, (50, 25, 75)))


def cpu_name():
    """The processor's model name, with its family and model numbers where the name alone
    does not tell one generation from the next (a virtual machine's "AMD EPYC")."""
    try:
        with open("/proc/cpuinfo") as info:
            fields = dict(line.split(":", 1) for line in info.read().split("\n\n")[0]
                          .splitlines() if ":" in line)
    except OSError:
        return platform.processor() or platform.machine()
    fields = {k.strip(): v.strip() for k, v in fields.items()}
    name = fields.get("model name") or platform.processor() or platform.machine()
    if "cpu family" in fields and "model" in fields:
        name += f", family {fields['cpu family']} model {fields['model']}"
    return name
