import numpy as np
import pytest
import tensorflow as tf
from fixtures.models import assert_probabilities, fresh_session  # noqa: F401 (autouse)

from facelib.core.catalog import ARCHITECTURES, BACKBONES, PREPROCESSING
from facelib.core.params import load_params
from facelib.models import (
    BackbonePreprocessing,
    WeightsUnavailableError,
    build_model,
    load_model,
    save_model,
    sm,
    zoo,
)
from facelib.models.layers import AtrousConv2D
from facelib.models.losses import build_loss, build_metrics
from facelib.models.registry import ARCHITECTURE_BUILDERS
from facelib.models.weights import imagenet_weights_file

N_CLASSES = 8


def make_params(size, **model):
    return load_params(overrides={"data": {"image_size": size}, "model": model})


def spec(architecture, backbone):
    return {"architecture": architecture, "backbone": backbone}


def random_images(size, count=1, seed=0):
    return np.random.default_rng(seed).uniform(0, 255, (count, size, size, 3)).astype("float32")


def random_labels(size, count, seed=0):
    ids = np.random.default_rng(seed).integers(0, N_CLASSES, (count, size, size))
    return np.eye(N_CLASSES, dtype="float32")[ids]


def train_steps_with_known_loss(model, loss, images, labels, steps: int) -> dict:
    """`steps` SGD steps on one batch (one `fit` of one step each); each logged loss must be
    the loss of the weights before the step, computed here beforehand in training mode.

    Dropout is switched off (rate 0), so that the step's forward pass is the one computed here.
    Returns the logged history (each key: one value per step)."""
    for layer in model.submodules:
        if isinstance(layer, tf.keras.layers.Dropout):
            layer.rate = 0.0
    logged: dict = {}
    for _ in range(steps):
        expected = float(loss(tf.constant(labels), model(images, training=True)))
        expected += float(sum(model.losses))
        history = model.fit(images, labels, batch_size=len(images), epochs=1, verbose=0)
        assert history.history["loss"] == [pytest.approx(expected, rel=1e-4)]
        for key, values in history.history.items():
            logged.setdefault(key, []).extend(values)
    return logged


def assert_probability_map(probabilities, size):
    assert_probabilities(probabilities, 1, size, N_CLASSES)


def test_backbone_list_is_segmentation_models_list():
    assert list(BACKBONES) == sm.Backbones.models_names()
    assert set(PREPROCESSING) == set(BACKBONES)


def test_every_architecture_name_has_a_builder():
    assert list(ARCHITECTURE_BUILDERS) == list(ARCHITECTURES)


@pytest.mark.parametrize("backbone", BACKBONES)
def test_preprocessing_layer_equals_sm_preprocessing(backbone):
    images = random_images(8, count=2)
    expected = sm.get_preprocessing(backbone)(images.copy())
    got = BackbonePreprocessing(PREPROCESSING[backbone])(images).numpy()
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-4)


@pytest.mark.parametrize("rate, taps", [(1, 9), (3, 9), (6, 3), (7, 1)])
def test_atrous_conv_equals_dilated_conv2d(rate, taps):
    """The same outputs and the same gradients (its own, summed in a fixed order)."""
    inputs = tf.random.stateless_normal((2, 6, 7, 5), seed=(0, rate))  # taps of rate 6: one row
    upstream = tf.random.stateless_normal((2, 6, 7, 4), seed=(1, rate))
    atrous = AtrousConv2D(4, rate)
    atrous.build(inputs.shape)
    reference = tf.keras.layers.Conv2D(4, 3, dilation_rate=rate, padding="same", use_bias=False)
    reference.build(inputs.shape)
    reference.set_weights(atrous.get_weights())
    results, gradients = [], []
    for layer in (atrous, reference):
        with tf.GradientTape() as tape:
            tape.watch(inputs)
            result = layer(inputs)
            score = tf.reduce_sum(result * upstream)
        results.append(result)
        gradients.append(tape.gradient(score, [inputs, layer.kernel]))
    np.testing.assert_allclose(results[0], results[1], atol=1e-5)
    for ours, theirs in zip(*gradients, strict=True):
        np.testing.assert_allclose(ours, theirs, atol=1e-4)
    assert len(atrous.taps(6, 7)) == taps


