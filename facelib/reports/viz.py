"""Pictures of photos and label maps for the notebooks: colourised masks, overlays, grids.

Images are RGB uint8; label maps hold training ids unless said otherwise. Figure functions
return the figure (closed in pyplot, so a notebook shows it once, as the cell's value).
"""

from __future__ import annotations

import math
from pathlib import Path

import cv2
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from facelib.core.io import atomic_path
from facelib.core.scheme import ClassScheme, colorize, overlay
from facelib.data.discover import load_image, load_label_map
from facelib.data.sources import sample_indices

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".tif", ".tiff", ".webp")
GAP = 4  # pixels between the photo and its overlay in a sample tile


def legend_handles(scheme: ClassScheme) -> list[Patch]:
    """One coloured patch per training class, named, for `fig.legend(handles=...)`."""
    return [Patch(facecolor=np.asarray(color) / 255, edgecolor="0.4", label=name)
            for name, color in zip(scheme.names, scheme.colors, strict=True)]


def dataset_pairs(root) -> list[tuple[str, Path, Path]]:
    """(stem, image, mask) of a folder in the reference layout `*/image/*` + `*/seg/STEM.*`."""
    pairs = []
    for folder in sorted(Path(root).glob("*/image")):
        masks = {p.stem: p for p in (folder.parent / "seg").glob("*")}
        pairs += [(image.stem, image, masks[image.stem]) for image in sorted(folder.iterdir())
                  if image.suffix.lower() in IMAGE_SUFFIXES and image.stem in masks]
    return pairs


def _as_pairs(dataset_dir_or_pairs) -> list[tuple]:
    if isinstance(dataset_dir_or_pairs, (str, Path)):
        return dataset_pairs(dataset_dir_or_pairs)
    pairs = []
    for pair in dataset_dir_or_pairs:
        if hasattr(pair, "image"):
            pairs.append((pair.stem, Path(pair.image), Path(pair.mask)))
        elif len(pair) == 3:
            pairs.append(tuple(pair))
        else:
            image, mask = pair
            pairs.append((Path(image).stem, Path(image), Path(mask)))
    return pairs


def fit(picture: np.ndarray, size: int, nearest: bool = False) -> np.ndarray:
    """Shrink (or enlarge) so the longer side is `size`, keeping the aspect ratio."""
    height, width = picture.shape[:2]
    scale = size / max(height, width)
    shape = (max(1, round(width * scale)), max(1, round(height * scale)))
    interpolation = cv2.INTER_NEAREST if nearest else cv2.INTER_AREA
    return cv2.resize(picture, shape, interpolation=interpolation)


def sample_tile(image_rgb: np.ndarray, labels: np.ndarray, palette: np.ndarray,
                size: int) -> np.ndarray:
    """Photo and overlay side by side, each fitted and centred in a white size x size box."""
    photo, labels = fit(image_rgb, size), fit(labels, size, nearest=True)
    tile = np.full((size, 2 * size + GAP, 3), 255, dtype=np.uint8)
    top, left = (size - photo.shape[0]) // 2, (size - photo.shape[1]) // 2
    for x, picture in ((left, photo), (size + GAP + left, overlay(photo, labels, palette))):
        tile[top:top + photo.shape[0], x:x + photo.shape[1]] = picture
    return tile


def _add_legend(fig: Figure, scheme: ClassScheme) -> None:
    fig.legend(handles=legend_handles(scheme), loc="outside lower center",
               ncol=min(scheme.n_classes, 8), frameon=False, fontsize="small")


