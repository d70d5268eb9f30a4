"""The bench's checks, its table and its JSON.

The checks are measurements against the goals of issue 18, reported as pass or fail; they
do not stop the bench. The CPU's features are printed beside every part's figures, since
they change the results by up to 10x between machines.
"""

from __future__ import annotations

import json

from benchmarks.common import rounded
from benchmarks.loader import CACHED_SPEEDUP_GOAL
from benchmarks.training import PIPELINE_VS_MEMORY_GOAL

LOADER_RATES = ("naive", "facelib_cold", "facelib_cold_augmented", "facelib_cached",
                "facelib_cached_augmented")


def checks(results: dict) -> list[dict]:
    """What training needs, measured: each check's name, goal, measured value and verdict."""
    found = [{"check": "cached loader / naive loader", "goal": CACHED_SPEEDUP_GOAL,
              "measured": results["loader"]["speedup_cached"]}]
    for name, row in results["training"].items():
        found.append({"check": f"pipeline-fed / in-memory training, {name}",
                      "goal": PIPELINE_VS_MEMORY_GOAL, "measured": row["pipeline_vs_memory"]})
    for check in found:
        check["passed"] = check["measured"] >= check["goal"]
    return found


def to_json(results: dict) -> str:
    return json.dumps(rounded(results), indent=2)


def shown(value, unit: str = "") -> str:
    if value is None:
        return "-"
    return f"{value:.3g}{unit}" if isinstance(value, float) else f"{value}{unit}"


def format_table(results: dict) -> str:
    """The results as aligned text tables, each part headed by the CPU it ran on."""
    machine, loader = results["machine"], results["loader"]
    cpu = f"[{machine['cpu_tag']}]"
    lines = [
        f"facelib bench, {machine['date']}: TensorFlow {machine['tensorflow']}, load average "
        f"{machine['load_average_start']} -> {machine['load_average_end']}",
        f"cpu: {machine['cpu_tag']}",
        f"dataset: {results['dataset']['source']}, photos "
        f"{results['dataset']['long_side_min_px']}-{results['dataset']['long_side_max_px']} px "
        f"long side",
        "",
        f"loader ({loader['pairs']} pairs, {loader['size']} px, batch {loader['batch_size']}), "
        f"images/s  {cpu}",
    ]
    for key in LOADER_RATES:
        lines.append(f"  {key:<26}{shown(loader[key + '_ips']):>10}")
    lines += [f"  {'loader_speedup (cold)':<26}{shown(results['loader_speedup'], 'x'):>10}",
              f"  {'loader_speedup_cached':<26}{shown(results['loader_speedup_cached'], 'x'):>10}",
              "", f"loader stages, ms per pair on one thread  {cpu}"]
    for loader_name, stages in loader.get("profile_ms", {}).items():
        shown_stages = ", ".join(f"{stage} {ms:.1f}" for stage, ms in stages.items())
        lines.append(f"  {loader_name:<8}{sum(stages.values()):6.1f}  ({shown_stages})")
    lines += ["", f"training images/s:  pipeline  in memory  pipeline/memory  {cpu}"]
    for name, row in results["training"].items():
        lines.append(f"  {name:<30}{shown(row['pipeline_ips']):>10}"
                     f"{shown(row['in_memory_ips']):>11}{shown(row['pipeline_vs_memory']):>17}")
    precision = results["precision"]
    lines += ["", f"precision ({precision['model']}, {precision['size']} px, "
                  f"{precision['steps']} steps):  images/s  mean IoU  {cpu}"]
    for name, row in precision["configs"].items():
        note = f"  ({row['note']})" if row.get("note") else ""
        lines.append(f"  {name:<26}{shown(row['ips']):>10}{shown(row['mean_iou']):>10}{note}")
    lines += [f"  recommended: {precision['recommended']}", "",
              f"inference:  images/s (batch)  large photo ms  {cpu}"]
    for name, row in results["inference"].items():
        lines.append(f"  {name:<30}{shown(row['batch_ips']):>10}{shown(row['large_photo_ms']):>16}")
    lines += ["", *peer_lines(results["peer"], results["peer_setup"], cpu), "",
              f"checks (measurements against issue 18's goals)  {cpu}"]
    for check in results["checks"]:
        verdict = "pass" if check["passed"] else "FAIL"
        lines.append(f"  {check['check']:<58} {shown(check['measured']):>6} "
                     f">= {check['goal']:g}  {verdict}")
    lines.append(f"\nelapsed: {results['elapsed_s']:.0f} s")
    return "\n".join(lines)


def peer_lines(peer: dict, setup: dict, cpu: str) -> list[str]:
    if setup.get("skipped"):
        return [f"peer (segmentation_models_pytorch): skipped, {setup['skipped']}"]
    lines = [f"peer, training images/s ({setup['size']} px, batch {setup['batch_size']}, "
             f"{setup['optimizer']}, {setup['loss']}, {setup['rounds']} interleaved rounds of "
             f"{setup['timed_steps']} steps; load average {setup['load_average'][0]} -> "
             f"{setup['load_average'][1]})  {cpu}",
             f"  {'model':<30}{'facelib':>9}{'smp':>9}{'ratio':>8}   CPU ms/image and "
             "GMACs/image, facelib | smp"]
    for name, row in peer.items():
        lines.append(f"  {name:<30}{shown(row['facelib_ips']):>9}{shown(row['smp_ips']):>9}"
                     f"{shown(row['ratio']):>8}   {shown(row['facelib_cpu_ms_per_image'])}, "
                     f"{shown(row['facelib_conv_gmacs'])} | {shown(row['smp_cpu_ms_per_image'])}"
                     f", {shown(row['smp_conv_gmacs'])}")
    for name, row in peer.items():
        lines += op_time_lines(name, row)
    return lines


def op_time_lines(name: str, row: dict) -> list[str]:
    """Where each framework's step went (`benchmarks.op_profile`), ms per step by self time."""
    lines = []
    for framework, parts in (("facelib", "groups"), ("smp", "top_ops")):
        times = row.get(f"{framework}_op_times")
        if not times:
            continue
        largest = ", ".join(f"{op} {shown(ms)}" for op, ms in list(times[parts].items())[:5])
        lines.append(f"  {name} in {framework}, ms per step ({shown(times['ms_per_step_summed'])}"
                     f" summed): {largest}")
    return lines
