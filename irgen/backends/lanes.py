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
  the variables read after the loop from copies made when they leave (or before it);
- fabs, sqrt, floor, fmin, fmax and copysign are vector operations; exp, log and the other
  transcendental functions come from glibc's vector math library where it is present
  (within 4 ulp, against libm's 1); otherwise exp is a polynomial of irgen's own (within
  1.2 ulp) and the others are libm lane by lane on the active lanes.

Each lane performs the arithmetic of the scalar code in the same order and without fused
multiply-adds, so arithmetic rounds as in the scalar code. Inactive lanes may hold anything
(NaN, inf): IEEE arithmetic does not trap, and such lanes are never stored. Loop indices are
uniform across the lanes in a loop and stay scalars, so tables are indexed directly."""
from __future__ import annotations

import math

import sympy as sp
from sympy.core.relational import Relational

from .. import ir
from .. import primitives as P
from .printer import Dtype, ExprPrinter, FunctionPrinter, c_name

# Vector operations rather than lane-by-lane calls: cheap, and defined for every input.
VECTOR_PRIMITIVES = {"fabs", "sqrt", "floor", "fmin", "fmax", "copysign", "exponent", "pow2"}
# Functions of glibc's vector math library (libmvec, within 4 ulp), used where present:
# the first few since glibc 2.22, the rest since 2.35.
MVEC_OLD = {"exp", "log", "sin", "cos", "pow"}
MVEC = MVEC_OLD | {"log1p", "expm1", "tan", "atan", "atan2", "sinh", "cosh", "tanh", "erf",
                   "erfc"}
_BOOL = (Relational, sp.And, sp.Or, P.Not, P.DSLPredicate, sp.logic.boolalg.BooleanAtom)


def lane_types(t: Dtype) -> tuple[str, str, str]:
    """(value vector type, mask vector type, lane count macro) of a dtype."""
    v = "irgen_vd" if t.name == "float64" else "irgen_vf"
    return v, v.replace("_v", "_m"), f"IRGEN_W{t.suffix}"


def helpers(t: Dtype) -> str:
    """The vector helpers the lane-parallel functions of one dtype call."""
    V, M, W = lane_types(t)
    T, s, f = t.ctype, t.suffix, t.literal_suffix
    out = [
        f"static inline {V} irgen_sel{s}({M} m, {V} a, {V} b)",
        f"{{ return ({V})((({M})a & m) | (({M})b & ~m)); }}",
        f"static inline int irgen_any{s}({M} m) {{ return IRGEN_ANY(m); }}",
        f"static inline {V} irgen_bc{s}({T} x) {{ return x - ({V}){{0}}; }}",
        f"static inline {M} irgen_mbc{s}(int c) {{ return ({M}){{0}} - (c != 0); }}",
        f"static inline {V} irgen_v_fabs{s}({V} x)",
        f"{{ return ({V})(({M})x & ~({M})irgen_bc{s}(-0.0{f})); }}",
        f"static inline {V} irgen_v_copysign{s}({V} x, {V} y)",
        (f"{{ {M} sign = ({M})irgen_bc{s}(-0.0{f}); "
         f"return ({V})((({M})x & ~sign) | (({M})y & sign)); }}"),
        f"static inline {V} irgen_v_fmin{s}({V} a, {V} b)",
        f"{{ return irgen_sel{s}(a != a, b, irgen_sel{s}(b < a, b, a)); }}",
        f"static inline {V} irgen_v_fmax{s}({V} a, {V} b)",
        f"{{ return irgen_sel{s}(a != a, b, irgen_sel{s}(b > a, b, a)); }}",
    ]
    # exponent and pow2 from the bits: exact, as the scalar ilogb and ldexp they stand for
    bits, bias, width = (52, 1023, 0x7FF) if t.name == "float64" else (23, 127, 0xFF)
    tiny, scale, up = (("DBL_MIN", "0x1p54", 54) if t.name == "float64" else
                       ("FLT_MIN", "0x1p25f", 25))    # subnormals are scaled up first
    out += [
        f"static inline {V} irgen_v_exponent{s}({V} x)",
        "{",
        f"    const {V} a = irgen_v_fabs{s}(x);",
        f"    const {M} small = a < {tiny};",
        f"    const {V} u = irgen_sel{s}(small, a * {scale}, a);",
        f"    const {M} e = ((({M})u >> {bits}) & {width}) - {bias} - (small & {up});",
        f"    const {V} r = __builtin_convertvector(e, {V});",
        f"    return irgen_sel{s}((a == 0) | (a == {t.consts['INF']}) | (a != a), "
        f"irgen_bc{s}({t.consts['NAN']}), r);",
        "}",
        f"static inline {V} irgen_v_pow2{s}({V} n)",
        "{",
        f"    const {V} c = irgen_sel{s}(n < {-bias + 1}.0{f}, irgen_bc{s}({-bias}.0{f}), "
        f"irgen_sel{s}(n > {bias}.0{f}, irgen_bc{s}({bias + 1}.0{f}), n));",
        f"    const {M} k = __builtin_convertvector(c, {M});",
        f"    return irgen_sel{s}(n != n, n, ({V})((k + {bias}) << {bits}));",
        "}",
    ]
    for name in ("sqrt", "floor"):
        out += [f"static inline {V} irgen_v_{name}{s}({V} x)",
                f"{{ {V} r; for (int l = 0; l < {W}; ++l) r[l] = {name}{f}(x[l]); return r; }}"]
    for prim in P.FUNCTIONS.values():
        name = prim.__name__
        if name in VECTOR_PRIMITIVES or prim is P.detach:
            continue
        c = prim.c_name + (f if prim.float_suffix else "")
        n = int(max(prim.nargs))
        params = ", ".join(f"{V} x{i}" for i in range(n))
        args = ", ".join(f"x{i}[l]" for i in range(n))
        head = f"__attribute__((const)) static inline {V} irgen_v_{name}{s}({M} m, {params})"
        lanewise = [head, (f"{{ {V} r = x0; for (int l = 0; l < {W}; ++l) "
                           f"if (m[l]) r[l] = {c}({args}); return r; }}")]
        if prim is P.exp:          # without the vector library: a polynomial, not libm
            lanewise = [_exp(t)]
        if name not in MVEC:
            out += lanewise
            continue
        mv = f"IRGEN_MV{'2' if n == 2 else ''}{s}({name})"
        # inactive lanes get 1, which every function takes on its fast path
        xs = ", ".join(f"irgen_sel{s}(m, x{i}, irgen_bc{s}(1))" for i in range(n))
        out += [f"#if defined(IRGEN_MV{s}){'' if name in MVEC_OLD else ' && IRGEN_MVEC_2_35'}",
                f"{V} {mv}({', '.join([V] * n)});",
                f"{head} {{ return {mv}({xs}); }}", "#else"] + lanewise + ["#endif"]
    return "\n".join(out)


def draw_helpers(t: Dtype) -> str:
    """The random streams of a vector of elements and their draws (templates/random.c.j2 has
    the generator, the layout and the conversions): each lane keeps its element's queue of
    words, and a lane's queue moves only where the lane is in play, so a lane draws what
    the element would draw alone. A block is computed when some lane in play needs one."""
    V, M, W = lane_types(t)
    s, f = t.suffix, t.name[-2:]
    U = f"irgen_u{V[-1]}"              # uint64 lanes, as many as V has
    R = f"irgen_rng_v{s}"
    cvt = f"IRGEN_CVT{s}"
    lanes = "(irgen_ud)m" if t.name == "float64" else "__builtin_convertvector(m, irgen_uf)"
    sel = "(({a}) & ({k})) | (({b}) & ~({k}))"
    uniform = (f"    {U} w0, w1; irgen_take2_v{s}(a, r, &w0, &w1); "
               f"*u = IRGEN_U01_F64({cvt}, w0, w1);" if f == "64" else
               f"    irgen_refill_v{s}(a & ({U})(r->left == 0), r); "
               f"*u = IRGEN_U01_F32({cvt}, irgen_take_v{s}(a, r));")
    normal = (f"    irgen_refill_v{s}(a, r); r->left &= ~a;   /* a block of its own */\n"
              f"    *radius = IRGEN_R01_F64({cvt}, r->q0, r->q1); "
              f"*angle = IRGEN_U01_F64({cvt}, r->q2, r->q3);" if f == "64" else
              f"    {U} w0, w1; irgen_take2_v{s}(a, r, &w0, &w1);\n"
              f"    *radius = IRGEN_R01_F32({cvt}, w0); *angle = IRGEN_U01_F32({cvt}, w1);")
    return "\n".join([
        f"typedef struct {{ uint64_t key0, key1; {U} i0, i1, n, left, q0, q1, q2, q3; }} {R};",
        f"#define {cvt}(x) __builtin_convertvector((x), {V})",
        # element indices c + l, or c + at[l] for a chunk taken in the order `at`
        f"static inline void irgen_seed_v{s}({R}* r, uint64_t seed, int64_t c, "
        "const int* at, int n)",
        "{",
        f"    {U} i0 = {{0}}, i1 = {{0}};",
        f"    for (int l = 0; l < {W}; ++l) {{",
        "        const uint64_t i = (uint64_t)(c + (at ? at[l < n ? l : n - 1] : l));",
        "        i0[l] = i & IRGEN_LO32; i1[l] = i >> 32;",
        "    }",
        "    r->key0 = seed & IRGEN_LO32; r->key1 = seed >> 32;",
        f"    r->i0 = i0; r->i1 = i1;",
        f"    r->n = r->left = r->q0 = r->q1 = r->q2 = r->q3 = ({U}){{0}};",
        "}",
        "/* the next block into the queues of the lanes in `need` (all bits set or none) */",
        f"static inline void irgen_refill_v{s}({U} need, {R}* r)",
        "{",
        "    int any = 0;",
        f"    for (int l = 0; l < {W}; ++l) any |= need[l] != 0;",
        "    if (!any) return;",
        f"    {U} c0 = r->n, c1 = {{0}}, c2 = r->i0, c3 = r->i1;",
        f"    IRGEN_PHILOX4x32_10({U}, c0, c1, c2, c3, r->key0, r->key1);",
        *[f"    r->q{j} = {sel.format(a=f'c{j}', b=f'r->q{j}', k='need')};" for j in range(4)],
        f"    r->left = {sel.format(a=f'({U}){{0}} + 4', b='r->left', k='need')};",
        "    r->n = (r->n + (need & 1)) & IRGEN_LO32;",
        "}",
        f"static inline {U} irgen_take_v{s}({U} a, {R}* r)",
        "{",
        f"    const {U} w = r->q0;",
        *[f"    r->q{j} = {sel.format(a=f'r->q{j + 1}', b=f'r->q{j}', k='a')};" for j in range(3)],
        "    r->left -= a & 1;",
        "    return w;",
        "}",
        f"static inline void irgen_take2_v{s}({U} a, {R}* r, {U}* w0, {U}* w1)",
        "{",
        f"    irgen_take_v{s}(a & ({U})((r->left & 1) != 0), r);   /* pairs start even */",
        f"    irgen_refill_v{s}(a & ({U})(r->left == 0), r);",
        f"    *w0 = irgen_take_v{s}(a, r); *w1 = irgen_take_v{s}(a, r);",
        "}",
        f"static inline void irgen_draw_uniform_v{s}({M} m, {R}* r, {V}* u)",
        "{",
        f"    const {U} a = {lanes};",
        uniform,
        "}",
        f"static inline void irgen_draw_normal_v{s}({M} m, {R}* r, {V}* radius, {V}* angle)",
        "{",
        f"    const {U} a = {lanes};",
        normal,
        "}",
    ])


# exp(x) = 2^n exp(r), n = round(x / ln 2) (by adding and taking away 1.5 2^52, or 1.5 2^23
# in float), r = x - n ln 2 in [-ln2/2, ln2/2] with ln 2 in two
# parts (n times the first is exact), exp(r) by its Taylor polynomial (the next term is below
# 5e-18 in double, 5e-9 in float), 2^n as two powers of two built from their bits, so that
# results near overflow and in the subnormal range round once. Within 1.2 ulp (measured
# against mpmath), no table, no call: where glibc's vector library is missing this is much
# faster than libm lane by lane (where it is present, its table-based exp is faster still).
_EXP = {
    "float64": {"lo": -746.0, "hi": 710.0, "c1": "0.6931471801362932",
                "c2": "4.236521365809284e-10", "degree": 13, "bias": 1023, "shift": 52,
                "magic": "6755399441055744.0"},
    "float32": {"lo": -104.0, "hi": 89.0, "c1": "0.693115234375f",
                "c2": "3.194618329871446e-05f", "degree": 7, "bias": 127, "shift": 23,
                "magic": "12582912.0f"},
}


def _exp(t: Dtype) -> str:
    V, M, _ = lane_types(t)
    s, f, c = t.suffix, t.literal_suffix, _EXP[t.name]
    coef = [1.0 / math.factorial(k) for k in range(c["degree"] + 1)]
    poly = f"{coef[-1]!r}{f}"
    for a in reversed(coef[:-1]):
        poly = f"({poly} * r + {a!r}{f})"
    magic = c["magic"]
    return "\n".join([
        f"__attribute__((const)) static inline {V} irgen_v_exp{s}({M} m, {V} x)",
        "{",
        f"    x = irgen_sel{s}(x < {c['lo']}{f}, irgen_bc{s}({c['lo']}{f}), x);   /* NaN stays */",
        f"    x = irgen_sel{s}(x > {c['hi']}{f}, irgen_bc{s}({c['hi']}{f}), x);",
        f"    const {V} t = x * {1 / math.log(2)!r}{f} + {magic};   /* rounds to an integer */",
        f"    const {V} n = t - {magic};",
        f"    const {M} k = ({M})t - ({M})irgen_bc{s}({magic});      /* the same, as an integer */",
        f"    const {V} r = (x - n * {c['c1']}) - n * {c['c2']};",
        f"    const {V} p = {poly};",
        f"    const {M} k1 = k >> 1, k2 = k - k1;",
        f"    const {V} two1 = ({V})((k1 + {c['bias']}) << {c['shift']});",
        f"    const {V} two2 = ({V})((k2 + {c['bias']}) << {c['shift']});",
        "    return p * two1 * two2;",
        "}",
    ])


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
        s = self.t.suffix
        if isinstance(e, sp.Piecewise):
            return self.select(e.args), 100
        if isinstance(e, P.Table):
            raise NotImplementedError(f"table {type(e).__name__} indexed by a lane value")
        if isinstance(e, P.Primitive):
            name = type(e).__name__
            args = ", ".join(self.vec(a) for a in e.args)
            if name in VECTOR_PRIMITIVES:
                return f"irgen_v_{name}{s}({args})", 100
            return f"irgen_v_{name}{s}({self.mask}, {args})", 100
        if isinstance(e, P.converged):
            step, total, tol = e.args
            return (f"(irgen_v_fabs{s}({self.vec(step)}) <= {self.wrap(tol, 80)} * "
                    f"irgen_v_fabs{s}({self.vec(total)}))"), 100
        if isinstance(e, P.isnan):
            x = self.wrap(e.args[0], 100)
            return f"({x} != {x})", 100
        if isinstance(e, P.isinf):
            return f"(irgen_v_fabs{s}({self.vec(e.args[0])}) == {self.t.consts['INF']})", 100
        if isinstance(e, P.Not):
            return f"(~{self.wrap(e.args[0], 100)})", 100
        if isinstance(e, (sp.And, sp.Or)):
            op = " & " if isinstance(e, sp.And) else " | "
            return "(" + op.join(self.wrap(a, 100) for a in sorted(
                e.args, key=sp.default_sort_key)) + ")", 100
        if isinstance(e, Relational):
            return f"({self.vec(e.lhs)} {e.rel_op} {self.vec(e.rhs)})", 100
        return super().p(e)

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

    def __init__(self, dtype: Dtype, qualifier: str, drawing=frozenset()):
        super().__init__(dtype, qualifier, drawing)
        self.rng_type = f"irgen_rng_v{dtype.suffix}"
        self.e = LaneExprPrinter(dtype)
        self.V, self.M, _ = lane_types(dtype)
        self.masks: list = []          # (mask variable, "fn" | "if" | "loop"), outermost first
        self.loops: list = []          # (broken-lanes mask, saved variables) per open loop
        self.n_masks = 0
        self.shadowed: set = set()     # loop indices read after their loop
        self.fn_body: tuple = ()       # the function being printed
        self.returned = False          # whether some lanes may have returned already

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
        return f"{self.qualifier} {V} {fn.name}_v{self.t.suffix}({', '.join(params)})"

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
        self.shadowed = _read_outside_loops(fn.body)
        self.fn_body, self.returned = fn.body, False
        self.masks, self.n_masks = [("irgen_m0", "fn")], 0
        self.loops = []
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
        for name, kind in reversed(self.masks):
            lines.append(f"{pad}{name} &= ~{gone};")
            if upto_loop and kind == "loop":
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
        v = self.e.vec(value)
        if self.guarded:
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
            if isinstance(s, ir.If) and _leaves(s):
                super().block(stmts[:i + 1], lines, depth)
                pad = "    " * depth
                lines.append(f"{pad}if (irgen_any{self.t.suffix}({self.e.mask})) {{")
                self.block(stmts[i + 1:], lines, depth + 1)
                lines.append(f"{pad}}}")
                return
        super().block(stmts, lines, depth)

    def control(self, s, lines, depth):
        pad, V, sfx = "    " * depth, self.V, self.t.suffix
        if isinstance(s, ir.Call):
            args = [self.e.mask] + [self.e.vec(a) for a in s.args]
            if s.func in self.drawing:
                args.append("irgen_rng")
            tmp = [f"irgen_o{i}" for i in range(len(s.targets))]
            args += [f"&{t}" for t in tmp[1:]]
            lines.append(f"{pad}{{ {V} {', '.join(tmp)};")
            lines.append(f"{pad}  irgen_o0 = {s.func}_v{sfx}({', '.join(args)});")
            for t, target in zip(tmp, s.targets):
                lines.append(f"{pad}  {self.copy_line(target, sp.Symbol(t))}")
            lines.append(f"{pad}}}")
        elif isinstance(s, ir.If):
            lines.append(f"{pad}{{")
            inner = pad + "    "
            cond = self.new_mask(inner, lines, self.e(s.cond), const=True)
            outer = self.e.mask
            for body, take in ((s.body, cond), (s.orelse, f"~{cond}")):
                if not body:
                    continue
                m = self.new_mask(inner, lines, f"{outer} & {take}")
                if _cheap(body):      # a test-and-branch would cost more than it saves
                    self.block(body, lines, depth + 1)
                else:
                    lines.append(f"{inner}if (irgen_any{sfx}({m})) {{")
                    self.block(body, lines, depth + 2)
                    lines.append(f"{inner}}}")
                self.pop_mask()
            lines.append(f"{pad}}}")
        elif isinstance(s, ir.Loop):
            self.loop(s, lines, depth)
        elif isinstance(s, ir.Break):
            self.drop_lanes(pad, lines, upto_loop=True)
        elif isinstance(s, ir.Draw):     # only the lanes in play take a draw
            tmp = [f"irgen_o{i}" for i in range(len(s.targets))]
            outs = "".join(f", &{t}" for t in tmp)
            lines.append(f"{pad}{{ {V} {', '.join(tmp)};")
            lines.append(f"{pad}  irgen_draw_{s.kind}_v{sfx}({self.e.mask}, irgen_rng{outs});")
            for t, target in zip(tmp, s.targets):
                lines.append(f"{pad}  {self.copy_line(target, sp.Symbol(t))}")
            lines.append(f"{pad}}}")
        else:
            raise NotImplementedError(type(s).__name__)

    def loop(self, s, lines, depth):
        pad, V, sfx = "    " * depth, self.V, self.t.suffix
        k, n = f"irgen_k{depth}", self.n_masks + 1
        inner = pad + "    "
        lines.append(f"{pad}{{")
        # the values lanes keep when they leave early or skip the loop matter only where
        # something outside the loop reads them (or the loop itself, run again by an
        # enclosing loop)
        if any(kind == "loop" for _, kind in self.masks):
            live = _reads_outside(self.fn_body, s)
            live |= set().union(*(_reads(t) for t in ir.walk(s.body)))
        else:
            live = _reads_after(self.fn_body, s)
        written = [c_name(v) for v in ir.assigned(s.body) if v != s.index and v in live]
        restore = self.guarded and written
        if restore:                   # lanes outside the branch keep their values
            entry = self.new_mask(inner, lines, self.e.mask, const=True)
            lines += [f"{inner}const {V} irgen_pre{n}_{v} = {v};" for v in written]
        breaks = _breaks(s.body)
        if breaks:
            broken = f"irgen_b{n}"
            lines.append(f"{inner}{self.M} {broken} = irgen_mbc{sfx}(0);")
            saved = [(v, f"irgen_at{n}_{v}") for v in written]
            lines += [f"{inner}{V} {copy} = {v};" for v, copy in saved]
            self.loops.append((broken, saved))
        m = self.new_mask(inner, lines, self.e.mask, kind="loop")
        if breaks or any(isinstance(t, ir.Return) for t in ir.walk(s.body)):
            lines.append(f"{inner}for (int {k} = 0; {k} < {s.count} && "
                         f"irgen_any{sfx}({m}); ++{k}) {{")
        else:       # no lane leaves early: a plain counted loop, which the compiler unrolls
            lines.append(f"{inner}if (irgen_any{sfx}({m})) for (int {k} = 0; {k} < {s.count}; "
                         f"++{k}) {{")
        outer_state = self.loop_carried, dict(self.e.uniform), set(self.e.scalar)
        if s.index is not None:
            index = f"(({self.t.ctype})({s.start} + {k}))"
            if s.index in self.shadowed:
                lines.append(f"{inner}    {c_name(s.index)} = irgen_sel{sfx}("
                             f"{m}, irgen_bc{sfx}({index}), {c_name(s.index)});")
            self.e.uniform[s.index] = index
            self.e.scalar.add(s.index)
        self.loop_carried = outer_state[0] | (set(ir.assigned(s.body)) - {s.index})
        self.block(s.body, lines, depth + 2)
        self.loop_carried, self.e.uniform, self.e.scalar = outer_state
        lines.append(f"{inner}}}")
        self.pop_mask()
        if breaks:
            self.loops.pop()
            lines += [f"{inner}{v} = irgen_sel{sfx}({broken}, {copy}, {v});" for v, copy in saved]
        if restore:
            lines += [f"{inner}{v} = irgen_sel{sfx}({entry}, {v}, irgen_pre{n}_{v});"
                      for v in written]
        lines.append(f"{pad}}}")


def _leaves(s) -> bool:
    """Whether some lanes may return or break in statement s (breaks of inner loops aside)."""
    if isinstance(s, (ir.Return, ir.Break)):
        return True
    if isinstance(s, ir.If):
        return any(_leaves(t) for t in s.body + s.orelse)
    if isinstance(s, ir.Loop):
        return any(isinstance(t, ir.Return) for t in ir.walk(s.body))
    return False


def _cheap(body) -> bool:
    """A branch body short enough to run under its mask unconditionally: inside loops such
    bodies (a convergence test's break) are entered at unpredictable iterations."""
    return len(body) <= 4 and all(isinstance(s, (ir.Assign, ir.Break)) for s in body)


def _breaks(body) -> bool:
    """Whether a loop body breaks out of its own loop (not only out of inner ones)."""
    for s in body:
        if isinstance(s, ir.Break):
            return True
        if isinstance(s, ir.If) and (_breaks(s.body) or _breaks(s.orelse)):
            return True
    return False


def _reads(s) -> set:
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


def _reads_outside(body, loop) -> set:
    """Symbols read by statements of body that are not inside `loop`."""
    out = set()

    def visit(stmts):
        for s in stmts:
            if s is loop:
                continue
            out.update(_reads(s))
            if isinstance(s, ir.If):
                visit(s.body)
                visit(s.orelse)
            elif isinstance(s, ir.Loop):
                visit(s.body)

    visit(body)
    return out


def _reads_after(body, loop) -> set:
    """Symbols read by statements that may run after `loop` (which is in no other loop)."""
    out, found = set(), [False]

    def visit(stmts):
        for s in stmts:
            if s is loop:
                found[0] = True
            elif found[0]:
                out.update(*(_reads(t) for t in ir.walk([s])))
            elif isinstance(s, ir.If):
                visit(s.body)
                visit(s.orelse)

    visit(body)
    return out


def _read_outside_loops(body) -> set:
    """Loop indices that some statement outside their loop reads."""
    out = set()

    def visit(stmts, inside: frozenset):
        for s in stmts:
            out.update(x for x in _reads(s) if x in indices and x not in inside)
            if isinstance(s, ir.If):
                visit(s.body, inside)
                visit(s.orelse, inside)
            elif isinstance(s, ir.Loop):
                visit(s.body, inside | {s.index})

    indices = {s.index for s in ir.walk(body) if isinstance(s, ir.Loop) and s.index is not None}
    visit(body, frozenset())
    return out
