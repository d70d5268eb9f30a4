"""Prediction traces each model once, whatever the batch sizes: no retracing warnings."""

import logging

import numpy as np
import tensorflow as tf

from facelib.engine.predict import predict_images, predictor


def tiny_model(seed: int) -> tf.keras.Model:
    tf.keras.utils.set_random_seed(seed)
    inputs = tf.keras.Input((16, 16, 3))
    outputs = tf.keras.layers.Conv2D(4, 3, padding="same", activation="softmax")(inputs)
    return tf.keras.Model(inputs, outputs)


def test_several_models_and_batch_sizes_trace_once_each_without_warnings(caplog):
    rng = np.random.default_rng(0)
    images = [rng.uniform(0, 255, (20 + i, 24, 3)).astype(np.float32) for i in range(11)]
    with caplog.at_level(logging.WARNING, logger="tensorflow"):
        for seed in range(6):  # Keras' predict_on_batch warns here from the fifth model on
            model = tiny_model(seed)
            labels = predict_images(model, images, batch_size=8)  # batches of 8 and 3
            assert [lab.shape for lab in labels] == [im.shape[:2] for im in images]
            assert predictor(model).experimental_get_tracing_count() == 1
    assert not [r for r in caplog.records if "retracing" in r.getMessage()]


def test_predictor_gives_what_predict_on_batch_gives():
    model = tiny_model(1)
    batch = np.random.default_rng(1).uniform(0, 255, (3, 16, 16, 3)).astype(np.float32)
    np.testing.assert_array_equal(predictor(model)(batch).numpy(), model.predict_on_batch(batch))
