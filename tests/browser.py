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


def dump(page: Path, *flags: str, budget_ms: int = 20000) -> tuple[str, str]:
    """Open the file ``page`` in headless Chromium: the DOM once its scripts have run, and what
    Chromium logged (with ``--enable-logging=stderr``, each console message is a CONSOLE line)."""
    browser = chromium()
    with tempfile.TemporaryDirectory() as tmp:
        done = subprocess.run(
            [browser, *FLAGS, *flags, f"--user-data-dir={tmp}/profile", f"--virtual-time-budget={budget_ms}",
             "--enable-logging=stderr", "--v=0", "--dump-dom", page.as_uri()],
            capture_output=True, timeout=120, check=False,
        )
    return done.stdout.decode("utf-8", errors="replace"), done.stderr.decode("utf-8", errors="replace")


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


# In the page: every text's box as Chromium measures it (getBBox, in the SVG's coordinates),
# pairs of texts that overlap, arrow segments that cross a box other than their own ends, and
# the picture drawn on a canvas at its own size with its pixels counted.
_SVG_CHECK = r"""
function overlaps(a, b, pad) {
  return a.x < b.x + b.width - pad && b.x < a.x + a.width - pad && a.y < b.y + b.height - pad && b.y < a.y + a.height - pad;
}
function crosses(x0, y0, x1, y1, r) {  // an axis-parallel segment against a rectangle, shrunk by 1px
  const left = r.x + 1, right = r.x + r.width - 1, top = r.y + 1, bottom = r.y + r.height - 1;
  if (y0 === y1) return y0 > top && y0 < bottom && Math.max(x0, x1) > left && Math.min(x0, x1) < right;
  return x0 > left && x0 < right && Math.max(y0, y1) > top && Math.min(y0, y1) < bottom;
}
async function check(svgText) {
  const holder = document.createElement("div");
  holder.innerHTML = svgText.replace(/^<\?xml[^>]*>/, "");
  document.body.appendChild(holder);
  const svg = holder.querySelector("svg");
  const texts = [...svg.querySelectorAll("text")].map(t => ({text: t.textContent, box: t.getBBox()}));
  const textOverlaps = [];
  for (let i = 0; i < texts.length; i++)
    for (let j = i + 1; j < texts.length; j++)
      if (overlaps(texts[i].box, texts[j].box, 0.5)) textOverlaps.push([texts[i].text, texts[j].text]);
  const boxes = Object.fromEntries([...svg.querySelectorAll("g.box")].map(g => [g.dataset.id, g.getBBox()]));
  const crossings = [];
  for (const path of svg.querySelectorAll("path.arrow")) {
    const nums = path.getAttribute("d").match(/-?[0-9.]+/g).map(Number);
    for (let k = 0; k + 3 < nums.length; k += 2) {
      const [x0, y0, x1, y1] = nums.slice(k, k + 4);
      for (const [id, r] of Object.entries(boxes))
        if (id !== path.dataset.from && id !== path.dataset.to && crosses(x0, y0, x1, y1, r))
          crossings.push([path.dataset.from, path.dataset.to, id]);
    }
  }
  const width = Number(svg.getAttribute("width")), height = Number(svg.getAttribute("height"));
  const outside = texts.filter(t => t.box.x < 0 || t.box.y < 0 || t.box.x + t.box.width > width
                                    || t.box.y + t.box.height > height).map(t => t.text);
  const image = new Image();
  image.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(svgText);
  await image.decode();
  const canvas = document.createElement("canvas");
  canvas.width = Math.ceil(width); canvas.height = Math.ceil(height);
  const context = canvas.getContext("2d");
  context.drawImage(image, 0, 0);
  const pixels = context.getImageData(0, 0, canvas.width, canvas.height).data;
  const [r0, g0, b0] = pixels;  // the background, at the top left corner
  let inked = 0;
  for (let p = 0; p < pixels.length; p += 4)
    if (Math.abs(pixels[p] - r0) + Math.abs(pixels[p + 1] - g0) + Math.abs(pixels[p + 2] - b0) > 60) inked++;
  holder.remove();
  return {texts: texts.length, textOverlaps, boxes: Object.keys(boxes).length, crossings, outside,
          size: [image.naturalWidth, image.naturalHeight], inked, total: canvas.width * canvas.height,
          font: document.fonts.check("11px 'DejaVu Sans'")};
}
"""


def check_svgs(svgs: list[str]) -> list[dict]:  # type: ignore[type-arg]
    """For each SVG text: its texts' overlaps, its arrows' crossings and its rendering (see _SVG_CHECK)."""
    data = json.dumps(svgs).replace("</", "<\\/")
    script = f"""<script>{_SVG_CHECK}
const svgs = {data};
(async () => {{
  const results = [];
  for (const s of svgs) {{
    try {{ results.push(await check(s)); }} catch (e) {{ results.push({{error: String(e)}}); }}
  }}
  document.getElementById("verdict").textContent = JSON.stringify(results);
}})();
</script>"""
    results: list[dict] = json.loads(run_page(script))  # type: ignore[type-arg]
    return results
