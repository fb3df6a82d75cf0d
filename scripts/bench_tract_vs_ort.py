#!/usr/bin/env python3
"""Time onnxruntime on every MODEL.onnx in DIR: batch as exported, one thread, CPU provider.

Prints one JSON object per line: {"model": name, "ort_median_us": ..., "runs": n}.
Used by the Rust benchmark `cargo bench -p wattevo --bench tract_vs_ort`, which times tract
on the same files and prints the ratio; run alone with:
"$(scripts/python-env.sh)" scripts/bench_tract_vs_ort.py DIR [RUNS]
(scripts/python-env.sh installs onnxruntime and numpy, scripts/requirements-check.txt, into the
virtual environment target/python-venv/check and prints its interpreter).
"""

import json
import pathlib
import statistics
import sys
import time

import numpy as np
import onnxruntime as ort


def time_model(path: pathlib.Path, runs: int) -> float:
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    meta = session.get_inputs()[0]
    x = np.random.default_rng(0).uniform(-1, 1, meta.shape).astype(np.float32)
    feed = {meta.name: x}
    for _ in range(max(10, runs // 10)):
        session.run(None, feed)
    samples = []
    for _ in range(runs):
        start = time.perf_counter_ns()
        session.run(None, feed)
        samples.append((time.perf_counter_ns() - start) / 1000.0)
    return statistics.median(samples)


def main(argv: list[str]) -> int:
    if len(argv) not in (2, 3):
        print(__doc__, file=sys.stderr)
        return 2
    runs = int(argv[2]) if len(argv) == 3 else 500
    for path in sorted(pathlib.Path(argv[1]).glob("*.onnx")):
        print(json.dumps({"model": path.stem, "ort_median_us": time_model(path, runs), "runs": runs}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
