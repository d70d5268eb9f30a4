# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     notebook_metadata_filter: kernelspec,jupytext
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python (facelib)
#     language: python
#     name: facelib
# ---

# %% [markdown]
# # 04 · Prediction
#
# Segments a folder of your own photos with a trained model: a label map at each photo's own
# size (`STEM.png`, training ids) and a colour overlay (`STEM_overlay.png`). From the shell:
# `facelib predict outputs/demo/runs/pspnet_resnet50 photos/ --out predictions/`.

# %% tags=["parameters"]
# The params file (relative to the project folder, or absolute) and overrides of its keys,
# as `--set KEY=VALUE` gives them, e.g. {"train.epochs": 4}. `facelib run` passes these.
profile = "params/quick.yaml"
overrides = {}
# A model file or run folder (None: the profile's finished run with the best mean IoU), and
# a folder of photos (None: the first test photos of the profile's dataset; from shards,
# their photos at the shard size, written to example_photos/ in the output folder).
model_path = None
photos_dir = None

# %%
from pathlib import Path

import facelib
from facelib.core.params import output_dir as profile_output_dir
from facelib.core.params import resolve_path
from facelib.core.runs import best_run, finished_runs
from facelib.engine.predict import expand_inputs, predict_files
from facelib.reports.examples import example_photos
from facelib.reports.viz import show_overlays

params = facelib.load_params(resolve_path(profile), overrides)
model_path = Path(model_path) if model_path else best_run(finished_runs(params)).folder
if photos_dir is None:
    run_folder = model_path if model_path.is_dir() else model_path.parent
    photos = example_photos(params, run_folder, 4, profile_output_dir(params) / "example_photos")
else:
    photos = [str(p) for p in expand_inputs([photos_dir])]
predictions_dir = profile_output_dir(params) / "predictions"
print(f"model: {model_path.name}, {len(photos)} photos")

# %%
result = predict_files(str(model_path), photos, str(predictions_dir))
print(result.summary())

# %%
# NBVAL_CHECK_OUTPUT
from facelib.data.discover import load_image, load_label_map

for photo in photos:
    labels = load_label_map(predictions_dir / f"{Path(photo).stem}.png")
    print(f"{Path(photo).name}: photo {load_image(photo).shape[:2]}, label map {labels.shape}")

# %%
show_overlays([predictions_dir / f"{Path(p).stem}_overlay.png" for p in photos])
