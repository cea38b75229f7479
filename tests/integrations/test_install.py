"""irgen as an installed library: a wheel in a fresh virtual environment, used from an empty
folder. The built-ins import as irgen.generated and compile on first use into the user's
cache (once, and once only when two processes start together), a user's DSL file builds and
imports from its folder, and irgen.torch draws and back-propagates."""
import json
import os
import subprocess
import sys
import sysconfig
import textwrap
import venv
from pathlib import Path

import numpy as np
import pytest
from scipy import special
from built_wheel import build_wheel
from paths import ROOT

pytestmark = pytest.mark.install


def _run(python, code, cwd, env, check=True):
    done = subprocess.run([str(python), "-c", textwrap.dedent(code)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)
    if check and done.returncode:
        raise AssertionError(f"exit {done.returncode}\n{done.stdout}\n{done.stderr}")
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """(python, environment, empty folder) of a new virtual environment holding irgen
    installed from a wheel built from this checkout. Its dependencies are this environment's
    packages, reached through a .pth file, so nothing is downloaded; this checkout's own
    irgen is not on its path."""
    import setuptools
    if int(setuptools.__version__.split(".")[0]) < 77:
        pytest.skip("building the wheel needs setuptools >= 77")
    tmp = tmp_path_factory.mktemp("install")
    wheel = build_wheel(tmp)
    venv.create(tmp / "venv", with_pip=False)
    python = tmp / "venv" / "bin" / "python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "-q",
                    "--no-deps", "--no-index", str(wheel)], check=True, capture_output=True)
    site = _run(python, "import sysconfig; print(sysconfig.get_paths()['purelib'])", tmp,
                None).stdout.strip()
    (Path(site) / "outer.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    empty = tmp / "work"
    empty.mkdir()
    env = {"PATH": f"{python.parent}:/usr/bin:/bin", "HOME": str(tmp / "home"),
           "IRGEN_CACHE_DIR": str(tmp / "cache")}
    return python, env, empty, Path(site)


def test_builtin_imports_anywhere_and_compiles_once(installed):
    python, env, empty, site = installed
    code = """
        import irgen, irgen.generated.gamma as g
        print(irgen.__file__)
        print(repr(float(g.implicit_grad(0.5, 2.0, 1.0)[0])))
        """
    first = _run(python, code, empty, env)
    where, value = first.stdout.split()
    assert Path(where).parent == site / "irgen"
    assert "compiling gamma.c" in first.stderr and " done in " in first.stderr
    assert len(first.stderr.strip().splitlines()) == 1, first.stderr
    # dz/dalpha = -(dF/dalpha) / q at z = 0.5, alpha = 2, beta = 1, by central differences
    h = 1e-5
    dF = (special.gammainc(2 + h, 0.5) - special.gammainc(2 - h, 0.5)) / (2 * h)
    want = -dF / (0.5 * np.exp(-0.5))
    assert abs(float(value) - want) < 1e-8 * abs(want)
    second = _run(python, code, empty, env)
    assert second.stdout == first.stdout and "compiling" not in second.stderr
    # the binary went to the cache, nothing into site-packages
    assert list(Path(env["IRGEN_CACHE_DIR"]).glob("*/_gamma_*.so"))
    assert not list(site.rglob("*.so"))


def test_user_distribution_builds_and_imports_from_its_folder(installed):
    python, env, empty, _ = installed
    (empty / "my_dists.py").write_text((ROOT / "examples" / "loglogistic.py").read_text())
    built = subprocess.run([str(python.parent / "irgen"), "build", "my_dists.py", "--out",
                            "mypkg", "--no-cuda-binary"], cwd=empty, env=env,
                           capture_output=True, text=True, timeout=600)
    assert built.returncode == 0, built.stderr
    out = _run(python, """
        import mypkg.loglogistic as d
        print(repr(float(d.cdf(1.5, 1.0, 2.0))))
        """, empty, env).stdout
    assert float(out) == pytest.approx(1.5 ** 2 / (1 + 1.5 ** 2), rel=1e-15)


def test_torch_draws_and_backpropagates(installed):
    pytest.importorskip("torch")
    python, env, empty, _ = installed
    out = _run(python, """
        import json, torch
        from irgen.torch import Gamma, MixtureSameFamily, Truncated, VonMises
        torch.manual_seed(0)
        a = torch.tensor([0.7, 2.0, 9.0], dtype=torch.float64, requires_grad=True)
        z = Gamma(a, torch.ones(3, dtype=torch.float64)).rsample()
        z.sum().backward()
        # torch's own approximation of dz/dalpha at the same draws
        print(json.dumps([a.grad.tolist(), torch._standard_gamma_grad(a, z).tolist(),
                          z.grad_fn.name()]))
        """, empty, env).stdout
    got, want, node = json.loads(out)
    got, want = np.array(got), np.array(want)
    from irgen.torch import native
    if native.extension() is not None:      # where it builds here, the install builds it too
        assert node.endswith("CppNode<irgen::RSampleBackward>")
    assert np.all(np.isfinite(got))
    assert np.allclose(got, want, rtol=1e-3)


def test_two_processes_compile_into_one_cache(tmp_path):
    """Two processes import a built-in with an empty cache at once: one compiles, the other
    waits for it; both give the same numbers and the cache holds one whole binary."""
    env = dict(os.environ, IRGEN_CACHE_DIR=str(tmp_path / "cache"))
    code = ("import irgen.generated.normal as n; "
            "print(repr(float(n.cdf(0.3, 0.0, 1.0))))")
    procs = [subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert outs[0][0] == outs[1][0]
    assert float(outs[0][0]) == pytest.approx(special.ndtr(0.3), rel=1e-15)
    assert sum("compiling normal.c" in err for _, err in outs) == 1
    files = [p.name for p in (tmp_path / "cache").rglob("*") if p.is_file()]
    assert len([f for f in files if f.startswith("_normal_") and f.endswith(".so")]) == 1
    assert len([f for f in files if f.startswith("_boundary_")]) <= 1   # the small calls' path
    assert not [f for f in files if f.endswith(".tmp")]
