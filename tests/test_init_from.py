"""`model.init_from`: a model starts from a finished run's weights, layer by layer by name;
a head of another class count starts afresh."""

import numpy as np
import pytest
import tensorflow as tf

from facelib.core.params import ParamsError, load_params
from facelib.models import build_model, save_model, start_from_run
from facelib.models.init_from import InitFromError, layers_by_name

SPEC = {"architecture": "unet", "backbone": "mobilenetv2"}
SIX = {"background": {"ids": [0, 10, 15, 17], "color": [0, 0, 0]},
       "skin": {"ids": [1, 11, 12, 13, 14, 16], "color": [1, 1, 1]},
       "eyebrows": {"ids": [2, 3], "color": [2, 2, 2]},
       "eyes": {"ids": [4, 5], "color": [3, 3, 3]},
       "nose": {"ids": [6], "color": [4, 4, 4]},
       "mouth": {"ids": [7, 8, 9], "color": [5, 5, 5]}}


def started_model(params):
    """`build_model`, then `start_from_run`, as training does: (model, InitReport)."""
    model = build_model(SPEC, params)
    return model, start_from_run(model, params)


def tiny_params(classes=None, init_from=None, size=64):
    data = {"image_size": size}
    if classes:
        data["classes"] = classes
    return load_params(overrides={"data": data, "model": {
        "unet_decoder_filters": [16, 8, 8, 8, 8], "init_from": init_from}})


@pytest.fixture(autouse=True)
def fresh_session():
    yield
    tf.keras.backend.clear_session()


@pytest.fixture
def finished_run(tmp_path):
    """A run folder holding an 8-class model (the default scheme)."""
    tf.keras.utils.set_random_seed(1)
    model = build_model(SPEC, tiny_params())
    save_model(model, tmp_path / "run" / "model.keras")
    return tmp_path / "run", model


def test_weights_are_copied_and_the_other_head_starts_afresh(finished_run):
    run, source = finished_run
    tf.keras.utils.set_random_seed(2)
    fresh = build_model(SPEC, tiny_params(SIX))
    tf.keras.utils.set_random_seed(2)
    started, report = started_model(tiny_params(SIX, init_from=str(run)))
    assert report.shape_differs == ["core/final_conv"] and not report.not_in_source
    assert "re-initialised (other shapes: core/final_conv)" in report.summary()
    sources, fresh_layers = layers_by_name(source), layers_by_name(fresh)
    layers = layers_by_name(started)
    assert len(layers) > 50
    for name, layer in layers.items():
        expected = fresh_layers[name] if name == "core/final_conv" else sources[name]
        for got, want in zip(layer.get_weights(), expected.get_weights(), strict=True):
            np.testing.assert_array_equal(got, want, err_msg=name)
    assert layers["core/final_conv"].get_weights()[0].shape[-1] == 6
    # The copied model predicts like its source up to the head: same decoder features.
    images = np.random.default_rng(0).uniform(0, 255, (1, 64, 64, 3)).astype("float32")

    def features(model):
        core = model.get_layer("core")
        inner = tf.keras.Model(core.inputs, core.get_layer("final_conv").input)
        return inner(model.get_layer("preprocessing")(images)).numpy()

    np.testing.assert_allclose(features(started), features(source), atol=1e-5)


def test_same_classes_copy_every_layer_at_another_size(finished_run):
    run, source = finished_run
    started, report = started_model(tiny_params(init_from=str(run / "model.keras"), size=96))
    assert not report.shape_differs
    for name, layer in layers_by_name(started).items():
        for got, want in zip(layer.get_weights(), layers_by_name(source)[name].get_weights(),
                             strict=True):
            np.testing.assert_array_equal(got, want, err_msg=name)


def test_missing_run_and_unfit_model_are_named(tmp_path):
    with pytest.raises(InitFromError, match="no model.keras there"):
        started_model(tiny_params(init_from=str(tmp_path / "nowhere")))
    inputs = tf.keras.Input((8, 8, 3))
    other = tf.keras.Model(inputs, tf.keras.layers.Dense(2, name="unrelated")(inputs))
    save_model(other, tmp_path / "other" / "model.keras")
    with pytest.raises(InitFromError, match="no layer of .* fits"):
        started_model(tiny_params(init_from=str(tmp_path / "other")))


def test_init_from_must_be_a_path():
    with pytest.raises(ParamsError, match="model.init_from"):
        load_params(overrides={"model": {"init_from": 3}})


def test_batchnorm_momentum_is_set_in_every_batchnorm_layer_and_saved(tmp_path):
    from facelib.models import load_model

    params = tiny_params()
    params["model"]["batchnorm_momentum"] = 0.9
    model = build_model(SPEC, params)
    norms = [layer for layer in layers_by_name(model).values()
             if isinstance(layer, tf.keras.layers.BatchNormalization)]
    assert len(norms) > 20 and {layer.momentum for layer in norms} == {0.9}
    save_model(model, tmp_path / "model.keras")
    loaded = [layer for layer in layers_by_name(load_model(tmp_path / "model.keras")).values()
              if isinstance(layer, tf.keras.layers.BatchNormalization)]
    assert {layer.momentum for layer in loaded} == {0.9}
    default = build_model(SPEC, tiny_params())  # the backbone's own: 0.99 and 0.999 here
    assert 0.9 not in {layer.momentum for layer in layers_by_name(default).values()
                       if isinstance(layer, tf.keras.layers.BatchNormalization)}
