"""DSL source (Python ast) -> IR. Every construct not handled here is refused with its
location, the source line and a hint."""
from __future__ import annotations

import ast
import numbers

import sympy as sp

from . import ir
from . import primitives as P
from .dsl import DSLFunction
from .errors import DSLError

_BINOPS = {ast.Add: lambda a, b: a + b, ast.Sub: lambda a, b: a - b,
           ast.Mult: lambda a, b: a * b, ast.Div: lambda a, b: a / b,
           ast.Pow: lambda a, b: sp.Pow(a, b)}
_COMPARE = {ast.Lt: sp.Lt, ast.LtE: sp.Le, ast.Gt: sp.Gt, ast.GtE: sp.Ge,
            ast.Eq: sp.Eq, ast.NotEq: sp.Ne}
_HINTS = {
    "Try": "use if/else; a DSL function cannot raise",
    "Raise": "return NAN for invalid input",
    "With": "a DSL function has no context managers",
    "FunctionDef": "write the helper as its own @dsl function at module level",
    "Lambda": "write a @dsl function",
    "ListComp": "the DSL has scalars only; use a loop", "List": "the DSL has scalars only",
    "Tuple": "a DSL function returns one scalar", "Dict": "the DSL has scalars only",
    "Subscript": "the DSL has scalars only", "Attribute": "call primitives by bare name",
    "FloorDiv": "use floor(a / b)", "Mod": "use a - b * floor(a / b)",
    "Global": "pass values as arguments", "Nonlocal": "pass values as arguments",
    "Import": "import at module level", "ImportFrom": "import at module level",
    "Continue": "restructure with if/else", "Delete": "just stop using the name",
}

LOOP_LIMIT = 2 ** 31 - 1       # loop counters in generated code are C ints


def lower(fn: DSLFunction) -> tuple[ir.Function, dict]:
    """Lower a DSL function. Returns the IR function and the DSL functions it calls."""
    return _Lowering(fn).run()


