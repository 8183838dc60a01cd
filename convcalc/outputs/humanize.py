"""The one formatter of numbers and shapes for people (renderers only; reports stay raw)."""

from __future__ import annotations

from ..model.geometry import Shape


def scientific(n: int) -> str:
    """A whole number of any size in three significant digits: 1.23e+315 (exact, no float)."""
    sign, digits = ("-" if n < 0 else ""), str(abs(n))
    exponent = len(digits) - 1
    mantissa = (int(digits[:4].ljust(4, "0")) + 5) // 10  # three digits, rounded half up
    if mantissa >= 1000:
        mantissa, exponent = mantissa // 10, exponent + 1
    text = str(mantissa)
    return f"{sign}{text[0]}.{text[1:]}e+{exponent:02d}"


def count(n: float) -> str:
    """Three significant digits with a decimal suffix: 260, 1.01M, 25.6M, 4.09G, 138M; from 1000T
    on, scientific (1.23e+21), computed on the integer so that any figure prints."""
    if abs(n) < 1000:
        return f"{n:g}" if isinstance(n, float) else str(n)
    if abs(n) >= 999_500_000_000_000:  # past 999T: no suffix left
        return scientific(n) if isinstance(n, int) else f"{n:.2e}"
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
    """Bytes in binary units with three significant digits: 48840 → 47.7 KiB; from 1024 TiB on,
    bytes in scientific form (1.23e+21 B)."""
    if abs(n) >= 1024**5:
        return f"{scientific(n)} B"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            if unit == "B":
                return f"{n} B"
            return f"{value:.3g} {unit}" if abs(value) < 999.5 else f"{value:.0f} {unit}"  # not 1.02e+03 GiB
        value /= 1024
    raise AssertionError("unreachable")


def grouped(n: int) -> str:
    """1007590 → 1,007,590."""
    return f"{n:,}"


def shape(s: Shape, sep: str = "×") -> str:
    """24×24×10 on screen, a token sequence marked (197×768 tok); ``sep="x"`` gives the bare dims
    24x24x10 and 197x768 for CSV, where × would trip ASCII tools."""
    text = sep.join(str(d) for d in s.dims)
    return f"{text} tok" if s.tokens and sep == "×" else text
