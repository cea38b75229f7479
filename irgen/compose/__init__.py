"""Distributions composed from generated modules: Dirichlet from Gamma's kernels, and
truncation and mixtures of any univariate distribution irgen builds (user-written included),
written once over NumPy arrays and torch tensors (arrays.py), so that they also run on CUDA
tensors; irgen.torch's Truncated and MixtureSameFamily are built on them."""
