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
# # 02 · Training
#
# Trains one model of the profile (`architecture` + `backbone`) with the profile's recipe,
# then scores it on the test split: learning curves, scores per class, and predictions next
# to the ground truth. `facelib run` executes this notebook once per model of the profile;
# `facelib train PARAMS.yaml` does the same training without the notebook.

# %% tags=["parameters"]
# The params file (relative to the project folder, or absolute) and overrides of its keys,
# as `--set KEY=VALUE` gives them, e.g. {"train.epochs": 4}. `facelib run` passes these.
profile = "params/quick.yaml"
overrides = {}
# The entry of the profile's `models` this notebook trains (by name), and whether a
# finished run of other params may be replaced.
run_name = "pspnet_resnet50"
force = False

# %%
import pandas as pd

import facelib
from facelib.core.params import resolve_path
from facelib.core.scheme import ClassScheme
from facelib.engine.training import select_models
from facelib.models.metrics import metrics_table
from facelib.reports import charts

params = facelib.load_params(resolve_path(profile), overrides)
[spec] = select_models(params, run_name)
scheme = ClassScheme.from_params(params["data"]["classes"])

# %% [markdown]
# ## Training
# Interrupt it at any time: running this cell again resumes from the last finished epoch.

# %%
run = facelib.train_model(params, spec, force=force)
print(f"run folder: {run.folder}")

# %% [markdown]
# ## Learning curves

# %%
history = pd.read_csv(run.folder / "history.csv")
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
from facelib.reports.examples import predict_examples
from facelib.reports.viz import show_predictions

examples = predict_examples(params, {run.name: run.folder}, params["eval"]["example_count"])
show_predictions(examples.images, examples.truths, examples.predictions[run.name], scheme,
                 titles=examples.stems)
