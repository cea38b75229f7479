"""Data-parallel variational inference with irgen.torch: DistributedDataParallel on the CPU.

A Gamma-Poisson model, counts x_i ~ Poisson(lam) with a Gamma(a0, b0) prior on lam, fitted
with a Gamma(alpha, beta) guide whose reparameterized draws come from irgen.torch; the exact
posterior, Gamma(a0 + sum x, b0 + n), is the check. Every rank draws its own Monte Carlo
samples of lam and DistributedDataParallel averages the gradients, so two ranks of 16
draws each train as one process with 32.

    python -m torch.distributed.run --standalone --nproc-per-node 2 examples/data_parallel.py

Seeding: irgen.torch takes its kernels' seeds from torch's default generator, so each rank
calls torch.manual_seed(seed + rank) once the model is wrapped (DistributedDataParallel
gives every rank rank 0's parameters, so the model's own initialisation needs no seed of
its rank): the ranks draw different samples, and a rerun with the same seed repeats them.
`--dump DIR` writes each rank's first draws and gradients (tests/integrations/test_distributed.py
compares them with one process drawing both ranks' samples)."""
from __future__ import annotations

import argparse
import os
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
from torch import nn
from torch.nn.parallel import DistributedDataParallel

from irgen.torch import Gamma

A0, B0 = 2.0, 0.5                                # the prior on lam
DATA = torch.from_numpy(np.random.default_rng(0).poisson(3.7, size=20).astype(np.float64))


class Guide(nn.Module):
    """q(lam) = Gamma(alpha, beta), both through their logarithms."""

    def __init__(self):
        super().__init__()
        self.log_alpha = nn.Parameter(torch.tensor(0.0, dtype=torch.float64))
        self.log_beta = nn.Parameter(torch.tensor(0.0, dtype=torch.float64))

    def forward(self, n: int):
        q = Gamma(self.log_alpha.exp(), self.log_beta.exp())
        lam = q.rsample((n,))
        return lam, q.log_prob(lam)


def loss(lam, log_q, data=DATA):
    """The negative ELBO, estimated by the draws' mean."""
    log_lik = (data * torch.log(lam)[:, None] - lam[:, None] - torch.lgamma(data + 1)).sum(-1)
    log_prior = Gamma(torch.tensor(A0, dtype=lam.dtype),
                      torch.tensor(B0, dtype=lam.dtype)).log_prob(lam)
    return -(log_lik + log_prior - log_q).mean()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--steps", type=int, default=800)
    ap.add_argument("--draws", type=int, default=16, help="Monte Carlo draws per rank")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--dump", type=Path, help="save each rank's first draws and gradients")
    args = ap.parse_args(argv)

    dist.init_process_group("gloo")      # rank and world size from torch's launcher
    rank, world = dist.get_rank(), dist.get_world_size()
    torch.set_num_threads(1)
    model = DistributedDataParallel(Guide())
    torch.manual_seed(args.seed + rank)  # each rank its own draws
    opt = torch.optim.Adam(model.parameters(), lr=0.3)
    schedule = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(args.steps, 1))
    for step in range(max(args.steps, 1)):
        opt.zero_grad()
        lam, log_q = model(args.draws)
        loss(lam, log_q).backward()      # DDP averages the gradients over the ranks
        if step == 0 and args.dump is not None:
            args.dump.mkdir(parents=True, exist_ok=True)
            torch.save({"draws": lam.detach(),
                        "grads": [p.grad.clone() for p in model.module.parameters()]},
                       args.dump / f"rank{rank}.pt")
            if args.steps == 0:
                break
        opt.step()
        schedule.step()
        if rank == 0 and (step + 1) % 100 == 0:
            a, b = (p.exp().item() for p in model.module.parameters())
            print(f"step {step + 1:4d}: q = Gamma({a:8.3f}, {b:7.3f})", flush=True)
    if rank == 0 and args.steps:
        a, b = (p.exp().item() for p in model.module.parameters())
        exact = (A0 + DATA.sum().item(), B0 + len(DATA))
        print(f"{world} ranks x {args.draws} draws: q = Gamma({a:.2f}, {b:.2f}); exact "
              f"posterior Gamma({exact[0]:.2f}, {exact[1]:.2f}); mean {a / b:.4f} against "
              f"{exact[0] / exact[1]:.4f}, shape {a:.2f} against {exact[0]:.2f}")
    # DDP's reducer holds the process group: gone first, then every rank at the barrier, so
    # that none tears its group down while a peer still talks to it (gloo aborts then)
    del model, opt, schedule
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    main()
