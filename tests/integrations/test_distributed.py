"""irgen.torch in a data-parallel training step: examples/data_parallel.py started by torch's
own launcher, two processes on the gloo backend. Each rank draws from its own stream
(different draws per rank, the same across reruns with the same seed), and the all-reduced
gradients equal one process's gradients of the concatenated batch at the same draws."""
import importlib.util
import os
import subprocess
import sys
from pathlib import Path

import pytest
from paths import ROOT

torch = pytest.importorskip("torch")
if not (torch.distributed.is_available() and torch.distributed.is_gloo_available()):
    pytest.skip("needs torch.distributed with gloo", allow_module_level=True)

EXAMPLE = ROOT / "examples" / "data_parallel.py"
DRAWS, SEED = 16, 7


def _example():
    spec = importlib.util.spec_from_file_location("data_parallel", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _launch(out: Path) -> list:
    """One step on two ranks; each rank's (draws, gradients)."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                           "--nproc-per-node", "2", str(EXAMPLE), "--steps", "0", "--draws",
                           str(DRAWS), "--seed", str(SEED), "--dump", str(out)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    return [torch.load(out / f"rank{r}.pt") for r in range(2)]


def test_ranks_draw_their_own_streams_and_reduce_to_the_whole_batch(tmp_path):
    ranks = _launch(tmp_path / "first")
    again = _launch(tmp_path / "second")
    # each rank its own draws; a rerun with the same seed repeats them, and the gradients
    assert not torch.equal(ranks[0]["draws"], ranks[1]["draws"])
    for a, b in zip(ranks, again):
        assert torch.equal(a["draws"], b["draws"])
        assert all(torch.equal(x, y) for x, y in zip(a["grads"], b["grads"]))
    # after the all-reduce every rank holds the same gradients
    assert all(torch.equal(x, y) for x, y in zip(*(r["grads"] for r in ranks)))

    # one process: the same model, rank r's draws from seed + r, the loss over both batches
    ex = _example()
    guide = ex.Guide()
    lams, log_qs = [], []
    for r in range(2):
        torch.manual_seed(SEED + r)
        lam, log_q = guide(DRAWS)
        lams.append(lam)
        log_qs.append(log_q)
        assert torch.equal(lam.detach(), ranks[r]["draws"])
    ex.loss(torch.cat(lams), torch.cat(log_qs)).backward()
    for p, reduced in zip(guide.parameters(), ranks[0]["grads"]):
        assert torch.allclose(p.grad, reduced, rtol=1e-12, atol=0), (p.grad, reduced)
    assert all(g.abs().item() > 0 for g in ranks[0]["grads"])


def test_training_reaches_the_exact_posterior():
    """The example as a user runs it: two ranks fit the Gamma guide to the conjugate
    posterior (its mean within 2%, its shape within 20%)."""
    env = dict(os.environ, OMP_NUM_THREADS="1")
    done = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone",
                           "--nproc-per-node", "2", str(EXAMPLE)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    last = done.stdout.strip().splitlines()[-1]
    mean, shape = (part.split(" against ") for part in last.split("mean ")[1].split(", shape "))
    assert abs(float(mean[0]) - float(mean[1])) < 0.02 * float(mean[1]), last
    assert abs(float(shape[0]) - float(shape[1])) < 0.2 * float(shape[1]), last
