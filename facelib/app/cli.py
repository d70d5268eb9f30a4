"""The `facelib` command: one subcommand per step of the pipeline.

The handlers (`facelib.app.commands`) are imported only once the arguments are parsed, and
each imports its module only when called, so `facelib --help` and params checks return
quickly; user mistakes end with a one-line message and exit code 2, never a traceback.
"""

from __future__ import annotations

import argparse
import sys

from facelib.core.errors import FacelibError


def _add_params(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("params", help="a params file, e.g. params/quick.yaml")
    parser.add_argument("--set", dest="overrides", action="append", default=[],
                        metavar="KEY=VALUE", help="override a param, e.g. train.epochs=4")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="facelib", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("synth", help="write a synthetic face-parsing dataset")
    p.add_argument("out_dir")
    p.add_argument("--train", type=int, default=80, help="training pairs (default 80)")
    p.add_argument("--val", type=int, default=20, help="validation pairs (default 20)")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    p.add_argument("--version", type=int, default=2, choices=(2, 3),
                   help="generator: 2 one person per photo; 3 also groups and small faces")

    p = sub.add_parser("validate", help="check every image/mask pair of a dataset")
    p.add_argument("data_dir")
    p.add_argument("--json", action="store_true", help="print a JSON report")
    p.add_argument("--workers", type=int, default=None)

    p = sub.add_parser("train", help="train the models of a params profile")
    _add_params(p)
    p.add_argument("--model", help="train only this model, e.g. pspnet_resnet50")
    p.add_argument("--force", action="store_true", help="replace finished runs")

    p = sub.add_parser("run", help="execute the notebooks of a profile with papermill")
    _add_params(p)
    p.add_argument("--force", action="store_true", help="replace finished results")

    p = sub.add_parser("sweep", help="train once per combination of params, then compare")
    _add_params(p)
    p.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2",
                   help="values to sweep, e.g. train.learning_rate=0.001,0.003 (repeatable)")
    p.add_argument("--force", action="store_true", help="replace finished runs")

    p = sub.add_parser("compare", help="compare the runs of several output folders")
    p.add_argument("folders", nargs="+", help="output folders holding runs/")
    p.add_argument("--out", default="outputs/comparison", help="where the comparison goes")
    p.add_argument("--params", default="params/quick.yaml",
                   help="params whose eval settings to use (default params/quick.yaml)")

    p = sub.add_parser("predict", help="segment photos with a trained model")
    p.add_argument("model", help="a model file, run folder or exported SavedModel folder")
    p.add_argument("images", nargs="+", help="photos, or folders of photos")
    p.add_argument("--out", required=True, help="folder for STEM.png and STEM_overlay.png")
    p.add_argument("--json", action="store_true",
                   help='print one JSON object per photo: {"path", "size": [h, w], "faces"}')

    p = sub.add_parser("export", help="export a run as a SavedModel or TFLite, checked")
    p.add_argument("run", help="a run folder, e.g. outputs/demo/runs/pspnet_resnet50")
    p.add_argument("--format", required=True, choices=["savedmodel", "tflite"])
    p.add_argument("--out", help="where to write (default RUN/export/savedmodel or "
                   "RUN/export/model_{float32,float16,dynamic}.tflite)")
    p.add_argument("--quantize", choices=["float16", "dynamic"], help="tflite weights")

    p = sub.add_parser("score", help="score predicted label maps against true masks")
    p.add_argument("true_dir", help="masks with source ids: a folder, a dataset or shards")
    p.add_argument("pred_dir", help="label maps with training ids")
    p.add_argument("--params", help="params file whose class scheme to use (default: defaults)")
    p.add_argument("--json", action="store_true")

    p = sub.add_parser("check", help="check a params file and exit")
    _add_params(p)

    p = sub.add_parser("notebooks", help="re-execute the committed notebooks on the quick profile")

    p = sub.add_parser("bench", help="measure input pipeline, training and inference speed "
                                     "(and the PyTorch peer's, where installed)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--quick", action="store_true",
                   help="smaller and faster: fewer pairs, steps and repeats")

    p = sub.add_parser("convert", help="convert a public dataset to the reference layout")
    p.add_argument("format", choices=["celebamask-hq", "lapa", "fasseg"])
    p.add_argument("src")
    p.add_argument("out")

    p = sub.add_parser("shards", help="write resized, validated TFRecord shards")
    p.add_argument("data_dir")
    p.add_argument("out")
    p.add_argument("--size", type=int, default=256)
    p.add_argument("--examples-per-shard", type=int, default=None,
                   help="pairs per shard file (default: 500 at 256 px, scaled by area)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from facelib.app import commands

    try:
        return getattr(commands, args.command)(args) or 0
    except FacelibError as e:
        print(f"facelib {args.command}: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        hint = ("; run the same command again to resume from the last finished epoch"
                if args.command == "train" else "")
        print(f"facelib {args.command}: interrupted{hint}", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
