"""The paper's section 6.2: latent Dirichlet allocation with a Dirichlet posterior over each
document's topic proportions, trained with irgen.torch's implicit reparameterization
gradients, against the Logistic-Normal surrogate of Srivastava and Sutton (2017).

The model (LDA, topics as in the paper, not ProdLDA's product of experts): a document's
topic proportions theta ~ Dirichlet(alpha) with the prior's concentrations alpha learned,
each word drawn from the mixture theta . beta of K topics beta_k = softmax(phi_k) over the
vocabulary; an encoder network maps a document's bag of words to its posterior. The
models differ in that posterior and its prior:
- Dirichlet: q(theta | x) = Dirichlet(encoder(x)), drawn with irgen.torch's Dirichlet
  (one row kernel per batch: the Gamma draws, their implicit gradients, the
  normalisation); KL(q || Dirichlet(alpha)) in closed form.
- Logistic-Normal: theta = softmax(h), h ~ N(mu(x), diag sigma(x)^2), and the Laplace
  approximation of Dirichlet(alpha) in the softmax basis as the prior, h ~ N(mu0, sigma0^2),
  mu0_k = log alpha_k - mean(log alpha), sigma0_k^2 = (1 - 2/K) / alpha_k + sum(1/alpha) / K^2;
  the KL of diagonal Gaussians in closed form.
Both maximise the ELBO with Adam, on the same networks, data and schedule.

Corpora, offline: (a) synthetic, drawn from the LDA generative model with known sparse
topics and a known sparse prior (reported: the learned topics matched to the true ones,
by cosine similarity, and the learned prior against the true one); (b) the Reuters
collection that the `lda` package ships for its tests (395 news articles of August 1996,
4258 words after its stop-word removal; `pip install lda`). Test documents are held out;
test perplexity exp(-sum log p(x) / number of words) with log p(x) estimated by importance
sampling from the posterior (S samples; a lower bound on log p(x), so an upper bound on
perplexity), and the ELBO's bound beside it.

    python examples/paper/lda.py [--quick]

writes results/paper/lda.md and results/paper/lda_prior.png (the learned prior
concentrations, sorted, log scale: the paper's Figure 2)."""
from __future__ import annotations

import argparse
import copy
import math
import sys
from pathlib import Path

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from torch import nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
import report  # noqa: E402

import irgen.compose.dirichlet as dirichlet_kernels  # noqa: E402
from irgen.torch import Dirichlet  # noqa: E402

MODELS = ("dirichlet", "logistic_normal")
LABELS = {"dirichlet": "Dirichlet (irgen)", "logistic_normal": "Logistic-Normal"}

# ---------------------------------------------------------------- corpora


def synthetic_corpus(seed=0, V=500, K=10, docs=2500, length=80):
    """(counts (docs, V), true topics (K, V), true prior alpha (K,)): topics drawn from
    Dirichlet(0.05), a sparse prior alpha from 0.05 to 0.5, lengths 20 + Poisson(length)."""
    rng = np.random.default_rng(seed)
    topics = rng.dirichlet(np.full(V, 0.05), size=K)
    alpha = np.exp(np.linspace(np.log(0.05), np.log(0.5), K))
    theta = rng.dirichlet(alpha, size=docs)
    counts = np.zeros((docs, V))
    for d in range(docs):
        n = 20 + rng.poisson(length)
        counts[d] = rng.multinomial(n, theta[d] @ topics)
    return counts, topics, alpha


