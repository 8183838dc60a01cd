"""Time `convcalc import` on ResNet-50 with its weights (about 100 MB of ONNX), as a user runs it.

The ONNX file is made once from specs/resnet50.yaml (export --to torch, then torch.onnx.export in
training mode, which needs torch); each run is a fresh process.  The issue's target: at most 3 s
on this machine.   python bench/importing.py [--runs 5]
"""

from __future__ import annotations

import argparse
import importlib.util
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def resnet50_onnx(directory: Path) -> Path:
    import torch

    import convcalc
    from convcalc.engine.export import class_name, export_torch

    spec = convcalc.load(ROOT / "specs" / "resnet50.yaml")
    code = directory / "resnet50.py"
    code.write_text(export_torch(spec), encoding="utf-8")
    found = importlib.util.spec_from_file_location("resnet50", code)
    assert found is not None and found.loader is not None
    module = importlib.util.module_from_spec(found)
    found.loader.exec_module(module)
    out = directory / "resnet50.onnx"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(getattr(module, class_name(spec.name))().train(), (torch.randn(2, 3, 224, 224),), str(out),
                          dynamo=False, training=torch.onnx.TrainingMode.PRESERVE, opset_version=17)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    with tempfile.TemporaryDirectory() as directory:
        model = resnet50_onnx(Path(directory))
        times = []
        for _ in range(runs):
            start = time.perf_counter()
            subprocess.run([sys.executable, "-m", "convcalc", "import", str(model), "-o", str(Path(directory) / "r.yaml")],
                           check=True)
            times.append(time.perf_counter() - start)
        size = model.stat().st_size
    print(f"convcalc import, ResNet-50 ({size / 2**20:.0f} MiB of ONNX): median {statistics.median(times):.2f} s "
          f"over {runs} runs (target: at most 3 s)")


if __name__ == "__main__":
    main()
