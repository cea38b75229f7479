"""What generated modules import: the compiled-kernel loader and the array boundary."""
from .arrays import KernelSet
from .loader import get_num_threads, load, set_num_threads

__all__ = ["KernelSet", "load", "set_num_threads", "get_num_threads"]
