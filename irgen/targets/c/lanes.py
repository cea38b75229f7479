"""IR -> lane-parallel C: every function evaluated on a SIMD vector of elements at once.

A core does its arithmetic in SIMD registers of 2 to 16 lanes; code that runs one element at
a time leaves all but one lane idle, and the series and continued fractions of a CDF are long
runs of arithmetic. Here each function takes GCC vector-extension values, one lane per
element, and a lane mask, and control flow becomes predication, as on a GPU warp:

- if/else runs each branch under its mask, behind a test that some lane takes it, except
  short branch bodies (a convergence test's break), which run unconditionally: they are
  entered unpredictably, and a mispredicted test costs more than the body;
- a loop runs while some lane is still in it; break and return take lanes out of the masks
  of every block they leave, and the rest of a block runs only while some lane is left;
- an assignment inside a branch keeps the old value in the lanes the branch does not cover;
  a loop body writes all its lanes, and lanes that leave early (or never entered) get back
  the variables read after the loop from copies made when they leave (or before it),
  except a flag the loop sets only right before its breaks (`done = 1.0; break`), which is
  set once after the loop from the mask of the lanes that broke (one copy and one select
  fewer a step: float64 Gamma implicit_grad 2% faster);
- fabs, sqrt, floor, fmin, fmax and copysign are vector operations; exp, log and the other
  transcendental functions come from glibc's vector math library where it is present
  (within 4 ulp, against libm's 1); otherwise exp is a polynomial of irgen's own (within
  1.2 ulp) and the others are libm lane by lane on the active lanes.

Each lane performs the arithmetic of the scalar code in the same order and without fused
multiply-adds, so arithmetic rounds as in the scalar code. Inactive lanes may hold anything
(NaN, inf): IEEE arithmetic does not trap, and such lanes are never stored. Loop indices are
uniform across the lanes in a loop and stay scalars, so tables are indexed directly."""
from __future__ import annotations

from dataclasses import dataclass

import sympy as sp
from sympy.core.relational import Relational

from ... import analysis as A
from ... import ir
from ... import primitives as P
from ..cfamily import Dtype, ExprPrinter, FunctionPrinter, c_name, kind

# Vector operations rather than lane-by-lane calls: cheap, and defined for every input.
VECTOR_PRIMITIVES = {"fabs", "sqrt", "floor", "fmin", "fmax", "copysign", "exponent", "mantissa",
                     "pow2"}
# Functions of glibc's vector math library (libmvec, within 4 ulp), used where present:
# the first few since glibc 2.22, the rest since 2.35.
MVEC_OLD = {"exp", "log", "sin", "cos", "pow"}
MVEC = MVEC_OLD | {"log1p", "expm1", "tan", "atan", "atan2", "sinh", "cosh", "tanh", "erf",
                   "erfc"}
_BOOL = (Relational, sp.And, sp.Or, P.Not, P.DSLPredicate, sp.logic.boolalg.BooleanAtom)


@dataclass(frozen=True)
class Again:
    """Placed after a sampler's while-loop test: at the pass the stream allows last (a
    chunk's first pass of draws allows one, a fresh stream the loop's own bound), the lanes
    still in the loop are marked to be drawn again, in a second pass, and all leave."""
    limit: str       # the C names of the pass's limit and of the loop's counter
    counter: str


def lane_types(t: Dtype) -> tuple[str, str, str]:
    """(value vector type, mask vector type, lane count macro) of a dtype."""
    v = "irgen_vd" if t.name == "float64" else "irgen_vf"
    return v, v.replace("_v", "_m"), f"IRGEN_W{t.suffix}"


