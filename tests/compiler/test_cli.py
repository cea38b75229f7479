"""The command line answers ordinary mistakes with one line located in the user's file and
exit status 1, never a traceback; a seeded fuzz of token mutations of a DSL file holds it to
that (every mutant builds, or is refused that way)."""
import ast
import io
import random
import re
import subprocess
import sys
import tokenize

import pytest

from irgen import build
from irgen.cli import main
from paths import ROOT, FIXTURES

SEED = FIXTURES / "fuzz_seed.py"
HEADER = "from irgen.dsl import *\n\n\n@dsl\ndef cdf(x, a):\n    return x\n\n\n"
GOOD = 'd = Distribution(name="d", params=(Param("a"),), support=Interval(0.0, 1.0), cdf=cdf)\n'
# a located message: file:line: or file:line:column:
LOCATED = re.compile(r"^(?P<file>[^\s:]+):(?P<line>\d+)(:(?P<col>\d+))?: \S")


def _build(tmp_path, capsys, *args, out=None):
    code = main(["build", *map(str, args), "--out", str(out or tmp_path / "out"),
                 "--no-cuda-binary"])
    return code, capsys.readouterr().err


def _one_line(err) -> str:
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


def _file(tmp_path, text, name="dists.py"):
    path = tmp_path / name
    path.write_text(text)
    return path


# (what is wrong, the DSL file's text, (line, column or None), what the message says)
MISTAKES = [
    ("a Python syntax error", HEADER.replace("(x, a):", "(x, a)"), (5, 14), "expected ':'"),
    ("a NameError while loading", HEADER + GOOD.replace("Param(", "Parm("), (9, None),
     "NameError: name 'Parm' is not defined"),
    ("a TypeError while loading", HEADER + "n = len(5)\n" + GOOD, (9, None), "TypeError"),
    ("a bad Param domain", HEADER + GOOD.replace('Param("a")', 'Param("a", "", "positiv")'),
     (9, None), "domain must be 'real' or 'positive', not 'positiv'"),
    ("an Interval missing a bound", HEADER + GOOD.replace("Interval(0.0, 1.0)", "Interval(0.0)"),
     (9, None), "missing 1 required positional argument: 'high'"),
    ("a plain function where a DSL function is needed",
     HEADER.replace("@dsl\n", "") + GOOD, (8, None),
     "cdf= is the plain function 'cdf', not a DSL function; decorate it with @dsl"),
    ("two distributions with one name", HEADER + GOOD + GOOD.replace("d = ", "e = "),
     (10, None), "a second distribution named 'd' (the first is at"),
    ("a declaration that does not fit its function",
     HEADER + GOOD.replace('(Param("a"),)', '(Param("b"),)'), (5, 1),
     "cdf of 'd' takes (x, a), but the declaration needs (x, b)"),
    ("a construct the DSL refuses", HEADER.replace("return x", "return x % 2.0") + GOOD,
     (6, 12), "'Mod' is not allowed in a DSL function; hint: use a - b * floor(a / b)"),
]


@pytest.mark.parametrize("what,text,where,message", MISTAKES, ids=[m[0] for m in MISTAKES])
def test_mistake_in_a_dsl_file_is_one_located_line(tmp_path, capsys, monkeypatch, what, text,
                                                   where, message):
    monkeypatch.chdir(tmp_path)
    path = _file(tmp_path, text)
    code, err = _build(tmp_path, capsys, path.name)
    assert code == 1
    assert "Traceback" not in err
    first, *rest = err.strip().splitlines()
    m = LOCATED.match(first)
    assert m and m["file"] == "dists.py", first
    assert (int(m["line"]), m["col"] and int(m["col"])) == where, first
    assert message in first
    # a located DSL error may show the offending line and a caret under it, nothing else
    assert len(rest) in (0, 2) and (not rest or rest[1].strip() == "^"), err
    assert not list((tmp_path / "out").glob("*.py")) if (tmp_path / "out").exists() else True


def test_missing_path(tmp_path, capsys):
    code, err = _build(tmp_path, capsys, tmp_path / "nope.py")
    assert code == 1 and "nope.py: no such file" in _one_line(err)


def test_a_folder_is_not_a_dsl_file(tmp_path, capsys):
    code, err = _build(tmp_path, capsys, tmp_path)
    assert code == 1 and "is a folder" in _one_line(err)


def test_file_that_declares_nothing(tmp_path, capsys):
    code, err = _build(tmp_path, capsys, _file(tmp_path, HEADER))
    assert code == 1 and "declares no distribution" in _one_line(err)