class _Lowering:
    def __init__(self, fn: DSLFunction):
        self.fn = fn
        self.env = fn.fn.__globals__
        self.callees: dict[str, DSLFunction] = {}
        self.defined: set = set()
        self.pending: list = []
        self.tmp = 0
        self.loop_depth = 0
        self.loops: dict = {}     # loop variable -> (start, stop) of the enclosing for loops

    # -- errors
    def error(self, node, message, hint=""):
        raise DSLError(message, self.fn.file, getattr(node, "lineno", self.fn.first_line),
                       getattr(node, "col_offset", 0), hint)

    def refuse(self, node, at=None):
        """Refuse the construct `node`, located at `at` (default: node itself)."""
        kind = type(node).__name__
        what = {"Try": "'try'", "While": "'while' without bounded()"}.get(kind, f"'{kind}'")
        self.error(at or node, f"{what} is not allowed in a DSL function",
                   _HINTS.get(kind, "see the DSL reference, docs/dsl.md"))

    # -- function
    def run(self):
        node = self.fn.parse()
        a = node.args
        if a.vararg or a.kwarg or a.kwonlyargs or a.defaults or a.posonlyargs:
            self.error(node, "a DSL function takes plain positional parameters only",
                       "remove defaults, *args and **kwargs")
        params = []
        for arg in a.args:
            self.check_name(arg, arg.arg)
            params.append(sp.Symbol(arg.arg, real=True))
            self.defined.add(arg.arg)
        body = node.body
        doc = ast.get_docstring(node) or ""
        if doc:
            body = body[1:]
        stmts = self.block(body)
        if not _ends_with_return(stmts):
            self.error(node, f"DSL function '{node.name}' can end without returning a value",
                       "end every path with a return statement")
        loc = ir.Loc(self.fn.file, node.lineno, node.col_offset)
        return ir.Function(node.name, tuple(params), tuple(stmts), 1, doc, loc), self.callees

    def check_name(self, node, name):
        if name in P.CONSTANTS or name in P.FUNCTIONS or name in P.PREDICATES \
                or name in P.DRAWS:
            self.error(node, f"'{name}' is a DSL built-in and cannot be assigned",
                       "choose another name")
        if name.startswith("_irgen") or name.startswith("d_"):
            self.error(node, f"names starting with '{name[:2]}' are reserved",
                       "choose another name")

    # -- statements
    def block(self, nodes) -> list:
        out = []
        for node in nodes:
            stmts = self.stmt(node)
            out.extend(self.pending)
            self.pending = []
            out.extend(stmts)
        return out

    def stmt(self, node) -> list:
        if isinstance(node, ast.Assign):
            if len(node.targets) != 1 or not isinstance(node.targets[0], ast.Name):
                self.error(node, "assign to one plain name at a time",
                           "write a = ...; b = ... on separate lines")
            return [self.assign(node.targets[0], self.expr(node.value))]
        if isinstance(node, ast.AugAssign):
            if not isinstance(node.target, ast.Name):
                self.error(node, "augmented assignment needs a plain name")
            op = _BINOPS.get(type(node.op))
            if op is None or isinstance(node.op, ast.Pow):
                self.error(node.target, f"'{type(node.op).__name__}=' is not allowed",
                           "use +=, -=, *= or /=")
            name = node.target.id
            if name not in self.defined:
                self.error(node.target, f"'{name}' is used before it is assigned")
            value = op(self.symbol(node.target), self.expr(node.value))
            return [self.assign(node.target, value)]
        if isinstance(node, ast.If):
            cond = self.cond(node.test)
            before, self.pending = self.pending, []
            body = self.block(node.body)
            orelse = self.block(node.orelse)
            self.pending = before
            return [ir.If(cond, tuple(body), tuple(orelse))]
        if isinstance(node, ast.For):
            return [self.for_loop(node)]
        if isinstance(node, ast.While):
            return [self.while_loop(node)]
        if isinstance(node, ast.Break):
            if not self.loop_depth:
                self.error(node, "'break' outside a loop")
            return [ir.Break()]
        if isinstance(node, ast.Return):
            if node.value is None:
                self.error(node, "a DSL function returns a value", "write return <expr>")
            return [ir.Return((self.expr(node.value),))]
        if isinstance(node, ast.Pass):
            return []
        if isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant) \
                and isinstance(node.value.value, str):
            return []  # a comment-like string
        if isinstance(node, ast.Expr):
            self.error(node, "an expression statement has no effect in the DSL",
                       "assign its value to a name")
        self.refuse(node)

    def assign(self, target: ast.Name, value):
        self.check_name(target, target.id)
        self.defined.add(target.id)
        return ir.Assign(sp.Symbol(target.id, real=True), value)

    def int_bound(self, node) -> int:
        if isinstance(node, ast.Constant) and type(node.value) is int:
            value = node.value
        elif isinstance(node, ast.Name) and type(self.env.get(node.id)) is int:
            value = self.env[node.id]
        else:
            self.error(node, "a loop bound must be an integer literal or a module-level int",
                       "every loop in generated code has a fixed iteration bound")
        if not 0 <= value <= LOOP_LIMIT:
            self.error(node, f"a loop bound must lie in [0, {LOOP_LIMIT}], not {value}",
                       "loop counters are C ints")
        return value

    def for_loop(self, node: ast.For):
        it = node.iter
        if node.orelse:
            self.error(node, "'for ... else' is not allowed", "set a flag before break")
        if not (isinstance(it, ast.Call) and isinstance(it.func, ast.Name)
                and it.func.id == "range" and 1 <= len(it.args) <= 2 and not it.keywords):
            self.error(it, "a for loop must iterate over range(N) or range(A, B)",
                       "N, A and B are integer literals or module-level ints")
        bounds = [self.int_bound(a) for a in it.args]
        start, stop = (0, bounds[0]) if len(bounds) == 1 else bounds
        if not isinstance(node.target, ast.Name):
            self.error(node.target, "the loop variable must be a plain name")
        index = None
        if node.target.id != "_":
            index = sp.Symbol(node.target.id, real=True)
            self.check_name(node.target, node.target.id)
            self.defined.add(node.target.id)
        self.loop_depth += 1
        outer = self.loops.get(node.target.id)
        self.loops[node.target.id] = (start, stop)
        body = self.block(node.body)
        if outer is None:
            del self.loops[node.target.id]
        else:
            self.loops[node.target.id] = outer
        self.loop_depth -= 1
        return ir.Loop(max(stop - start, 0), tuple(body), index, start)

    def while_loop(self, node: ast.While):
        t = node.test
        if node.orelse:
            self.error(node, "'while ... else' is not allowed", "set a flag before break")
        if not (isinstance(t, ast.Call) and isinstance(t.func, ast.Name)
                and t.func.id == "bounded" and len(t.args) == 2 and not t.keywords):
            self.error(t, "a while loop needs an explicit iteration bound",
                       "write `while bounded(condition, N):` with N an integer")
        bound = self.int_bound(t.args[1])
        self.loop_depth += 1
        cond = self.cond(t.args[0])
        head = self.pending + [ir.If(P.Not(cond), (ir.Break(),))]
        self.pending = []
        body = self.block(node.body)
        self.loop_depth -= 1
        return ir.Loop(bound, tuple(head + body), head=len(head))

    # -- expressions
    def new_tmp(self):
        self.tmp += 1
        return sp.Symbol(f"_irgen_t{self.tmp}", real=True)

    def symbol(self, node: ast.Name):
        return sp.Symbol(node.id, real=True)

    def expr(self, node) -> sp.Expr:
        if isinstance(node, ast.Constant):
            v = node.value
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                self.error(node, f"constant {v!r} is not a real number",
                           "the DSL computes with real scalars")
            return sp.Integer(v) if isinstance(v, int) else sp.Float(v)
        if isinstance(node, ast.Name):
            return self.name(node)
        if isinstance(node, ast.BinOp):
            op = _BINOPS.get(type(node.op))
            if op is None:
                # an operator node has no place of its own (and is shared by every
                # use of the operator): the expression around it gives one
                self.refuse(node.op, at=node)
            return op(self.expr(node.left), self.expr(node.right))
        if isinstance(node, ast.UnaryOp):
            if isinstance(node.op, ast.USub):
                return -self.expr(node.operand)
            if isinstance(node.op, ast.UAdd):
                return self.expr(node.operand)
            self.error(node, "a condition is not a value", "use a conditional expression")
        if isinstance(node, ast.IfExp):
            return sp.Piecewise((self.expr(node.body), self.cond(node.test)),
                                (self.expr(node.orelse), True))
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Subscript):
            return self.subscript(node)
        if isinstance(node, (ast.Compare, ast.BoolOp)):
            self.error(node, "a condition is not a value",
                       "use a conditional expression: a if cond else b")
        self.refuse(node)

    def name(self, node: ast.Name):
        n = node.id
        if n in self.defined:
            return self.symbol(node)
        if n in P.CONSTANTS:
            return P.CONSTANTS[n]
        g = self.env.get(n)
        if isinstance(g, numbers.Real) and not isinstance(g, bool) and n not in ("True", "False"):
            return sp.Integer(g) if isinstance(g, int) else sp.Float(float(g))
        self.error(node, f"'{n}' is not defined here",
                   "assign it first; module-level names must be numbers or DSL functions")

    def subscript(self, node: ast.Subscript):
        """TABLE[i]: a module-level tuple of numbers indexed by an enclosing loop variable
        whose range lies inside the table, so no index can fall outside it."""
        table = node.value
        values = self.env.get(table.id) if isinstance(table, ast.Name) else None
        if not (isinstance(values, (tuple, list)) and values
                and all(isinstance(v, numbers.Real) for v in values)):
            self.error(node, "only module-level tuples of numbers can be indexed",
                       "the DSL has scalars only; define a constant table at module level")
        idx = node.slice
        if not (isinstance(idx, ast.Name) and idx.id in self.loops):
            self.error(idx, "a table index must be the variable of an enclosing for loop",
                       "write `for i in range(N): ... TABLE[i]`")
        start, stop = self.loops[idx.id]
        if start < 0 or stop > len(values):
            self.error(idx, f"loop range({start}, {stop}) reaches outside {table.id}, "
                       f"which has {len(values)} entries")
        return P.table(table.id, values)(self.symbol(idx))

    def call(self, node: ast.Call):
        if not isinstance(node.func, ast.Name):
            self.refuse(node.func)
        if node.keywords:
            self.error(node, "keyword arguments are not allowed", "pass arguments by position")
        name = node.func.id
        args = [self.expr(a) for a in node.args]
        if name == "pow":
            self.arity(node, 2)
            return sp.Pow(*args)
        if name in P.FUNCTIONS:
            cls = P.FUNCTIONS[name]
            self.arity(node, cls.nargs.args[0] if hasattr(cls.nargs, "args") else cls.nargs)
            return cls(*args)
        if name in P.DRAWS:
            self.arity(node, 0, "a draw takes no arguments; shift and scale it instead, "
                                "as in mu + sigma * normal()")
            loc = ir.Loc(self.fn.file, node.lineno, node.col_offset)
            parts = [self.new_tmp() for _ in range(1 if name == "uniform" else 2)]
            self.pending.append(ir.Draw(tuple(parts), name, loc))   # every draw is new
            if name == "uniform":
                return parts[0]
            from .lib.portable import box_muller      # the same bits on every target
            self.callees["box_muller"] = box_muller
            z = self.new_tmp()
            self.pending.append(ir.Call((z,), "box_muller", tuple(parts)))
            return z
        if name in P.PREDICATES:
            self.error(node, f"'{name}' gives a condition, not a value",
                       "use it in if/while or a conditional expression")
        target = self.env.get(name)
        if isinstance(target, DSLFunction):
            nparams = len(target.parse().args.args)
            self.arity(node, nparams)
            self.callees[target.name] = target      # by its own name, not an import alias
            tmp = self.new_tmp()
            self.pending.append(ir.Call((tmp,), target.name, tuple(args)))
            return tmp
        hint = ("allowed: " + ", ".join(sorted(P.FUNCTIONS)) + ", the draws "
                + " and ".join(f"{d}()" for d in P.DRAWS) + " and @dsl functions")
        if callable(target):
            hint = f"'{name}' is a Python function; decorate it with @dsl. " + hint
        self.error(node.func, f"'{name}' cannot be called in a DSL function", hint)

    def arity(self, node, n, hint=""):
        if len(node.args) != n:
            self.error(node, f"'{node.func.id}' takes {n} argument(s), got {len(node.args)}",
                       hint or f"pass exactly {n} positional argument(s)")

    def cond(self, node):
        if isinstance(node, ast.Compare):
            parts, left = [], self.expr(node.left)
            for op, right_node in zip(node.ops, node.comparators):
                rel = _COMPARE.get(type(op))
                if rel is None:
                    self.error(node, f"'{type(op).__name__}' is not a numeric comparison")
                right = self.expr(right_node)
                parts.append(rel(left, right))
                left = right
            return sp.And(*parts)
        if isinstance(node, ast.BoolOp):
            f = sp.And if isinstance(node.op, ast.And) else sp.Or
            return f(*[self.cond(v) for v in node.values])
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return P.Not(self.cond(node.operand))
        if isinstance(node, ast.Constant) and isinstance(node.value, bool):
            return sp.true if node.value else sp.false
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) \
                and node.func.id in P.PREDICATES:
            cls = P.PREDICATES[node.func.id]
            args = [self.expr(a) for a in node.args]
            if node.func.id == "converged":
                if len(args) not in (2, 3):
                    self.error(node, "converged takes (step, total) or (step, total, tol)")
                if len(args) == 2:
                    args.append(P.CONSTANTS["EPS"])
            else:
                self.arity(node, min(cls.nargs))     # isnan, isinf: 1; deferrable: 0
            return cls(*args)
        self.error(node, "a condition must be a comparison, isnan/isinf/converged/deferrable, "
                   "or and/or/not of those", "compare explicitly, e.g. x > 0")


def _ends_with_return(stmts) -> bool:
    if not stmts:
        return False
    last = stmts[-1]
    if isinstance(last, ir.Return):
        return True
    if isinstance(last, ir.If):
        return _ends_with_return(last.body) and _ends_with_return(last.orelse)
    return False
