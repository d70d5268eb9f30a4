"""`facelib bench`: its naive reference loader, loader and feed comparisons, precision choice and
output, on tiny data (speed figures are checked by running the bench, not here)."""

import json

import cv2
import numpy as np
import pytest
import tensorflow as tf
from data_fixtures import striped_mask, write_pair

from facelib import bench
from facelib.core.scheme import ClassScheme
from facelib.data.discover import find_pairs
from facelib.data.pipeline import make_dataset

SIZE, BATCH = 32, 4
LOADER_KEYS = {"naive_ips", "facelib_cold_ips", "facelib_cold_augmented_ips",
               "facelib_cached_ips", "facelib_cached_augmented_ips", "speedup_cold",
               "speedup_cached"}


def smooth_image(rng, height: int, width: int) -> np.ndarray:
    coarse = rng.integers(0, 256, (4, 4, 3), dtype=np.uint8)
    return cv2.resize(coarse, (width, height), interpolation=cv2.INTER_LINEAR)


@pytest.fixture(scope="module")
def pairs(tmp_path_factory):
    """Six pairs (two sizes): smooth photos, masks of wide stripes of several classes."""
    root = tmp_path_factory.mktemp("data")
    rng = np.random.default_rng(0)
    for i in range(6):
        height, width = (60, 84) if i % 2 else (84, 60)
        write_pair(root, "train", f"s{i}_0", smooth_image(rng, height, width),
                   striped_mask(height, width, ids=(0, 1, 4, 13, 16)), ext=".jpg")
    return find_pairs(root)


def test_naive_and_facelib_batches_have_the_same_shapes_and_nearly_the_same_targets(pairs):
    params = bench.bench_params(SIZE, BATCH, augment=bench.NO_AUGMENT)
    scheme = ClassScheme.from_params(params["data"]["classes"])

    naive = list(bench.naive_batches(pairs, SIZE, BATCH, scheme.n_classes,
                                     scheme.lookup_table()))
    facelib = [(x.numpy(), y.numpy())
               for x, y in make_dataset(pairs, params, training=False, cache=False)]

    assert len(naive) == len(facelib) == 2
    for (naive_images, naive_onehot), (images, onehot) in zip(naive, facelib, strict=True):
        assert naive_images.shape == images.shape and naive_onehot.shape == onehot.shape
        assert naive_onehot.dtype == onehot.dtype == np.float32
        assert np.array_equal(naive_onehot.sum(axis=-1), np.ones(onehot.shape[:-1]))
        same_label = naive_onehot.argmax(axis=-1) == onehot.argmax(axis=-1)
        assert same_label.mean() > 0.9  # nearest sampling differs only at stripe edges
        assert np.abs(naive_images.astype(np.float32) - images).mean() < 8  # bilinear vs area


def test_compare_loaders_reports_every_rate_and_speedup(pairs):
    result = bench.compare_loaders(pairs, SIZE, BATCH, repeats=1)

    assert LOADER_KEYS <= result.keys()
    assert all(result[key] > 0 for key in LOADER_KEYS)
    assert result["pairs"] == len(pairs) and result["batch_size"] == BATCH
    profile = result["profile_ms"]
    assert set(profile["naive"]) == {"photo_decode_resize", "mask_decode_resize", "one_hot"}
    assert set(profile["facelib"]) == {"photo_decode", "photo_resize", "mask_decode",
                                       "mask_resize", "one_hot"}
    assert all(ms > 0 for stages in profile.values() for ms in stages.values())


def tiny_model(n_classes: int = 8) -> tf.keras.Model:
    model = tf.keras.Sequential([
        tf.keras.Input((SIZE, SIZE, 3)),
        tf.keras.layers.Conv2D(n_classes, 3, padding="same", activation="softmax"),
    ])
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    return model


def test_feeds_are_compared_on_the_same_model(pairs):
    params = bench.bench_params(SIZE, BATCH)
    pipeline, batch = bench.cached_training_data(pairs, params)

    result = bench.compare_feeds(tiny_model(), pipeline, batch, BATCH, steps=2, repeats=1)

    assert batch[0].shape == (BATCH, SIZE, SIZE, 3) and batch[1].shape == (BATCH, SIZE, SIZE, 8)
    assert result["pipeline_ips"] > 0 and result["in_memory_ips"] > 0
    assert result["pipeline_vs_memory"] == pytest.approx(
        result["pipeline_ips"] / result["in_memory_ips"])


def test_mean_iou_scores_predictions_against_the_masks(pairs):
    params = bench.bench_params(SIZE, BATCH)

    iou = bench.mean_iou(tiny_model(), pairs, params)

    assert 0 <= iou <= 1