def test_output_folder_that_cannot_be_written(tmp_path, capsys):
    (tmp_path / "a_file").write_text("")
    code, err = _build(tmp_path, capsys, _file(tmp_path, HEADER + GOOD),
                       out=tmp_path / "a_file" / "out")
    assert code == 1
    line = _one_line(err)
    assert "a_file/out: cannot write the output folder (Not a directory)" in line


def test_show_of_an_unknown_name(capsys):
    assert main(["show", "nope"]) == 1
    assert "no distribution named 'nope'" in _one_line(capsys.readouterr().err)


def test_exit_status_and_output_of_the_command(tmp_path):
    """As a process: status 1, one line on stderr, nothing on stdout."""
    path = _file(tmp_path, HEADER.replace("(x, a):", "(x, a)"))
    done = subprocess.run([sys.executable, "-m", "irgen", "build", str(path), "--out",
                           str(tmp_path / "out")], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 1 and done.stdout == ""
    assert re.match(rf"^{re.escape(str(path))}:5:14: expected ':'$",
                    done.stderr.splitlines()[0])
    assert "Traceback" not in done.stderr


def test_irgen_bugs_keep_their_traceback(tmp_path, capsys, monkeypatch):
    def broken(dist):
        raise RuntimeError("an internal failure")
    monkeypatch.setattr(build, "generate", broken)
    code, err = _build(tmp_path, capsys, _file(tmp_path, HEADER + GOOD))
    assert code == 2
    assert "Traceback" in err and "RuntimeError: an internal failure" in err
    assert "bug in irgen" in err


def test_debug_shows_the_traceback_of_a_mistake(tmp_path):
    path = _file(tmp_path, HEADER + GOOD.replace("Param(", "Parm("))
    done = subprocess.run([sys.executable, "-m", "irgen", "--debug", "build", str(path)],
                          capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 1 and "Traceback" in done.stderr


# ---------------------------------------------------------------- fuzz

_KINDS = {tokenize.NAME, tokenize.OP, tokenize.NUMBER, tokenize.STRING}


def mutants(text: str, n: int, seed: int):
    """n sources, each the token stream of text with one to three mutations: a token
    deleted, replaced by one of the file's tokens (of the same kind, or any), one inserted,
    or two neighbours swapped."""
    tokens = [(t.type, t.string) for t in tokenize.generate_tokens(io.StringIO(text).readline)]
    vocabulary = sorted({t for t in tokens if t[0] in _KINDS})
    rng = random.Random(seed)
    for _ in range(n):
        ts = list(tokens)
        for _ in range(rng.randint(1, 3)):
            i = rng.choice([k for k, t in enumerate(ts) if t[0] in _KINDS])
            op = rng.choice(("delete", "replace", "same kind", "same kind", "insert", "swap"))
            if op == "delete":
                del ts[i]
            elif op == "replace":
                ts[i] = rng.choice(vocabulary)
            elif op == "same kind":
                ts[i] = rng.choice([v for v in vocabulary if v[0] == ts[i][0]])
            elif op == "insert":
                ts.insert(i, rng.choice(vocabulary))
            else:
                j = min(i + 1, len(ts) - 1)
                ts[i], ts[j] = ts[j], ts[i]
        try:
            yield tokenize.untokenize(ts)
        except (ValueError, tokenize.TokenError):
            continue


@pytest.mark.parametrize("n", [150, pytest.param(600, marks=pytest.mark.slow)])
def test_mutated_dsl_files_build_or_give_one_located_line(tmp_path, capsys, n):
    """n seeded mutants of a valid DSL file (the first 150 in every run, 600 with -m slow):
    each builds (exit 0: its C compiles), or is refused with status 1 and a message whose
    first line is complete, with no traceback."""
    text = SEED.read_text()
    assert _build(tmp_path, capsys, SEED)[0] == 0
    path, out = tmp_path / "mutant.py", tmp_path / "out"
    counts = {"tried": 0, "valid Python": 0, "built": 0, "refused": 0}
    failures = []
    for source in mutants(text, n, seed=2026):
        counts["tried"] += 1
        try:
            ast.parse(source)
            counts["valid Python"] += 1
        except SyntaxError:
            pass
        path.write_text(source)
        code, err = _build(tmp_path, capsys, path, out=out)
        lines = err.strip().splitlines()
        if code == 0:
            counts["built"] += 1
        elif (code == 1 and "Traceback" not in err and 1 <= len(lines) <= 3
              and (LOCATED.match(lines[0]) or lines[0].startswith("irgen: "))):
            counts["refused"] += 1
        else:
            failures.append(f"exit {code}\n{err}\n--- mutant:\n{source}")
    print(counts)
    assert not failures, f"{len(failures)} of {counts}:\n" + failures[0]
    assert counts["built"] >= n // 100 and counts["valid Python"] >= n // 15
