"""The set of IR functions one generated file needs: DSL functions lowered once, their
forward-mode variants, and the kernel entry points, in callee-first order."""
from __future__ import annotations

import dataclasses
import importlib

from . import ad, analysis, ir
from .dsl import DSLFunction
from .errors import DSLError
from .frontend import lower
from .rules import RULE_LIBRARY


class Program:
    def __init__(self):
        self.sources: dict[str, DSLFunction] = {}
        self.lowered: dict[str, ir.Function] = {}
        self.functions: dict[str, ir.Function] = {}   # emitted name -> function, callees first
        self._active: list = []

    def register(self, f: DSLFunction):
        old = self.sources.get(f.name)
        if old is not None and old is not f:
            raise DSLError(f"a second DSL function named '{f.name}' (the first is at "
                           f"{old.file}:{old.first_line})", f.file, f.first_line, 0,
                           "DSL function names must be unique within a distribution")
        self.sources[f.name] = f

    def lower(self, name: str) -> ir.Function:
        if name not in self.lowered:
            if name not in self.sources:
                module = importlib.import_module(RULE_LIBRARY[name])
                self.register(getattr(module, name))
            fn, callees = lower(self.sources[name])
            for callee in callees.values():
                self.register(callee)
            self.lowered[name] = fn
        return self.lowered[name]

    def require(self, name: str, spec: tuple = ()) -> str:
        """Make sure function `name`, differentiated per spec, is emitted; return its name."""
        key = ad.jvp_name(name, spec)
        if key in self.functions:
            return key
        if key in self._active:
            f = self.sources[name]
            raise DSLError(f"'{name}' calls itself (through {' -> '.join(self._active)})",
                           f.file, f.first_line, 0, "write the recursion as a bounded loop")
        self._active.append(key)
        fn, needs = ad.jvp(self.lower(name), spec)
        for callee, cspec in sorted(needs, key=lambda n: ad.jvp_name(*n)):
            self.require(callee, cspec)
        self._active.pop()
        self.functions[key] = self._mark_draws(fn)
        return key

    def add(self, fn: ir.Function):
        """Add a kernel entry point whose callees were already required."""
        self.functions[fn.name] = self._mark_draws(fn)

    def keep_reachable(self, roots):
        """Drop the functions that no function in roots calls, directly or not."""
        keep, todo = set(), [r for r in roots if r]
        while todo:
            name = todo.pop()
            if name not in keep:
                keep.add(name)
                todo += [s.func for s in ir.walk(self.functions[name].body)
                         if isinstance(s, ir.Call)]
        self.functions = {n: f for n, f in self.functions.items() if n in keep}

    @property
    def drawing(self) -> set:
        """Names of the emitted functions that take a random stream."""
        return {name for name, f in self.functions.items() if f.draws}

    @property
    def looping(self) -> set:
        """Names of the functions with a loop of their own that lanes may leave at different
        steps (a while loop, or a loop with a break or a return)."""
        return {name for name, f in self.functions.items()
                if any(isinstance(s, ir.Loop) and (s.head or analysis.breaks(s.body)
                                                   or analysis.leaves(s))
                       for s in ir.walk(f.body))}

    @property
    def rejecting(self) -> set:
        """Names of the drawing functions with a while loop (a rejection loop), in their
        own body or a callee's (callees come first in self.functions)."""
        out: set = set()
        for name, f in self.functions.items():
            if f.draws and any((isinstance(s, ir.Loop) and s.head)
                               or (isinstance(s, ir.Call) and s.func in out)
                               for s in ir.walk(f.body)):
                out.add(name)
        return out

    def _mark_draws(self, fn: ir.Function) -> ir.Function:
        """Set fn.draws where fn draws random numbers itself or through a callee (the
        callees are emitted first, so their flags are known)."""
        draws = any(isinstance(s, ir.Draw) or (isinstance(s, ir.Call)
                                               and self.functions[s.func].draws)
                    for s in ir.walk(fn.body))
        return dataclasses.replace(fn, draws=draws) if draws != fn.draws else fn
