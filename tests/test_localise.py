"""Prediction on faces anywhere in a photo: localise, crop, parse, paste back.

The parser here is a real saved Keras model whose weights are set by hand: a 1x1
convolution that calls a pixel skin when it is red enough, so where the faces are is known
exactly and every step of the localiser and of `facelib predict` runs as with a trained one.
"""

import contextlib
import io
import json
from dataclasses import replace

import cv2
import numpy as np
import pytest
import tensorflow as tf
import yaml
from PIL import Image

import facelib.data.discover as discover
from facelib.app.cli import main
from facelib.core.params import ParamsError, load_defaults, load_params
from facelib.data import crops
from facelib.engine import evaluate, localise
from facelib.models.saving import save_model

SIZE = 64
SKIN, EYES, MOUTH = (230, 60, 60), (60, 230, 60), (60, 60, 230)  # RGB of the drawn parts
BACKDROP = (110, 120, 120)


def colour_model(size: int = SIZE) -> tf.keras.Model:
    """8 classes from each pixel's colour: skin (1) where red exceeds blue, eyes (3) where
    green leads, mouth (5) where blue leads; background elsewhere."""
    inputs = tf.keras.Input((size, size, 3))
    conv = tf.keras.layers.Conv2D(8, 1, activation="softmax")
    outputs = conv(inputs)
    kernel = np.zeros((1, 1, 3, 8), np.float32)
    bias = np.full(8, -50.0, np.float32)
    bias[0] = 0.0
    kernel[0, 0, :, 1], bias[1] = (0.2, 0.0, -0.2), -16.0
    kernel[0, 0, :, 3], bias[3] = (-0.2, 0.4, -0.2), -30.0
    kernel[0, 0, :, 5], bias[5] = (-0.2, -0.2, 0.4), -30.0
    conv.set_weights([kernel, bias])
    return tf.keras.Model(inputs, outputs)


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    """A run folder as training writes it: the model and the params it trained with."""
    folder = tmp_path_factory.mktemp("run")
    save_model(colour_model(), folder / "model.keras")
    params = load_defaults()
    params["data"]["face_crop"] = True
    params["data"]["image_size"] = SIZE
    (folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    return folder


def draw_face(image: np.ndarray, truth: np.ndarray, cx: int, cy: int, half: int) -> None:
    """An elliptic face of half-height `half`: skin, two eyes, a mouth; `truth` gets 1."""
    width = int(half * 0.75)
    cv2.ellipse(truth, (cx, cy), (width, half), 0, 0, 360, 1, -1)
    cv2.ellipse(image, (cx, cy), (width, half), 0, 0, 360, SKIN, -1)
    for side in (-1, 1):
        cv2.circle(image, (cx + side * int(0.4 * width), cy - half // 5), max(1, half // 8),
                   EYES, -1)
    cv2.ellipse(image, (cx, cy + int(0.45 * half)), (int(0.35 * width), max(1, half // 10)),
                0, 0, 360, MOUTH, -1)


def photo_with_faces(height: int, width: int, faces) -> tuple[np.ndarray, list]:
    """An RGB photo with a textured backdrop and faces ((cx, cy, half-height)), and the
    faces' true extents."""
    rng = np.random.default_rng(height + width)
    image = np.empty((height, width, 3), np.uint8)
    image[:] = BACKDROP
    noise = rng.integers(-20, 21, (height // 8 + 1, width // 8 + 1, 1))
    image = np.clip(image + np.kron(noise, np.ones((8, 8, 1)))[:height, :width], 0, 255)
    image = np.ascontiguousarray(image.astype(np.uint8))
    truth = np.zeros((height, width), np.uint8)
    for cx, cy, half in faces:
        draw_face(image, truth, cx, cy, half)
    return image, crops.face_boxes(truth)


def write_rgb(path, image):
    cv2.imwrite(str(path), cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    return path


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    """The photos of the issue: name -> (file, true extents as shown)."""
    folder = tmp_path_factory.mktemp("photos")
    out = {}
    # 4000 x 3000 with one small face: half-height 10% of the photo's height
    big, boxes = photo_with_faces(3000, 4000, [(2900, 1100, 300)])
    out["big"] = write_rgb(folder / "big.jpg", big), boxes
    three, boxes = photo_with_faces(600, 900, [(150, 250, 90), (450, 300, 100), (760, 280, 80)])
    out["three"] = write_rgb(folder / "three.png", three), boxes
    none, _ = photo_with_faces(480, 640, [])
    out["none"] = write_rgb(folder / "none.png", none), []
    # stored 600 wide and 400 high, EXIF orientation 6: shown 400 wide and 600 high
    stored, _ = photo_with_faces(400, 600, [(420, 180, 110)])
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    Image.fromarray(stored).save(buffer, "JPEG", exif=exif.tobytes(), quality=95)
    path = folder / "turned.jpg"
    path.write_bytes(buffer.getvalue())
    truth = np.zeros((400, 600), np.uint8)
    draw_face(stored.copy(), truth, 420, 180, 110)
    out["turned"] = path, crops.face_boxes(discover.orient(truth, 6))
    return out


@pytest.fixture(scope="module")
def predicted(run_dir, photos, tmp_path_factory):
    """`facelib predict --json` on every photo, with every way of reading a mask broken."""
    out = tmp_path_factory.mktemp("predicted")
    files = [photos[name][0] for name in ("big", "three", "none", "turned")]
    with pytest.MonkeyPatch.context() as patch:
        def no_masks(*args, **kwargs):
            raise AssertionError("a mask was read at prediction time")

        for module in (discover, evaluate):
            patch.setattr(module, "load_label_map", no_masks)
        patch.setattr(discover, "as_label_map", no_masks)
        stdout, stderr = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
            code = main(["predict", str(run_dir), *map(str, files), "--out", str(out),
                         "--json"])
    assert code == 0
    lines = [json.loads(line) for line in stdout.getvalue().splitlines()]
    return {name: line for name, line in zip(("big", "three", "none", "turned"), lines,
                                             strict=True)}, out, stderr.getvalue()


def found_boxes(line):
    return [tuple(face["box"]) for face in line["faces"]]


def test_json_has_one_object_per_photo_with_its_size_and_faces(predicted, photos):
    lines, out, _ = predicted
    assert set(lines["big"]) == {"path", "size", "faces"}
    assert lines["big"]["path"] == str(photos["big"][0])
    assert lines["big"]["size"] == [3000, 4000]
    assert lines["three"]["size"] == [600, 900]
    for face in lines["three"]["faces"]:
        assert set(face) == {"box", "score"} and 0.5 <= face["score"] <= 1


@pytest.mark.parametrize("name", ["big", "three", "turned"])
def test_every_face_is_found_once_with_a_box_on_its_extent(predicted, photos, name):
    lines, out, _ = predicted
    true = photos[name][1]
    found = found_boxes(lines[name])
    assert len(found) == len(true)
    assert crops.match_faces(true, found) == (len(true), 0)
    for box in true:
        assert max(crops.box_iou(box, f) for f in found) >= 0.8


def test_label_maps_are_at_each_photo_size_as_shown(predicted, photos):
    lines, out, _ = predicted
    for name, (path, _) in photos.items():
        labels = cv2.imread(str(out / f"{path.stem}.png"), cv2.IMREAD_UNCHANGED)
        assert list(labels.shape) == lines[name]["size"]
    turned = cv2.imread(str(out / "turned.png"), cv2.IMREAD_UNCHANGED)
    assert turned.shape == (600, 400)  # stored 600 x 400, EXIF 6: shown 400 wide
    x0, y0, x1, y1 = photos["turned"][1][0]
    inside = turned[y0:y1, x0:x1]
    assert (inside != 0).mean() > 0.7 and (turned != 0).sum() <= 1.05 * (inside != 0).sum()


def test_pasted_faces_cover_the_true_faces(predicted, photos):
    lines, out, _ = predicted
    image = discover.load_image(photos["three"][0])
    labels = cv2.imread(str(out / "three.png"), cv2.IMREAD_UNCHANGED)
    # eyes and mouth are 2-3 px at the model's 64 px: their edges blur
    for colour, label, least in ((SKIN, 1, 0.95), (EYES, 3, 0.7), (MOUTH, 5, 0.7)):
        truth = np.all(image == colour, axis=-1)
        iou = ((labels == label) & truth).sum() / ((labels == label) | truth).sum()
        assert iou > least, (label, iou)


def test_a_photo_without_a_face_is_all_background_with_a_warning(predicted, photos):
    lines, out, stderr = predicted
    assert lines["none"]["faces"] == []
    labels = cv2.imread(str(out / "none.png"), cv2.IMREAD_UNCHANGED)
    assert labels.shape == (480, 640) and not labels.any()
    path = photos["none"][0]
    assert f"facelib predict: {path}: no face found; its label map is all background" in stderr
    assert stderr.count("no face found") == 1


def test_overlays_draw_each_face_box(predicted, photos):
    lines, out, _ = predicted
    overlay = cv2.imread(str(out / "three_overlay.png"))
    for x0, y0, x1, y1 in found_boxes(lines["three"]):
        assert (overlay[y0, x0:x1] == 255).all() and (overlay[y0:y1, x1 - 1] == 255).all()


def test_a_whole_photo_model_still_reports_faces(tmp_path, photos):
    model = colour_model()
    image = discover.load_image(photos["three"][0])
    settings = crops.CropSettings(enabled=False, margin=0.25, size=SIZE)
    parsed = localise.segment_photos(model, [image], settings)[0]
    assert parsed.labels.shape == image.shape[:2]
    assert crops.match_faces(photos["three"][1], [f.box for f in parsed.faces]) == (3, 0)


def real_face_model():
    """A run folder of a model trained on real faces (the FASSEG profile), from the
    FACELIB_REAL_MODEL variable or the repository's outputs/fasseg."""
    import os
    from pathlib import Path

    candidates = [os.environ.get("FACELIB_REAL_MODEL", "")]
    candidates += [str(p.parent) for p in
                   sorted(Path(__file__).parents[1].glob("outputs/fasseg/runs/*/model.keras"))]
    return next((Path(c) for c in candidates if c and (Path(c) / "model.keras").exists()), None)


def test_a_real_face_model_finds_the_one_face_of_the_astronaut(tmp_path):
    from skimage import data

    model = real_face_model()
    if model is None:
        pytest.skip("no model trained on real faces (set FACELIB_REAL_MODEL to a run folder)")
    photo = write_rgb(tmp_path / "astronaut.png", data.astronaut())
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["predict", str(model), str(photo), "--out", str(tmp_path / "p"),
                     "--json"]) == 0
    line = json.loads(out.getvalue())
    assert line["size"] == [512, 512]
    assert len(line["faces"]) == 1
    x0, y0, x1, y1 = line["faces"][0]["box"]
    assert x0 < 225 < x1 and y0 < 110 < y1  # the middle of her face
    assert (x1 - x0) * (y1 - y0) < 0.4 * 512 * 512  # her face, not the whole picture


def test_skin_alone_is_no_face(tmp_path):
    image, _ = photo_with_faces(300, 400, [])
    cv2.ellipse(image, (200, 150), (60, 80), 0, 0, 360, SKIN, -1)  # no eyes, no mouth
    settings = crops.CropSettings(enabled=True, margin=0.25, size=SIZE)
    parsed = localise.segment_photos(colour_model(), [image], settings)[0]
    assert parsed.faces == [] and not parsed.labels.any()


def test_duplicates_and_parts_of_a_face_are_dropped():
    face = localise.Face((100, 100, 200, 220), 0.9, (0, 0, 1, 1))
    part = localise.Face((120, 150, 180, 230), 0.99, (0, 0, 1, 1))       # 75% inside
    twin = localise.Face((105, 100, 205, 220), 0.95, (0, 0, 1, 1))       # IoU 0.9
    other = localise.Face((10, 300, 60, 360), 0.6, (0, 0, 1, 1))
    assert localise.distinct([part, twin, face, other]) == [twin, other]
    assert localise.fewer([(0, (0, 0, 10, 10)), (0, (1, 0, 10, 10)), (1, (1, 0, 10, 10))]) == [
        (0, (0, 0, 10, 10)), (1, (1, 0, 10, 10))]


def left_biased_model(size: int = SIZE) -> tf.keras.Model:
    """2 classes: class 1 wherever a pixel's column lies in the left half of the view."""
    inputs = tf.keras.Input((size, size, 3))
    left = np.zeros((1, size, size, 2), np.float32)
    left[:, :, : size // 2, 1] = 1.0
    left[:, :, size // 2:, 0] = 1.0
    outputs = tf.keras.layers.Lambda(lambda x: tf.zeros_like(x[..., :2]) + left)(inputs)
    return tf.keras.Model(inputs, outputs)


def test_hflip_averages_each_view_with_its_mirror_image():
    model = left_biased_model()
    views = [np.zeros((SIZE, SIZE, 3), np.uint8)]
    plain = localise.probabilities(model, views)[0]
    assert plain[:, : SIZE // 2, 1].min() == 1.0 and plain[:, SIZE // 2:, 1].max() == 0.0
    averaged = localise.probabilities(model, views, hflip=True)[0]
    np.testing.assert_array_equal(averaged, np.full((SIZE, SIZE, 2), 0.5, np.float32))


def test_eval_hflip_is_a_checked_param_of_the_crop_settings():
    assert not crops.CropSettings.from_params(load_params()).hflip
    assert crops.CropSettings.from_params(load_params(overrides={"eval": {"hflip": True}})).hflip
    with pytest.raises(ParamsError, match="eval.hflip"):
        load_params(overrides={"eval": {"hflip": 3}})


def blurred_ellipse(size: int = 120, cell: int = 8):
    """An ellipse of skin on the backdrop (its truth), and the class probabilities a model
    with `cell`-pixel output cells gives it: the one-hot truth area-averaged onto that grid
    and resized back (bilinear), whose edges cut across the photo's."""
    truth = np.zeros((size, size), np.uint8)
    cv2.ellipse(truth, (size // 2, size // 2 - 2), (31, 43), 0, 0, 360, 1, -1)
    image = np.where(truth[..., None] == 1, np.uint8(SKIN), np.uint8(BACKDROP)).astype(np.uint8)
    coarse = cv2.resize(np.eye(2, dtype=np.float32)[truth], (size // cell, size // cell),
                        interpolation=cv2.INTER_AREA)
    return image, truth, localise.resize_probabilities(coarse, size, size)


def test_refined_edges_follow_the_photo_not_the_model_grid():
    image, truth, probs = blurred_ellipse()
    plain = probs.argmax(axis=-1)
    refined = localise.refine_edges(image, probs, radius=4, eps=0.01).argmax(axis=-1)
    assert (plain != truth).sum() >= 50  # the coarse grid's corners
    assert (refined != truth).sum() == 0
    assert localise.refine_edges(image, probs, radius=0, eps=0.01) is probs


def test_eval_refine_reaches_both_prediction_paths():
    """`eval.refine.radius` is in pixels of the model's input: a face crop's pieces and a
    whole photo are filtered at their own scale, and their maps follow the photo's edges."""
    params = load_params(overrides={"data": {"image_size": SIZE},
                                    "eval": {"refine": {"radius": 2}}})
    settings = crops.CropSettings.from_params(params)
    assert settings.refine_reach == 2 / SIZE and settings.refine_eps == 0.01
    assert localise.refine_radius(settings, 4 * SIZE) == 8
    image, _ = photo_with_faces(240, 320, [])
    truth = np.zeros(image.shape[:2], np.uint8)
    draw_face(image, truth, 160, 120, 90)
    errors = {}
    for enabled in (False, True):
        for reach in (0.0, settings.refine_reach):
            parse = replace(settings, enabled=enabled, refine_reach=reach)
            labels = localise.segment_photos(colour_model(), [image], parse)[0].labels
            errors[enabled, reach] = int(((labels != 0) != truth).sum())
    for enabled in (False, True):
        assert errors[enabled, 0.0] > 100  # the model's 5-pixel cells
        assert errors[enabled, settings.refine_reach] < 0.1 * errors[enabled, 0.0]


def test_eval_refine_is_a_checked_param():
    with pytest.raises(ParamsError, match="eval.refine.radius"):
        load_params(overrides={"eval": {"refine": {"radius": -1}}})
    with pytest.raises(ParamsError, match="eval.refine.eps"):
        load_params(overrides={"eval": {"refine": {"eps": 0}}})
