"""The bench (benchmarks/): its naive reference loader, feed and loader comparisons, scoring,
precision choice, checks, peer section and output, on tiny data. Speed figures are measured
by running the bench, not here: no test asserts a timing."""

import importlib.util
import json
import re
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
import tensorflow as tf
from fixtures.folders import striped_mask, write_pair

from benchmarks import common, loader, op_profile, peer, precision, report, run, training
from benchmarks.dataset import upscale_dataset
from benchmarks.peer_facelib import conv_macs
from facelib.app import cli
from facelib.core.params import ParamsError
from facelib.core.scheme import ClassScheme, SourceId
from facelib.data.discover import find_pairs
from facelib.data.pipeline import make_dataset

ROOT = Path(__file__).resolve().parents[1]
SIZE, BATCH = 32, 4
LOADER_KEYS = {"naive_ips", "facelib_cold_ips", "facelib_cold_augmented_ips",
               "facelib_cached_ips", "facelib_cached_augmented_ips", "speedup_cold",
               "speedup_cached"}
STRIPE_IDS = (SourceId.BACKGROUND, SourceId.FACE_SKIN, SourceId.LEFT_EYE, SourceId.LEFT_EAR,
              SourceId.GLASSES)
EPYC_CPUINFO = """processor\t: 0
model name\t: AMD EPYC 9B14
flags\t\t: fpu sse2 avx2 avx512f avx512bw avx512_bf16 avx512_vnni
processor\t: 1
model name\t: AMD EPYC 9B14
flags\t\t: fpu sse2 avx2 avx512f avx512bw avx512_bf16 avx512_vnni
"""


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
                   striped_mask(height, width, ids=STRIPE_IDS), ext=".jpg")
    return find_pairs(root)


def test_bench_params_go_through_the_params_checks():
    params = common.bench_params(SIZE, BATCH, augment=common.NO_AUGMENT, precision="float32")
    assert params["data"]["image_size"] == SIZE and params["train"]["batch_size"] == BATCH
    assert params["data"]["augment"]["hflip"] is False
    with pytest.raises(ParamsError, match="train.precision"):
        common.bench_params(SIZE, BATCH, precision="float64")


