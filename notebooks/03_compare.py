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
# # 03 · Comparison
#
# Every model of the profile side by side on the same test split: mean scores, IoU per
# class, learning curves, size and speed, and the same test photos predicted by each.
# Models of the profile that have no finished run yet are trained first.

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

# %%
import facelib
from facelib import charts, compare
from facelib.examples import predict_examples
from facelib.io import write_text
from facelib.params import output_dir as profile_output_dir
from facelib.scheme import ClassScheme
from facelib.viz import save_figure, show_model_predictions

params = facelib.load_params(profile=profile, seed=seed, output_dir=output_dir, data=data,
                             models=models, model=model, train=train, eval=eval)
scheme = ClassScheme.from_params(params["data"]["classes"])
results_dir = profile_output_dir(params)

# %%
facelib.train(params)
runs = compare.load_runs(params)

# %%
# NBVAL_CHECK_OUTPUT
print(f"{len(runs)} runs:", ", ".join(run.name for run in runs))
print("test images:", sorted({run.metrics["n_images"] for run in runs}))

# %% [markdown]
# ## Scores
# Means over the test split: over all classes, and IoU without background
# (`iou_foreground`), IoU per class, overall pixel accuracy and each class's pixel accuracy
# (its recall). `comparison.csv` in the profile's output folder holds this table.

# %%
# NBVAL_CHECK_OUTPUT
table = compare.comparison_table(runs)
write_text(results_dir / "comparison.csv", table.to_csv(index=False))
print("comparison.csv columns:", ", ".join(table.columns))

# %%
table.round(3)

# %%
table["model"] = [run.name for run in runs]
scores_figure = charts.plot_scores_by_model(table)
save_figure(scores_figure, results_dir / "comparison.png")
scores_figure

# %%
charts.plot_iou_heatmap(compare.per_class_iou(runs))

# %% [markdown]
# ## Learning curves

# %%
charts.plot_learning_curves({run.name: run.history for run in runs})

# %% [markdown]
# ## Size and speed
# Inference on this machine with the model's input size (after one warm-up batch).

# %%
compare.model_costs(runs, params).round(1)

# %% [markdown]
# ## The same test photos, every model

# %%
examples = predict_examples(params, {run.name: run.folder for run in runs},
                            params["eval"]["example_count"])
predictions_figure = show_model_predictions(examples, scheme)
save_figure(predictions_figure, results_dir / "predictions.png")
predictions_figure
