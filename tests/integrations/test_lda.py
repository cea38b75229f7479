"""examples/paper/lda.py: the topic models train, their gradients reach the prior and the
encoder, they recover known topics, and their perplexity is the marginal likelihood a
direct integration gives."""
import math
import sys

import numpy as np
import pytest
from scipy import integrate, special, stats

torch = pytest.importorskip("torch")
from paths import ROOT  # noqa: E402

sys.path.insert(0, str(ROOT / "examples" / "paper"))
import lda  # noqa: E402


@pytest.fixture(scope="module")
def tiny():
    counts, topics, alpha = lda.synthetic_corpus(seed=3, V=40, K=3, docs=240, length=60)
    train, test = lda.split(counts)
    return torch.from_numpy(train), torch.from_numpy(test), topics, alpha


@pytest.mark.parametrize("kind", lda.MODELS)
def test_training_raises_the_elbo_and_recovers_the_topics(tiny, kind):
    train, _, topics, _ = tiny
    torch.manual_seed(0)
    model = lda.TopicModel(train.shape[1], 3, kind, hidden=32)
    history = lda.train(model, train, 60, batch=16, lr=1e-2, log=None)
    assert np.mean(history[-5:]) > history[0] + 0.2        # nats per word
    _, matched, chance = lda.match_topics(model.topics().detach().numpy(), topics)
    assert matched > chance + 0.3, (matched, chance)


@pytest.mark.parametrize("kind", lda.MODELS)
def test_gradients_reach_the_prior_and_the_encoder(tiny, kind):
    train, _, _, _ = tiny
    torch.manual_seed(1)
    model = lda.TopicModel(train.shape[1], 3, kind, hidden=16)
    (-model.elbo(train[:20]).sum()).backward()
    for name, p in (("prior", model.log_alpha), ("encoder", model.encoder[0].weight),
                    ("head", model.head.weight), ("topics", model.topic_logits)):
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def _toy_model(kind):
    """K = 2 topics over 3 words, with fixed parameters."""
    torch.manual_seed(2)
    model = lda.TopicModel(3, 2, kind, hidden=4)
    with torch.no_grad():
        model.log_alpha.copy_(torch.log(torch.tensor([0.7, 1.6], dtype=torch.float64)))
        model.topic_logits.copy_(torch.tensor([[2.0, 0.0, -1.0], [-1.0, 0.5, 1.5]],
                                              dtype=torch.float64))
    return model


@pytest.mark.parametrize("kind", lda.MODELS)
def test_importance_sampled_marginal_against_direct_integration(kind):
    """log p(x) = log integral p(theta) prod_v (theta . beta)_v^x_v: for K = 2 a 1-D
    integral, over theta_1 for the Dirichlet prior and over h_1 - h_2 (theta = softmax(h))
    for the Logistic-Normal one; against the model's importance-sampled estimate."""
    model = _toy_model(kind)
    x = torch.tensor([[3.0, 1.0, 2.0]], dtype=torch.float64)
    beta = model.topics().detach().numpy()
    counts = x.numpy()[0]

    def likelihood(t):
        return np.prod((t * beta[0] + (1 - t) * beta[1]) ** counts)
    if kind == "dirichlet":
        a = model.alpha.detach().numpy()
        direct = integrate.quad(lambda t: stats.beta.pdf(t, a[0], a[1]) * likelihood(t),
                                0, 1, limit=200)[0]
    else:
        mu0, var0 = (v.detach().numpy() for v in model.prior_laplace())
        m, s = mu0[0] - mu0[1], math.sqrt(var0[0] + var0[1])
        direct = integrate.quad(lambda d: stats.norm.pdf(d, m, s) * likelihood(special.expit(d)),
                                -np.inf, np.inf, limit=200)[0]
    estimates = [model.log_marginal(x, samples=20000, seed=seed).item() for seed in range(3)]
    assert np.mean(estimates) == pytest.approx(math.log(direct), abs=5e-3)
    # perplexity is exp(-log p / words) of that marginal
    got, _ = lda.perplexity(model, x, samples=20000)
    assert got == pytest.approx(math.exp(-math.log(direct) / 6.0), rel=5e-3)


def test_quick_run_has_both_models_on_both_corpora(tmp_path):
    from importlib import metadata
    try:                             # (an import would find examples/paper/lda.py itself)
        metadata.distribution("lda")
    except metadata.PackageNotFoundError:
        pytest.skip("the Reuters corpus comes with the lda package")
    results, models, _ = lda.main(["--quick", "--out", str(tmp_path)])
    corpora = ("synthetic", "Reuters (lda package)")
    assert set(results) == {(c, k) for c in corpora for k in lda.MODELS}
    text = (tmp_path / "lda.md").read_text()
    for corpus in corpora:
        for kind in lda.MODELS:
            assert f"| {corpus} | {lda.LABELS[kind]} |" in text
            assert all(1 < p < 1e5 for found in results[corpus, kind] for p in found)
    # the learned prior of the Dirichlet model is sparse on the real corpus
    alpha = models["Reuters (lda package)", "dirichlet"].alpha.detach().numpy()
    assert np.mean(alpha < 1) >= 0.5