def test_naive_and_facelib_batches_have_the_same_shapes_and_nearly_the_same_targets(pairs):
    params = common.bench_params(SIZE, BATCH, augment=common.NO_AUGMENT)
    scheme = ClassScheme.from_params(params["data"]["classes"])

    naive = list(loader.naive_batches(pairs, SIZE, BATCH, scheme.n_classes,
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


@pytest.mark.slow
def test_compare_loaders_reports_every_rate_and_speedup(pairs):
    result = loader.compare_loaders(pairs, SIZE, BATCH, repeats=1)

    assert LOADER_KEYS <= result.keys()
    assert result["pairs"] == len(pairs) and result["batch_size"] == BATCH
    # one repeat: each speedup is the ratio of the two rates of that pass
    assert result["speedup_cold"] == pytest.approx(result["facelib_cold_ips"]
                                                   / result["naive_ips"])
    assert result["speedup_cached"] == pytest.approx(result["facelib_cached_ips"]
                                                     / result["naive_ips"])
    profile = result["profile_ms"]
    assert set(profile["naive"]) == {"photo_decode_resize", "mask_decode_resize", "one_hot"}
    assert set(profile["facelib"]) == {"photo_decode", "photo_resize", "mask_decode",
                                       "mask_resize", "one_hot"}


def tiny_model(n_classes: int = 8) -> tf.keras.Model:
    model = tf.keras.Sequential([
        tf.keras.Input((SIZE, SIZE, 3)),
        tf.keras.layers.Conv2D(n_classes, 3, padding="same", activation="softmax"),
    ])
    model.compile(optimizer="sgd", loss="categorical_crossentropy")
    return model


@pytest.mark.slow
def test_feeds_are_compared_on_the_same_model(pairs):
    params = common.bench_params(SIZE, BATCH)
    pipeline, batch = training.cached_training_data(pairs, params)

    result = training.compare_feeds(tiny_model(), pipeline, batch, BATCH, steps=2, repeats=1)

    assert batch[0].shape == (BATCH, SIZE, SIZE, 3) and batch[1].shape == (BATCH, SIZE, SIZE, 8)
    assert result["pipeline_vs_memory"] == pytest.approx(
        result["pipeline_ips"] / result["in_memory_ips"])


def scored_batches(pairs, params):
    return [(x.numpy(), y.numpy()) for x, y in make_dataset(pairs, params, training=False)]


def test_the_truth_scores_iou_one_per_class_and_background_everywhere_its_share(pairs):
    """Mean IoU over all classes: a class absent from truth and prediction scores 0 (as
    sklearn's zero_division=0), so the truth scores (classes present) / (classes)."""
    params = common.bench_params(SIZE, BATCH, augment=common.NO_AUGMENT)
    scheme = ClassScheme.from_params(params["data"]["classes"])
    batches = scored_batches(pairs, params)
    labels = np.concatenate([onehot.argmax(-1).ravel() for _, onehot in batches])
    present = len(np.unique(labels))
    assert present == len(STRIPE_IDS) < scheme.n_classes
    truths = iter([onehot for _, onehot in batches])

    assert precision.score_batches(lambda images: next(truths), batches, scheme) == (
        present / scheme.n_classes)

    def background(images):
        scores = np.zeros((*images.shape[:3], scheme.n_classes), np.float32)
        scores[..., 0] = 1
        return scores

    share = np.mean(labels == 0)  # background's IoU; every other class scores 0
    assert 0 < share < 1
    assert precision.score_batches(background, batches, scheme) == pytest.approx(
        share / scheme.n_classes)


def test_the_fastest_precision_that_keeps_quality_is_recommended():
    configs = {
        "float32": {"ips": 10.0, "mean_iou": 0.50},
        "float32 + xla": {"ips": 12.0, "mean_iou": 0.49},
        "mixed_bfloat16": {"ips": 20.0, "mean_iou": 0.40},  # faster, but worse
        "mixed_bfloat16 + xla": {"ips": None, "mean_iou": None, "note": "failed"},
    }

    assert precision.recommend_precision(configs) == "float32 + xla"
    configs["float32 + xla"]["mean_iou"] = 0.45
    assert precision.recommend_precision(configs) == "float32"


def test_a_precision_is_trained_unless_its_probe_is_too_slow(monkeypatch):
    monkeypatch.setattr(precision, "step_slowdown", lambda name: 17.0)
    skipped = precision.skipped_config("mixed_bfloat16", False, common.FULL)
    assert skipped["step_slowdown"] == 17.0 and "17.0x slower" in skipped["note"]
    monkeypatch.setattr(precision, "step_slowdown", lambda name: 1.2)
    assert precision.skipped_config("mixed_bfloat16", False, common.FULL) is None


def test_quick_runs_skip_the_xla_configs_and_float32_always_runs():
    assert "--quick" in precision.skipped_config("float32", True, common.QUICK)["note"]
    assert precision.skipped_config("float32", False, common.QUICK) is None
    assert precision.skipped_config("float32", True, common.FULL) is None


def test_cpu_features_come_from_the_flags():
    cpu = common.cpu_info(EPYC_CPUINFO)

    assert cpu["model"] == "AMD EPYC 9B14"
    assert cpu["features"] == {"avx2": True, "avx512": True, "bf16": True, "amx": False}
    assert cpu["flags"] == ["avx2", "avx512f", "avx512_bf16"]
    assert common.cpu_tag(cpu).endswith("AVX2 AVX-512 BF16 no AMX")
    older = common.cpu_info(EPYC_CPUINFO.replace(" avx512f avx512bw avx512_bf16", ""))
    assert older["features"] == {"avx2": True, "avx512": False, "bf16": False, "amx": False}


def test_upscaled_dataset_keeps_the_labels(tmp_path):
    mask = striped_mask(20, 30, ids=STRIPE_IDS)
    write_pair(tmp_path / "src", "train", "s0_0", smooth_image(np.random.default_rng(1), 20, 30),
               mask, ext=".jpg")

    upscale_dataset(tmp_path / "src", tmp_path / "big", 2)

    big_mask = cv2.imread(str(tmp_path / "big/train/seg/s0_0.png"), cv2.IMREAD_UNCHANGED)
    assert np.array_equal(big_mask, np.repeat(np.repeat(mask, 2, axis=0), 2, axis=1))
    assert cv2.imread(str(tmp_path / "big/train/image/s0_0.jpg")).shape == (40, 60, 3)


# --- checks ---------------------------------------------------------------------------------

def test_checks_compare_each_measurement_with_its_goal():
    results = fake_results()
    results["loader"]["speedup_cached"] = 9.5
    results["training"]["deeplabv3plus_efficientnetb0"] = {"pipeline_vs_memory": 0.96}

    verdicts = {c["check"]: c["passed"] for c in report.checks(results)}

    assert verdicts == {"cached loader / naive loader": False,
                        "pipeline-fed / in-memory training, pspnet_resnet50": False,
                        "pipeline-fed / in-memory training, deeplabv3plus_efficientnetb0": True}
    results["loader"]["speedup_cached"] = 10.0
    assert report.checks(results)[0]["passed"]


# --- peer -----------------------------------------------------------------------------------

def test_peer_params_are_the_demo_models_with_adam_and_dice_plus_cross_entropy():
    unet = peer.peer_params("unet_efficientnetb0", 128, 8)
    deeplab = peer.peer_params("deeplabv3plus_efficientnetb0", 128, 8)

    assert unet["model"]["unet_decoder_filters"] == [128, 64, 32, 16, 8]
    assert deeplab["model"]["deeplab_atrous_rates"] == [2, 4, 6]
    assert deeplab["model"]["deeplab_filters"] == 128
    assert deeplab["model"]["deeplab_output_stride"] == 16
    for params in (unet, deeplab):
        assert params["data"]["image_size"] == 128 and params["train"]["batch_size"] == 8
        assert params["train"]["optimizer"] == "adam" and params["train"]["loss"] == ["dice",
                                                                                      "cce"]
    with pytest.raises(ValueError, match="has no model linknet_resnet34"):
        peer.peer_params("linknet_resnet34", 128, 8)


def test_both_workers_train_on_the_same_batch():
    images, labels = peer.training_batch(16, 2, 8)
    again, again_labels = peer.training_batch(16, 2, 8)
    assert images.shape == (2, 16, 16, 3) and labels.shape == (2, 16, 16)
    assert np.array_equal(images, again) and np.array_equal(labels, again_labels)
    assert set(np.unique(labels)) == set(range(8))


def test_peer_runs_alternate_frameworks_round_by_round(monkeypatch):
    monkeypatch.setattr(peer, "log", lambda message: None)
    calls = []

    def run(framework, model):
        calls.append((model, framework))
        return {"ips": float(len(calls))}

    runs = peer.interleaved(("unet", "deeplab"), ("facelib", "smp"), 2, run)

    assert calls == [("unet", "facelib"), ("unet", "smp"), ("deeplab", "facelib"),
                     ("deeplab", "smp")] * 2
    assert [r["ips"] for r in runs["unet"]["smp"]] == [2.0, 6.0]


def test_the_peer_ratio_is_the_median_of_the_rounds_ratios():
    def run(ips):
        return {"ips": ips, "cpu_ms_per_image": 1000 / ips, "parameters": 10, "conv_gmacs": 0.5,
                "op_times": {"ms_per_step_summed": 1000 / ips, "top_ops": {}}}

    summary = peer.summarize({"unet": {"facelib": [run(10.0), run(30.0), run(40.0)],
                                       "smp": [run(20.0), run(20.0), run(10.0)]}})

    row = summary["unet"]
    assert (row["facelib_ips"], row["smp_ips"]) == (30.0, 20.0)
    assert row["ratio"] == 1.5  # ratios 0.5, 1.5, 4.0
    assert row["facelib_runs_ips"] == [10.0, 30.0, 40.0]
    assert row["smp_cpu_ms_per_image"] == 50.0
    assert row["facelib_op_times"]["ms_per_step_summed"] == 100.0  # the first round's


def test_without_the_peer_packages_the_section_says_so(monkeypatch):
    monkeypatch.setattr(peer, "missing_packages", lambda: ["segmentation_models_pytorch"])

    figures, setup = peer.measure_peer(common.QUICK)

    assert figures == {}
    assert "segmentation_models_pytorch not installed" in setup["skipped"]
    assert ".[peer]" in setup["skipped"]
    assert "skipped, segmentation_models_pytorch" in report.peer_lines(figures, setup, "")[0]


def test_without_the_demo_profile_the_section_says_so(monkeypatch, tmp_path):
    monkeypatch.setattr(peer, "missing_packages", lambda: [])
    monkeypatch.setattr(peer, "PEER_PROFILE", str(tmp_path / "demo.yaml"))

    figures, setup = peer.measure_peer(common.QUICK)

    assert figures == {} and "no such params file" in setup["skipped"]


def test_a_worker_result_is_its_last_json_line_and_a_failure_its_last_error_line():
    printing = [sys.executable, "-c", "print('chatter'); print('{\"ips\": 3.5}')"]
    assert peer.run_worker(printing) == {"ips": 3.5}
    failing = [sys.executable, "-c", "import sys; print('a', file=sys.stderr); sys.exit('boom')"]
    with pytest.raises(peer.PeerError, match="^boom$"):
        peer.run_worker(failing)


def test_facelib_counts_convolution_work_per_image():
    model = tf.keras.Sequential([
        tf.keras.Input((8, 8, 3)),
        tf.keras.layers.Conv2D(4, 3, padding="same"),  # 8*8 * 3*3*3 * 4 = 6912
        tf.keras.layers.DepthwiseConv2D(3, padding="same"),  # 8*8 * 3*3 * 4 = 2304
        tf.keras.layers.Conv2D(6, 1, strides=2),  # 4*4 * 4 * 6 = 384
        tf.keras.layers.GlobalAveragePooling2D(),
        tf.keras.layers.Dense(5),  # 6 * 5 = 30
    ])
    assert conv_macs(model) == 6912 + 2304 + 384 + 30


def test_op_self_time_leaves_out_what_an_op_encloses():
    events = [(0, 100, "__inference_train_function"),  # no op type: not counted
              (10, 60, "model/call:StatefulPartitionedCall"),  # encloses only: not counted
              (10, 40, "model/conv/Conv2D:_MklNativeConv2D"),
              (20, 30, "model/conv/BiasAdd:BiasAdd"),
              (40, 60, "model/conv_1/Conv2D:_MklNativeConv2D"),
              (70, 90, "gradient/Conv2DBackpropFilter:Conv2DBackpropFilter")]

    assert op_profile._self_times(events) == {"_MklNativeConv2D": 40, "BiasAdd": 10,
                                              "Conv2DBackpropFilter": 20}
    assert op_profile._base_type("_MklNativeFusedConv2D") == "Conv2D"
    assert op_profile._base_type("FusedBatchNormGradV3") == "FusedBatchNormGradV3"


def test_tensorflow_op_times_profile_a_real_training_step():
    model = tf.keras.Sequential([tf.keras.Input((64, 64, 3)),
                                 tf.keras.layers.Conv2D(8, 3, padding="same"),
                                 tf.keras.layers.DepthwiseConv2D(3, padding="same"),
                                 tf.keras.layers.Conv2D(4, 3, padding="same")])
    model.compile(optimizer="adam", loss="mse")
    data = tf.data.Dataset.from_tensors((tf.ones((4, 64, 64, 3)), tf.ones((4, 64, 64, 4))))
    model.fit(data.repeat(), epochs=1, steps_per_epoch=1, verbose=0)

    times = op_profile.tensorflow_op_times(
        lambda steps: model.fit(data.repeat(), epochs=1, steps_per_epoch=steps, verbose=0), 2)

    groups = times["groups"]
    for group in ("convolution, forward", "convolution, backward",
                  "depthwise convolution, forward", "depthwise convolution, backward"):
        assert groups.get(group, 0) > 0, (group, times)
    assert sum(groups.values()) == pytest.approx(times["ms_per_step_summed"], abs=0.01)


@pytest.mark.slow  # imports torch
@pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch not installed")
def test_smp_counts_the_same_work_for_the_same_network():
    import torch

    from benchmarks.peer_smp import conv_macs as torch_conv_macs

    model = torch.nn.Sequential(
        torch.nn.Conv2d(3, 4, 3, padding=1), torch.nn.Conv2d(4, 4, 3, padding=1, groups=4),
        torch.nn.Conv2d(4, 6, 1, stride=2), torch.nn.AdaptiveAvgPool2d(1), torch.nn.Flatten(),
        torch.nn.Linear(6, 5))
    assert torch_conv_macs(model, torch.zeros(2, 3, 8, 8)) == 6912 + 2304 + 384 + 30


# --- output ---------------------------------------------------------------------------------

def fake_results() -> dict:
    """Results shaped as `run_measurements` returns them, with made-up figures."""
    config = {"ips": 5.0, "mean_iou": 0.3}
    tag = common.cpu_tag(common.cpu_info(EPYC_CPUINFO))
    results = {
        "machine": {"cpu": "test", "cpu_count": 2, "tensorflow": tf.__version__,
                    "cpu_tag": tag, "date": "2000-01-01T00:00:00", "load_average_start": 0.5,
                    "load_average_end": 0.6},
        "dataset": {"source": "test", "long_side_min_px": 840, "long_side_max_px": 1800},
        "loader": {"size": 256, "batch_size": 32, "pairs": 64,
                   **{key: 1.0 / 3 for key in LOADER_KEYS}, "speedup_cached": 26.0,
                   "profile_ms": {"naive": {"mask_decode_resize": 6.5},
                                  "facelib": {"mask_decode": 7.25}}},
        "loader_speedup": 2.0, "loader_speedup_cached": 26.0,
        "precision": {"model": "pspnet_resnet50", "size": 128, "steps": 8,
                      "configs": {"float32": config,
                                  "mixed_bfloat16": {"ips": None, "mean_iou": None,
                                                     "note": "not run"}},
                      "recommended": "float32"},
        "training": {"pspnet_resnet50": {"pipeline_ips": 3.0, "in_memory_ips": 3.2,
                                         "pipeline_vs_memory": 0.94}},
        "inference": {"pspnet_resnet50": {"batch_ips": 40.0, "large_photo_ms": 250.0}},
        "peer": {"unet_efficientnetb0": {"facelib_ips": 31.0, "smp_ips": 40.0, "ratio": 0.775,
                                         "facelib_cpu_ms_per_image": 60.0,
                                         "smp_cpu_ms_per_image": 45.0,
                                         "facelib_conv_gmacs": 0.61, "smp_conv_gmacs": 0.32,
                                         "facelib_op_times": {
                                             "ms_per_step_summed": 300.0,
                                             "groups": {"convolution, backward": 120.0}},
                                         "smp_op_times": None}},
        "peer_setup": {"size": 128, "batch_size": 8, "optimizer": "adam",
                       "loss": "dice + cce", "rounds": 2, "timed_steps": 20,
                       "load_average": [1.0, 2.0]},
        "elapsed_s": 100.0,
    }
    run.label_cpu(results, tag)
    results["checks"] = report.checks(results)
    return results


def test_the_table_shows_every_part_and_the_cpu_beside_each():
    table = report.format_table(fake_results())

    for text in ("loader_speedup (cold)", "2x", "facelib_cached_augmented", "pspnet_resnet50",
                 "0.94", "not run", "recommended: float32", "250", "mask_decode 7.2",
                 "unet_efficientnetb0", "0.775", "60, 0.61 | 45, 0.32",
                 "unet_efficientnetb0 in facelib, ms per step (300 summed): convolution, "
                 "backward 120"):
        assert text in table
    assert re.search(r"cached loader / naive loader +26 >= 10 +pass", table)
    assert re.search(r"pipeline-fed / in-memory training, pspnet_resnet50 +0.94 >= 0.95 +FAIL",
                     table)
    headers = ("loader (", "loader stages", "training images/s", "precision (", "inference:",
               "peer, training", "checks (")
    for header in headers:
        line = next(line for line in table.splitlines() if line.startswith(header))
        assert line.endswith("[AMD EPYC 9B14, 2 cores, AVX2 AVX-512 BF16 no AMX]"), line


def test_every_model_row_and_part_names_the_cpu():
    results = fake_results()
    tag = results["machine"]["cpu_tag"]
    rows = [*results["training"].values(), *results["inference"].values(),
            *results["peer"].values()]
    assert all(row["cpu"] == tag for row in rows)
    assert all(results[part]["cpu"] == tag for part in ("loader", "precision", "peer_setup"))


def test_bench_prints_one_json_object_on_stdout(monkeypatch, capsys):
    def measurements(settings, progress):
        print("library chatter")  # must not reach stdout
        assert settings == common.QUICK
        return fake_results()

    monkeypatch.setattr(run, "run_measurements", measurements)

    assert cli.main(["bench", "--json", "--quick"]) == 0

    out, err = capsys.readouterr()
    results = json.loads(out)
    assert results["loader_speedup"] == 2.0 and results["loader"]["naive_ips"] == 0.333
    assert results["peer"]["unet_efficientnetb0"]["ratio"] == 0.775
    assert [c["passed"] for c in results["checks"]] == [True, False]
    assert "library chatter" in err


def test_only_the_bench_command_imports_benchmarks():
    importers = sorted(str(path.relative_to(ROOT)) for path in (ROOT / "facelib").rglob("*.py")
                       if re.search(r"^\s*(from|import) benchmarks\b", path.read_text(),
                                    re.MULTILINE))
    assert importers == ["facelib/app/commands.py"]


def test_readme_performance_table_shows_the_saved_bench_output():
    """Every figure of the README's table is the one in the bench JSON it names."""
    section = (ROOT / "README.md").read_text().split("## Performance")[1].split("\n## ")[0]
    saved = json.loads((ROOT / re.search(r"docs/bench_[\d-]+\.json", section)[0]).read_text())

    def rate(value):
        return f"{value:,.0f}" if value >= 100 else f"{value:#.3g}"

    loader_, training_ = saved["loader"], saved["training"]
    configs = saved["precision"]["configs"]
    inference = saved["inference"].values()
    expected = [f"**{saved['loader_speedup']:.3g}x**", f"{saved['loader_speedup_cached']:.0f}x",
                *(rate(loader_[key]) for key in ("facelib_cold_ips", "naive_ips",
                                                 "facelib_cached_ips",
                                                 "facelib_cold_augmented_ips",
                                                 "facelib_cached_augmented_ips")),
                *(rate(run[key]) for run in training_.values()
                  for key in ("pipeline_ips", "in_memory_ips")),
                *(f"| {run['pipeline_vs_memory']:.2f} |" for run in training_.values()),
                *(rate(config["ips"]) for config in configs.values() if config["ips"]),
                *(f"{config['mean_iou']:.3f}" for config in configs.values() if config["ips"]),
                *(f"{config['step_slowdown']:.0f}x" for config in configs.values()
                  if config.get("step_slowdown")),
                *(rate(run["batch_ips"]) for run in inference),
                *(rate(run["large_photo_ms"]) for run in inference)]
    missing = [figure for figure in expected if figure not in section]
    assert not missing, f"README performance section lacks {missing}"


def test_readme_peer_table_shows_the_saved_peer_output():
    section = (ROOT / "README.md").read_text().split("## Performance")[1].split("\n## ")[0]
    saved = json.loads((ROOT / re.search(r"docs/bench_peer_[\d-]+\.json", section)[0])
                       .read_text())
    expected = [f"{row[key]:.3g}" for row in saved["peer"].values()
                for key in ("facelib_ips", "smp_ips")]
    expected += [f"**{row['ratio']:.2f}**" for row in saved["peer"].values()]
    missing = [figure for figure in expected if figure not in section]
    assert not missing, f"README peer table lacks {missing}"