def reuters():
    """(counts, vocabulary, titles) of the Reuters collection installed with the `lda`
    package, read from its files (lda/tests/reuters.{ldac,tokens,titles}; this script's own
    name would shadow the package): one line per document, `n id:count ...`."""
    from importlib import metadata
    try:
        dist = metadata.distribution("lda")
    except metadata.PackageNotFoundError:
        raise SystemExit("the Reuters corpus comes with the `lda` package: pip install lda")
    folder = Path(dist.locate_file("lda/tests"))
    vocab = tuple((folder / "reuters.tokens").read_text().split())
    titles = tuple(line.strip() for line in (folder / "reuters.titles").read_text().splitlines())
    lines = (folder / "reuters.ldac").read_text().splitlines()
    counts = np.zeros((len(lines), len(vocab)))
    for d, line in enumerate(lines):
        for pair in line.split()[1:]:
            word, n = pair.split(":")
            counts[d, int(word)] = float(n)
    return counts, vocab, titles


def split(counts, test_fraction=0.2, seed=0):
    order = np.random.default_rng(seed).permutation(len(counts))
    n_test = int(round(test_fraction * len(counts)))
    return counts[order[n_test:]], counts[order[:n_test]]


# ---------------------------------------------------------------- the models


class TopicModel(nn.Module):
    """LDA with an amortised posterior: 'dirichlet' or 'logistic_normal'."""

    def __init__(self, vocabulary: int, topics: int, posterior: str, hidden: int = 100):
        super().__init__()
        self.K, self.posterior_kind = topics, posterior
        self.encoder = nn.Sequential(nn.Linear(vocabulary, hidden), nn.Softplus(),
                                     nn.Linear(hidden, hidden), nn.Softplus())
        self.head = nn.Linear(hidden, topics if posterior == "dirichlet" else 2 * topics)
        self.log_alpha = nn.Parameter(torch.zeros(topics, dtype=torch.float64))
        # topics start distinct (logits of unit spread): from near-uniform ones the topics
        # separate slowly, and matched the true ones no better than chance in 20 epochs
        self.topic_logits = nn.Parameter(torch.randn(topics, vocabulary, dtype=torch.float64))
        self.double()

    @property
    def alpha(self):
        return self.log_alpha.exp()

    def topics(self):
        return torch.softmax(self.topic_logits, -1)

    def prior_laplace(self):
        """(mu0, sigma0^2): the Laplace approximation of Dirichlet(alpha) in the softmax
        basis (Srivastava and Sutton 2017)."""
        a = self.alpha
        mu = self.log_alpha - self.log_alpha.mean()
        var = (1 - 2 / self.K) / a + (1 / a).sum() / self.K ** 2
        return mu, var

    def posterior(self, x):
        h = self.head(self.encoder(torch.log1p(x)))
        if self.posterior_kind == "dirichlet":
            return nn.functional.softplus(h) + 1e-3
        return h[..., :self.K], h[..., self.K:].clamp(-10, 10).exp()   # mu, sigma^2

    def log_likelihood(self, x, theta):
        """sum_v x_v log((theta . beta)_v), per document (and per sample)."""
        return (x * torch.log(theta @ self.topics() + 1e-300)).sum(-1)

    def elbo(self, x, kl_weight=1.0):
        """Per document: E_q[log p(x | theta)] (one draw) - KL(q || prior)."""
        if self.posterior_kind == "dirichlet":
            conc = self.posterior(x)
            q, p = Dirichlet(conc), Dirichlet(self.alpha.expand_as(conc))
            theta = q.rsample()
            kl = torch.distributions.kl_divergence(q, p)
        else:
            mu, var = self.posterior(x)
            mu0, var0 = self.prior_laplace()
            h = mu + var.sqrt() * torch.randn_like(mu)
            theta = torch.softmax(h, -1)
            kl = 0.5 * (var / var0 + (mu - mu0) ** 2 / var0 - 1 + var0.log() - var.log()).sum(-1)
        return self.log_likelihood(x, theta) - kl_weight * kl

    @torch.no_grad()
    def log_marginal(self, x, samples=100, seed=0):
        """Importance-sampled log p(x) per document, the posterior as the proposal:
        logmeanexp_s [log p(x | theta_s) + log p(theta_s) - log q(theta_s | x)]."""
        if self.posterior_kind == "dirichlet":
            conc = self.posterior(x).numpy()
            # log-space draws: entries that underflow keep their log density finite
            log_theta = torch.from_numpy(dirichlet_kernels.log_sample(
                conc, size=(samples,) + conc.shape[:-1], seed=seed))
            theta = log_theta.exp()
            conc = torch.from_numpy(conc)
            log_p = _log_dirichlet(log_theta, self.alpha)
            log_q = _log_dirichlet(log_theta, conc)
        else:
            mu, var = self.posterior(x)
            mu0, var0 = self.prior_laplace()
            gen = torch.Generator().manual_seed(seed)
            h = mu + var.sqrt() * torch.randn((samples,) + mu.shape, generator=gen,
                                              dtype=mu.dtype)
            theta = torch.softmax(h, -1)
            log_p = _log_normal(h, mu0, var0)
            log_q = _log_normal(h, mu, var)
        w = self.log_likelihood(x, theta) + log_p - log_q
        return torch.logsumexp(w, 0) - math.log(samples)


