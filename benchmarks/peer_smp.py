"""The peer section's PyTorch worker: `python -m benchmarks.peer_smp --model NAME ...` trains
segmentation_models_pytorch's model of the same architecture, encoder and widths as facelib's
(read from the same params) from scratch on the same batch, and prints one JSON line like
`benchmarks.peer_facelib`. TensorFlow is never imported here.

The models, as a user of smp would write them:
- `smp.Unet("efficientnet-b0", decoder_channels=model.unet_decoder_filters)`;
- `smp.DeepLabV3Plus("efficientnet-b0", encoder_output_stride=model.deeplab_output_stride,
  decoder_channels=model.deeplab_filters, decoder_atrous_rates=model.deeplab_atrous_rates)`,
  otherwise with smp's defaults (separable ASPP convolutions, ASPP dropout 0.5).
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import torch

from benchmarks.op_profile import torch_op_times
from benchmarks.peer import TORCH_THREADS, peer_params, training_batch

ENCODERS = {"efficientnetb0": "efficientnet-b0"}


def import_smp():
    """segmentation_models_pytorch, importable with a CPU-only torch.

    From the package registry, `torchvision` comes as a CUDA build; with a CPU torch its
    compiled ops do not load, and its import then fails on the two ops it registers without
    checking (`torchvision::nms`, `qnms`; pytorch/vision#9085). smp's models use none of
    torchvision's ops: declaring those two (with no kernel) lets it import.
    """
    try:
        import torchvision  # noqa: F401
    except RuntimeError as error:
        if "torchvision::" not in str(error):
            raise
        for name in [m for m in sys.modules if m.split(".")[0] == "torchvision"]:
            del sys.modules[name]
        for op in ("nms", "qnms"):
            torch.library.define(f"torchvision::{op}",
                                 "(Tensor dets, Tensor scores, float iou_threshold) -> Tensor")
    import segmentation_models_pytorch

    return segmentation_models_pytorch


def build(smp, architecture: str, backbone: str, params: dict, n_classes: int):
    model_params = params["model"]
    encoder = ENCODERS[backbone]
    if architecture == "unet":
        return smp.Unet(encoder, encoder_weights=None, classes=n_classes,
                        decoder_channels=tuple(model_params["unet_decoder_filters"]))
    if architecture == "deeplabv3plus":
        return smp.DeepLabV3Plus(encoder, encoder_weights=None, classes=n_classes,
                                 encoder_output_stride=model_params["deeplab_output_stride"],
                                 decoder_channels=model_params["deeplab_filters"],
                                 decoder_atrous_rates=tuple(model_params["deeplab_atrous_rates"]))
    raise ValueError(f"no smp counterpart for {architecture}")


def conv_macs(model: torch.nn.Module, images: torch.Tensor) -> int:
    """Multiply-accumulates per image of the convolutions and linear layers, counted from one
    forward pass (as `peer_facelib.conv_macs` counts them)."""
    total = 0

    def count(layer, inputs, output):
        nonlocal total
        if isinstance(layer, torch.nn.Conv2d):
            kh, kw = layer.kernel_size
            total += output[0].numel() * kh * kw * layer.in_channels // layer.groups
        else:
            total += output[0].numel() * layer.in_features

    hooks = [layer.register_forward_hook(count) for layer in model.modules()
             if isinstance(layer, (torch.nn.Conv2d, torch.nn.Linear))]
    with torch.no_grad():
        model.eval()
        model(images[:1])
        model.train()
    for hook in hooks:
        hook.remove()
    return total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.peer_smp")
    parser.add_argument("--model", required=True)
    parser.add_argument("--size", type=int, required=True)
    parser.add_argument("--batch", type=int, required=True)
    parser.add_argument("--steps", type=int, required=True)
    parser.add_argument("--warmup", type=int, required=True)
    parser.add_argument("--profile-steps", type=int, default=0,
                        help="steps profiled by op after the timed ones (0: none)")
    parser.add_argument("--channels-last", action="store_true",
                        help="model and batch in torch.channels_last (not the bench's default)")
    args = parser.parse_args(argv)

    torch.set_num_threads(TORCH_THREADS)
    smp = import_smp()
    params = peer_params(args.model, args.size, args.batch)
    torch.manual_seed(params["seed"])
    architecture, backbone = args.model.split("_", 1)
    n_classes = len(params["data"]["classes"])
    model = build(smp, architecture, backbone, params, n_classes)
    images, labels = training_batch(args.size, args.batch, n_classes)
    images = torch.from_numpy(images).permute(0, 3, 1, 2).contiguous()
    labels = torch.from_numpy(labels)
    if args.channels_last:
        model = model.to(memory_format=torch.channels_last)
        images = images.contiguous(memory_format=torch.channels_last)
    dice = smp.losses.DiceLoss("multiclass", from_logits=True)
    cross_entropy = torch.nn.CrossEntropyLoss()
    optimizer = torch.optim.Adam(model.parameters(), lr=params["train"]["learning_rate"])
    model.train()

    def step() -> None:
        optimizer.zero_grad(set_to_none=True)
        logits = model(images)
        loss = dice(logits, labels) + cross_entropy(logits, labels)
        loss.backward()
        optimizer.step()

    for _ in range(args.warmup + 1):
        step()
    start, cpu_start = time.perf_counter(), time.process_time()
    for _ in range(args.steps):
        step()
    ips = args.steps * args.batch / (time.perf_counter() - start)
    cpu_seconds = time.process_time() - cpu_start
    op_times = (torch_op_times(lambda steps: [step() for _ in range(steps)], args.profile_steps)
                if args.profile_steps else None)
    print(json.dumps({
        "framework": "smp", "model": args.model, "ips": ips,
        "cpu_ms_per_image": 1000 * cpu_seconds / (args.steps * args.batch),
        "parameters": sum(p.numel() for p in model.parameters()),
        "conv_gmacs": conv_macs(model, images) / 1e9,
        "op_times": op_times,
        "versions": {"torch": torch.__version__, "segmentation_models_pytorch": smp.__version__},
        "notes": (f"smp's {type(model).__name__}({ENCODERS[backbone]!r}), logits, loss dice + "
                  f"cross-entropy, no metrics; torch threads {torch.get_num_threads()}"
                  f"{'; channels_last' if args.channels_last else ''}"),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
