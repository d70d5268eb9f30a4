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
# # 01 · Data analysis
#
# What the dataset of a profile holds before anything is trained: how many photos and
# subjects, whether every file is sound, how the photos are split without sharing a subject
# between splits, how much of each photo every class covers, and what the labels look like.
# With `data.source: shards` it reads the shards' manifest and contents: the problems found
# when they were written, and masks and photos at the shard size.
#
# Run it from JupyterLab, or with papermill and any profile:
# `papermill notebooks/01_data_analysis.ipynb out.ipynb -f params/demo.yaml`.

# %% tags=["parameters"]
# The params file (relative to the project folder, or absolute) and overrides of its keys,
# as `--set KEY=VALUE` gives them, e.g. {"train.epochs": 4}. `facelib run` passes these.
profile = "params/quick.yaml"
overrides = {}

# %%
import facelib
from facelib.core.params import resolve_path
from facelib.core.scheme import ClassScheme
from facelib.data.discover import split_pairs, split_summary, subjects_overlap
from facelib.data.sources import data_source
from facelib.reports import charts
from facelib.reports.analysis import class_table, folder_counts
from facelib.reports.viz import show_samples

params = facelib.load_params(resolve_path(profile), overrides)
scheme = ClassScheme.from_params(params["data"]["classes"])
source = data_source(params, progress=False)
pairs = source.pairs()

# %% [markdown]
# ## The class scheme
# Source ids of the reference dataset are merged into the training classes below; every
# class has its own channel of the one-hot target (the reference one-hot encoded merged ids
# up to 16 with depth 8, so ears and glasses were never learned).

# %%
# NBVAL_CHECK_OUTPUT
print(class_table(scheme).to_string())

# %% [markdown]
# ## Files
# Every pair is checked before training: partners, readability, sizes, label values.

# %%
# NBVAL_CHECK_OUTPUT
report = source.report(scheme, progress=False)
print(report.summary())
print(f"{len(pairs)} pairs, {len({p.subject for p in pairs})} subjects")
print(folder_counts(pairs))

# %% [markdown]
# ## Splits
# Grouped by subject: all frames of a person land in one split, so the test score is
# measured on faces the model has never seen (the reference split frames of one subject
# between train and test).

# %%
# NBVAL_CHECK_OUTPUT
splits = split_pairs(pairs, params["data"]["split"])
print("subjects in more than one split:", sorted(subjects_overlap(splits)) or "none")
print(split_summary(splits).to_string())

# %% [markdown]
# ## How much of each photo each class covers
# Per photo, the share of pixels of every class (read one mask at a time).

# %%
fractions = source.class_shares(pairs, scheme, progress=False)
orientation = (fractions["width"] > fractions["height"]).map({True: "landscape", False: "portrait"})
print(orientation.value_counts().to_string())

# %%
# NBVAL_CHECK_OUTPUT
print(fractions[list(scheme.names)].describe().loc[["mean", "min", "max"]].round(4).to_string())

# %%
charts.plot_class_presence(fractions, scheme.names)

# %%
charts.plot_pixel_fractions(fractions, scheme.names)

# %%
charts.plot_cooccurrence(fractions, scheme.names)

# %% [markdown]
# ## Samples
# Photos with their labels drawn over them.

# %%
seed = params["seed"]
show_samples(source.picture_samples(pairs, n=8, seed=seed), scheme, n=8, cols=4, seed=seed)
