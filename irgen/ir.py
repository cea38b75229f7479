"""The IR: a few frozen statement types whose expressions are sympy expressions.

A draw (`uniform()` or `normal()` in a sampler) is a statement too: each one takes the next
value of the element's random stream, so two draws are never the same expression.

Control flow is structured (no goto): loops have a fixed iteration bound, a `while` of the
DSL becomes a bounded Loop whose body starts with `if not cond: break`. Calls to other DSL
functions are statements of their own, so the forward-mode pass can give them derivative
functions. `dump` prints the IR as text, for `irgen show NAME --ir` and for reading bugs.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Union

import sympy as sp


@dataclass(frozen=True)
class Loc:
    file: str
    line: int
    col: int

    def __str__(self):
        return f"{self.file}:{self.line}:{self.col}"


@dataclass(frozen=True)
class Assign:
    target: sp.Symbol
    expr: sp.Expr


@dataclass(frozen=True)
class Call:
    """targets = func(*args); a JVP function has more than one target."""
    targets: tuple
    func: str
    args: tuple


@dataclass(frozen=True)
class Draw:
    """targets = the next draw of the element's stream: kind 'uniform', one value in
    (0, 1); kind 'normal', the radius and angle uniforms of a Box-Muller normal (a DSL
    normal() draw is this, then a call of irgen.lib.portable.box_muller)."""
    targets: tuple
    kind: str
    loc: Optional[Loc] = field(default=None, compare=False)


@dataclass(frozen=True)
class If:
    cond: sp.Basic
    body: tuple
    orelse: tuple = ()


@dataclass(frozen=True)
class Loop:
    """for index in range(start, start + count): body. index may be None. A DSL while loop
    has head > 0: its body's first `head` statements test its condition (the condition's
    own statements, then `if not cond: break`)."""
    count: int
    body: tuple
    index: Optional[sp.Symbol] = None
    start: int = 0
    head: int = 0


@dataclass(frozen=True)
class Break:
    pass


@dataclass(frozen=True)
class Return:
    values: tuple


Stmt = Union[Assign, Call, Draw, If, Loop, Break, Return]


@dataclass(frozen=True)
class Const:
    """A value computed once, in a Scope: an SSA version or a common subexpression."""
    name: sp.Symbol
    expr: sp.Expr


@dataclass(frozen=True)
class Scope:
    """A straight run of assignments (and its return) after SSA and CSE (irgen/ssa.py):
    Const statements in the order a printer declares them, Assign statements that store
    the versions in their variables, and the run's Return, if any. `carried` are the
    names whose values change from one iteration of an enclosing loop to the next.
    Printers declare the constants in a block of their own."""
    body: tuple
    carried: frozenset = frozenset()


@dataclass(frozen=True)
class Function:
    name: str
    params: tuple          # sympy Symbols
    body: tuple
    n_results: int = 1
    doc: str = ""
    loc: Optional[Loc] = field(default=None, compare=False)
    draws: bool = False    # it draws random numbers, itself or through a callee
    outline: bool = False  # emitted once and called rather than inlined: a large function
                           # several kernels share (the quantile solver)


def walk(stmts):
    """Every statement, depth first, in program order."""
    for s in stmts:
        yield s
        if isinstance(s, If):
            yield from walk(s.body)
            yield from walk(s.orelse)
        elif isinstance(s, Loop):
            yield from walk(s.body)


def assigned(stmts) -> list:
    """Symbols assigned anywhere in stmts (loop indices included), in first-seen order."""
    seen = {}
    for s in walk(stmts):
        if isinstance(s, Assign):
            seen.setdefault(s.target, None)
        elif isinstance(s, (Call, Draw)):
            for t in s.targets:
                seen.setdefault(t, None)
        elif isinstance(s, Loop) and s.index is not None:
            seen.setdefault(s.index, None)
    return list(seen)


def dump(fn: Function) -> str:
    lines = [f"def {fn.name}({', '.join(map(str, fn.params))}):"]

    def emit(stmts, depth):
        pad = "    " * depth
        if not stmts:
            lines.append(pad + "pass")
        for s in stmts:
            if isinstance(s, Assign):
                lines.append(f"{pad}{s.target} = {s.expr}")
            elif isinstance(s, Call):
                lines.append(f"{pad}{', '.join(map(str, s.targets))} = "
                             f"{s.func}({', '.join(map(str, s.args))})")
            elif isinstance(s, Draw):
                lines.append(f"{pad}{', '.join(map(str, s.targets))} = draw_{s.kind}()")
            elif isinstance(s, If):
                lines.append(f"{pad}if {s.cond}:")
                emit(s.body, depth + 1)
                if s.orelse:
                    lines.append(f"{pad}else:")
                    emit(s.orelse, depth + 1)
            elif isinstance(s, Loop):
                idx = s.index if s.index is not None else "_"
                lines.append(f"{pad}for {idx} in range({s.start}, {s.start + s.count}):")
                emit(s.body, depth + 1)
            elif isinstance(s, Break):
                lines.append(pad + "break")
            elif isinstance(s, Return):
                lines.append(f"{pad}return {', '.join(map(str, s.values))}")
    emit(fn.body, 1)
    return "\n".join(lines)
