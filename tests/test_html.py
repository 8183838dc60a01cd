"""``show -f html``: one self-contained page, checked as HTML here and in headless Chromium.

Here: every row of the table is in the page, every group folds its rows, every layer links to
its spec line and back, every flag is listed, spec text is escaped and nothing is loaded from
elsewhere.  In Chromium: the page loads with no console message, folding a stage hides its rows
(HTML's own <details>, so without JavaScript too), and the one script's "fold to depth" works.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from convcalc.base.text import visible
from convcalc.engine.evaluate import Row, evaluate
from convcalc.engine.graph import tree
from convcalc.spec.parser import load_spec

from helpers import SPEC_FILES, expect_exit, run, spec_path, streams
from browser import dump


class Page(HTMLParser):
    """The elements of a page: (tag, attributes) in order, and its text by element id."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.data: list[str] = []
        self.title = ""
        self._in_title = self.titled = False
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))
        self._in_title = tag == "title"

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self.titled = True
        self._in_title = False

    def handle_data(self, data: str) -> None:
        self.data.append(data)
        if self._in_title and not self.titled:  # the page's <title>, not the picture's tooltips
            self.title += data

    def all(self, tag: str, **attrs: str) -> list[dict[str, str]]:
        return [a for t, a in self.elements if t == tag and all(a.get(k.rstrip("_")) == v for k, v in attrs.items())]


def page_of(path: Path, *args: str) -> str:
    result = run("show", str(path), "-f", "html", *args)
    expect_exit(result, 0)
    assert result.stderr == "", streams(result)
    return result.stdout


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: p.name)
def test_every_row_group_flag_and_line_is_in_the_page(path: Path) -> None:
    text = page_of(path)
    page = Page(text)
    report = evaluate(load_spec(path.read_bytes()))
    rows = page.all("div", class_="row")
    assert [a["id"] for a in rows] == [f"row-{r.number}" for r in report.rows]
    groups = [e for e in tree(report, None) if not isinstance(e, Row)]
    assert len(page.all("details")) == len(groups)
    ids = {a["id"] for _, a in page.elements if "id" in a}
    links = [a["href"] for a in page.all("a") if a.get("href", "").startswith("#")]
    assert all(link[1:] in ids for link in links), "every link inside the page has its target"
    lines = len(re.split("\r\n|[\r\n\x85\u2028\u2029]", path.read_text(encoding="utf-8")))
    assert len(page.all("span", class_="line")) == lines
    assert {f"#L{r.mark.line}" for r in report.rows} <= set(links)
    assert len(re.findall(r'<li><span class="(?:warning|info|accepted)">', text)) == len(report.flags)


def test_nothing_is_loaded_from_elsewhere() -> None:
    text = page_of(spec_path("resnet50.yaml"))
    page = Page(text)
    csp = page.all("meta", **{"http-equiv": "Content-Security-Policy"})
    assert csp and csp[0]["content"].startswith("default-src 'none';")
    for _, attrs in page.elements:
        for key in ("src", "href", "xlink:href"):
            assert not attrs.get(key, "").lower().startswith(("http:", "https:", "//", "file:")), attrs
    assert [t for t, _ in page.elements].count("script") == 1 and not page.all("link")


def test_spec_text_is_escaped_everywhere() -> None:
    name = 'x</title><script>alert(1)</script>"\'&\x1b[2J\u202e'
    text = f"name: {json.dumps(name)}\ndescription: {json.dumps('<b>' + name)}\ninput: 8x8x3\nlayers:\n  - conv: {{out: 4, kernel: 3}}\n"
    result = run("show", "-", "-f", "html", input=text)
    expect_exit(result, 0)
    page = Page(result.stdout)
    assert [t for t, _ in page.elements].count("script") == 1 and not page.all("b")
    assert page.title == f"{visible(name)} · convcalc"
    assert not any(ord(c) < 32 and c not in "\n" for c in result.stdout)
    # The spec's own lines are shown too, escaped: the third is the description.
    assert f"description: {json.dumps('<b>' + visible(name))}"[:20] in "".join(page.data)


