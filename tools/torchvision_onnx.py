"""Export torchvision models to ONNX without their weights' values, for tests/test_import.py.

CI has no torchvision (from the package index it is a CUDA build that fails to import beside the
CPU torch), so the graphs that `convcalc import --torch torchvision.models:NAME` would read are
kept in tests/models/: exported here by torch.onnx.export (the TorchScript exporter, training mode
preserved so that batch norms stay), each weight's values dropped (its dims stay: they are all
the import reads), about a hundred kilobytes each.  Run in a venv with torchvision (see
../shared/pytorch-facts.md):  python tools/torchvision_onnx.py [NAME...]
"""

from __future__ import annotations

import os
import sys
import tempfile
import warnings
from pathlib import Path

import onnx
import torch
import torchvision

MODELS = {  # name: (factory, keyword arguments): weights=None, nothing downloads
    "resnet50": (torchvision.models.resnet50, {"weights": None}),
    "mobilenet_v2": (torchvision.models.mobilenet_v2, {"weights": None}),
    "efficientnet_b0": (torchvision.models.efficientnet_b0, {"weights": None}),
    "convnext_tiny": (torchvision.models.convnext_tiny, {"weights": None}),
    "fcn_resnet50": (torchvision.models.segmentation.fcn_resnet50, {"weights": None, "weights_backbone": None}),
}
OUT = Path(__file__).resolve().parent.parent / "tests" / "models"


def main() -> None:
    OUT.mkdir(exist_ok=True)
    for name in sys.argv[1:] or MODELS:  # the names given, else all
        factory, kwargs = MODELS[name]
        model = factory(**kwargs).train()
        with tempfile.TemporaryDirectory() as directory:
            path = os.path.join(directory, "m.onnx")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                torch.onnx.export(model, (torch.randn(2, 3, 224, 224),), path, dynamo=False,
                                  training=torch.onnx.TrainingMode.PRESERVE, opset_version=17)
            proto = onnx.load(path)
        for t in proto.graph.initializer:
            if len(t.raw_data) > 4096:
                t.ClearField("raw_data")
        proto.producer_version = f"{torch.__version__} (torchvision {torchvision.__version__}, weights dropped)"
        (OUT / f"{name}.onnx").write_bytes(proto.SerializeToString())
        print(name, (OUT / f"{name}.onnx").stat().st_size, "bytes")


if __name__ == "__main__":
    main()
