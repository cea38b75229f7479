"""A wheel of irgen built from a copy of this checkout (its build folder would otherwise
keep files of earlier builds, which setuptools packs along)."""
import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
_SKIP = shutil.ignore_patterns(".git", ".venv", "build", "dist", "*.egg-info", "__pycache__",
                               ".pytest_cache", ".hypothesis", "*.so", "*.fatbin", ".gpu")


def build_wheel(tmp: Path) -> Path:
    """Build the wheel in tmp (without build isolation: this environment's setuptools)."""
    source = tmp / "source"
    shutil.copytree(ROOT, source, ignore=_SKIP)
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps",
                    "--no-build-isolation", "-w", str(tmp / "wheel"), str(source)],
                   check=True, capture_output=True)
    (wheel,) = (tmp / "wheel").glob("irgen-*.whl")
    return wheel
