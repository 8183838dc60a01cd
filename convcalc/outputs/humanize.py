"""The one formatter of numbers and shapes for people (renderers only; reports stay raw)."""

from __future__ import annotations

from ..model.geometry import Shape


def count(n: float) -> str:
    """Three significant digits with a decimal suffix: 260, 1.01M, 25.6M, 4.09G, 138M."""
    if abs(n) < 1000:
        return f"{n:g}" if isinstance(n, float) else str(n)
    group = 0
    value = float(n)
    while abs(value) >= 1000 and group < 4:
        value /= 1000
        group += 1
    text = f"{value:.3g}"
    if abs(float(text)) >= 1000 and group < 4:  # 999,999 rounds to 1000K: say 1M
        group += 1
        text = f"{value / 1000:.3g}"
    return text + " KMGT"[group].strip()


def data_size(n: int) -> str:
    """Bytes in binary units with three significant digits: 48840 → 47.7 KiB."""
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{n} B" if unit == "B" else f"{value:.3g} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def grouped(n: int) -> str:
    """1007590 → 1,007,590."""
    return f"{n:,}"


def shape(s: Shape, sep: str = "×") -> str:
    """24×24×10 on screen; ``sep="x"`` gives 24x24x10 for CSV, where × would trip ASCII tools."""
    return sep.join(str(d) for d in s.dims)
