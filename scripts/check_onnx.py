#!/usr/bin/env python3
"""Check wattevo's exported ONNX models with the ONNX reference checker and onnxruntime.

For every MODEL.onnx in DIR:
  1. onnx.checker.check_model(full_check=True) must pass (this also runs shape inference);
  2. MODEL.json, written by Rust next to it, holds {"input_shape": [...], "input": [...],
     "expected": [...], "tolerance": 1e-4}: "expected" is tract's output on "input";
     onnxruntime (one thread) must give the same output within the tolerance (absolute).

Usage: scripts/check_onnx.py DIR
Exit codes: 0 all models pass, 1 a model fails a check, 2 bad usage / no models / missing file.
Needs onnx, onnxruntime and numpy (scripts/requirements-check.txt): scripts/python-env.sh installs
them into the virtual environment target/python-venv/check and prints its interpreter, which
runs this script: "$(scripts/python-env.sh)" scripts/check_onnx.py DIR.
"""

import json
import pathlib
import sys

import numpy as np
import onnx
import onnxruntime as ort


def check_one(model_path: pathlib.Path) -> str | None:
    """Returns None when the model passes, else what is wrong."""
    model = onnx.load(str(model_path))
    try:
        onnx.checker.check_model(model, full_check=True)
    except onnx.checker.ValidationError as err:
        return f"ONNX checker: {err}"
    ref_path = model_path.with_suffix(".json")
    if not ref_path.exists():
        return f"missing reference file {ref_path}"
    ref = json.loads(ref_path.read_text())
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = ort.InferenceSession(str(model_path), options, providers=["CPUExecutionProvider"])
    x = np.asarray(ref["input"], dtype=np.float32).reshape(ref["input_shape"])
    out = session.run(None, {session.get_inputs()[0].name: x})[0]  # the main head of a two-head graph
    expected = np.asarray(ref["expected"], dtype=np.float32)
    if out.size != expected.size:
        return f"onnxruntime gave {out.size} values, tract {expected.size}"
    err = float(np.max(np.abs(out.reshape(-1) - expected)))
    if err > float(ref.get("tolerance", 1e-4)):
        return f"onnxruntime differs from tract by {err:.3g}"
    return None


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    directory = pathlib.Path(argv[1])
    models = sorted(directory.glob("*.onnx"))
    if not models:
        print(f"error: no .onnx files in {directory}", file=sys.stderr)
        return 2
    failures = 0
    for path in models:
        problem = check_one(path)
        status = "ok" if problem is None else f"FAIL: {problem}"
        print(f"{path.name}: {status}")
        failures += problem is not None
    print(f"{len(models) - failures} of {len(models)} models pass (onnx {onnx.__version__}, "
          f"onnxruntime {ort.__version__})")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
