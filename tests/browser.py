"""Headless Chromium for the tests, with nothing downloaded: Debian's ``/usr/bin/chromium`` runs
a local page whose script does the checking and writes its verdict into the page, and
``--dump-dom`` hands the page back once its scripts are done (``--virtual-time-budget`` lets the
promises settle).  Mermaid's own bundle comes from the npm registry's tarball, fetched by
``.ci/run`` (``npm pack``), never by a test.

Where a tool is missing, a test skips on a developer's machine and fails in CI (``CI`` set):
the browser tests must run there.
"""

from __future__ import annotations

import html
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path
import pytest

# Chromium as the environment's notes start it: no first-run work and no background network
# (this machine has none, and each refused connection costs time).
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-extensions", "--allow-file-access-from-files")


def need(what: str, found: object, hint: str) -> None:
    """Skip (or, in CI, fail) a test whose tool is missing."""
    if not found:
        message = f"{what} is missing: {hint}"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)

def chromium() -> str:
    found = os.environ.get("CONVCALC_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    need("Chromium", found, "apt-get install chromium (or set CONVCALC_CHROMIUM)")
    return str(found)


def mermaid_js() -> Path:
    found = os.environ.get("CONVCALC_MERMAID_JS")
    need("Mermaid's bundle", found and Path(found).is_file(),
         "set CONVCALC_MERMAID_JS to dist/mermaid.min.js of `npm pack mermaid` (.ci/run does)")
    return Path(str(found))


def run_page(body: str, scripts: tuple[Path, ...] = (), budget_ms: int = 20000) -> str:
    """Open a page of ``body`` after ``scripts`` (local files) in headless Chromium; the text of
    its ``<pre id="verdict">`` once its scripts have run."""
    browser = chromium()
    with tempfile.TemporaryDirectory() as tmp:
        page = Path(tmp) / "page.html"
        tags = "".join(f'<script src="{s.as_uri()}"></script>' for s in scripts)
        page.write_text(f'<!doctype html><html><head><meta charset="utf-8">{tags}</head>'
                        f'<body><pre id="verdict">no verdict</pre>{body}</body></html>', encoding="utf-8")
        done = subprocess.run(
            [browser, *FLAGS, f"--user-data-dir={tmp}/profile", f"--virtual-time-budget={budget_ms}", "--dump-dom",
             page.as_uri()],
            capture_output=True, timeout=120, check=False,
        )
    dom = done.stdout.decode("utf-8", errors="replace")
    found = re.search(r'<pre id="verdict">(.*?)</pre>', dom, re.S)
    assert found, f"Chromium exited {done.returncode} without a verdict: {done.stderr.decode(errors='replace')[-2000:]}"
    return html.unescape(found.group(1))


def parse_mermaid(texts: list[str]) -> list[str]:
    """Each text's diagram type as Mermaid's parser names it, or ``error …``."""
    data = json.dumps(texts).replace("</", "<\\/")  # no text can end the script element
    script = f"""<script>
mermaid.initialize({{startOnLoad: false, securityLevel: "strict"}});
const texts = {data};
Promise.all(texts.map(t => mermaid.parse(t).then(r => r.diagramType, e => "error " + e.message)))
  .then(r => {{ document.getElementById("verdict").textContent = JSON.stringify(r); }});
</script>"""
    results: list[str] = json.loads(run_page(script, (mermaid_js(),)))
    return results
