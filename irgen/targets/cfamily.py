"""IR -> C-family source, shared by the C and CUDA targets.

Expressions are printed by a small recursive printer (not sympy's C printer) so that every
literal gets the kernel dtype and no math function is rewritten; `kind` names what an
expression is, and a printer has one method per kind. Statements are visited the same
way, one method per IR node; each straight run of assignments is first put in SSA form and
through CSE by irgen/ssa.py, and printed from the ir.Scope that pass gives."""
from __future__ import annotations

import math

import sympy as sp
from sympy.core.relational import Relational

from .. import ir, ssa
from .. import primitives as P

C_KEYWORDS = {
    "auto", "break", "case", "char", "const", "continue", "default", "do", "double", "else",
    "enum", "extern", "float", "for", "goto", "if", "inline", "int", "long", "register",
    "restrict", "return", "short", "signed", "sizeof", "static", "struct", "switch",
    "typedef", "union", "unsigned", "void", "volatile", "while", "real", "main",
}
_REL = {"<": "<", "<=": "<=", ">": ">", ">=": ">=", "==": "==", "!=": "!="}


class Dtype:
    def __init__(self, name, ctype, suffix, literal_suffix, consts):
        self.name, self.ctype, self.suffix = name, ctype, suffix
        self.literal_suffix, self.consts = literal_suffix, consts


F64 = Dtype("float64", "double", "_f64", "", {
    "PI": "3.141592653589793", "INF": "((double)INFINITY)", "NAN": "((double)NAN)",
    "EPS": "DBL_EPSILON", "TINY": "DBL_MIN"})
F32 = Dtype("float32", "float", "_f32", "f", {
    "PI": "3.14159265f", "INF": "INFINITY", "NAN": "NAN", "EPS": "FLT_EPSILON",
    "TINY": "FLT_MIN"})


def kind(e) -> str:
    """What an expression is, for a printer's `print_<kind>` method."""
    if e is sp.true or e is sp.false:
        return "bool"
    if e.is_Number:
        return "number"
    if e.is_Symbol:
        return "symbol"
    if e.is_Add:
        return "add"
    if e.is_Mul:
        return "mul"
    if e.is_Pow:
        return "pow"
    for cls, name in _KINDS:
        if isinstance(e, cls):
            return name
    raise NotImplementedError(f"cannot print {type(e).__name__}: {e}")


# the order matters: detach and converged are primitives too
_KINDS = ((sp.Piecewise, "piecewise"), (P.Table, "table"), (P.detach, "detach"),
          (P.Primitive, "primitive"), (P.converged, "converged"), (P.isnan, "isnan"),
          (P.isinf, "isinf"), (P.deferrable, "deferrable"), (P.Not, "not"), (sp.And, "and"),
          (sp.Or, "or"), (Relational, "relational"))


def c_name(sym) -> str:
    n = sym.name
    return n + "_" if n in C_KEYWORDS else n


