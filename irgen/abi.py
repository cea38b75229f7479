"""What the code generator and the run time agree on: the record of a kernel that generated
modules carry, and the C signature of every exported kernel (the templates print it, cffi
declares it). Both sides import this module and nothing else of each other."""
from __future__ import annotations

from typing import NamedTuple


class Kernel(NamedTuple):
    """A kernel as a generated module describes it to the run time."""
    inputs: tuple            # argument names: the variable (if any), then the parameters
    outputs: tuple           # result names
    grouped: bool = False    # its elements are evaluated ordered by branch group
    kind: str = "map"        # map: elementwise; sample: draws; rsample: draws and gradients
    rows: bool = False       # a simplex's kernel: the arguments' last axis is a row


def kernel_cdecl(kernel_name: str, dtype: str, n_in: int, n_out: int, kind="map",
                 rows=False, addresses=False) -> str:
    """The exported C declaration of one kernel. A simplex's kernels take the length of a
    row after the count of elements; samplers then the seed and the offset of their first
    element in the stream (element i draws from stream offset + i: a part of a larger call,
    a shard, draws what the whole call draws there). addresses: the arrays as
    integers (intptr_t), for callers that hold addresses; every ABI the kernels are built
    for passes the two alike."""
    T = "double" if dtype == "float64" else "float"
    const_in, out = ("intptr_t", "intptr_t") if addresses else (f"const {T}*", f"{T}*")

    def c_type(name):
        if name == "seed":
            return "uint64_t"
        return const_in if name.startswith("in") else out if name.startswith("out") \
            else "int64_t"          # n, row, offset and the inputs' strides

    args = [f"{c_type(a)} {a}" for a in kernel_arguments(n_in, n_out, kind, rows)]
    return f"void irgen_{kernel_name}_{dtype}({', '.join(args)})"


def kernel_arguments(n_in: int, n_out: int, kind="map", rows=False) -> list[str]:
    """The names of a kernel's C arguments, in kernel_cdecl's order."""
    args = ["n"] + (["row"] if rows else []) + (["seed", "offset"] if kind != "map" else [])
    for i in range(n_in):
        args += [f"in{i}", f"s{i}"]
    return args + [f"out{i}" for i in range(n_out)]


def packed_cdecl(kernel_name: str, dtype: str) -> str:
    """The declaration of a kernel's packed entry point, one signature for every kernel of
    elements (not a simplex's): words holds a sampler's seed and offset, then p the inputs'
    and the outputs' addresses and s the inputs' strides, in kernel_cdecl's order. A caller
    that builds argument lists in C (the array boundary, irgen/targets/c/boundary.c) calls
    any kernel through it."""
    return (f"void irgen_{kernel_name}_{dtype}_packed(int64_t n, const uint64_t* words, "
            "void* const* p, const int64_t* s)")


# the raw generators every C module exports (templates/random.c.j2), for tests
RAW_GENERATORS = (
    "void irgen_philox4x32_10(int64_t n, const uint32_t* ctr, const uint32_t* key, "
    "uint32_t* out);",
    "void irgen_philox4x64_10(int64_t n, const uint64_t* ctr, const uint64_t* key, "
    "uint64_t* out);")
