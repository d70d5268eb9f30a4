from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from fixtures.folders import blue_coded_dataset
from matplotlib.figure import Figure

from facelib.core.params import load_defaults
from facelib.core.scheme import ClassScheme, colorize, overlay
from facelib.reports.viz import (
    dataset_pairs,
    legend_handles,
    save_figure,
    show_model_predictions,
    show_overlays,
    show_predictions,
    show_samples,
)

SCHEME = ClassScheme.from_params(load_defaults()["data"]["classes"])
PALETTE = SCHEME.palette()


def image_axes(fig: Figure) -> list:
    return [ax for ax in fig.axes if ax.get_images()]


@pytest.fixture
def tiny_dataset(tmp_path) -> Path:
    """Five pairs in the reference layout; the photo's blue channel marks the mask's ids."""
    return blue_coded_dataset(tmp_path)


def test_colorize_uses_the_palette_and_white_outside_it():
    labels = np.array([[0, 1, 7], [3, 8, 255]], dtype=np.uint8)
    colours = colorize(labels, PALETTE)
    assert colours.shape == (2, 3, 3) and colours.dtype == np.uint8
    for (r, c), k in np.ndenumerate(labels):
        expected = PALETTE[k] if k < len(PALETTE) else [255, 255, 255]
        assert colours[r, c].tolist() == list(expected)


def test_overlay_keeps_the_photo_on_background_and_tints_classes():
    photo = np.full((4, 5, 3), 100, dtype=np.uint8)
    labels = np.zeros((4, 5), dtype=np.int64)
    labels[1, 2], labels[3, 4] = 3, 7
    shown = overlay(photo, labels, PALETTE, alpha=0.5)
    assert shown.shape == photo.shape and shown.dtype == np.uint8
    assert (shown[labels == 0] == 100).all()
    assert shown[1, 2].tolist() == list(np.round((100 + PALETTE[3].astype(float)) / 2))
    assert overlay(photo, labels, PALETTE, alpha=1.0)[3, 4].tolist() == PALETTE[7].tolist()
    with pytest.raises(ValueError, match="label map"):
        overlay(photo, labels[:3], PALETTE)


def test_legend_names_every_class_in_its_colour():
    handles = legend_handles(SCHEME)
    assert [h.get_label() for h in handles] == list(SCHEME.names)
    assert np.allclose([h.get_facecolor()[:3] for h in handles], PALETTE / 255)


def test_dataset_pairs_match_images_to_masks_by_stem(tiny_dataset):
    pairs = dataset_pairs(tiny_dataset)
    assert [stem for stem, _, _ in pairs] == [f"{i:04d}_0001" for i in range(5)]
    assert all(image.parent.name == "image" and mask.parent.name == "seg"
               for _, image, mask in pairs)


def test_show_samples_draws_one_tile_per_pair(tiny_dataset):
    fig = show_samples(tiny_dataset, SCHEME, n=4, cols=3, size=64)
    axes = image_axes(fig)
    assert len(axes) == len(fig.axes) == 4
    assert all(len(ax.get_title()) == 9 for ax in axes)
    assert len(fig.legends) == 1
    tile = axes[0].get_images()[0].get_array()
    assert tile.shape == (64, 2 * 64 + 4, 3)


def test_show_samples_remaps_and_converts_colours(tiny_dataset):
    stem, image, mask = dataset_pairs(tiny_dataset)[0]
    fig = show_samples([(image, mask)], SCHEME, n=8, size=60)
    assert [ax.get_title() for ax in fig.axes] == [stem]
    tile = np.asarray(fig.axes[0].get_images()[0].get_array())
    labels = cv2.imread(str(mask), cv2.IMREAD_UNCHANGED)
    photo = tile[:, 10:50]  # a 40 x 60 portrait, centred in its 60 x 60 box
    assert (photo[..., 2] == labels * 10).all()  # BGR blue shows as RGB blue
    tinted = tile[:, 64 + 10:64 + 50]
    eye = SCHEME.remap(labels) == 3  # source id 4 -> eyes
    expected = np.round(0.5 * photo[eye] + 0.5 * PALETTE[3]).astype(np.uint8)
    assert (tinted[eye] == expected).all()
    objects = [SimpleNamespace(stem=stem, image=image, mask=mask)]
    assert show_samples(objects, SCHEME).axes[0].get_title() == stem
    with pytest.raises(ValueError, match="no image/mask pairs"):
        show_samples(tiny_dataset / "missing", SCHEME)


def test_show_predictions_rows_of_image_truth_prediction():
    images = [np.zeros((8, 8, 3), np.uint8)] * 2
    truths = [np.zeros((8, 8), np.uint8), np.ones((8, 8), np.uint8)]
    fig = show_predictions(images, truths, truths[::-1], SCHEME, titles=["a", "b"])
    assert len(image_axes(fig)) == 6
    assert [ax.get_title() for ax in fig.axes[:3]] == ["image", "ground truth", "prediction"]
    assert fig.axes[3].get_ylabel() == "b"
    assert (fig.axes[2].get_images()[0].get_array()[0, 0] == PALETTE[1]).all()


def test_show_model_predictions_one_column_per_model():
    label = np.zeros((8, 8), np.uint8)
    examples = SimpleNamespace(stems=["s"], images=[np.zeros((8, 8, 3), np.uint8)],
                               truths=[label], predictions={"unet_x": [label], "fpn_y": [label]})
    fig = show_model_predictions(examples, SCHEME)
    assert [ax.get_title() for ax in fig.axes] == ["image", "ground truth", "unet_x", "fpn_y"]


def test_show_overlays_and_save_figure(tmp_path):
    picture = tmp_path / "a_overlay.png"
    cv2.imwrite(str(picture), np.zeros((10, 12, 3), np.uint8))
    fig = show_overlays([picture, picture, picture], cols=2)
    assert len(fig.axes) == 3 and fig.axes[0].get_title() == "a_overlay.png"
    out = save_figure(fig, tmp_path / "figures" / "grid.png")
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert sorted(p.name for p in out.parent.iterdir()) == ["grid.png"]
