"""The documentation site: every Python block of every page runs as written, every public
module has an API page, and ``mkdocs build --strict`` passes offline.

The README's blocks are run by tests/test_examples.py.
"""

import importlib.util
import os
import pathlib
import re
import subprocess
import sys

import pytest

import numpynn as nn

ROOT = pathlib.Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(p for p in DOCS.rglob("*.md") if "api" not in p.parts)
FASHION = pathlib.Path("/usr/share/datasets/fashion-mnist")


def python_blocks(page: pathlib.Path) -> list[str]:
    return re.findall(r"^```python\n(.*?)^```", page.read_text(), re.S | re.M)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(DOCS)))
def test_page_code_runs_as_written(page, tmp_path, monkeypatch, capsys):
    blocks = python_blocks(page)
    if "load_fashion_mnist" in page.read_text() and not FASHION.exists():
        pytest.skip("needs Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist)")
    monkeypatch.chdir(tmp_path)  # pages may write files (plots, models)
    namespace = {"__name__": f"docs_{page.stem.replace('-', '_')}"}
    for number, block in enumerate(blocks, start=1):
        code = compile(block, f"{page.relative_to(DOCS)}, python block {number}", "exec")
        exec(code, namespace)
    nn.manual_seed(0)  # leave the library's generator as a fresh process would have it


def test_tutorials_have_code_and_a_gradcheck():
    for page in (DOCS / "tutorials").glob("*.md"):
        blocks = python_blocks(page)
        assert blocks, f"{page.name} has no Python block"
        assert any("gradcheck" in block for block in blocks), f"{page.name}: no gradcheck"


def public_modules() -> set[str]:
    package = ROOT / "src" / "numpynn"
    found = set()
    for path in package.rglob("*.py"):
        parts = path.relative_to(package.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if not any(part.startswith("_") for part in parts):
            found.add(".".join(parts))
    return found


def test_every_public_module_has_an_api_page():
    documented = set()
    for page in (DOCS / "api").glob("*.md"):
        documented |= set(re.findall(r"^::: ([\w.]+)", page.read_text(), re.M))
    missing = sorted(public_modules() - documented)
    assert not missing, f"no API page shows {missing}: add '::: name' to a page of docs/api/"


@pytest.mark.skipif(
    importlib.util.find_spec("mkdocs") is None or importlib.util.find_spec("mkdocstrings") is None,
    reason='needs the docs extra: pip install -e ".[docs]"',
)
def test_the_site_builds_strict_and_offline(tmp_path):
    site = tmp_path / "site"
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    build = [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(site)]
    done = subprocess.run(build, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout + done.stderr
    pages = list(site.rglob("*.html"))
    assert len(pages) > 10
    for page in pages:
        fetched = re.findall(
            r'<(?:script|link|img)[^>]+(?:src|href)="(https?:[^"]*)"', page.read_text()
        )
        assert not fetched, f"{page.relative_to(site)} loads {fetched}"
    api = (site / "api" / "layers" / "index.html").read_text()
    assert "Conv2d" in api and "LeakyReLU" in api and "Examples" in api