def test_the_page_says_where_the_picture_would_be_without_drawsvg(monkeypatch: pytest.MonkeyPatch) -> None:
    import builtins
    import sys

    real = builtins.__import__

    def fake(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "drawsvg":
            raise ImportError("No module named 'drawsvg'")
        return real(name, *args, **kwargs)

    monkeypatch.delitem(sys.modules, "drawsvg", raising=False)
    monkeypatch.setattr(builtins, "__import__", fake)
    text = page_of(spec_path("convnet.yaml"))
    assert "The picture needs drawsvg: pip install 'convcalc[draw]'." in text and "<svg" not in text


# --- in Chromium ------------------------------------------------------------------------------

README_SPECS = ("resnet50.yaml", "unet.yaml", "inception3a.yaml")


@pytest.mark.parametrize("path", SPEC_FILES, ids=lambda p: p.name)
def test_the_page_loads_in_chromium_without_a_console_message(path: Path, tmp_path: Path) -> None:
    pytest.importorskip("drawsvg")
    page = tmp_path / "report.html"
    page.write_text(page_of(path), encoding="utf-8")
    dom, log = dump(page)
    assert 'id="row-1"' in dom
    console = [line for line in log.splitlines() if "CONSOLE" in line or "Content Security Policy" in line]
    assert console == [], console


HARNESS = """<pre id="verdict">no verdict</pre><script>
window.addEventListener("load", function () {
  // checkVisibility(): false inside a closed <details> (display: none, or content-visibility: hidden)
  var shown = function (e) { return e.checkVisibility(); };
  var stage = document.querySelector("details.group");
  var rows = Array.prototype.slice.call(stage.querySelectorAll(".row"));
  var result = {rows: rows.length, openShown: rows.every(shown)};
  stage.open = false;
  result.closedHidden = rows.every(function (r) { return !shown(r); });
  stage.open = true;
  var fold = document.getElementById("fold");
  fold.value = "1";
  fold.dispatchEvent(new Event("change"));
  result.depth1 = Array.prototype.slice.call(document.querySelectorAll(".row:not(.head)")).filter(shown).length;
  fold.value = "0";
  fold.dispatchEvent(new Event("change"));
  result.all = Array.prototype.slice.call(document.querySelectorAll(".row:not(.head)")).filter(shown).length;
  document.getElementById("verdict").textContent = JSON.stringify(result);
});
</script>"""


@pytest.mark.parametrize("name", README_SPECS)
def test_folding_a_stage_hides_its_rows(name: str, tmp_path: Path) -> None:
    report = evaluate(load_spec(spec_path(name).read_bytes()))
    text = page_of(spec_path(name))
    page = tmp_path / "report.html"
    page.write_text(text.replace("</body>", HARNESS + "</body>"), encoding="utf-8")
    dom, _ = dump(page)
    found = re.search(r'<pre id="verdict">(.*?)</pre>', dom, re.S)
    assert found, dom[-2000:]
    result = json.loads(found.group(1))
    assert result["rows"] > 0 and result["openShown"] and result["closedHidden"], result
    assert result["depth1"] == sum(1 for e in tree(report, 1) if isinstance(e, Row))  # the table at --depth 1
    assert result["all"] == len(report.rows)


NO_SCRIPT_HARNESS = """<pre id="verdict">no verdict</pre><script>
window.addEventListener("load", function () {
  var all = Array.prototype.slice.call(document.querySelectorAll(".row:not(.head)"));
  var details = Array.prototype.slice.call(document.querySelectorAll("details.group"));
  var result = {rows: all.length, shown: all.filter(function (e) { return e.checkVisibility(); }).length,
                closed: details.filter(function (d) { return !d.open; }).length, details: details.length};
  details[0].open = true;  // what a click on its summary does, without any script of the page
  result.afterOpen = all.filter(function (e) { return e.checkVisibility(); }).length;
  document.getElementById("verdict").textContent = JSON.stringify(result);
});
</script>"""


def test_the_page_needs_no_script_of_its_own(tmp_path: Path) -> None:
    # The page with its one script removed (as a browser without JavaScript runs it): every row is
    # there, --depth 1 starts with every group folded, and <details> unfolds one by itself.  (The
    # harness that looks is a script, but not the page's.)
    report = evaluate(load_spec(spec_path("unet.yaml").read_bytes()))
    text = page_of(spec_path("unet.yaml"), "--depth", "1")
    without = re.sub(r"<script>.*?</script>", "", text, flags=re.S)
    assert "<script" not in without
    page = tmp_path / "report.html"
    page.write_text(without.replace("</body>", NO_SCRIPT_HARNESS + "</body>"), encoding="utf-8")
    dom, _ = dump(page)
    result = json.loads(re.search(r'<pre id="verdict">(.*?)</pre>', dom, re.S).group(1))  # type: ignore[union-attr]
    assert result["rows"] == len(report.rows) == 31  # U-Net's 31 rows (specs/unet.yaml's header)
    assert result["closed"] == result["details"] > 0
    shown_at_1 = sum(1 for e in tree(report, 1) if isinstance(e, Row))  # the pools and the last conv
    assert result["shown"] == shown_at_1
    first = next(e for e in tree(report, None) if not isinstance(e, Row))
    assert result["afterOpen"] == shown_at_1 + sum(1 for e in tree(report, None)
                                                  if isinstance(e, Row) and first.start <= e.number - 1 < first.end)


def test_the_console_check_finds_an_error_and_a_remote_load(tmp_path: Path) -> None:
    # The test above proves something only if Chromium's log shows both: a script error, and a
    # remote image that the page's Content-Security-Policy refuses.
    text = page_of(spec_path("convnet.yaml"))
    page = tmp_path / "report.html"
    page.write_text(text.replace("</body>", '<img src="https://example.com/a.png"><script>nope();</script></body>'),
                    encoding="utf-8")
    _, log = dump(page)
    assert any("Uncaught ReferenceError: nope is not defined" in line for line in log.splitlines())
    assert any("violates the following Content Security Policy directive" in line for line in log.splitlines())
