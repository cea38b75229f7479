"""irgen: implicit reparameterization gradients from CDFs written once in a Python DSL."""
__version__ = "0.1.0"
