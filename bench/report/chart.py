"""The chart of `kubectl get pods` by credential source (matplotlib: the `bench` extra)."""

from __future__ import annotations

import os
import tempfile
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pathlib import Path

CHART = "bench-kubectl.png"


def chart(r: dict[str, Any], path: Path) -> None:
    # matplotlib keeps a font cache under ~/.cache unless told otherwise: keep it out of HOME.
    with tempfile.TemporaryDirectory(prefix="rgpu-exec-bench-mpl-") as config_dir:
        os.environ["MPLCONFIGDIR"] = config_dir
        _draw(r, path)


def _draw(r: dict[str, Any], path: Path) -> None:
    import matplotlib as mpl  # noqa: PLC0415 - the `bench` extra, loaded only to draw

    mpl.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    kube = r["kubectl"]
    items = list(kube["figures"].items())[::-1]
    static = kube["figures"]["(b) static token"]["median"]
    labels = [name for name, _ in items]
    medians = [f["median"] for _, f in items]
    low = [f["median"] - f["min"] for _, f in items]
    high = [f["max"] - f["median"] for _, f in items]
    colours = {
        "(a)": "#1f77b4",
        "(b)": "#7f7f7f",
        "(c)": "#d62728",
        "(d)": "#2ca02c",
    }
    fig, ax = plt.subplots(figsize=(9, 3.6), dpi=120)
    bars = ax.barh(
        labels,
        medians,
        xerr=[low, high],
        color=[colours.get(name[:3], "#999999") for name in labels],
        capsize=4,
        error_kw={"elinewidth": 1, "ecolor": "#333333"},
    )
    for bar, (_, f) in zip(bars, items, strict=True):
        ax.text(
            f["max"] + max(medians) * 0.02,
            bar.get_y() + bar.get_height() / 2,
            f"{f['median']:.0f} ms  ({f['median'] / static:.2f}\N{MULTIPLICATION SIGN} static)",
            va="center",
            fontsize=9,
        )
    ax.axvline(static, color="#7f7f7f", linestyle="--", linewidth=0.8)
    ax.set_xlim(0, max(f["max"] for _, f in items) * 1.45)
    ax.set_xlabel("milliseconds per `kubectl get pods` (median; whiskers: min\N{EN DASH}max)")
    m = r["machine"]
    runs = next(iter(kube["figures"].values()))["runs"]
    ax.set_title(
        f"kubectl get pods by credential source ({runs} alternating runs each,\n"
        f"exchange delay {kube['exchange_delay_s'] * 1000:.0f} ms) — "
        f"{r['date'][:10]}, {m['cpu']} ({m['cores']} cores), kubectl {r['versions']['kubectl']}",
        fontsize=10,
    )
    ax.spines[["top", "right"]].set_visible(False)
    if kube["skipped"]:
        ax.text(0, -0.9, "(d) gke-gcloud-auth-plugin: skipped", fontsize=8, color="#666666")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