def _log_dirichlet(log_theta, conc):
    return (((conc - 1) * log_theta).sum(-1) + torch.lgamma(conc.sum(-1))
            - torch.lgamma(conc).sum(-1))


def _log_normal(h, mu, var):
    return (-0.5 * ((h - mu) ** 2 / var + var.log() + math.log(2 * math.pi))).sum(-1)


def perplexity(model, x, samples=100, batch=200):
    """(importance-sampled, ELBO-bound) test perplexity: exp(-sum log p / words)."""
    words = x.sum().item()
    marginal, bound = 0.0, 0.0
    for i in range(0, len(x), batch):
        xb = x[i:i + batch]
        marginal += model.log_marginal(xb, samples, seed=i).sum().item()
        with torch.no_grad():
            bound += torch.stack([model.elbo(xb) for _ in range(10)]).mean(0).sum().item()
    return math.exp(-marginal / words), math.exp(-bound / words)


def train(model, x, epochs, batch=64, lr=3e-3, warmup=0.2, valid=None, every=5, label="",
          log=print, seed=0):
    """Adam on the negative ELBO per word; the KL term's weight rises from 0 to 1 over the
    first `warmup` of the epochs. With `valid` documents, the parameters of the epoch with
    the best validation ELBO (checked every `every` epochs at full KL weight) are kept:
    early stopping, the same for every model. Returns the training ELBO per word after each
    epoch."""
    torch.manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    n = len(x)
    history, best, kept = [], -math.inf, None
    for epoch in range(epochs):
        weight = min(1.0, (epoch + 1) / max(1.0, warmup * epochs))
        perm = torch.randperm(n)
        total, words = 0.0, 0.0
        for i in range(0, n, batch):
            xb = x[perm[i:i + batch]]
            elbo = model.elbo(xb, kl_weight=weight)
            loss = -elbo.sum() / xb.sum()
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += elbo.sum().item()
            words += xb.sum().item()
        history.append(total / words)
        note = ""
        if valid is not None and weight == 1.0 and (epoch + 1) % every == 0:
            with torch.no_grad():
                score = torch.stack([model.elbo(valid) for _ in range(5)]).mean().item() \
                    * len(valid) / valid.sum().item()
            if score > best:
                best, kept = score, copy.deepcopy(model.state_dict())
                note = f", validation ELBO {score:.4f} (best)"
        if log and (epoch + 1) % max(1, epochs // 10) == 0:
            log(f"  {label:28s} epoch {epoch + 1:4d}/{epochs}  ELBO per word "
                f"{history[-1]:8.4f}  (KL weight {weight:.2f}){note}")
    if kept is not None:
        model.load_state_dict(kept)
    return history


# ---------------------------------------------------------------- topic recovery


def match_topics(learned, true):
    """Hungarian matching of learned to true topics by cosine similarity: (pairs, mean
    similarity of the matched pairs, mean similarity of all pairs: chance)."""
    a = learned / np.linalg.norm(learned, axis=1, keepdims=True)
    b = true / np.linalg.norm(true, axis=1, keepdims=True)
    sim = a @ b.T
    rows, cols = linear_sum_assignment(-sim)
    return list(zip(rows, cols)), float(sim[rows, cols].mean()), float(sim.mean())


# ---------------------------------------------------------------- the experiment


def run(args, say):
    """Train both models on both corpora, with every seed; (corpora, perplexities
    {(corpus, model): [(importance-sampled, ELBO bound) per seed]}, the models of the first
    seed, the true topics and prior)."""
    torch.set_num_threads(1)
    counts, true_topics, true_alpha = synthetic_corpus(docs=800 if args.quick else 2500)
    r_counts, vocab, _ = reuters()
    corpora = {"synthetic": (counts, len(true_alpha), None),
               "Reuters (lda package)": (r_counts, args.topics, vocab)}
    epochs = 100 if args.quick else 300
    results, models, recovered = {}, {}, {}
    for corpus, (counts, K, _) in corpora.items():
        train_all, test = split(counts)
        train_x, valid_x = split(train_all, 0.1, seed=1)
        train_x, valid_x, test_x = (torch.from_numpy(a) for a in (train_x, valid_x, test))
        say(f"{corpus}: {len(train_x)} training, {len(valid_x)} validation and {len(test_x)} "
            f"test documents, {counts.shape[1]} words, {int(counts.sum())} tokens, K = {K}")
        for kind in MODELS:
            for seed in range(args.seeds):
                torch.manual_seed(seed)
                model = TopicModel(counts.shape[1], K, kind)
                history = train(model, train_x, epochs, lr=args.lr, valid=valid_x,
                                label=f"{corpus}, {kind}, seed {seed}", seed=seed,
                                log=say if seed == 0 else None)
                found = perplexity(model, test_x, samples=args.samples)
                results.setdefault((corpus, kind), []).append(found)
                if corpus == "synthetic":
                    recovered.setdefault(kind, []).append(
                        (match_topics(model.topics().detach().numpy(), true_topics)[1],
                         int(np.sum(model.alpha.detach().numpy() < 0.01))))
                if seed == 0:
                    models[corpus, kind] = model
                say(f"  {LABELS[kind]}, seed {seed}: test perplexity {found[0]:.1f} "
                    f"(importance-sampled), {found[1]:.1f} (ELBO bound); training ELBO "
                    f"per word {history[0]:.3f} -> {history[-1]:.3f}")
    return corpora, results, models, recovered, true_topics, true_alpha


def _spread(values):
    values = np.asarray(values)
    if len(values) == 1:
        return f"{values[0]:.1f}"
    return f"{values.mean():.1f} +- {values.std(ddof=1):.1f}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="fewer documents and epochs, one seed (< 2 min)")
    ap.add_argument("--topics", type=int, default=20, help="topics for Reuters (default 20)")
    ap.add_argument("--seeds", type=int, help="trainings per model (default 3, --quick 1)")
    ap.add_argument("--lr", type=float, default=3e-3, help="Adam's learning rate")
    ap.add_argument("--samples", type=int, default=200,
                    help="importance samples per test document")
    ap.add_argument("--out", type=Path, default=report.OUT,
                    help="folder for the table and the picture (default results/paper)")
    args = ap.parse_args(argv)
    args.seeds = args.seeds or (1 if args.quick else 3)
    report.OUT = args.out
    say = report.Progress()
    corpora, results, models, recovered, true_topics, true_alpha = run(args, say)

    rows = []
    for corpus in corpora:
        for kind in MODELS:
            found = np.array(results[corpus, kind])
            rows.append([corpus, LABELS[kind], _spread(found[:, 0]), _spread(found[:, 1]),
                         f"{np.mean(models[corpus, kind].alpha.detach().numpy() < 1):.2f}"])
    recovery = []
    for kind in MODELS:
        m = models["synthetic", kind]
        pairs, matched, chance = match_topics(m.topics().detach().numpy(), true_topics)
        alpha = m.alpha.detach().numpy()
        order = np.array([alpha[i] for i, _ in sorted(pairs, key=lambda p: p[1])])
        recovery.append([LABELS[kind], f"{matched:.3f}", f"{chance:.3f}",
                         ", ".join(f"{a:.2f}" for a in order),
                         ", ".join(f"{m:.2f} ({dead})" for m, dead in recovered[kind])])
    vocab = corpora["Reuters (lda package)"][2]
    m = models["Reuters (lda package)", "dirichlet"]
    alpha = m.alpha.detach().numpy()
    words = [[f"{k}", f"{alpha[k]:.3f}",
              " ".join(vocab[j] for j in np.argsort(-m.topics()[k].detach().numpy())[:10])]
             for k in np.argsort(-alpha)[:6]]
    seeds = f"mean +- standard deviation over {args.seeds} seeds" if args.seeds > 1 \
        else "one seed"
    text = "\n".join([
        "# LDA with a Dirichlet posterior against the Logistic-Normal surrogate", "",
        f"`python examples/paper/lda.py{' --quick' if args.quick else ''}` on "
        f"{report.machine()}; {report.versions()}. Adam (learning rate {args.lr:g}), "
        f"{100 if args.quick else 300} epochs with early stopping on a validation tenth of "
        f"the training documents; test perplexity ({seeds}) from {args.samples} importance "
        "samples per test document (posterior as proposal; an upper bound), and from the "
        "ELBO (a looser upper bound); the last column is the fraction of the first seed's "
        "learned prior concentrations below 1.", "",
        report.table(["corpus", "posterior", "test perplexity", "ELBO bound",
                      "prior alpha < 1"], rows), "",
        "Synthetic corpus: the learned topics matched to the true ones (Hungarian matching "
        "on cosine similarity; chance is the mean similarity of all pairs), and the first "
        "seed's learned prior in the order of the true one, "
        + ", ".join(f"{a:.2f}" for a in true_alpha) + "; the last column gives every "
        "seed's matched similarity and (in brackets) its number of topics whose learned "
        "concentration fell below 0.01:", "",
        report.table(["posterior", "matched similarity", "chance", "learned alpha",
                      "per seed"], recovery), "",
        "Reuters, Dirichlet posterior: the six topics of largest prior concentration and "
        "their ten most likely words:", "",
        report.table(["topic", "alpha", "top words"], words), ""])
    path = report.write("lda.md", text)
    print(text)
    picture = plot(models, true_alpha)
    say(f"wrote {report.shown(path)}"
        + (f" and {report.shown(picture)}" if picture else " (no matplotlib)"))
    return results, models, recovery


def plot(models, true_alpha):
    plt = report.pyplot()
    if plt is None:
        return None
    corpora = list(dict.fromkeys(c for c, _ in models))
    fig, axes = plt.subplots(1, len(corpora), figsize=(5.5 * len(corpora), 4),
                             constrained_layout=True)
    for ax, corpus in zip(np.atleast_1d(axes), corpora):
        for kind in MODELS:
            a = np.sort(models[corpus, kind].alpha.detach().numpy())[::-1]
            ax.plot(np.arange(1, len(a) + 1), a, marker="o", ms=3, label=LABELS[kind])
        if corpus == "synthetic":
            ax.plot(np.arange(1, len(true_alpha) + 1), np.sort(true_alpha)[::-1], "k--",
                    label="true prior")
        ax.axhline(1.0, color="grey", lw=0.8, ls=":")
        ax.set_yscale("log")
        ax.set_xlabel("topic, by concentration")
        ax.set_ylabel("learned prior concentration alpha_k")
        ax.set_title(corpus)
        ax.legend(fontsize=8)
    path = report.OUT / "lda_prior.png"
    fig.savefig(path, dpi=110)
    return path


if __name__ == "__main__":
    main()
