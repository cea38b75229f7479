"""DSL mistakes are refused at build time with file:line:column, the line, a caret, a hint."""
import textwrap

import pytest

from irgen import build
from irgen.errors import DSLError

HEADER = "from irgen.dsl import *\n\n"
DECL = """
d = Distribution(name="bad", params=(Param("a", "", "positive"),),
                 support=Interval(0.0, INF), cdf=cdf)
"""


def _compile(tmp_path, body):
    path = tmp_path / "bad.py"
    path.write_text(HEADER + textwrap.dedent(body) + DECL)
    (dist,) = build.load_file(path)
    with pytest.raises(DSLError) as info:
        build.generate(dist)
    return info.value, path


CASES = [
    ("try", """
        @dsl
        def cdf(x, a):
            try:
                y = x
            except ValueError:
                y = 0.0
            return y
        """, "'try' is not allowed", "use if/else", 6),
    ("unbounded while", """
        @dsl
        def cdf(x, a):
            while x > 1.0:
                x = x / 2.0
            return x
        """, "needs an explicit iteration bound", "bounded(condition, N)", 6),
    ("unknown function", """
        @dsl
        def cdf(x, a):
            return gammainc(a, x)
        """, "'gammainc' cannot be called", "allowed:", 6),
    ("python helper", """
        def helper(x):
            return x

        @dsl
        def cdf(x, a):
            return helper(x)
        """, "'helper' cannot be called", "decorate it with @dsl", 9),
    ("non-constant range", """
        @dsl
        def cdf(x, a):
            s = 0.0
            for i in range(a):
                s = s + x
            return s
        """, "loop bound must be an integer", "fixed iteration bound", 7),
    ("undefined name", """
        @dsl
        def cdf(x, a):
            return x + b
        """, "'b' is not defined", "assign it first", 6),
    ("missing return", """
        @dsl
        def cdf(x, a):
            if x > 0.0:
                return x
        """, "can end without returning", "return statement", 5),
    ("list", """
        @dsl
        def cdf(x, a):
            v = [x, a]
            return x
        """, "'List' is not allowed", "scalars only", 6),
    ("floor division", """
        @dsl
        def cdf(x, a):
            return x // a
        """, "'FloorDiv' is not allowed", "floor(a / b)", 6),
    ("keyword argument", """
        @dsl
        def cdf(x, a):
            return exp(x=a)
        """, "keyword arguments", "by position", 6),
    ("recursion", """
        @dsl
        def cdf(x, a):
            if x < 1.0:
                return x
            return cdf(x / 2.0, a)
        """, "calls itself", "bounded loop", 4),
    ("draw in a CDF", """
        @dsl
        def cdf(x, a):
            y = x + 0.0
            return y * uniform()
        """, "'uniform()' draws a random number", "draws belong in a sampler", 7),
    ("draw with an argument", """
        @dsl
        def cdf(x, a):
            return normal(a)
        """, "'normal' takes 0 argument(s)", "mu + sigma * normal()", 6),
    ("deferrable with an argument", """
        @dsl
        def cdf(x, a):
            if deferrable(x):
                return 0.0
            return x
        """, "'deferrable' takes 0 argument(s)", "pass exactly 0 positional argument(s)", 6),
    ("assigning a draw", """
        @dsl
        def cdf(x, a):
            uniform = x
            return uniform
        """, "'uniform' is a DSL built-in", "choose another name", 6),
    ("loop bound beyond a C int", """
        @dsl
        def cdf(x, a):
            s = 0.0
            for i in range(10000000000):
                s = s + x
            return s
        """, "a loop bound must lie in [0, 2147483647], not 10000000000", "C ints", 7),
    ("wrong parameters", """
        @dsl
        def cdf(x, b):
            return x
        """, "declaration needs (x, a)", "declared order", 5),
]


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_refused_with_location(tmp_path, case):
    _, body, message, hint, line = case
    err, path = _compile(tmp_path, body)
    text = str(err)
    first = text.splitlines()[0]
    assert first.startswith(f"{path}:{line}:"), text
    assert message in first, text
    assert "hint: " in text and hint in text, text
    caret_line = text.splitlines()[2]
    assert caret_line.strip() == "^"
    col = int(first.split(":")[2])
    assert caret_line.index("^") - 4 == col - 1


def test_cli_reports_error(tmp_path, capsys):
    from irgen.cli import main
    path = tmp_path / "bad.py"
    path.write_text(HEADER + "@dsl\ndef cdf(x, a):\n    return x % a\n" + DECL)
    assert main(["build", str(path), "--out", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert f"{path}:5:12: 'Mod' is not allowed" in err and "hint:" in err