class ExprPrinter:
    """Prints sympy expressions of the IR as C for one dtype."""

    def __init__(self, dtype: Dtype):
        self.t = dtype
        self.tables: dict = {}    # name -> values, of the tables printed so far
        self.carried: set = set()  # symbols that change from one loop iteration to the next

    def literal(self, v: float) -> str:
        if math.isnan(v):
            return self.t.consts["NAN"]
        if math.isinf(v):
            return ("-" if v < 0 else "") + self.t.consts["INF"]
        s = repr(float(v))
        if "e" not in s and "." not in s:
            s += ".0"
        return s + self.t.literal_suffix

    def __call__(self, e) -> str:
        return self.p(sp.sympify(e))[0]

    # returns (text, precedence)
    def p(self, e):
        return getattr(self, "print_" + kind(e))(e)

    def print_bool(self, e):
        return ("1" if e is sp.true else "0"), 100

    def print_number(self, e):
        v = float(e)
        s = self.literal(abs(v))
        return ("-" + s, 90) if v < 0 else (s, 100)

    def print_symbol(self, e):
        if e in P.CONSTANT_NAMES:
            return self.t.consts[P.CONSTANT_NAMES[e]], 100
        return c_name(e), 100

    def print_add(self, e):
        return self.add(e)

    def print_mul(self, e):
        return self.mul(e)

    def print_pow(self, e):
        return self.pow(e)

    def print_piecewise(self, e):
        return self.piecewise(e.args), 30

    def print_table(self, e):
        name = type(e).__name__
        old = self.tables.setdefault(name, e.values)
        if old != e.values:
            raise ValueError(f"two different tables named {name}")
        return f"{name}{self.t.suffix}[(int)({self(e.args[0])})]", 100

    def print_detach(self, e):            # a value; only forward mode sees through it
        return self.p(e.args[0])

    def print_primitive(self, e):
        name = e.func.c_name + (self.t.literal_suffix if e.func.float_suffix else "")
        return f"{name}({', '.join(self(a) for a in e.args)})", 100

    def print_converged(self, e):
        s, t, tol = (self.wrap(a, 80) for a in e.args)
        fabs = "fabs" + self.t.literal_suffix
        return f"{fabs}({self(e.args[0])}) <= {tol} * {fabs}({self(e.args[1])})", 60

    def print_isnan(self, e):
        return f"{type(e).__name__}({self(e.args[0])})", 100

    print_isinf = print_isnan

    # where a printer's code may leave a sampler's try undecided (the C lanes' first pass),
    # the test of that; elsewhere deferrable() is false
    deferring = None

    def print_deferrable(self, e):
        return self.deferring or "0", 100

    def print_not(self, e):
        return f"!{self.wrap(e.args[0], 100)}", 90

    def print_and(self, e):
        return " && ".join(self.wrap(a, 51) for a in _ordered(e.args)), 50

    def print_or(self, e):
        return " || ".join(self.wrap(a, 41) for a in _ordered(e.args)), 40

    def print_relational(self, e):
        return (f"{self.wrap(e.lhs, 61)} {_REL[e.rel_op]} {self.wrap(e.rhs, 61)}", 60)

    def wrap(self, e, prec):
        s, q = self.p(e)
        return f"({s})" if q < prec else s

    def add(self, e):
        terms = e.as_ordered_terms()
        out = self.wrap(terms[0], 70)
        for t in terms[1:]:
            if t.could_extract_minus_sign():
                out += " - " + self.wrap(-t, 71)
            else:
                out += " + " + self.wrap(t, 71)
        return out, 70

    def mul(self, e):
        coeff, factors = e.as_coeff_mul()
        for f in [f for f in factors if f.is_Number]:   # a Float factor is not the coeff
            coeff, factors = coeff * f, tuple(g for g in factors if g is not f)
        if coeff < 0:
            return "-" + self.wrap(-e, 90), 90
        if self.carried:
            # term * y / (a + n) in a loop that updates term: group the factors that do
            # not change from one iteration to the next, so the division leaves the
            # loop-carried chain: term * (y / (a + n)).
            moving = [f for f in factors if f.free_symbols & self.carried]
            still = [f for f in factors if not f.free_symbols & self.carried]
            if moving and still and (float(coeff) != 1.0 or len(still) > 1 or
                                     any(f.is_Pow and f.exp.is_negative for f in still)):
                rest = (sp.Mul(coeff, *still, evaluate=False) if float(coeff) != 1.0
                        else sp.Mul(*still))
                saved, self.carried = self.carried, set()
                inner = self.mul(rest)[0] if rest.is_Mul else self.wrap(rest, 81)
                self.carried = saved
                return f"{self.wrap(sp.Mul(*moving), 80)} * ({inner})", 80
        num, den = [], []
        if float(coeff) != 1.0:
            if coeff.is_Rational and coeff.q != 1:
                den_c = coeff.q
                if coeff.p != 1:
                    num.append(self.literal(coeff.p))
                den.append(self.literal(den_c))
            else:
                num.append(self.literal(float(coeff)))
        for f in factors:
            if f.is_Pow and f.exp.is_Integer and f.exp < -1 and f.base.is_Symbol:
                # 1/b^n as a product of n reciprocals: forward mode writes 1/b and 1/b^2
                # side by side (d(1/b) = -db/b^2), and the compiler then divides once
                num.extend([f"({self.literal(1)} / {c_name(f.base)})"] * int(-f.exp))
            elif f.is_Pow and f.exp.is_Number and f.exp < 0:
                den.append(self.wrap(sp.Pow(f.base, -f.exp), 81))
            else:
                num.append(self.wrap(f, 80))
        s = " * ".join(num) if num else self.literal(1)
        for d in den:
            s += " / " + d
        return s, 80

    def pow(self, e):
        b, x = e.args
        if x.is_Number and float(x) == int(float(x)) and abs(float(x)) <= 4:
            n = int(float(x))
            if n == 0:
                return self.literal(1), 100
            base = self.wrap(b, 81)
            prod = " * ".join([base] * abs(n))
            if n > 0:
                return prod, 80
            return f"{self.literal(1)} / ({prod})" if abs(n) > 1 else \
                f"{self.literal(1)} / {base}", 80
        sqrt = "sqrt" + self.t.literal_suffix
        if x == sp.Rational(1, 2):
            return f"{sqrt}({self(b)})", 100
        if x == sp.Rational(-1, 2):
            return f"{self.literal(1)} / {sqrt}({self(b)})", 80
        return f"pow{self.t.literal_suffix}({self(b)}, {self(x)})", 100

    def piecewise(self, pieces):
        (v, c), rest = pieces[0], pieces[1:]
        if c is sp.true or not rest:
            return self.wrap(v, 31)
        return f"{self.wrap(c, 31)} ? {self.wrap(v, 31)} : {self.piecewise(rest)}"


