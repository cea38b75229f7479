"""The documentation's structure: README.md stays an entry point of at most 220 lines,
every relative Markdown link in README.md and docs/*.md points to a file or folder that
exists, every docs page is linked from docs/index.md and from README.md, and each docs page
starts with a `# ` title."""
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def _targets(page: Path):
    """The relative link targets of a page, without #fragments (anchor-only and http(s)
    links left out)."""
    for target in LINK.findall(page.read_text()):
        if target.startswith(("http://", "https://", "#")):
            continue
        yield target.split("#", 1)[0]


def test_readme_is_short():
    assert len(README.read_text().splitlines()) <= 220


def test_there_are_docs_pages():
    assert DOCS / "index.md" in PAGES and len(PAGES) > 1


@pytest.mark.parametrize("page", [README, *PAGES], ids=lambda p: p.name)
def test_relative_links_resolve(page):
    missing = [t for t in _targets(page) if not (page.parent / t).exists()]
    assert not missing, f"{page.name}: broken links {missing}"


@pytest.mark.parametrize("index", [DOCS / "index.md", README], ids=lambda p: p.name)
def test_every_page_is_linked(index):
    linked = {(index.parent / t).resolve() for t in _targets(index)}
    unlinked = [p.name for p in PAGES if p != index and p.resolve() not in linked]
    assert not unlinked, f"{index.name} does not link {unlinked}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_page_starts_with_a_title(page):
    assert page.read_text().startswith("# ")
