"""Charts for the notebooks: learning curves, scores, class distributions.

Each function draws one figure and returns it closed to pyplot, so a notebook shows it once
(as the cell's value) and can save it (`facelib.reports.viz.save_figure`).
"""

from __future__ import annotations

import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns

# history.csv column -> panel title; the reference plotted these four.
CURVES = {"loss": "Loss", "f1-score": "F1", "iou_score": "IoU", "learning_rate": "Learning rate"}


def plot_learning_curves(histories: dict[str, pd.DataFrame]) -> plt.Figure:
    """Loss, F1, IoU (train solid, validation dashed) and learning rate per epoch."""
    fig, axes = plt.subplots(1, len(CURVES), figsize=(4 * len(CURVES), 3.2))
    palette = sns.color_palette("tab10", len(histories))
    for ax, (column, title) in zip(axes, CURVES.items(), strict=True):
        for color, (name, history) in zip(palette, histories.items(), strict=True):
            label = name if len(histories) > 1 else "train"
            if column in history:
                ax.plot(history["epoch"], history[column], color=color, label=label)
            if f"val_{column}" in history:
                val_label = f"{name} (val)" if len(histories) > 1 else "validation"
                ax.plot(history["epoch"], history[f"val_{column}"], color=color,
                        linestyle="--", label=val_label)
        ax.set_title(title)
        ax.set_xlabel("epoch")
        if column == "learning_rate":
            ax.set_yscale("log")
    axes[0].legend(fontsize="small")
    return _finish(fig)


def plot_per_class_iou(metrics: dict, colors=None) -> plt.Figure:
    """One bar per class, with the two means as lines."""
    names = metrics["classes"]
    values = [metrics["per_class"][n]["iou"] for n in names]
    fig, ax = plt.subplots(figsize=(8, 3.2))
    bar_colors = None if colors is None else [tuple(c / 255 for c in rgb) for rgb in colors]
    ax.bar(names, values, color=bar_colors, edgecolor="black")
    ax.axhline(metrics["mean"]["iou"], color="gray", linestyle="--", label="mean")
    ax.axhline(metrics["mean_foreground"]["iou"], color="black", linestyle=":",
               label="mean without background")
    ax.set_ylim(0, 1)
    ax.set_ylabel("IoU (test)")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))
    return _finish(fig)


def plot_scores_by_model(comparison: pd.DataFrame) -> plt.Figure:
    """Precision, recall, F1 and IoU per model as grouped bars (the reference's chart)."""
    long = comparison.melt(id_vars="model", value_vars=["precision", "recall", "f1", "iou"],
                           var_name="score", value_name="value")
    fig, ax = plt.subplots(figsize=(8, 3.5))
    sns.barplot(long, x="score", y="value", hue="model", ax=ax)
    ax.set_ylim(0, 1)
    ax.set_ylabel("test, mean over classes")
    ax.legend(fontsize="small", loc="upper left", bbox_to_anchor=(1.01, 1))
    return _finish(fig)


def plot_score_by_param(comparison: pd.DataFrame, keys: list[str],
                        score: str = "iou") -> plt.Figure:
    """The mean `score` of each run against each varied param (one panel a key)."""
    fig, axes = plt.subplots(1, len(keys), figsize=(4 * len(keys), 3.2), squeeze=False,
                             sharey=True)
    for ax, key in zip(axes[0], keys, strict=True):
        values = comparison[key].astype(str)
        sns.stripplot(x=values, y=comparison[score], hue=comparison["architecture"], ax=ax,
                      size=8, jitter=False, order=sorted(values.unique()))
        ax.set_xlabel(key)
        ax.set_ylabel(f"test mean {score}")
        if ax is not axes[0][-1] and ax.get_legend():
            ax.get_legend().remove()
    return _finish(fig)


def plot_iou_heatmap(per_class_iou: pd.DataFrame) -> plt.Figure:
    """Models (rows) by classes (columns), annotated."""
    width = 1.1 * per_class_iou.shape[1] + 2
    fig, ax = plt.subplots(figsize=(width, 0.6 * len(per_class_iou) + 1.5))
    sns.heatmap(per_class_iou, annot=True, fmt=".2f", vmin=0, vmax=1, cmap="viridis", ax=ax)
    ax.set_xlabel("")
    ax.set_ylabel("")
    return _finish(fig)


def plot_class_presence(fractions: pd.DataFrame, class_names) -> plt.Figure:
    """How many images contain each class (the reference's chart)."""
    counts = (fractions[list(class_names)] > 0).sum()
    fig, ax = plt.subplots(figsize=(8, 3))
    sns.barplot(x=counts.index, y=counts.values, color="steelblue", ax=ax)
    ax.set_ylabel("images containing the class")
    return _finish(fig)


def plot_pixel_fractions(fractions: pd.DataFrame, class_names) -> plt.Figure:
    """Distribution over images of each class's share of the pixels (images where present)."""
    long = fractions.melt(value_vars=list(class_names), var_name="class", value_name="fraction")
    long = long[long["fraction"] > 0]
    fig, ax = plt.subplots(figsize=(8, 3.5))
    sns.boxplot(long, x="class", y="fraction", ax=ax, color="lightsteelblue", fliersize=2)
    ax.set_yscale("log")
    ax.set_ylabel("share of the image's pixels")
    return _finish(fig)


def cooccurrence(fractions: pd.DataFrame, class_names) -> pd.DataFrame:
    """Share of images in which both classes appear."""
    present = (fractions[list(class_names)] > 0).astype(float)
    return present.T @ present / len(present)


def plot_cooccurrence(fractions: pd.DataFrame, class_names) -> plt.Figure:
    table = cooccurrence(fractions, class_names)
    fig, ax = plt.subplots(figsize=(6.5, 5))
    sns.heatmap(table, annot=True, fmt=".2f", vmin=0, vmax=1, cmap="Blues", ax=ax)
    ax.set_title("share of images containing both classes")
    return _finish(fig)


def _finish(fig: plt.Figure) -> plt.Figure:
    fig.tight_layout()
    plt.close(fig)
    return fig