def test_the_fastest_precision_that_keeps_quality_is_recommended():
    configs = {
        "float32": {"ips": 10.0, "mean_iou": 0.50},
        "float32 + xla": {"ips": 12.0, "mean_iou": 0.49},
        "mixed_bfloat16": {"ips": 20.0, "mean_iou": 0.40},  # faster, but worse
        "mixed_bfloat16 + xla": {"ips": None, "mean_iou": None, "note": "failed"},
    }

    assert bench.recommend_precision(configs) == "float32 + xla"
    configs["float32 + xla"]["mean_iou"] = 0.45
    assert bench.recommend_precision(configs) == "float32"


def test_the_bfloat16_step_probe_times_both_precisions():
    assert 0 < bench.step_slowdown("mixed_bfloat16") < float("inf")


def fake_results() -> dict:
    """Results shaped as `run_measurements` returns them, with made-up figures."""
    config = {"ips": 5.0, "mean_iou": 0.3}
    return {
        "machine": {"cpu": "test", "cpu_count": 2, "tensorflow": tf.__version__,
                    "date": "2000-01-01T00:00:00", "load_average_start": 0.5,
                    "load_average_end": 0.6},
        "dataset": {"source": "test", "long_side_min_px": 840, "long_side_max_px": 1800},
        "loader": {"size": 256, "batch_size": 32, "pairs": 64,
                   **{key: 1.0 / 3 for key in LOADER_KEYS},
                   "profile_ms": {"naive": {"mask_decode_resize": 6.5},
                                  "facelib": {"mask_decode": 7.25}}},
        "loader_speedup": 2.0, "loader_speedup_cached": 20.0,
        "precision": {"model": "pspnet_resnet50", "size": 128, "steps": 8,
                      "configs": {"float32": config,
                                  "mixed_bfloat16": {"ips": None, "mean_iou": None,
                                                     "note": "not run"}},
                      "recommended": "float32"},
        "training": {"pspnet_resnet50": {"pipeline_ips": 3.0, "in_memory_ips": 3.1,
                                         "pipeline_vs_memory": 0.97}},
        "inference": {"pspnet_resnet50": {"batch_ips": 40.0, "large_photo_ms": 250.0}},
        "elapsed_s": 100.0,
    }


def test_the_table_shows_every_part():
    table = bench.format_table(fake_results())

    for text in ("loader_speedup (cold)", "2x", "facelib_cached_augmented", "pspnet_resnet50",
                 "0.97", "not run", "recommended: float32", "250", "mask_decode 7.2"):
        assert text in table


def test_json_output_is_one_object_on_stdout(monkeypatch, capsys):
    def measurements(settings, progress):
        print("library chatter")  # must not reach stdout
        assert settings == bench.QUICK
        return fake_results()

    monkeypatch.setattr(bench, "run_measurements", measurements)

    assert bench.run_bench(as_json=True, quick=True) == 0

    out, err = capsys.readouterr()
    results = json.loads(out)
    assert results["loader_speedup"] == 2.0 and results["loader"]["naive_ips"] == 0.333
    assert "library chatter" in err


def test_quick_runs_skip_the_xla_configs_and_float32_always_runs():
    assert "--quick" in bench.skipped_config("float32", True, bench.QUICK)["note"]
    assert bench.skipped_config("float32", False, bench.QUICK) is None
    assert bench.skipped_config("float32", True, bench.FULL) is None


def test_readme_performance_table_shows_the_saved_bench_output():
    """Every figure of the README's table is the one in the bench JSON it names."""
    import re
    from pathlib import Path

    root = Path(__file__).resolve().parents[1]
    section = (root / "README.md").read_text().split("## Performance")[1].split("\n## ")[0]
    saved = json.loads((root / re.search(r"docs/bench_[\d-]+\.json", section)[0]).read_text())

    def rate(value):
        return f"{value:,.0f}" if value >= 100 else f"{value:#.3g}"

    loader, training = saved["loader"], saved["training"]
    precision = saved["precision"]["configs"]
    inference = saved["inference"].values()
    expected = [f"**{saved['loader_speedup']:.3g}x**", f"{saved['loader_speedup_cached']:.0f}x",
                *(rate(loader[key]) for key in ("facelib_cold_ips", "naive_ips",
                                                "facelib_cached_ips", "facelib_cold_augmented_ips",
                                                "facelib_cached_augmented_ips")),
                *(rate(run[key]) for run in training.values()
                  for key in ("pipeline_ips", "in_memory_ips")),
                *(f"| {run['pipeline_vs_memory']:.2f} |" for run in training.values()),
                *(rate(config["ips"]) for config in precision.values() if config["ips"]),
                *(f"{config['mean_iou']:.3f}" for config in precision.values() if config["ips"]),
                *(f"{config['step_slowdown']:.0f}x" for config in precision.values()
                  if not config["ips"]),
                *(rate(run["batch_ips"]) for run in inference),
                *(rate(run["large_photo_ms"]) for run in inference)]
    missing = [figure for figure in expected if figure not in section]
    assert not missing, f"README performance section lacks {missing}"
