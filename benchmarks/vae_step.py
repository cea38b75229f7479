"""One VAE training step per latent family: irgen.torch against torch.distributions, side by
side in one run, on the CPU.

The VAE of examples/vae.py (digits, 64 pixels, 200 hidden units) with a batch of B images
and a D-dimensional latent; a step is the forward pass (encoder, rsample, decoder, the
ELBO's log densities), backward and an Adam update. The same network weights (held fixed)
and batch for both libraries; torch has rsample for Normal, Gamma and Beta (von Mises:
irgen only). Milliseconds per step: medians of rounds taken in turn, each round 20 steps in
a row of one of them (as a training loop takes them); ratio = torch / irgen (above 1: irgen
is faster), the median over rounds of the ratio of the two libraries' times in the same
round, with its quartiles. Also the latent part alone (rsample and log_prob, forward and
backward, on the encoder's parameters), where the libraries differ.

    python benchmarks/vae_step.py [--batch B] [--dim D] [--repeat R] [--inner S] [--threads T]
                                   [--families normal,gamma,beta,von_mises]
"""
import argparse
import importlib.util
import sys
from pathlib import Path

import numpy as np
import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import irgen.torch as it  # noqa: E402
from irgen.runtime import set_num_threads  # noqa: E402
from timing import cpu_name, interleaved_rounds, paired_ratio  # noqa: E402

# examples/vae.py by its path (examples/ on sys.path would shadow generated/ with the
# examples' own build folder)
_spec = importlib.util.spec_from_file_location("vae_example", ROOT / "examples" / "vae.py")
vae = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(vae)
VAE, digits = vae.VAE, vae.digits


def step_function(model, x):
    # a learning rate of 0: Adam does all its work but the weights stay where they are, so
    # that every step of both libraries sees the same network (training would move the two
    # models' posteriors apart, and with them the cost of drawing from them)
    opt = torch.optim.Adam(model.parameters(), lr=0.0)

    def step():
        loss = -model.log_weights(x).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return step


def latent_function(model, x):
    """rsample and log_prob alone, on fixed encoder outputs."""
    with torch.no_grad():
        params = [p.clone().requires_grad_() for p in model.encoder(x).chunk(2, -1)]

    def latent():
        pos = torch.nn.functional.softplus
        a, b = params
        if model.family == "normal":
            q = model.library.Normal(a, pos(b) + 1e-3)
        elif model.family == "gamma":
            q = model.library.Gamma(pos(a) + 1e-2, pos(b) + 1e-2)
        else:
            q = model.library.Beta(pos(a) + 1e-2, pos(b) + 1e-2)
        z = q.rsample()
        (z.sum() - q.log_prob(z).sum()).backward()
    return latent


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=100)
    ap.add_argument("--dim", type=int, default=10)
    ap.add_argument("--repeat", type=int, default=15)
    ap.add_argument("--inner", type=int, default=20, help="steps in a row per round")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--families", default="normal,gamma,beta,von_mises")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    set_num_threads(args.threads)
    torch.manual_seed(0)
    train_x, _, _ = digits("cpu")
    x = train_x[:args.batch]
    print(f"VAE step, batch {args.batch}, {args.dim}-D latent, {cpu_name()}, "
          f"{args.threads} thread(s); ms per step, median of {args.repeat} rounds of "
          f"{args.inner}; "
          f"ratio = torch / irgen")
    for family in args.families.split(","):
        ours = VAE(family, args.dim, library=it)
        line = f"  {family:10s} irgen {{:7.3f}}"
        fs = [step_function(ours, x)]
        parts = [latent_function(ours, x)] if family != "von_mises" else []
        if family != "von_mises":
            theirs = VAE(family, args.dim, library=torch.distributions)
            theirs.load_state_dict(ours.state_dict())
            fs.append(step_function(theirs, x))
            parts.append(latent_function(theirs, x))
        rounds = interleaved_rounds(fs + parts, args.repeat, args.inner) * 1e3
        times = np.median(rounds, axis=1)
        if family == "von_mises":
            print(line.format(times[0]) + "   (torch has no von Mises rsample)")
            continue
        step_ir, step_t, lat_ir, lat_t = times
        ratio, low, high = paired_ratio(rounds[1], rounds[0])
        part = paired_ratio(rounds[3], rounds[2])[0]
        print(line.format(step_ir) + f"   torch {step_t:7.3f}   ratio {ratio:5.2f} "
              f"({low:.2f}-{high:.2f})   | latent part: irgen {lat_ir:6.3f}  torch "
              f"{lat_t:6.3f}  ratio {part:5.2f}", flush=True)


if __name__ == "__main__":
    main()
