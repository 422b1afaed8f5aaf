"""``latest.png``: a bar chart of every implementation's time relative to asyncio.

Needs matplotlib (in ``.[bench]``); without it :func:`write_chart` returns a note
instead of a file and the rest of the report is unaffected.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

COLORS = {
    "asyncio": "#7f7f7f",
    "uvloop": "#1f77b4",
    "rloop": "#ff7f0e",
    "vif": "#2ca02c",
    "vif-pure": "#98df8a",
    "floor": "#000000",
}


Point = tuple[float, float, float] | None


def _series(doc: dict[str, Any]) -> tuple[list[str], dict[str, list[Point]]]:
    """Benchmark labels and, per column, (median, low, high) relative to asyncio's median."""
    columns = [*doc["implementations"], "floor"]
    labels: list[str] = []
    series: dict[str, list[Point]] = {c: [] for c in columns}
    for row in doc["benchmarks"]:
        base = row["results"].get("asyncio", {})
        if base.get("status") != "ok":
            continue
        labels.append(row["name"])
        ref = base["median"]
        for col in columns:
            cell = row["results"].get(col) if col != "floor" else row.get("floor")
            if cell and cell.get("status") == "ok":
                series[col].append((cell["median"] / ref, cell["min"] / ref, cell["max"] / ref))
            else:
                series[col].append(None)
    return labels, {c: v for c, v in series.items() if any(v)}


def write_chart(doc: dict[str, Any], path: Path) -> str | None:
    """Draw the chart to ``path``; return None on success or a note saying why not."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "chart skipped: matplotlib is not installed (pip install '.[bench]')"
    labels, series = _series(doc)
    if not labels:
        return "chart skipped: no benchmark has an asyncio result to compare with"
    cols = list(series)
    height = 0.8 / len(cols)
    fig, ax = plt.subplots(figsize=(10, 1.0 + 0.28 * len(labels) * max(2, len(cols)) / 2))
    for j, col in enumerate(cols):
        ys, xs, lo, hi = [], [], [], []
        for i, point in enumerate(series[col]):
            if point is None:
                continue
            med, low, high = point
            ys.append(i + (j - (len(cols) - 1) / 2) * height)
            xs.append(med)
            lo.append(med - low)
            hi.append(high - med)
        ax.barh(
            ys,
            xs,
            height=height,
            color=COLORS.get(col),
            label=col,
            xerr=[lo, hi],
            error_kw={"elinewidth": 0.6, "capsize": 1.5},
        )
    ax.axvline(1.0, color="#444444", linewidth=0.8, linestyle="--")
    ax.set_xscale("log")
    extremes = [v for pts in series.values() for p in pts if p for v in (p[1], p[2])]
    ax.set_xlim(min(extremes + [1.0]) / 1.25, max(extremes + [1.0]) * 1.25)
    ax.set_ylim(len(labels) - 0.5, -0.5)
    ax.set_yticks(range(len(labels)))
    ax.set_yticklabels(labels, fontsize=8)
    ax.set_xlabel(
        "time relative to asyncio (log scale, lower is better; bars: median, whiskers: min-max)"
    )
    scale = doc["config"]["scale"]
    ax.set_title(
        f"vif benchmarks - Python {doc['python']['version']}, scale {scale:g}, "
        f"{doc['config']['rounds']} rounds",
        fontsize=10,
        pad=22,
    )
    ax.legend(
        fontsize=8, loc="lower center", bbox_to_anchor=(0.5, 1.0), ncol=len(cols), frameon=False
    )
    ax.grid(axis="x", which="both", alpha=0.3)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    tmp.replace(path)
    return None
