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
# The quick profile (params/quick.yaml); papermill replaces any of these sections.
profile = "quick"
seed = 1996
output_dir = None
data = {
    "synthetic": {"train": 48, "val": 16, "seed": 7, "cache_dir": "cache/synthetic"},
    "image_size": 64,
    "cache": True,
}
models = [
    {"architecture": "pspnet", "backbone": "resnet50"},
    {"architecture": "deeplabv3plus", "backbone": "efficientnetb0"},
]
model = {}
train = {"epochs": 2, "batch_size": 8, "optimizer": "adam", "learning_rate": 0.001}
eval = {"batch_size": 8, "example_count": 3}
# A model file or run folder (None: the profile's run with the best mean IoU), and a folder
# of photos (None: the first test photos of the profile's dataset; from shards, their
# photos at the shard size, written to example_photos/ in the output folder).
model_path = None
photos_dir = None

# %%
from pathlib import Path

import facelib
from facelib.reports import compare
from facelib.reports.examples import example_photos
from facelib.core.params import output_dir as profile_output_dir
from facelib.engine.predict import expand_inputs, predict_files
from facelib.reports.viz import show_overlays

params = facelib.load_params(profile=profile, seed=seed, output_dir=output_dir, data=data,
                             models=models, model=model, train=train, eval=eval)
if model_path is None:
    facelib.train(params)  # finished runs are reused, missing ones trained
    model_path = max(finished_runs(params), key=lambda run: run.metrics["mean"]["iou"]).folder
if photos_dir is None:
    run_folder = Path(model_path) if Path(model_path).is_dir() else Path(model_path).parent
    photos = example_photos(run_folder, 4, profile_output_dir(params) / "example_photos")
else:
    photos = [str(p) for p in expand_inputs([photos_dir])]
predictions_dir = profile_output_dir(params) / "predictions"
print(f"model: {Path(model_path).name}, {len(photos)} photos")

# %%
status = predict_files(str(model_path), photos, str(predictions_dir))

# %%
# NBVAL_CHECK_OUTPUT
from facelib.data.discover import load_image, load_label_map

for photo in photos:
    labels = load_label_map(predictions_dir / f"{Path(photo).stem}.png")
    print(f"{Path(photo).name}: photo {load_image(photo).shape[:2]}, label map {labels.shape}")

# %%
show_overlays([predictions_dir / f"{Path(p).stem}_overlay.png" for p in photos])