@pytest.mark.slow
@pytest.mark.parametrize("architecture, backbone", [
    ("unet", "resnet18"),
    ("linknet", "resnet18"),
    ("fpn", "resnet18"),
    ("pspnet", "resnet50"),
    ("deeplabv3plus", "efficientnetb0"),
])
def test_builds_at_256_trains_two_steps_and_predicts_full_size(architecture, backbone):
    params = make_params(256)
    model = build_model(spec(architecture, backbone), params)
    assert model.name == f"{architecture}_{backbone}"
    loss = build_loss(params["train"], N_CLASSES)
    model.compile("sgd", loss=loss, metrics=build_metrics(N_CLASSES))
    history = train_steps_with_known_loss(model, loss, random_images(256, count=2),
                                          random_labels(256, count=2), steps=2)
    assert {"loss", "precision", "recall", "f1-score", "iou_score"} <= set(history)
    assert_probability_map(model.predict(random_images(256), verbose=0), 256)


@pytest.mark.parametrize("architecture, backbone, core_side", [
    ("pspnet", "resnet18", 96),  # divisible by 6 * 8
    pytest.param("unet", "mobilenetv2", 96, marks=pytest.mark.slow),  # divisible by 32
    ("deeplabv3plus", "resnet18", 100),  # any size
])
def test_awkward_size_gives_a_full_size_map(architecture, backbone, core_side):
    model = build_model(spec(architecture, backbone), make_params(100))
    assert model.get_layer("core").input_shape[1:3] == (core_side, core_side)
    assert_probability_map(model.predict(random_images(100), verbose=0), 100)


@pytest.mark.parametrize("backbone", ["resnet18", "mobilenetv2",
                                      pytest.param("densenet121", marks=pytest.mark.slow),
                                      "vgg16"])
def test_deeplab_takes_any_backbone_family(backbone):
    model = build_model(spec("deeplabv3plus", backbone), make_params(64))
    assert_probability_map(model.predict(random_images(64), verbose=0), 64)


