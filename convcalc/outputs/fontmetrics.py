"""Advance widths of DejaVu Sans, the font `convcalc draw` declares; written by tools/font_metrics.py.

Thousandths of an em for each character of ``CHARS``; :func:`text_width` lays out any other
character as one em wide (wider than any of these), so that an estimate is never short.
"""

from __future__ import annotations

CHARS = ' !"#$%&\'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ[\\]^_`abcdefghijklmnopqrstuvwxyz{|}~×·→‖…−⊕⊗©▸▾↳≈≤≥αβγ'
REGULAR = dict(zip(CHARS, (318,401,460,838,636,950,780,275,390,390,500,838,318,361,318,337,636,636,636,636,636,636,636,636,636,636,337,337,838,838,838,531,1000,684,686,698,770,632,575,775,752,295,295,656,557,863,748,787,603,787,695,635,611,732,684,989,685,611,685,390,337,390,838,500,500,613,635,550,635,615,352,635,634,278,278,579,278,974,634,612,635,635,411,521,392,634,592,818,592,592,525,636,337,636,838,838,318,838,500,1000,838,838,838,1000,502,502,838,838,838,838,659,638,592)))
BOLD = dict(zip(CHARS, (348,456,521,838,696,1002,872,306,457,457,523,838,380,415,380,365,696,696,696,696,696,696,696,696,696,696,400,400,838,838,838,580,1000,774,762,734,830,683,683,821,837,372,372,775,637,995,837,850,733,850,770,720,682,812,774,1103,771,724,725,457,365,457,838,500,500,675,716,593,716,678,435,716,712,343,343,665,343,1042,712,687,716,716,493,595,478,712,652,924,645,652,582,712,365,712,838,838,380,838,500,1000,838,838,838,1000,502,502,838,838,838,838,687,716,681)))


def text_width(text: str, size: float, bold: bool = False) -> float:
    """The width of ``text`` set in DejaVu Sans at ``size`` pixels."""
    table = BOLD if bold else REGULAR
    return size * sum(table.get(c, 1000) for c in text) / 1000
