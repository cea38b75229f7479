"""A variational autoencoder with Normal, Gamma, Beta and von Mises latent variables
(Figurnov, Mohamed and Mnih 2018, section 6.3: fully factorised priors and posteriors) on
scikit-learn's digits (8 x 8 images, binarised at half intensity), with irgen.torch's
rsample for the latent variables and torch for the networks.

For each latent family and dimension it trains a VAE on 1437 images and reports the test
negative log-likelihood of the other 360, estimated by importance sampling with the
posterior as proposal (K samples per image), in nats; the 2-D latent spaces (each test
image's posterior mean, coloured by its digit) are saved as a picture, as the paper's
Figure 4. Priors: Normal(0, 1), Gamma(1, 1), Beta(1, 1) and the uniform distribution on
the circle.

    python examples/vae.py [--epochs N] [--dims 2,5] [--families normal,gamma,beta,von_mises]
                           [--k K] [--device cpu|cuda] [--out results/vae] [--data PATH]
    python examples/vae.py --save-data PATH    # the digits, for a machine without sklearn

Needs the `vae` extra (scikit-learn, matplotlib, torch); with --data, torch alone (without
matplotlib no picture). Runs on the CPU in a few minutes and on a GPU where torch sees one.
"""
from __future__ import annotations

import argparse
import math
import sys
import time
from pathlib import Path

import numpy as np
import torch
from torch import nn

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import irgen.torch as it  # noqa: E402

FAMILIES = ("normal", "gamma", "beta", "von_mises")
VON_MISES_SHIFT = 4.0      # the von Mises concentration's softplus, shifted (see posterior)
LOG_2PI = math.log(2 * math.pi)


def log_prior(family: str, z: torch.Tensor) -> torch.Tensor:
    """log p(z) per latent variable."""
    if family == "normal":
        return -0.5 * z * z - 0.5 * LOG_2PI
    if family == "gamma":                       # Gamma(1, 1)
        return -z
    if family == "beta":                        # Beta(1, 1): uniform on [0, 1]
        return torch.zeros_like(z)
    return torch.full_like(z, -LOG_2PI)         # uniform on the circle


def features(family: str, z: torch.Tensor) -> torch.Tensor:
    """What the decoder reads: an angle as its cosine and sine."""
    return torch.cat([torch.cos(z), torch.sin(z)], -1) if family == "von_mises" else z


class VAE(nn.Module):
    """Encoder and decoder with one hidden layer each; `library` gives the distribution
    classes (irgen.torch, or torch.distributions for comparisons)."""

    def __init__(self, family: str, dim: int, pixels: int = 64, hidden: int = 200,
                 library=it):
        super().__init__()
        self.family, self.dim, self.library = family, dim, library
        # an angle's location as the direction of a 2-D vector (atan2: no end to saturate)
        outputs = 3 * dim if family == "von_mises" else 2 * dim
        self.encoder = nn.Sequential(nn.Linear(pixels, hidden), nn.Softplus(),
                                     nn.Linear(hidden, outputs))
        width = 2 * dim if family == "von_mises" else dim
        self.decoder = nn.Sequential(nn.Linear(width, hidden), nn.Softplus(),
                                     nn.Linear(hidden, pixels))

    def posterior(self, x):
        h = self.encoder(x)
        a, b = h[..., :self.dim], h[..., self.dim:2 * self.dim]
        pos = nn.functional.softplus
        lib = self.library
        if self.family == "normal":
            return lib.Normal(a, pos(b) + 1e-3)
        if self.family == "gamma":
            return lib.Gamma(pos(a) + 1e-2, pos(b) + 1e-2)
        if self.family == "beta":
            return lib.Beta(pos(a) + 1e-2, pos(b) + 1e-2)
        # concentrations start near softplus(4) = 4 (draws within some 30 degrees), not
        # softplus(0) = 0.7 (draws all round the circle): from there the decoder learns to
        # read every angle, where it read one, and the other fell to the prior once the KL
        # term rose (one dimension of two collapsed in 2 of 4 seeds, 0 of 10 now)
        return lib.VonMises(torch.atan2(h[..., 2 * self.dim:], a),
                            pos(b + VON_MISES_SHIFT) + 1e-2)

    def log_weights(self, x, k: int = 1, kl_weight: float = 1.0):
        """log p(x | z) + w (log p(z) - log q(z | x)) for k posterior samples of each
        image, (k, batch); with w = 1, the log importance weights."""
        q = self.posterior(x)
        z = q.rsample((k,))
        logits = self.decoder(features(self.family, z))
        log_px = -nn.functional.binary_cross_entropy_with_logits(
            logits, x.expand_as(logits), reduction="none").sum(-1)
        return log_px + kl_weight * (log_prior(self.family, z) - q.log_prob(z)).sum(-1)


def load_images(path=None):
    """(pixels 0-16, digit) of scikit-learn's digits, or of a copy saved by --save-data
    (for machines without scikit-learn)."""
    if path:
        with np.load(path) as saved:
            return saved["images"], saved["target"]
    from sklearn.datasets import load_digits
    data = load_digits()
    return data.data, data.target


