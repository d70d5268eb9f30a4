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
#     display_name: Python 3 (ipykernel)
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 02 · Training
#
# Trains one model of the profile (`architecture` + `backbone`) with the profile's recipe,
# then scores it on the test split: learning curves, scores per class, and predictions next
# to the ground truth. `facelib run` executes this notebook once per model of the profile;
# `facelib train PARAMS.yaml` does the same training without the notebook.

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
# The model trained by this notebook, and whether a finished run may be replaced.
architecture = "pspnet"
backbone = "resnet50"
force = False

# %%
import pandas as pd

import facelib
from facelib import charts
from facelib.metrics import metrics_table
from facelib.scheme import ClassScheme

params = facelib.load_params(profile=profile, seed=seed, output_dir=output_dir, data=data,
                             models=models, model=model, train=train, eval=eval)
spec = {"architecture": architecture, "backbone": backbone}
scheme = ClassScheme.from_params(params["data"]["classes"])

# %% [markdown]
# ## Training
# Interrupt it at any time: running this cell again resumes from the last finished epoch.

# %%
run = facelib.train_model(params, spec, force=force)
print(f"run folder: {run.run_dir}")

# %% [markdown]
# ## Learning curves

# %%
history = pd.read_csv(run.run_dir / "history.csv")
charts.plot_learning_curves({run.name: history})

# %%
# NBVAL_CHECK_OUTPUT
print("epochs:", history["epoch"].tolist())
print("logged:", ", ".join(history.columns))

# %% [markdown]
# ## Test scores
# Over the whole test split at each photo's own size (from shards, at the shard size:
# `evaluated_at` in metrics.json), per class and as two means: over all classes (as the
# reference reported) and without background (as face-parsing papers do), and the overall
# pixel accuracy (as FASSEG papers report).

# %%
# NBVAL_CHECK_OUTPUT
print(f"{run.metrics['n_images']} test images, model input {run.metrics['image_size']} px")

# %%
print(f"pixel accuracy {run.metrics['pixel_accuracy']:.3f} (right pixels over all; "
      "a class's pixel accuracy is its recall)")
metrics_table(run.metrics).round(3)

# %%
charts.plot_per_class_iou(run.metrics, colors=scheme.colors)

# %% [markdown]
# ## Predictions on fixed test images
# image | ground truth | prediction, for the first frame of the first test subjects.

# %%
from facelib.examples import predict_examples
from facelib.viz import show_predictions

examples = predict_examples(params, {run.name: run.run_dir}, params["eval"]["example_count"])
show_predictions(examples.images, examples.truths, examples.predictions[run.name], scheme,
                 titles=examples.stems)
