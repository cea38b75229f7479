"""Dirichlet(alpha): normalised Gamma(alpha_j, 1) draws, alpha along the last axis."""
from irgen.dsl import *
from irgen.distributions.gamma import gamma


@dsl
def dirichlet_term(x, alpha):
    """An entry's part of the log density, (alpha - 1) log x - lgamma(alpha); 0 log 0 is 0
    where alpha = 1, and an entry outside [0, 1] is off the support."""
    if x < 0.0 or x > 1.0:
        return -INF
    if alpha == 1.0:
        return 0.0
    return (alpha - 1.0) * log(x) - lgamma(alpha)


@dsl
def dirichlet_total(a0):
    """The row's part: log 1/B(alpha) is lgamma(sum(alpha)) less the entries' lgamma."""
    return lgamma(a0)


dirichlet = Simplex(
    name="dirichlet",
    doc="""Dirichlet distribution with concentrations alpha along the last axis.

z = G / sum(G) for independent G_j ~ Gamma(alpha_j, 1), a row per batch entry in one kernel:
the row's Gamma draws (in log space for alpha_j below 0.1 in float64 and 0.5 in float32,
where G_j can underflow, so that alpha = 1e-4 keeps its proportions), their implicit
gradients, and the normalisation, which carries each dG_j/dalpha_j to every z_i (Figurnov,
Mohamed and Mnih's construction): dz_i/dalpha_j = v_j (delta_ij - z_i), with
v_j = (dG_j/dalpha_j) / sum(G). rsample returns (z, v), the Jacobian in O(K) numbers;
vjp(z, v, g) is g . dz/dalpha in O(K) per row, jacobian(z, v) the K x K matrices.""",
    param=Param("alpha", "concentrations", "positive"),
    component=gamma,
    fixed=(1.0,),                 # unit rate
    log_space_below=(0.1, 0.5),
    log_prob_terms=dirichlet_term,
    log_prob_total=dirichlet_total,
)
