"""Charts of the recall-risk report as PNG data URIs, so the HTML is one self-contained file.

matplotlib runs on the Agg backend (no display on servers); labels are Chinese and English, so
the figures use a CJK font (Noto Sans CJK, Debian's fonts-noto-cjk) when the system has one.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Sequence
from typing import Any

CJK_FONTS = ["Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Serif CJK SC", "WenQuanYi Zen Hei", "DejaVu Sans"]
COLOURS = {"china": "#c0392b", "other": "#7f8c8d", "unknown": "#d5d8dc"}


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    plt.rcParams["font.family"] = "sans-serif"
    plt.rcParams["font.sans-serif"] = CJK_FONTS
    plt.rcParams["axes.unicode_minus"] = False  # the CJK fonts lack U+2212
    return plt


def _data_uri(fig: Any) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(fig)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def origins_by_market(lines: Sequence[tuple[str, int, int, int]]) -> str:
    """Stacked horizontal bars: China-made / other / unknown origin recalls per market."""
    plt = _pyplot()
    lines = list(lines)[:12][::-1]
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(lines) + 1.4))
    labels = [m for m, *_ in lines]
    left = [0] * len(lines)
    for k, (key, label) in enumerate(
        (("china", "中国制造 China"), ("other", "其他产地 other"), ("unknown", "产地不明 unknown"))
    ):
        values = [int(line[k + 1]) for line in lines]
        ax.barh(labels, values, left=left, color=COLOURS[key], label=label)
        left = [a + b for a, b in zip(left, values, strict=True)]
    ax.set_xlabel("召回数 recalls")
    ax.set_title("各市场召回按产地 Recalls by market and origin")
    ax.legend(loc="lower right", fontsize=8)
    return _data_uri(fig)


def monthly_trend(series: dict[str, list[tuple[str, int]]]) -> str:
    """Lines: China-made recalls per month in each of the five busiest markets."""
    plt = _pyplot()
    busiest = sorted(series, key=lambda m: -sum(v for _, v in series[m]))[:5]
    fig, ax = plt.subplots(figsize=(7.5, 3.2))
    for market in busiest:
        months = [label for label, _ in series[market]]
        ax.plot(months, [v for _, v in series[market]], marker="o", label=market)
    ax.set_ylabel("中国制造召回 China-made")
    ax.set_title("近12个月趋势 Last 12 months")
    ax.tick_params(axis="x", labelrotation=45, labelsize=7)
    if busiest:
        ax.legend(fontsize=8)
    return _data_uri(fig)


def bars(items: Sequence[tuple[str, float]], title: str, xlabel: str, colour: str = "#c0392b") -> str:
    """Horizontal bars, largest on top (top hazards, risk scores)."""
    plt = _pyplot()
    items = list(items)[::-1]
    fig, ax = plt.subplots(figsize=(7.5, 0.35 * len(items) + 1.2))
    ax.barh([label for label, _ in items], [value for _, value in items], color=colour)
    ax.set_title(title)
    ax.set_xlabel(xlabel)
    ax.tick_params(axis="y", labelsize=8)
    return _data_uri(fig)
