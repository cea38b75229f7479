"""Where the tests find the repository and their fixtures, from any folder of tests/."""
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "tests" / "fixtures"
