"""The lane printer's flags: a variable a loop sets only right before its breaks (`done =
1.0; break`) is set once after the loop from the lanes that broke. What qualifies (the
built-ins' series and fractions, and tests/compiler/test_constructs.py's flag_one, check
that such loops compute what the DSL run as Python does)."""
from irgen import analysis, ir
from irgen.dsl import *
from irgen.frontend import lower


@dsl
def flagged(x):
    total = 0.0
    done = 0.0
    for k in range(50):
        total = total + x ** k
        if x ** k < 1e-3:
            done = 1.0
            break
        if total > 100.0:
            done = 1.0
            break
    return total if done > 0.0 else NAN


@dsl
def read_inside(x):
    total = 0.0
    done = 0.0
    for k in range(50):
        total = total + done + x ** k
        if x ** k < 1e-3:
            done = 1.0
            break
    return total if done > 0.0 else NAN


@dsl
def two_values(x):
    total = 0.0
    how = 0.0
    for k in range(50):
        total = total + x ** k
        if x ** k < 1e-3:
            how = 1.0
            break
        if total > 100.0:
            how = 2.0
            break
    return total + how


@dsl
def plain_break_too(x):
    total = 0.0
    done = 0.0
    for k in range(50):
        total = total + x ** k
        if x ** k < 1e-3:
            done = 1.0
            break
        if total > 100.0:
            break
    return total if done > 0.0 else NAN


def _loop(f):
    fn, _ = lower(f)
    return next(s for s in ir.walk(fn.body) if isinstance(s, ir.Loop))


def test_what_is_a_flag():
    flag, value = analysis.flag_set_at_break(_loop(flagged).body)
    assert str(flag) == "done" and float(value) == 1.0
    for f in (read_inside, two_values, plain_break_too):
        assert analysis.flag_set_at_break(_loop(f).body) is None, f.__name__
    loop = _loop(flagged)
    stripped = analysis.without(loop.body, flag)
    assert all(not (isinstance(s, ir.Assign) and s.target == flag)
               for s in ir.walk(stripped))
    assert sum(isinstance(s, ir.Break) for s in ir.walk(stripped)) == 2