def _ordered(args):
    return sorted(args, key=sp.default_sort_key)


class FunctionPrinter:
    """Prints one IR function as a C-family function for one dtype, one element per call."""

    table_qualifier = "static const"    # CUDA puts tables in constant memory
    outline_qualifier = "IRGEN_FN_OUTLINE"  # a function called, not inlined (ir.Function)

    rng_type = "irgen_rng"              # the random stream state of one element

    def __init__(self, dtype: Dtype, qualifier: str, drawing=frozenset()):
        self.t, self.qualifier = dtype, qualifier
        self.e = ExprPrinter(dtype)
        self.loop_carried: set = set()
        self.drawing = set(drawing)     # names of the functions that take a random stream

    def tables(self) -> list[str]:
        """Declarations of the constant tables the printed functions index."""
        return [f"{self.table_qualifier} {self.t.ctype} {name}{self.t.suffix}[{len(v)}] = {{"
                + ", ".join(self.e.literal(x) for x in v) + "};"
                for name, v in sorted(self.e.tables.items())]

    def signature(self, fn: ir.Function) -> str:
        T = self.t.ctype
        params = [f"{T} {c_name(p)}" for p in fn.params]
        if fn.draws:
            params.append(f"{self.rng_type}* irgen_rng")
        params += [f"{T}* irgen_r{i}" for i in range(1, fn.n_results)]
        qualifier = self.outline_qualifier if fn.outline else self.qualifier
        return f"{qualifier} {T} {fn.name}{self.t.suffix}({', '.join(params)})"

    def function(self, fn: ir.Function) -> str:
        T = self.t.ctype
        lines = [self.signature(fn), "{"]
        params = set(fn.params)
        for v in ir.assigned(fn.body):
            if v not in params:
                lines.append(f"    {T} {c_name(v)} = {self.e.literal(0)};")
        self.block(fn.body, lines, 1)
        lines.append("}")
        return "\n".join(lines)

    def block(self, stmts, lines, depth):
        """Statements, each straight run of assignments (and a return ending it) through
        the SSA and CSE pass."""
        run = []
        for s in stmts:
            if isinstance(s, ir.Assign):
                run.append(s)
                continue
            if isinstance(s, ir.Return):
                self.scope(ssa.straight(run, s, self.loop_carried), lines, depth)
            else:
                self.scope(ssa.straight(run, None, self.loop_carried), lines, depth)
                self.statement(s, lines, depth)
            run = []
        self.scope(ssa.straight(run, None, self.loop_carried), lines, depth)

    def statement(self, s, lines, depth):
        """A control statement, by its IR node's method: print_call, print_if, ..."""
        method = getattr(self, "print_" + type(s).__name__.lower(), None)
        if method is None:
            raise NotImplementedError(type(s).__name__)
        method(s, lines, depth)

    def print_call(self, s, lines, depth):
        pad, T = "    " * depth, self.t.ctype
        args = [self.e(a) for a in s.args]
        if s.func in self.drawing:
            args.append("irgen_rng")
        tmp = [f"irgen_o{i}" for i in range(1, len(s.targets))]
        args += [f"&{t}" for t in tmp]
        call = f"{s.func}{self.t.suffix}({', '.join(args)})"
        if tmp:
            lines.append(f"{pad}{{ {T} {', '.join(tmp)};")
            lines.append(f"{pad}  {c_name(s.targets[0])} = {call};")
            for t, target in zip(tmp, s.targets[1:]):
                lines.append(f"{pad}  {c_name(target)} = {t};")
            lines.append(f"{pad}}}")
        else:
            lines.append(f"{pad}{c_name(s.targets[0])} = {call};")

    def print_if(self, s, lines, depth):
        pad = "    " * depth
        lines.append(f"{pad}if ({self.e(s.cond)}) {{")
        self.block(s.body, lines, depth + 1)
        if s.orelse:
            lines.append(f"{pad}}} else {{")
            self.block(s.orelse, lines, depth + 1)
        lines.append(f"{pad}}}")

    def print_loop(self, s, lines, depth):
        pad = "    " * depth
        k = f"irgen_k{depth}"
        lines.append(f"{pad}for (int {k} = 0; {k} < {s.count}; ++{k}) {{")
        if s.index is not None:
            lines.append(f"{pad}    {c_name(s.index)} = ({self.t.ctype})({s.start} + {k});")
        saved = self.loop_carried
        self.loop_carried = saved | (set(ir.assigned(s.body)) - {s.index})
        self.block(s.body, lines, depth + 1)
        self.loop_carried = saved
        lines.append(f"{pad}}}")

    def print_break(self, s, lines, depth):
        lines.append(f"{'    ' * depth}break;")

    def print_draw(self, s, lines, depth):
        outs = "".join(f", &{c_name(t)}" for t in s.targets)
        lines.append(f"{'    ' * depth}irgen_draw_{s.kind}{self.t.suffix}(irgen_rng{outs});")

    def scope(self, scope, lines, depth):
        """A straight run after SSA and CSE: its constants in a block of their own."""
        if scope is None:
            return
        pad = "    " * depth
        inner = []
        self.e.carried = set(scope.carried)
        for s in scope.body:
            if isinstance(s, ir.Const):
                inner.append(pad + "    " + self.const_line(s.name, s.expr))
            elif isinstance(s, ir.Assign):
                inner.append(pad + "    " + self.copy_line(s.target, s.expr))
            else:
                inner.extend(pad + "    " + line for line in self.return_lines(s.values))
        consts = {s.name for s in scope.body if isinstance(s, ir.Const)}
        if consts:
            lines.extend([pad + "{"] + inner + [pad + "}"])
        else:
            lines.extend(line[4:] for line in inner)
        self.e.carried = set()
        self.block_done(consts)

    # hooks of scope(), where a lane-parallel printer differs
    def const_line(self, name, expr) -> str:
        return f"const {self.t.ctype} {c_name(name)} = {self.e(expr)};"

    def copy_line(self, target, value) -> str:
        return f"{c_name(target)} = {c_name(value)};"

    def return_lines(self, outs) -> list[str]:
        return ([f"*irgen_r{i} = {self.e(e)};" for i, e in enumerate(outs[1:], 1)]
                + [f"return {self.e(outs[0])};"])

    def block_done(self, names):
        """The constants of a block go out of scope."""