def digits(device, path=None):
    images, target = load_images(path)
    x = (images / 16.0 > 0.5).astype(np.float32)
    order = np.random.default_rng(0).permutation(len(x))
    test, train = order[:360], order[360:]
    as_t = lambda a: torch.from_numpy(a).to(device)                # noqa: E731
    return as_t(x[train]), as_t(x[test]), target[test]


def train(model, x, epochs, batch=100, lr=3e-3, label=""):
    """Adam on the negative ELBO, the KL term's weight 0 for the first tenth of the epochs,
    then rising to 1 by half of them (a warm-up, as in Bowman et al., 2016): at full weight
    from the start, or even at a quarter, it flattens a von Mises posterior to the uniform
    prior before the decoder has learned to read it (its concentration falls to the floor
    within an epoch; with the warm-up it settles near 10)."""
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    n = len(x)
    start = time.perf_counter()
    for epoch in range(epochs):
        perm = torch.randperm(n, device=x.device)
        total = 0.0
        weight = min(1.0, max(0.0, (epoch - 0.1 * epochs) / (0.4 * epochs)))
        for i in range(0, n, batch):
            xb = x[perm[i:i + batch]]
            loss = -model.log_weights(xb, kl_weight=weight).mean()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += loss.item() * len(xb)
        done = (epoch + 1) / epochs
        bar = "#" * int(30 * done) + "." * (30 - int(30 * done))
        print(f"\r  {label:16s} [{bar}] epoch {epoch + 1}/{epochs}  -ELBO {total / n:7.2f}"
              f"  {time.perf_counter() - start:5.0f} s", end="", flush=True)
    print()


@torch.no_grad()
def test_nll(model, x, k, batch=40):
    """-log (1/K) sum_k p(x, z_k) / q(z_k | x), averaged over the images."""
    total = 0.0
    for i in range(0, len(x), batch):
        w = model.log_weights(x[i:i + batch], k)
        total += -(torch.logsumexp(w, 0) - math.log(k)).sum().item()
    return total / len(x)


def latent_picture(models, x, labels, path):
    try:
        import matplotlib
    except ImportError:
        print("(no matplotlib: the latent spaces are not drawn)")
        return False
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, len(models), figsize=(4 * len(models), 4))
    for ax, (family, model) in zip(np.atleast_1d(axes), models.items()):
        with torch.no_grad():
            q = model.posterior(x)
            m = q.mean.cpu().numpy()
        colours = plt.get_cmap("tab10")
        for digit in range(10):
            at = labels == digit
            ax.scatter(m[at, 0], m[at, 1], color=colours(digit), s=8, label=str(digit))
        ax.set_title(f"{family} (2-D)")
        if family == "von_mises":         # the torus, cut open at -pi and pi
            ax.set_xlim(-math.pi, math.pi)
            ax.set_ylim(-math.pi, math.pi)
            ax.set_xlabel("angle 1")
            ax.set_ylabel("angle 2")
    handles, names = np.atleast_1d(axes)[0].get_legend_handles_labels()
    fig.legend(handles, names, title="digit", loc="center right", markerscale=2)
    fig.suptitle("posterior means of the test digits, coloured by digit")
    fig.tight_layout(rect=(0, 0, 0.95, 1))
    fig.savefig(path, dpi=110)
    return True


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--epochs", type=int, default=60)
    ap.add_argument("--dims", default="2,5")
    ap.add_argument("--families", default=",".join(FAMILIES))
    ap.add_argument("--k", type=int, default=200, help="importance samples per test image")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    ap.add_argument("--out", default="results/vae")
    ap.add_argument("--data", help="the digits as saved by --save-data (else scikit-learn's)")
    ap.add_argument("--save-data", metavar="PATH", help="save the digits to PATH and stop")
    args = ap.parse_args()
    if args.save_data:
        images, target = load_images()
        np.savez_compressed(args.save_data, images=images, target=target)
        print(f"saved {len(images)} images to {args.save_data}")
        return
    torch.manual_seed(0)
    dims = [int(d) for d in args.dims.split(",")]
    families = args.families.split(",")
    train_x, test_x, labels = digits(args.device, args.data)
    print(f"digits: {len(train_x)} training and {len(test_x)} test images, {args.device}")
    table, flat = {}, {}
    for dim in dims:
        for family in families:
            model = VAE(family, dim).to(args.device)
            train(model, train_x, args.epochs, label=f"{family}, {dim}-D")
            table[family, dim] = test_nll(model, test_x, args.k)
            if dim == 2:
                flat[family] = model
    lines = ["# VAE on binarised digits: test negative log-likelihood (nats)", "",
             f"`{' '.join(['python examples/vae.py'] + sys.argv[1:])}`: {args.epochs} epochs, "
             f"importance-weighted with K = {args.k} posterior samples per test image.", "",
             "| latent family | " + " | ".join(f"{d}-D" for d in dims) + " |",
             "|---|" + "---|" * len(dims)]
    for family in families:
        lines.append(f"| {family} | "
                     + " | ".join(f"{table[family, d]:.2f}" for d in dims) + " |")
    out = ROOT / args.out
    out.parent.mkdir(parents=True, exist_ok=True)
    Path(f"{out}.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines[4:]))
    if flat and latent_picture(flat, test_x, labels, f"{out}_latents.png"):
        print(f"written {args.out}.md and {args.out}_latents.png")
    else:
        print(f"written {args.out}.md")


if __name__ == "__main__":
    main()
