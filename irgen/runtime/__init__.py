"""What generated modules import: their kernels, called where the arrays are (arrays.py),
and the host kernels' thread count."""
from ..abi import Kernel
from ..targets.c.runtime import get_num_threads, set_num_threads
from .arrays import KernelSet

__all__ = ["Kernel", "KernelSet", "set_num_threads", "get_num_threads"]