class LaneExprPrinter(ExprPrinter):
    """Prints IR expressions over vectors; parts that involve no lane value stay scalar."""

    def __init__(self, dtype: Dtype):
        super().__init__(dtype)
        self.scalar: set = set()       # symbols that hold one value for all lanes
        self.uniform: dict = {}        # loop index -> its scalar C expression
        self.mask = "irgen_m0"         # lanes the current block runs for
        self._in_scalar = False

    def is_vec(self, e) -> bool:
        return any(s not in self.scalar and s not in P.CONSTANT_NAMES
                   for s in sp.sympify(e).free_symbols)

    def vec(self, e) -> str:
        """e as a vector value (a scalar is broadcast)."""
        if self.is_vec(e):
            return self(e)
        return f"irgen_bc{self.t.suffix}({self(e)})"

    def p(self, e):
        if e.is_Symbol and e in self.uniform:
            return self.uniform[e], 100
        if isinstance(e, P.detach):
            return self.p(e.args[0])
        if self._in_scalar:
            return super().p(e)
        if not self.is_vec(e):
            self._in_scalar = True
            try:
                s, q = super().p(e)
            finally:
                self._in_scalar = False
            if isinstance(e, _BOOL):
                return f"irgen_mbc{self.t.suffix}({s})", 100
            return s, q
        vector = self._VECTOR.get(kind(e))
        return vector(self, e) if vector else super().p(e)

    # where a vector expression prints differently from a scalar one
    def _piecewise(self, e):
        return self.select(e.args), 100

    def _table(self, e):
        raise NotImplementedError(f"table {type(e).__name__} indexed by a lane value")

    def _primitive(self, e):
        name, s = type(e).__name__, self.t.suffix
        args = ", ".join(self.vec(a) for a in e.args)
        if name in VECTOR_PRIMITIVES:
            return f"irgen_v_{name}{s}({args})", 100
        return f"irgen_v_{name}{s}({self.mask}, {args})", 100

    def _converged(self, e):
        step, total, tol = e.args
        s = self.t.suffix
        return (f"(irgen_v_fabs{s}({self.vec(step)}) <= {self.wrap(tol, 80)} * "
                f"irgen_v_fabs{s}({self.vec(total)}))"), 100

    def _isnan(self, e):
        x = self.wrap(e.args[0], 100)
        return f"({x} != {x})", 100

    def _isinf(self, e):
        return (f"(irgen_v_fabs{self.t.suffix}({self.vec(e.args[0])}) == "
                f"{self.t.consts['INF']})"), 100

    def _not(self, e):
        return f"(~{self.wrap(e.args[0], 100)})", 100

    def _and_or(self, e):
        op = " & " if isinstance(e, sp.And) else " | "
        return "(" + op.join(self.wrap(a, 100) for a in sorted(
            e.args, key=sp.default_sort_key)) + ")", 100

    def _relational(self, e):
        return f"({self.vec(e.lhs)} {e.rel_op} {self.vec(e.rhs)})", 100

    _VECTOR = {"piecewise": _piecewise, "table": _table, "primitive": _primitive,
               "converged": _converged, "isnan": _isnan, "isinf": _isinf, "not": _not,
               "and": _and_or, "or": _and_or, "relational": _relational}

    def select(self, pieces) -> str:
        (v, c), rest = pieces[0], pieces[1:]
        if c is sp.true or not rest:
            return self.vec(v)
        return f"irgen_sel{self.t.suffix}({self(c)}, {self.vec(v)}, {self.select(rest)})"

    def pow(self, e):
        b, x = e.args
        s = self.t.suffix
        if x.is_Number and float(x) == int(float(x)) and abs(float(x)) <= 4:
            return super().pow(e)
        if x == sp.Rational(1, 2):
            return f"irgen_v_sqrt{s}({self.vec(b)})", 100
        if x == sp.Rational(-1, 2):
            return f"{self.literal(1)} / irgen_v_sqrt{s}({self.vec(b)})", 80
        return f"irgen_v_pow{s}({self.mask}, {self.vec(b)}, {self.vec(x)})", 100


