#!/usr/bin/env python3
"""Prints the headline figures of two runs made by scripts/headline.sh (see there).

usage: headline_report.py RUN_DIR ACCURACY_PRESET AWARE_PRESET
Reads RUN_DIR/<preset>.json (the summaries) and RUN_DIR/<preset>/log.jsonl (every candidate).
"""
import json
import sys

TOLERANCE = 0.01  # "equal accuracy": within one point of the accuracy-only best


def load(out, preset):
    summary = json.load(open(f"{out}/{preset}.json"))
    log = [json.loads(line) for line in open(f"{out}/{preset}/log.jsonl")]
    return summary, log


def models(log):
    """(fitness-split accuracy, energy J, latency µs, candidate id, partition) of every valid model."""
    for entry in log:
        ev = entry.get("evaluation") or {}
        m = ev.get("metrics") or {}
        if ev.get("invalid") is None:
            for p in (0, 1):
                if f"accuracy_{p}" in m and f"energy_{p}" in m:
                    yield m[f"accuracy_{p}"], m[f"energy_{p}"], m[f"latency_{p}"], entry["id"], p


def describe(preset, s):
    m, st, w = s["best_metrics"], s["stats"], s["wall"]
    wall = s["wall_s"]
    print(f"\n[{preset}] {s['source']}")
    print(f"  {s['generations']} generations, {st['evaluations']} evaluations ({st['invalid']} invalid) in {wall:.0f} s"
          f" = {st['evaluations'] / wall * 3600:.0f} evaluations/hour; {s['schedule']['jobs']} job(s) × "
          f"{s['schedule']['threads_per_job']} thread(s); raced {st.get('raced', 0)} (saved {st.get('race_saved_s', 0):.0f} s)")
    other = wall - w["batches_s"]
    print(f"  wall time: train {w['train_s']:.0f} s ({w['train_s'] / wall:.0%}), measure {w['measure_s']:.0f} s"
          f" ({w['measure_s'] / wall:.0%}; {w['overlap_s']:.0f} s overlapped with training), idle {w['idle_s']:.0f} s"
          f" ({w['idle_s'] / wall:.1%}), other {other:.0f} s ({other / wall:.1%})")
    print(f"  best #{s['best_id']} fitness {s['best_fitness']:.4f}")
    print(f"  {'part':>4} {'test acc':>9} {'fit acc':>8} {'mJ/inf':>9} {'latency µs':>11} {'params':>9}")
    for part in s["best_models"]:
        i = part["partition"]
        print(f"  {i:>4} {part['test_accuracy']:>9.4f} {m.get(f'accuracy_{i}', float('nan')):>8.4f}"
              f" {m.get(f'energy_{i}', float('nan')) * 1e3:>9.4f} {m.get(f'latency_{i}', float('nan')):>11.1f}"
              f" {m.get(f'params_{i}', float('nan')):>9.0f}")
    print(f"  plots: {s['run_dir']}/pareto.svg")


def best_test(s):
    return max((p["test_accuracy"], p["partition"]) for p in s["best_models"])


def main():
    out, base, aware = sys.argv[1:4]
    (bs, blog), (as_, alog) = load(out, base), load(out, aware)
    for preset, s in ((base, bs), (aware, as_)):
        describe(preset, s)
    b_acc, b_part = best_test(bs)
    a_acc, a_part = best_test(as_)
    b_energy = bs["best_metrics"][f"energy_{b_part}"]
    a_energy = as_["best_metrics"][f"energy_{a_part}"]
    print("\n[energy saving]")
    print(f"  best vs best (each run's most accurate partition on the test set): {base} {b_acc:.4f} at"
          f" {b_energy * 1e3:.4f} mJ, {aware} {a_acc:.4f} at {a_energy * 1e3:.4f} mJ:"
          f" {1 - a_energy / b_energy:+.1%} energy saved")
    reference = bs["best_metrics"][f"accuracy_{b_part}"]
    equal = [m for m in models(alog) if m[0] >= reference - TOLERANCE]
    if equal:
        acc, energy, latency, cid, part = min(equal, key=lambda m: m[1])
        print(f"  at equal accuracy (fitness split ≥ {reference - TOLERANCE:.4f}, the accuracy-only best's"
              f" {reference:.4f} − {TOLERANCE}): cheapest {aware} model #{cid} partition {part}, accuracy {acc:.4f},"
              f" {energy * 1e3:.4f} mJ, {latency:.1f} µs: {1 - energy / b_energy:+.1%} energy saved")
    else:
        print(f"  at equal accuracy: no {aware} model reached {reference - TOLERANCE:.4f} on the fitness split")
    print("\n[targets] accuracy-only ≥ 0.90 test accuracy within 60 min; power-aware ≥ 0.89 with ≥ 40 % less energy")
    print(f"  accuracy-only: {b_acc:.4f} ({b_acc - 0.90:+.4f} to target)")
    print(f"  power-aware: {a_acc:.4f} ({a_acc - 0.89:+.4f}), energy {1 - a_energy / b_energy:+.1%} (target +40%)")


if __name__ == "__main__":
    main()
