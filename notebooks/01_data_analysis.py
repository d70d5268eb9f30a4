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
from facelib.reports import charts
from facelib.data.discover import split_pairs, split_summary, subjects_overlap
from facelib.data.sources import class_shares, data_report, dataset_root, load_pairs, sample_pairs
from facelib.core.scheme import SOURCE_NAMES, ClassScheme
from facelib.reports.viz import show_samples

params = facelib.load_params(profile=profile, seed=seed, output_dir=output_dir, data=data,
                             models=models, model=model, train=train, eval=eval)
scheme = ClassScheme.from_params(params["data"]["classes"])
root = dataset_root(params, progress=False)
pairs = load_pairs(params, root)

# %% [markdown]
# ## The class scheme
# Source ids of the reference dataset are merged into the training classes below; every
# class has its own channel of the one-hot target (the reference one-hot encoded merged ids
# up to 16 with depth 8, so ears and glasses were never learned).

# %%
# NBVAL_CHECK_OUTPUT
import pandas as pd

classes = pd.DataFrame(
    {
        "class": scheme.names,
        "source ids": [
            ", ".join(f"{i} {SOURCE_NAMES[i]}" for i in ids) for ids in scheme.source_ids
        ],
        "colour": [str(c) for c in scheme.colors],
    }
).rename_axis("training id")
print(classes.to_string())

# %% [markdown]
# ## Files
# Every pair is checked before training: partners, readability, sizes, label values.

# %%
# NBVAL_CHECK_OUTPUT
report = data_report(params, root, scheme, progress=False)
print(report.summary())
sizes = pd.DataFrame([{"folder": p.folder, "subject": p.subject} for p in pairs])
print(f"{len(pairs)} pairs, {sizes['subject'].nunique()} subjects")
print(sizes.groupby("folder").agg(pairs=("subject", "size"), subjects=("subject", "nunique")))

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
fractions = class_shares(params, pairs, scheme, progress=False)
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
show_samples(sample_pairs(params, pairs, n=8, seed=seed), scheme, n=8, cols=4, seed=seed)