class LanePrinter(FunctionPrinter):
    """Prints one IR function as a lane-parallel C function: `NAME_v_f64(mask, lanes...)`."""

    def __init__(self, dtype: Dtype, qualifier: str, drawing=frozenset(), looping=frozenset()):
        super().__init__(dtype, qualifier, drawing)
        self.looping = set(looping)     # names of the functions with a loop (see print_call)
        self.rng_type = f"irgen_rng_v{dtype.suffix}"
        self.e = LaneExprPrinter(dtype)
        self.V, self.M, _ = lane_types(dtype)
        self.masks: list = []          # (mask variable, "fn" | "if" | "loop"), outermost first
        self.locals: list = []         # per open branch, the symbols only it reads
        self.loops: list = []          # (broken-lanes mask, saved variables) per open loop
        self.n_masks = 0
        self.shadowed: set = set()     # loop indices read after their loop
        self.fn_body: tuple = ()       # the function being printed
        self.returned = False          # whether some lanes may have returned already
        self.draws = False             # whether the function takes a random stream

    @property
    def guarded(self) -> bool:
        """Whether lanes outside the current block read its variables later: true in a
        branch. A loop body writes all of its lanes; lanes that leave by break get their
        values back from copies made at the break, lanes that never entered from copies
        made before the loop."""
        return self.masks[-1][1] == "if"

    def signature(self, fn: ir.Function) -> str:
        V, M = self.V, self.M
        params = [f"{M} irgen_m0"] + [f"{V} {c_name(p)}" for p in fn.params]
        if fn.draws:
            params.append(f"{self.rng_type}* irgen_rng")
        params += [f"{V}* irgen_r{i}" for i in range(1, fn.n_results)]
        qualifier = self.outline_qualifier if fn.outline else self.qualifier
        return f"{qualifier} {V} {fn.name}_v{self.t.suffix}({', '.join(params)})"

    def function(self, fn: ir.Function) -> str:
        V, s = self.V, self.t.suffix
        zero = f"irgen_bc{s}({self.e.literal(0)})"
        lines = [self.signature(fn), "{"]
        params = set(fn.params)
        for v in ir.assigned(fn.body):
            if v not in params:
                lines.append(f"    {V} {c_name(v)} = {zero};")
        for i in range(fn.n_results):
            lines.append(f"    {V} irgen_ret{i} = {zero};")
        self.shadowed = A.read_outside_loops(fn.body)
        self.fn_body, self.returned = fn.body, False
        self.draws = bool(fn.draws)
        self.masks, self.n_masks = [("irgen_m0", "fn")], 0
        self.loops, self.locals = [], []
        self.e.mask = "irgen_m0"
        self.block(fn.body, lines, 1)
        lines += [f"    *irgen_r{i} = irgen_ret{i};" for i in range(1, fn.n_results)]
        lines += ["    return irgen_ret0;", "}"]
        return "\n".join(lines)

    def new_mask(self, pad, lines, init, kind="if", const=False) -> str:
        self.n_masks += 1
        name = f"irgen_m{self.n_masks}"
        lines.append(f"{pad}{'const ' if const else ''}{self.M} {name} = {init};")
        if not const:
            self.masks.append((name, kind))
            self.e.mask = name
        return name

    def pop_mask(self):
        self.masks.pop()
        self.e.mask = self.masks[-1][0]

    def drop_lanes(self, pad, lines, upto_loop: bool):
        """Take the current block's lanes out of every mask up to the innermost loop's
        (break) or out of all of them (return)."""
        gone = self.new_mask(pad, lines, self.e.mask, const=True)
        if upto_loop:
            broken, saved = self.loops[-1]
            lines.append(f"{pad}{broken} |= {gone};")
            for v, copy in saved:
                lines.append(f"{pad}{copy} = irgen_sel{self.t.suffix}({gone}, {v}, {copy});")
        for name, role in reversed(self.masks):
            lines.append(f"{pad}{name} &= ~{gone};")
            if upto_loop and role == "loop":
                break

    # ---- straight-line code
    def const_line(self, name, expr) -> str:
        if isinstance(expr, _BOOL):       # a condition shared by several selects
            return f"const {self.M} {c_name(name)} = {self.e(expr)};"
        if self.e.is_vec(expr):
            return f"const {self.V} {c_name(name)} = {self.e(expr)};"
        self.e.scalar.add(name)
        return f"const {self.t.ctype} {c_name(name)} = {self.e(expr)};"

    def copy_line(self, target, value) -> str:
        """target = value; in a branch, in the branch's lanes alone (a select), unless
        only the branch reads target, after writing it (analysis.branch_locals): the
        other lanes' values are then never read (float32 Gamma sample 5% faster)."""
        v = self.e.vec(value)
        if self.guarded and target not in self.locals[-1]:
            v = f"irgen_sel{self.t.suffix}({self.e.mask}, {v}, {c_name(target)})"
        return f"{c_name(target)} = {v};"

    def return_lines(self, outs) -> list[str]:
        s = self.t.suffix
        if len(self.masks) == 1 and not self.returned:   # every lane returns here
            return ([f"*irgen_r{i} = {self.e.vec(e)};" for i, e in enumerate(outs[1:], 1)]
                    + [f"return {self.e.vec(outs[0])};"])
        lines = [f"irgen_ret{i} = irgen_sel{s}({self.e.mask}, {self.e.vec(e)}, irgen_ret{i});"
                 for i, e in enumerate(outs)]
        if len(self.masks) == 1:       # every live lane returns here
            lines += [f"*irgen_r{i} = irgen_ret{i};" for i in range(1, len(outs))]
            lines.append("return irgen_ret0;")
        else:
            self.returned = True
            sub: list = []
            self.drop_lanes("", sub, upto_loop=False)
            lines += sub
        return lines

    def block_done(self, names):
        self.e.scalar -= set(names)

    # ---- control flow
    def block(self, stmts, lines, depth):
        """After a statement that may take lanes out (a return or break inside a branch),
        the rest of the block runs only if some lane is left."""
        for i, s in enumerate(stmts[:-1]):
            if isinstance(s, ir.If) and A.leaves(s):
                super().block(stmts[:i + 1], lines, depth)
                pad = "    " * depth
                lines.append(f"{pad}if (irgen_any{self.t.suffix}({self.e.mask})) {{")
                self.block(stmts[i + 1:], lines, depth + 1)
                lines.append(f"{pad}}}")
                return
        super().block(stmts, lines, depth)

    def print_call(self, s, lines, depth):
        pad, V, sfx = "    " * depth, self.V, self.t.suffix
        args = [self.e.mask] + [self.e.vec(a) for a in s.args]
        if s.func in self.looping and s.func not in self.drawing:
            # the lanes not in play take a lane in play's arguments: a loop then runs in
            # them on values it was written for, where their own (another branch's) could
            # keep it making subnormal numbers, each a microcode assist on many x86
            # processors (float32 Gamma implicit_grad at 16 elements 3.3 to 3.6 times slower)
            args[1:] = [f"irgen_fill{sfx}({self.e.mask}, {a})" if self.e.is_vec(x) else a
                        for a, x in zip(args[1:], s.args)]
        if s.func in self.drawing:
            args.append("irgen_rng")
        tmp = [f"irgen_o{i}" for i in range(len(s.targets))]
        args += [f"&{t}" for t in tmp[1:]]
        lines.append(f"{pad}{{ {V} {', '.join(tmp)};")
        lines.append(f"{pad}  irgen_o0 = {s.func}_v{sfx}({', '.join(args)});")
        for t, target in zip(tmp, s.targets):
            lines.append(f"{pad}  {self.copy_line(target, sp.Symbol(t))}")
        lines.append(f"{pad}}}")

    def print_if(self, s, lines, depth):
        pad, sfx = "    " * depth, self.t.suffix
        lines.append(f"{pad}{{")
        inner = pad + "    "
        cond = self.new_mask(inner, lines, self.e(s.cond), const=True)
        outer = self.e.mask
        for body, take in ((s.body, cond), (s.orelse, f"~{cond}")):
            if not body:
                continue
            m = self.new_mask(inner, lines, f"{outer} & {take}")
            self.locals.append(A.branch_locals(self.fn_body, body))
            if A.cheap(body):      # a test-and-branch would cost more than it saves
                self.block(body, lines, depth + 1)
            else:
                lines.append(f"{inner}if (irgen_any{sfx}({m})) {{")
                self.block(body, lines, depth + 2)
                lines.append(f"{inner}}}")
            self.locals.pop()
            self.pop_mask()
        lines.append(f"{pad}}}")

    def print_break(self, s, lines, depth):
        self.drop_lanes("    " * depth, lines, upto_loop=True)

    def print_draw(self, s, lines, depth):     # only the lanes in play take a draw
        pad, V = "    " * depth, self.V
        tmp = [f"irgen_o{i}" for i in range(len(s.targets))]
        outs = "".join(f", &{t}" for t in tmp)
        lines.append(f"{pad}{{ {V} {', '.join(tmp)};")
        lines.append(f"{pad}  irgen_draw_{s.kind}_v{self.t.suffix}({self.e.mask}, "
                     f"irgen_rng{outs});")
        for t, target in zip(tmp, s.targets):
            lines.append(f"{pad}  {self.copy_line(target, sp.Symbol(t))}")
        lines.append(f"{pad}}}")

    def retries(self, s) -> bool:
        """Whether loop s is a sampler's while loop whose test draws nothing: a chunk's
        first pass of draws stops it after one try (Again), where lanes wait for the
        slowest of a vector's lanes, and draws the few elements that wanted more again."""
        return bool(s.head and self.draws and not any(
            isinstance(t, ir.Draw) or (isinstance(t, ir.Call) and t.func in self.drawing)
            for t in ir.walk(s.body[:s.head])))

    def print_again(self, s, lines, depth):
        pad = "    " * depth
        lines.append(f"{pad}if ({s.counter} == {s.limit}) {{ irgen_rng->again |= {self.e.mask}; "
                     f"break; }}")

    def print_loop(self, s, lines, depth):
        pad, V, sfx = "    " * depth, self.V, self.t.suffix
        k, n = f"irgen_k{depth}", self.n_masks + 1
        inner = pad + "    "
        lines.append(f"{pad}{{")
        # the values lanes keep when they leave early or skip the loop matter only where
        # something outside the loop reads them (or the loop itself, run again by an
        # enclosing loop)
        if any(role == "loop" for _, role in self.masks):
            live = A.reads_outside(self.fn_body, s)
            live |= set().union(*(A.reads(t) for t in ir.walk(s.body)))
        else:
            live = A.reads_after(self.fn_body, s)
        written = [c_name(v) for v in ir.assigned(s.body) if v != s.index and v in live]
        restore = self.guarded and written
        if restore:                   # lanes outside the branch keep their values
            entry = self.new_mask(inner, lines, self.e.mask, const=True)
            lines += [f"{inner}const {V} irgen_pre{n}_{v} = {v};" for v in written]
        breaks = A.breaks(s.body)
        body = s.body
        flag = A.flag_set_at_break(body) if breaks else None
        flag_name = None
        if flag is not None:          # set after the loop, from the lanes that broke
            body = A.without(body, flag[0])
            flag_name = c_name(flag[0])
        if breaks:
            broken = f"irgen_b{n}"
            lines.append(f"{inner}{self.M} {broken} = irgen_mbc{sfx}(0);")
            saved = [(v, f"irgen_at{n}_{v}") for v in written if v != flag_name]
            lines += [f"{inner}{V} {copy} = {v};" for v, copy in saved]
            self.loops.append((broken, saved))
        m = self.new_mask(inner, lines, self.e.mask, kind="loop")
        outer_state = (self.loop_carried, dict(self.e.uniform), set(self.e.scalar),
                       self.e.deferring)
        if self.retries(s):           # a rejection loop: one more pass, for its test alone
            limit = f"irgen_lim{n}"
            lines.append(f"{inner}const int {limit} = irgen_rng->tries < {s.count} ? "
                         f"irgen_rng->tries : {s.count};")
            lines.append(f"{inner}for (int {k} = 0; {k} <= {limit} && "
                         f"irgen_any{sfx}({m}); ++{k}) {{")
            body = body[:s.head] + (Again(limit, k),) + body[s.head:]
            self.e.deferring = "(irgen_rng->tries == 1)"     # deferrable(): the first pass
        elif breaks or any(isinstance(t, ir.Return) for t in ir.walk(s.body)):
            lines.append(f"{inner}for (int {k} = 0; {k} < {s.count} && "
                         f"irgen_any{sfx}({m}); ++{k}) {{")
        else:       # no lane leaves early: a plain counted loop, which the compiler unrolls
            lines.append(f"{inner}if (irgen_any{sfx}({m})) for (int {k} = 0; {k} < {s.count}; "
                         f"++{k}) {{")
        if s.index is not None:
            index = f"(({self.t.ctype})({s.start} + {k}))"
            if s.index in self.shadowed:
                lines.append(f"{inner}    {c_name(s.index)} = irgen_sel{sfx}("
                             f"{m}, irgen_bc{sfx}({index}), {c_name(s.index)});")
            self.e.uniform[s.index] = index
            self.e.scalar.add(s.index)
        self.loop_carried = outer_state[0] | (set(ir.assigned(body)) - {s.index})
        self.block(body, lines, depth + 2)
        (self.loop_carried, self.e.uniform, self.e.scalar,
         self.e.deferring) = outer_state
        lines.append(f"{inner}}}")
        self.pop_mask()
        if breaks:
            self.loops.pop()
            lines += [f"{inner}{v} = irgen_sel{sfx}({broken}, {copy}, {v});" for v, copy in saved]
            if flag_name in written:
                lines.append(f"{inner}{flag_name} = irgen_sel{sfx}({broken}, "
                             f"{self.e.vec(flag[1])}, {flag_name});")
        if restore:
            lines += [f"{inner}{v} = irgen_sel{sfx}({entry}, {v}, irgen_pre{n}_{v});"
                      for v in written]
        lines.append(f"{pad}}}")
