"""Write convcalc/outputs/fontmetrics.py: the advance widths of DejaVu Sans and DejaVu Sans Bold.

`convcalc draw` declares DejaVu Sans for its text and lays the text out with these widths, so
that labels never overlap where that font is installed (the browser tests check it in Chromium;
.ci/run installs fonts-dejavu-core).  Run again only to widen the character set:

    pip install fonttools && python tools/font_metrics.py /usr/share/fonts/truetype/dejavu

Widths are in thousandths of an em, for the printable ASCII characters and the few others
convcalc writes in labels; any other character is laid out as a wide one (see fontmetrics.py).
"""

from __future__ import annotations

import sys
from pathlib import Path

from fontTools.ttLib import TTFont

CHARS = "".join(chr(c) for c in range(32, 127)) + "×·→‖…−⊕⊗©▸▾↳≈≤≥αβγ"
OUT = Path(__file__).resolve().parent.parent / "convcalc" / "outputs" / "fontmetrics.py"


def widths(path: Path) -> str:
    font = TTFont(path)
    cmap, hmtx, em = font.getBestCmap(), font["hmtx"], font["head"].unitsPerEm
    return ",".join(str(round(1000 * hmtx[cmap[ord(c)]][0] / em)) for c in CHARS)


def main() -> None:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "/usr/share/fonts/truetype/dejavu")
    regular, bold = widths(folder / "DejaVuSans.ttf"), widths(folder / "DejaVuSans-Bold.ttf")
    OUT.write_text(f'''"""Advance widths of DejaVu Sans, the font `convcalc draw` declares; written by tools/font_metrics.py.

Thousandths of an em for each character of ``CHARS``; :func:`text_width` lays out any other
character as one em wide (wider than any of these), so that an estimate is never short.
"""

from __future__ import annotations

CHARS = {CHARS!r}
REGULAR = dict(zip(CHARS, ({regular})))
BOLD = dict(zip(CHARS, ({bold})))


def text_width(text: str, size: float, bold: bool = False) -> float:
    """The width of ``text`` set in DejaVu Sans at ``size`` pixels."""
    table = BOLD if bold else REGULAR
    return size * sum(table.get(c, 1000) for c in text) / 1000
''', encoding="utf-8")


if __name__ == "__main__":
    main()