def show_samples(dataset_dir_or_pairs, scheme: ClassScheme, n: int = 8, cols: int = 4,
                 seed: int = 0, size: int = 256) -> Figure:
    """A grid of `n` random pairs (photo | overlay), titled by stem, with one legend.

    Takes a dataset folder in the reference layout, or pairs: objects with `.stem`,
    `.image`, `.mask`, (image, mask) paths, or (stem, image, mask) with paths or arrays
    (RGB photo, label map). Masks hold source ids, remapped by `scheme`.
    """
    pairs = _as_pairs(dataset_dir_or_pairs)
    if not pairs:
        raise ValueError(f"show_samples: no image/mask pairs in {dataset_dir_or_pairs}")
    chosen = sorted((pairs[i] for i in sample_indices(len(pairs), n, seed)),
                    key=lambda pair: pair[0])
    rows = math.ceil(len(chosen) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 2.3 * rows + 0.5),
                             layout="constrained", squeeze=False)
    palette = scheme.palette()
    for ax, (stem, image, mask) in zip(axes.flat, chosen, strict=False):
        labels = scheme.remap(mask if isinstance(mask, np.ndarray) else load_label_map(mask))
        image = image if isinstance(image, np.ndarray) else load_image(image)
        ax.imshow(sample_tile(image, labels, palette, size))
        ax.set_title(stem, fontsize="small")
        ax.set_axis_off()
    for ax in axes.flat[len(chosen):]:
        fig.delaxes(ax)
    _add_legend(fig, scheme)
    plt.close(fig)
    return fig


def _label_grid(rows: list[list[np.ndarray]], columns: list[str], scheme: ClassScheme,
                titles=None) -> Figure:
    """Rows of [photo, label map, label map, ...]; label maps colourised by `scheme`."""
    fig, axes = plt.subplots(len(rows), len(columns), squeeze=False, layout="constrained",
                             figsize=(2.8 * len(columns), 2.8 * len(rows) + 0.5))
    palette = scheme.palette()
    for r, (row_axes, pictures) in enumerate(zip(axes, rows, strict=True)):
        for c, (ax, picture) in enumerate(zip(row_axes, pictures, strict=True)):
            ax.imshow(picture if c == 0 else colorize(picture, palette),
                      interpolation="nearest")
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(columns[c], fontsize="small")
        if titles is not None:
            row_axes[0].set_ylabel(titles[r], fontsize="small")
    _add_legend(fig, scheme)
    plt.close(fig)
    return fig


def show_predictions(images, truths, predictions, scheme: ClassScheme, titles=None) -> Figure:
    """One row per photo: image | ground truth | prediction (training-id label maps)."""
    rows = [list(row) for row in zip(images, truths, predictions, strict=True)]
    if not rows:
        raise ValueError("show_predictions: no images given")
    return _label_grid(rows, ["image", "ground truth", "prediction"], scheme, titles)


def show_model_predictions(examples, scheme: ClassScheme) -> Figure:
    """image | ground truth | one column per model, for `facelib.reports.examples.Examples`."""
    models = list(examples.predictions)
    rows = [[image, truth, *(examples.predictions[m][i] for m in models)]
            for i, (image, truth) in enumerate(zip(examples.images, examples.truths,
                                                   strict=True))]
    if not rows:
        raise ValueError("show_model_predictions: no examples given")
    return _label_grid(rows, ["image", "ground truth", *models], scheme, examples.stems)


def show_overlays(paths, cols: int = 2) -> Figure:
    """A grid of saved pictures (e.g. `STEM_overlay.png`), titled by file name."""
    paths = [Path(p) for p in paths]
    if not paths:
        raise ValueError("show_overlays: no pictures given")
    rows = math.ceil(len(paths) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(4.5 * cols, 4 * rows), squeeze=False,
                             layout="constrained")
    for ax, path in zip(axes.flat, paths, strict=False):
        ax.imshow(load_image(path))
        ax.set_title(path.name, fontsize="small")
        ax.set_axis_off()
    for ax in axes.flat[len(paths):]:
        fig.delaxes(ax)
    plt.close(fig)
    return fig


def save_figure(fig: Figure, path) -> Path:
    """Save as PNG at 100 dpi; the file appears only once completely written."""
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100, bbox_inches="tight")
    return Path(path)
