"""Analyses of IR function bodies that printers use to decide what to emit: which
statements may take elements out of a block (break, return), which loop bodies break,
which symbols a statement reads, which are read after (or outside) a loop, and which
only inside a branch."""
from __future__ import annotations

import dataclasses

import sympy as sp

from . import ir


def leaves(s) -> bool:
    """Whether some lanes may return or break in statement s (breaks of inner loops aside)."""
    if isinstance(s, (ir.Return, ir.Break)):
        return True
    if isinstance(s, ir.If):
        return any(leaves(t) for t in s.body + s.orelse)
    if isinstance(s, ir.Loop):
        return any(isinstance(t, ir.Return) for t in ir.walk(s.body))
    return False


def cheap(body) -> bool:
    """A branch body short enough to run under its mask unconditionally: inside loops such
    bodies (a convergence test's break) are entered at unpredictable iterations."""
    return len(body) <= 4 and all(isinstance(s, (ir.Assign, ir.Break)) for s in body)


def breaks(body) -> bool:
    """Whether a loop body breaks out of its own loop (not only out of inner ones)."""
    for s in body:
        if isinstance(s, ir.Break):
            return True
        if isinstance(s, ir.If) and (breaks(s.body) or breaks(s.orelse)):
            return True
    return False


def reads(s) -> set:
    """Symbols a statement reads itself (not in the statements it contains)."""
    if isinstance(s, ir.Assign):
        return s.expr.free_symbols
    if isinstance(s, ir.Call):
        return set().union(*(sp.sympify(a).free_symbols for a in s.args))
    if isinstance(s, ir.If):
        return sp.sympify(s.cond).free_symbols
    if isinstance(s, ir.Return):
        return set().union(*(sp.sympify(v).free_symbols for v in s.values))
    return set()


def reads_outside(body, loop) -> set:
    """Symbols read by statements of body that are not inside `loop`."""
    out = set()

    def visit(stmts):
        for s in stmts:
            if s is loop:
                continue
            out.update(reads(s))
            if isinstance(s, ir.If):
                visit(s.body)
                visit(s.orelse)
            elif isinstance(s, ir.Loop):
                visit(s.body)

    visit(body)
    return out


def reads_after(body, loop) -> set:
    """Symbols read by statements that may run after `loop` (which is in no other loop)."""
    out, found = set(), [False]

    def visit(stmts):
        for s in stmts:
            if s is loop:
                found[0] = True
            elif found[0]:
                out.update(*(reads(t) for t in ir.walk([s])))
            elif isinstance(s, ir.If):
                visit(s.body)
                visit(s.orelse)

    visit(body)
    return out


def branch_locals(fn_body, branch) -> set:
    """Symbols that a branch body writes (at its own level) before it reads them and that
    no statement outside the body reads: no lane outside the branch reads their values,
    so a lane printer need not keep those lanes' old ones."""
    inside = {id(s) for s in ir.walk(branch)}
    outside = set().union(*(reads(s) for s in ir.walk(fn_body) if id(s) not in inside))
    written, early = set(), set()
    for s in branch:
        early |= set().union(*(reads(t) for t in ir.walk([s]))) - written
        if isinstance(s, ir.Assign):
            written.add(s.target)
        elif isinstance(s, (ir.Call, ir.Draw)):
            written.update(s.targets)
    return written - early - outside


def read_outside_loops(body) -> set:
    """Loop indices that some statement outside their loop reads."""
    out = set()

    def visit(stmts, inside: frozenset):
        for s in stmts:
            out.update(x for x in reads(s) if x in indices and x not in inside)
            if isinstance(s, ir.If):
                visit(s.body, inside)
                visit(s.orelse, inside)
            elif isinstance(s, ir.Loop):
                visit(s.body, inside | {s.index})

    indices = {s.index for s in ir.walk(body) if isinstance(s, ir.Loop) and s.index is not None}
    visit(body, frozenset())
    return out


def flag_set_at_break(body):
    """(symbol, number) where a loop body sets the symbol only to mark that it broke: every
    break of this loop has `flag = number` right before it (one symbol, one number), the
    body assigns it nowhere else and never reads it (`done = 1.0; break`); else None. Lane
    printers set such a flag once after the loop, under the mask of the lanes that broke,
    where they would otherwise carry it and a copy of it through every step."""
    stops = []            # the statement right before each break of this loop

    def scan(stmts):
        for i, s in enumerate(stmts):
            if isinstance(s, ir.Break):
                stops.append(stmts[i - 1] if i else None)
            elif isinstance(s, ir.If):
                scan(s.body)
                scan(s.orelse)
    scan(body)
    if not stops or not all(isinstance(s, ir.Assign) and isinstance(s.expr, sp.Number)
                            for s in stops):
        return None
    flag, value = stops[0].target, stops[0].expr
    if any(s.target != flag or s.expr != value for s in stops):
        return None
    for s in ir.walk(body):
        if flag in reads(s):
            return None
        if isinstance(s, ir.Assign) and s.target == flag and not any(s is t for t in stops):
            return None
        if isinstance(s, (ir.Call, ir.Draw)) and flag in s.targets:
            return None
        if isinstance(s, ir.Loop) and s.index == flag:
            return None
    return flag, value


def without(stmts, target) -> tuple:
    """stmts without their assignments to target, in branches too (not in inner loops,
    which flag_set_at_break has ruled out)."""
    out = []
    for s in stmts:
        if isinstance(s, ir.Assign) and s.target == target:
            continue
        if isinstance(s, ir.If):
            s = dataclasses.replace(s, body=without(s.body, target),
                                    orelse=without(s.orelse, target))
        out.append(s)
    return tuple(out)
