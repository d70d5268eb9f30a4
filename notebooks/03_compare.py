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
# # 03 · Comparison
#
# Finished runs side by side on the same test split: mean scores, the params they differ
# in, IoU per class, learning curves, size and speed, and the same test photos predicted by
# each. By default the runs of the profile's models; `run_folders` compares every run of
# other output folders instead (`facelib compare`, `facelib sweep`). Only the training
# notebook trains.

# %% tags=["parameters"]
# The params file (relative to the project folder, or absolute) and overrides of its keys,
# as `--set KEY=VALUE` gives them, e.g. {"train.epochs": 4}. `facelib run` passes these.
profile = "params/quick.yaml"
overrides = {}
# Output folders whose runs/ are compared instead of the profile's models (e.g. a sweep's).
run_folders = []

# %%
import facelib
from facelib.core.errors import UsageError
from facelib.core.io import write_text
from facelib.core.params import output_dir as profile_output_dir
from facelib.core.params import resolve_path
from facelib.core.runs import finished_runs
from facelib.core.scheme import ClassScheme
from facelib.reports import charts, compare
from facelib.reports.examples import predict_examples
from facelib.reports.viz import save_figure, show_model_predictions

params = facelib.load_params(resolve_path(profile), overrides)
runs = compare.runs_in(run_folders) if run_folders else finished_runs(params)
if not runs:
    raise UsageError("no finished runs to compare: train the profile's models first")
scheme = ClassScheme.from_params(runs[0].params["data"]["classes"])
results_dir = profile_output_dir(params)

# %%
# NBVAL_CHECK_OUTPUT
print(f"{len(runs)} runs:", ", ".join(run.name for run in runs))
print("test images:", sorted({run.metrics["n_images"] for run in runs}))

# %% [markdown]
# ## Scores
# Means over the test split: over all classes, and IoU without background
# (`iou_foreground`), best first, IoU per class, overall pixel accuracy and each class's
# pixel accuracy (its recall). `comparison.csv` in the output folder holds this table.

# %%
# NBVAL_CHECK_OUTPUT
table = compare.comparison_table(runs)
write_text(results_dir / "comparison.csv", table.to_csv(index=False))
print("comparison.csv columns:", ", ".join(table.columns))

# %%
table.round(3)

# %% [markdown]
# Where each run came from (its `provenance.json`): the commit of the code (`+dirty` when
# tracked files differed from it) and the fingerprint of the data it was trained and tested
# on. Runs are comparable only on the same data.

# %%
print(compare.different_data(runs) or "every run was trained and tested on the same data")
table[["model", "git_commit", "data_fingerprint"]]

# %%
scores_figure = charts.plot_scores_by_model(table)
save_figure(scores_figure, results_dir / "comparison.png")
scores_figure

# %% [markdown]
# ## What the runs differ in
# Each params key whose value differs between the runs, with the score against it.

# %%
varied = compare.varied_params(runs)
print("params that differ between the runs:", ", ".join(varied) or "none")
params_figure = charts.plot_score_by_param(table, varied) if varied else None
if params_figure:
    save_figure(params_figure, results_dir / "params.png")
params_figure

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
examples = predict_examples(runs[0].params, {run.name: run.folder for run in runs},
                            params["eval"]["example_count"])
predictions_figure = show_model_predictions(examples, scheme)
save_figure(predictions_figure, results_dir / "predictions.png")
predictions_figure