@pytest.mark.parametrize("output_stride", [16, 8])
def test_deeplab_output_stride_picks_the_feature_layer(output_stride):
    model = build_model(spec("deeplabv3plus", "resnet18"),
                        make_params(64, deeplab_output_stride=output_stride))
    core = model.get_layer("core")
    assert core.get_layer("aspp_1x1").input_shape[1:3] == (64 // output_stride,) * 2
    assert core.get_layer("decoder_low_level").input_shape[1:3] == (16, 16)
    assert_probability_map(model.predict(random_images(64), verbose=0), 64)


@pytest.mark.parametrize("decoder_stride", [4, 2])
def test_deeplab_decoder_stride_sets_the_classifier_grid(decoder_stride):
    model = build_model(spec("deeplabv3plus", "resnet18"),
                        make_params(64, deeplab_decoder_stride=decoder_stride, deeplab_filters=40))
    core = model.get_layer("core")
    assert core.get_layer("final_conv").input_shape[1:3] == (64 // decoder_stride,) * 2
    fine_layers = [layer.name for layer in core.layers if layer.name.startswith("decoder_fine")]
    if decoder_stride == 2:
        assert core.get_layer("decoder_fine_level").input_shape[1:3] == (32, 32)
        assert core.get_layer("decoder_fine_conv").filters == 10
    else:
        assert fine_layers == []
    assert_probability_map(model.predict(random_images(64), verbose=0), 64)


def test_decoder_and_pyramid_widths_come_from_params():
    deeplab = build_model(spec("deeplabv3plus", "resnet18"), make_params(64, deeplab_filters=40))
    assert {deeplab.get_layer("core").get_layer(name).filters
            for name in ("aspp_1x1", "aspp_projection", "decoder_conv1", "decoder_conv2")} == {40}
    pspnet = build_model(spec("pspnet", "resnet18"), make_params(48, pspnet_conv_filters=24))
    assert pspnet.get_layer("core").get_layer("aggregation_conv").filters == 24
    widths = [8, 7, 6, 5, 4]
    unet = build_model(spec("unet", "resnet18"), make_params(64, unet_decoder_filters=widths))
    assert [unet.get_layer("core").get_layer(f"decoder_stage{i}a_conv").filters
            for i in range(5)] == widths


@pytest.mark.slow
def test_bfloat16_model_trains_and_predicts_float32():
    # Seeded: in bfloat16 the logged and the recomputed loss differ by 1e-4 of it or more for
    # some random weights, so the weights must not depend on which tests ran before.
    tf.keras.utils.set_random_seed(0)
    tf.keras.mixed_precision.set_global_policy("mixed_bfloat16")
    params = make_params(64)
    model = build_model(spec("deeplabv3plus", "efficientnetb0"), params)
    assert model.get_layer("core").get_layer("final_conv").compute_dtype == "bfloat16"
    loss = build_loss(params["train"], N_CLASSES)
    model.compile("sgd", loss=loss)
    train_steps_with_known_loss(model, loss, random_images(64, count=2),
                                random_labels(64, count=2), steps=1)
    assert_probability_map(model.predict(random_images(64), verbose=0), 64)


@pytest.mark.slow
@pytest.mark.parametrize("architecture, backbone, size", [
    ("pspnet", "efficientnetb0", 64),  # swish, FixedDropout and the resize wrapping
    ("deeplabv3plus", "mobilenetv2", 64),
])
def test_save_and_load_give_identical_predictions(tmp_path, architecture, backbone, size):
    model = build_model(spec(architecture, backbone), make_params(size))
    path = tmp_path / "run" / "model.keras"
    save_model(model, path)
    assert [p.name for p in path.parent.iterdir()] == ["model.keras"]
    loaded = load_model(path)
    assert loaded.name == model.name
    images = random_images(size, count=2)
    np.testing.assert_array_equal(loaded.predict(images, verbose=0),
                                  model.predict(images, verbose=0))


@pytest.mark.parametrize("architecture, backbone", [
    ("deeplabv3plus", "mobilenetv2"),
    ("unet", "mobilenetv2"),
    ("pspnet", "efficientnetb0"),  # the core's own size, 6 * 8 = 48 here
])
def test_at_input_size_keeps_the_weights_and_changes_the_input_side(architecture, backbone):
    params = make_params(64)
    model = build_model(spec(architecture, backbone), params)
    assert zoo.at_input_size(model, params, 64) is model
    larger = zoo.at_input_size(model, params, 96)
    assert larger.input_shape == (None, 96, 96, 3)
    assert larger.output_shape == (None, 96, 96, N_CLASSES)
    weights = model.get_weights()
    assert len(weights) == len(larger.get_weights())
    for ours, theirs in zip(weights, larger.get_weights(), strict=True):
        np.testing.assert_array_equal(ours, theirs)


def test_multi_scale_averages_each_scale_at_the_largest_side():
    params = make_params(64)
    model = build_model(spec("deeplabv3plus", "mobilenetv2"), params)
    assert zoo.multi_scale(model, params, [1.0]) is model
    assert zoo.scaled_side(64, 1.5) == 96 and zoo.scaled_side(256, 1.25) == 320
    assert zoo.scaled_side(16, 1.0) == 16 and zoo.scaled_side(16, 2.0) == 32
    combined = zoo.multi_scale(model, params, [1.5, 1.0])
    assert combined.input_shape == (None, 96, 96, 3)
    images = random_images(96)
    at_64 = model(tf.image.resize(images, (64, 64), method="area"))
    at_96 = zoo.at_input_size(model, params, 96)(images)
    expected = (tf.image.resize(at_64, (96, 96)) + at_96) / 2
    # a random model's probabilities stay near 1/8: the scales differ by far more than the
    # tolerance, so the mean is of the two scales, not of one scale twice
    np.testing.assert_allclose(combined(images), expected, rtol=0, atol=1e-7)
    assert np.abs(at_96 - tf.image.resize(at_64, (96, 96))).max() > 1e-5


@pytest.mark.parametrize("architecture, backbone, size, file_name", [
    ("deeplabv3plus", "efficientnetb0", 64,
     "efficientnet-b0_weights_tf_dim_ordering_tf_kernels_autoaugment_notop.h5"),
    ("pspnet", "resnet50", 256, "resnet50_imagenet_1000_no_top.h5"),
    # MobileNets name the file after the input side the encoder sees, 224 if it has no file
    ("unet", "mobilenetv2", 100,
     "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_96_no_top.h5"),
    ("deeplabv3plus", "mobilenetv2", 100,
     "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"),
])
def test_imagenet_weights_missing_from_cache_fail_fast(tmp_path, monkeypatch, architecture,
                                                      backbone, size, file_name):
    """Before any layer is built, and without trying a download."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / ".keras"))
    attempts = []
    monkeypatch.setattr(zoo, "build_core", lambda *a, **k: attempts.append("build_core"))
    monkeypatch.setattr(tf.keras.utils, "get_file", lambda *a, **k: attempts.append("get_file"))
    with pytest.raises(WeightsUnavailableError) as error:
        build_model(spec(architecture, backbone), make_params(size, encoder_weights="imagenet"))
    assert attempts == []
    message = str(error.value)
    assert "encoder_weights: null" in message and "weights_path" in message
    assert str(tmp_path / ".keras" / "models" / file_name) in message
    assert isinstance(error.value, RuntimeError)


def test_imagenet_file_names_and_urls_are_the_libraries_own():
    import efficientnet.model
    from classification_models.weights import WEIGHTS_COLLECTION
    from keras_applications import densenet, mobilenet, mobilenet_v2, vgg19

    (resnext,) = [w for w in WEIGHTS_COLLECTION
                  if w["model"] == "resnext50" and not w["include_top"]]
    inception_v2 = "inception_resnet_v2_weights_tf_dim_ordering_tf_kernels_notop.h5"
    expected = {
        "resnext50": resnext["url"],
        "vgg19": vgg19.WEIGHTS_PATH_NO_TOP,
        "densenet169": densenet.DENSENET169_WEIGHT_PATH_NO_TOP,
        "inceptionv3": sm.backbones.inception_v3.WEIGHTS_PATH_NO_TOP,
        "inceptionresnetv2": sm.backbones.inception_resnet_v2.BASE_WEIGHT_URL + inception_v2,
        "mobilenet": mobilenet.BASE_WEIGHT_PATH + "mobilenet_1_0_160_tf_no_top.h5",
        "mobilenetv2": mobilenet_v2.BASE_WEIGHT_PATH
        + "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_160_no_top.h5",
        "efficientnetb3": efficientnet.model.BASE_WEIGHTS_PATH
        + "efficientnet-b3_weights_tf_dim_ordering_tf_kernels_autoaugment_notop.h5",
    }
    for backbone, url in expected.items():
        assert imagenet_weights_file(backbone, 160) == (url.rsplit("/", 1)[1], url)
    assert all(imagenet_weights_file(backbone, 160) for backbone in BACKBONES)


@pytest.fixture
def encoder_file(tmp_path):
    """Weights of a resnet18 encoder (random, seeded) saved as .h5, with one of its kernels."""
    tf.keras.utils.set_random_seed(1)
    encoder = sm.Backbones.get_backbone(
        "resnet18", input_shape=(64, 64, 3), weights=None, include_top=False,
        backend=tf.keras.backend, layers=tf.keras.layers, models=tf.keras.models,
        utils=tf.keras.utils)
    path = tmp_path / "resnet18_imagenet_1000_no_top.h5"
    encoder.save_weights(str(path))
    return path, encoder.get_layer("conv0").get_weights()[0]


def conv0_kernel(model):
    return model.get_layer("core").get_layer("conv0").get_weights()[0]


def test_imagenet_weights_are_read_from_the_keras_cache(tmp_path, monkeypatch, encoder_file):
    path, kernel = encoder_file
    cache = tmp_path / "keras_home" / "models"
    cache.mkdir(parents=True)
    path.rename(cache / path.name)
    monkeypatch.setenv("KERAS_HOME", str(cache.parent))
    model = build_model(spec("pspnet", "resnet18"), make_params(96, encoder_weights="imagenet"))
    np.testing.assert_array_equal(conv0_kernel(model), kernel)


def test_weights_path_loads_encoder_weights_by_layer_name(encoder_file):
    path, kernel = encoder_file
    for architecture in ("unet", "deeplabv3plus"):
        model = build_model(spec(architecture, "resnet18"), make_params(64, weights_path=str(path)))
        np.testing.assert_array_equal(conv0_kernel(model), kernel)


def test_weights_path_errors_name_the_file(tmp_path, encoder_file):
    missing = tmp_path / "missing.h5"
    with pytest.raises(WeightsUnavailableError, match=str(missing)):
        build_model(spec("unet", "resnet18"), make_params(64, weights_path=str(missing)))
    path, _ = encoder_file
    with pytest.raises(WeightsUnavailableError, match="none of the"):
        build_model(spec("unet", "mobilenetv2"), make_params(64, weights_path=str(path)))
