"""Subcommand handlers: parse nothing, print results, return the exit code.

Each handler calls into the module that does the work; they are kept together here so the
CLI's behaviour (what it prints, how it exits) can be read in one place.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from facelib.cli import UsageError
from facelib.params import load_params


def synth(args) -> int:
    from facelib.data.synth import make_synthetic_dataset

    out = make_synthetic_dataset(args.out_dir, n_train=args.train, n_val=args.val,
                                 seed=args.seed, workers=args.workers)
    print(f"wrote {args.train} train + {args.val} val pairs to {out}")
    return 0


def validate(args) -> int:
    from facelib.data.validate import validate_dataset

    if not Path(args.data_dir).is_dir():
        raise UsageError(f"{args.data_dir}: no such folder")
    report = validate_dataset(args.data_dir, workers=args.workers,
                              progress=sys.stderr.isatty() and not args.json)
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(report.summary())
    return 0 if report.ok else 1


def check(args) -> int:
    params = load_params(args.params, args.overrides)
    print(f"{args.params}: ok (profile {params['profile']!r}, "
          f"{len(params['models'])} model(s))")
    return 0


def train(args) -> int:
    from facelib.training import train as train_models

    params = load_params(args.params, args.overrides)
    train_models(params, model=args.model, force=args.force)
    return 0


def run(args) -> int:
    from facelib.runner import run_pipeline

    params = load_params(args.params, args.overrides)
    return run_pipeline(params, force=args.force)


def predict(args) -> int:
    from facelib.predict import predict_files

    return predict_files(args.model, args.images, args.out)


def export(args) -> int:
    from facelib.engine.export import export_run

    result = export_run(args.run, args.format, out=args.out, quantize=args.quantize)
    kind = f"{result.format} ({result.quantize or 'float32'})"
    print(f"wrote {kind} to {result.path}: {result.size_bytes / 1e6:.1f} MB "
          f"(model.keras {result.keras_size_bytes / 1e6:.1f} MB)")
    print(f"agreement with the Keras model on {result.n_photos} test photos: "
          f"{100 * result.agreement:.3f}% of {result.n_pixels} pixels; "
          f"{result.ms_per_photo:.0f} ms per photo (Keras {result.keras_ms_per_photo:.0f} ms)")
    print(f"report: {result.report_path}")
    if not result.ok:
        print(f"facelib export: agreement below {100 * result.agreement_floor:.1f}%",
              file=sys.stderr)
        return 1
    return 0


def score(args) -> int:
    from facelib.evaluate import score_folders

    params = load_params(args.params) if args.params else load_params()
    from facelib.metrics import metrics_table

    result = score_folders(args.true_dir, args.pred_dir, params)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{result['n_images']} label maps scored")
        print(metrics_table(result).round(4).to_string())
    return 0


def notebooks(args) -> int:
    from facelib.runner import refresh_committed_notebooks

    return refresh_committed_notebooks()


def bench(args) -> int:
    from facelib.bench import run_bench

    return run_bench(as_json=args.json, quick=args.quick)


def convert(args) -> int:
    from facelib.data.convert import convert_dataset

    return convert_dataset(args.format, args.src, args.out)


def shards(args) -> int:
    from facelib.data.shards import write_shards

    return write_shards(args.data_dir, args.out, size=args.size)
