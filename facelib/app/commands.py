"""Subcommand handlers: call the library, print its results, return the exit code.

Each handler imports the modules it calls when it runs: deliberately lazy, so that
`facelib --help` and `facelib check` answer without loading TensorFlow.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from facelib.core.errors import UsageError
from facelib.core.params import load_params

PROBLEMS_SHOWN = 20  # problem lines printed; the rest are in the file named after them


def print_problems(problems: list[str], listed_in: Path) -> None:
    for line in problems[:PROBLEMS_SHOWN]:
        print(line, file=sys.stderr)
    if len(problems) > PROBLEMS_SHOWN:
        print(f"... and {len(problems) - PROBLEMS_SHOWN} more, listed in {listed_in}",
              file=sys.stderr)


def synth(args) -> int:
    from facelib.data.synth import make_synthetic_dataset

    out = make_synthetic_dataset(args.out_dir, n_train=args.train, n_val=args.val,
                                 seed=args.seed, workers=args.workers, version=args.version)
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
    from facelib.engine.training import train as train_models

    params = load_params(args.params, args.overrides)
    for run in train_models(params, model=args.model, force=args.force):
        if not run.metrics:  # another worker than the chief of a multi-worker training
            print(f"{run.name}: trained; the chief wrote the results to {run.folder}")
            continue
        how = "reused (finished with the same params)" if run.skipped else (
            "resumed and finished" if run.resumed else "trained")
        print(f"{run.name}: {how}; test mean IoU {run.metrics['mean']['iou']:.4f} "
              f"({run.folder})")
    return 0


def run(args) -> int:
    from facelib.app.runner import run_pipeline

    return run_pipeline(args.params, args.overrides, force=args.force)


def sweep(args) -> int:
    from facelib.app.sweep import run_sweep

    result = run_sweep(args.params, args.grid, args.overrides, force=args.force)
    print(f"{len(result.done)} run(s) trained, {len(result.skipped)} already finished, "
          f"{len(result.failed)} failed{': ' + ', '.join(result.failed) if result.failed else ''}"
          f"; comparison in {result.out / 'comparison.csv'}")
    return 1 if result.failed else 0


def compare(args) -> int:
    from facelib.app.runner import Invocation, Step, execute_step

    folders = [str(Path(folder).resolve()) for folder in args.folders]
    out = Path(args.out).resolve()
    out.mkdir(parents=True, exist_ok=True)
    invocation = Invocation.of(args.params, {"output_dir": str(out)})
    status = execute_step(Step("03_compare", "03_compare", {"run_folders": folders}),
                          invocation, out, force=True)
    if status == "failed":
        return 1
    print(f"comparison of {len(folders)} folder(s) in {out / '03_compare.html'} "
          f"({out / 'comparison.csv'})")
    return 0


def predict(args) -> int:
    from facelib.engine.predict import predict_files

    result = predict_files(args.model, args.images, args.out)
    for problem in result.failures + result.warnings:
        print(f"facelib predict: {problem}", file=sys.stderr)
    if args.json:
        for photo in result.photos:
            print(json.dumps(photo.to_dict()))
    else:
        print(result.summary())
    return 0 if result.ok else 1


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
    from facelib.engine.evaluate import score_folders
    from facelib.models.metrics import metrics_table

    params = load_params(args.params) if args.params else load_params()
    result = score_folders(args.true_dir, args.pred_dir, params)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"{result['n_images']} label maps scored; pixel accuracy "
              f"{result['pixel_accuracy']:.4f} (a class's pixel accuracy is its recall)")
        print(metrics_table(result).round(4).to_string())
    return 0


def notebooks(args) -> int:
    from facelib.app.runner import refresh_committed_notebooks

    refresh_committed_notebooks()
    return 0


def bench(args) -> int:
    # benchmarks/ sits beside facelib/ (installed with it), above every layer of the package
    try:
        from benchmarks.report import format_table, to_json
        from benchmarks.run import run_bench
    except ModuleNotFoundError as e:
        if e.name != "benchmarks":
            raise
        raise UsageError("the benchmarks package is not installed: run `pip install -e .` in "
                         "a facelib checkout (it installs benchmarks/ beside facelib/)") from None

    results = run_bench(quick=args.quick)
    print(to_json(results) if args.json else format_table(results))
    return 0


def convert(args) -> int:
    from facelib.data.convert import PROBLEMS_FILE
    from facelib.data.convert import convert as convert_dataset

    result = convert_dataset(args.format, args.src, args.out,
                             progress=sys.stderr.isatty())
    print_problems(sorted(result.problems), result.out / PROBLEMS_FILE)
    print(f"{args.format}: " + "; ".join(f"{k}: {v}" for k, v in result.how.items()),
          file=sys.stderr)
    print(result.summary())
    return 1 if result.problems else 0


def shards(args) -> int:
    from facelib.data.shards import MANIFEST, write_shards

    result = write_shards(args.data_dir, args.out, size=args.size,
                          examples_per_shard=args.examples_per_shard)
    print_problems([f"{p.path}: {p.problem}" for p in result.report.problems],
                   result.out / MANIFEST)
    print(result.summary())
    return 0 if result.ok else 1
