"""Distributions composed from generated modules: Dirichlet from Gamma's kernels, and
truncation and mixtures of any univariate distribution irgen builds (user-written included)."""
