"""Check the model zoo in specs/ against PyTorch: the figures convcalc computes from each spec
must equal those of the same network built with torch (and torchvision).

    python tools/zoo_reference.py [--json] [--device meta|cpu]

For each zoo spec this builds the network in PyTorch (torchvision's resnet18/34/50/101,
wide_resnet50_2, vgg16_bn, mobilenet_v2, vit_b_16, shufflenet_v2_x1_0, efficientnet_b0,
mobilenet_v3_large and convnext_tiny; YOLOv5n, a U-Net, the inception (3a) modules and the two
textbook blocks are written out below, in plain torch), and counts

- params: ``sum(p.numel() for p in model.parameters())``;
- buffers: the batch norms' ``running_mean`` and ``running_var`` (not ``num_batches_tracked``);
- MACs: ``torch.utils.flop_counter.FlopCounterMode``'s total FLOPs / 2, for one image, with
  gradients enabled and scaled dot-product attention on its math backend, so that attention's
  matmuls are counted (under ``torch.no_grad()`` nn.MultiheadAttention takes a fused fast path,
  and PyTorch's fused CPU attention kernels are invisible to the counter);
- the output shape, as H×W×C (a flat vector as its length); for a network with several
  outputs (YOLOv5n's three detection maps), each output's, in order,

on the spec's own input, then evaluates the spec with convcalc and prints both side by side.
It exits 0 when every figure agrees, 1 on any mismatch, 2 when torch or torchvision is missing
or a spec does not load.

By default the models are built and run on the ``meta`` device: shapes, parameter counts and
the FLOP counter need no data, so even the U-Net on 572×572 takes a moment.  ``--device cpu``
runs real tensors instead.

Needs only the standard library, torch, torchvision and convcalc (``pip install -e .`` in the
same environment; without the package importable it runs ``convcalc show SPEC -f json``).
This script is not part of the convcalc package and is not imported by it or its tests.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

try:
    from convcalc.base.errors import SpecError as SPEC_ERRORS
except ImportError:  # convcalc is then run as a command
    SPEC_ERRORS = RuntimeError  # type: ignore[misc,assignment]

ROOT = Path(__file__).resolve().parent.parent
SPECS = ROOT / "specs"

try:
    import torch
    import torchvision  # type: ignore[import-untyped]
    from torch import nn
    from torch.nn.attention import SDPBackend, sdpa_kernel
    from torch.utils.flop_counter import FlopCounterMode
except ImportError as err:  # pragma: no cover - depends on the environment
    print(f"zoo_reference: needs torch and torchvision ({err})", file=sys.stderr)
    sys.exit(2)


# --- networks that torchvision does not provide -----------------------------------------------


def double_conv(cin: int, cout: int) -> nn.Sequential:
    """Two unpadded 3×3 convs with ReLU, as in the original U-Net."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, 3), nn.ReLU(inplace=True), nn.Conv2d(cout, cout, 3), nn.ReLU(inplace=True)
    )


def centre_crop(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """Crop the last two axes of x to size, centred (an odd extra cell comes off the end)."""
    h, w = x.shape[-2:]
    top, left = (h - size[0]) // 2, (w - size[1]) // 2
    return x[..., top : top + size[0], left : left + size[1]]


class UNet(nn.Module):
    """Ronneberger et al. 2015, figure 1: unpadded convs, cropped skips, 64–1024 channels."""

    def __init__(self, in_channels: int = 1, classes: int = 2) -> None:
        super().__init__()
        widths = [64, 128, 256, 512, 1024]
        self.down = nn.ModuleList(double_conv(cin, c) for cin, c in zip([in_channels, *widths], widths))
        self.pool = nn.MaxPool2d(2)
        self.ups = nn.ModuleList(nn.ConvTranspose2d(c, c // 2, 2, stride=2) for c in reversed(widths[1:]))
        self.dec = nn.ModuleList(double_conv(c, c // 2) for c in reversed(widths[1:]))
        self.head = nn.Conv2d(widths[0], classes, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        skips = []
        for i, level in enumerate(self.down):
            x = level(x)
            if i < len(self.down) - 1:
                skips.append(x)
                x = self.pool(x)
        for up, dec, skip in zip(self.ups, self.dec, reversed(skips)):
            x = up(x)
            x = dec(torch.cat([centre_crop(skip, (x.shape[-2], x.shape[-1])), x], dim=1))
        out: torch.Tensor = self.head(x)
        return out


def conv_relu(cin: int, cout: int, k: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(cin, cout, k, padding=k // 2), nn.ReLU(inplace=True))


class Inception(nn.Module):
    """GoogLeNet's inception module with 1×1 reductions (Szegedy et al. 2014, figure 2(b))."""

    def __init__(self, cin: int, c1: int, c3r: int, c3: int, c5r: int, c5: int, proj: int) -> None:
        super().__init__()
        self.b1 = conv_relu(cin, c1, 1)
        self.b2 = nn.Sequential(conv_relu(cin, c3r, 1), conv_relu(c3r, c3, 3))
        self.b3 = nn.Sequential(conv_relu(cin, c5r, 1), conv_relu(c5r, c5, 5))
        self.b4 = nn.Sequential(nn.MaxPool2d(3, stride=1, padding=1), conv_relu(cin, proj, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], dim=1)


class NaiveInception(nn.Module):
    """The inception module without reductions (Szegedy et al. 2014, figure 2(a))."""

    def __init__(self, cin: int, c1: int, c3: int, c5: int) -> None:
        super().__init__()
        self.b1, self.b2, self.b3 = conv_relu(cin, c1, 1), conv_relu(cin, c3, 3), conv_relu(cin, c5, 5)
        self.b4 = nn.MaxPool2d(3, stride=1, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.b1(x), self.b2(x), self.b3(x), self.b4(x)], dim=1)


class Residual(nn.Module):
    """relu(x + body(x)): an identity-shortcut block without batch norm."""

    def __init__(self, *body: nn.Module) -> None:
        super().__init__()
        self.body = nn.Sequential(*body)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.relu(x + self.body(x))


def bottleneck() -> nn.Module:
    relu = nn.ReLU(inplace=True)
    return Residual(
        nn.Conv2d(256, 64, 1, bias=False),
        relu,
        nn.Conv2d(64, 64, 3, padding=1, bias=False),
        relu,
        nn.Conv2d(64, 256, 1, bias=False),
    )


def two_3x3_convs() -> nn.Module:
    return Residual(
        nn.Conv2d(256, 256, 3, padding=1, bias=False),
        nn.ReLU(inplace=True),
        nn.Conv2d(256, 256, 3, padding=1, bias=False),
    )


# YOLOv5n, release v7.0 (ultralytics/yolov5: models/yolov5s.yaml with depth_multiple 0.33 and
# width_multiple 0.25), its widths and depths worked out; the module tree follows model.0 … model.24.


def conv_bn_silu(cin: int, cout: int, k: int = 1, s: int = 1, p: int | None = None) -> nn.Sequential:
    """YOLOv5's Conv: a conv without bias (padding k // 2 unless given), a batch norm, SiLU."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, k, s, k // 2 if p is None else p, bias=False),
        nn.BatchNorm2d(cout, eps=0.001, momentum=0.03),
        nn.SiLU(),
    )


class YoloBottleneck(nn.Module):
    """1×1 then 3×3 on c channels, the input added back when ``shortcut``."""

    def __init__(self, c: int, shortcut: bool) -> None:
        super().__init__()
        self.cv1, self.cv2 = conv_bn_silu(c, c, 1), conv_bn_silu(c, c, 3)
        self.shortcut = shortcut

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y: torch.Tensor = self.cv2(self.cv1(x))
        return x + y if self.shortcut else y


class C3(nn.Module):
    """cv1 (1×1 to c/2) and n bottlenecks, cv2 (1×1 to c/2) beside them, concatenated, cv3 (1×1 to c)."""

    def __init__(self, cin: int, c: int, n: int = 1, shortcut: bool = True) -> None:
        super().__init__()
        self.cv1, self.cv2, self.cv3 = conv_bn_silu(cin, c // 2), conv_bn_silu(cin, c // 2), conv_bn_silu(c, c)
        self.m = nn.Sequential(*(YoloBottleneck(c // 2, shortcut) for _ in range(n)))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out: torch.Tensor = self.cv3(torch.cat([self.m(self.cv1(x)), self.cv2(x)], dim=1))
        return out


class SPPF(nn.Module):
    """cv1 (1×1 to c_in/2), three 5×5 stride-1 max pools in sequence, all four concatenated, cv2."""

    def __init__(self, cin: int, cout: int) -> None:
        super().__init__()
        self.cv1, self.cv2 = conv_bn_silu(cin, cin // 2), conv_bn_silu(cin // 2 * 4, cout)
        self.m = nn.MaxPool2d(5, stride=1, padding=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.cv1(x)
        y1 = self.m(x)
        y2 = self.m(y1)
        out: torch.Tensor = self.cv2(torch.cat([x, y1, y2, self.m(y2)], dim=1))
        return out


class Concat(nn.Module):
    def forward(self, xs: list[torch.Tensor]) -> torch.Tensor:
        return torch.cat(xs, dim=1)


class Detect(nn.Module):
    """One 1×1 conv with bias per level, to 3 anchors × (80 classes + 5) = 255 channels."""

    def __init__(self, channels: tuple[int, ...], classes: int = 80, anchors: int = 3) -> None:
        super().__init__()
        self.m = nn.ModuleList(nn.Conv2d(c, anchors * (classes + 5), 1) for c in channels)

    def forward(self, xs: list[torch.Tensor]) -> tuple[torch.Tensor, ...]:
        return tuple(conv(x) for conv, x in zip(self.m, xs))


class YOLOv5n(nn.Module):
    """The backbone (0–9), the PAN neck (10–23) and Detect (24) on P3, P4 and P5."""

    # inputs of the layers that do not just read the previous one (-1: the previous one)
    FROM = {12: (-1, 6), 16: (-1, 4), 19: (-1, 14), 22: (-1, 10), 24: (17, 20, 23)}

    def __init__(self) -> None:
        super().__init__()
        self.model = nn.ModuleList(
            [
                conv_bn_silu(3, 16, 6, 2, 2),  # 0, P1/2
                conv_bn_silu(16, 32, 3, 2),  # 1, P2/4
                C3(32, 32, 1),  # 2
                conv_bn_silu(32, 64, 3, 2),  # 3, P3/8
                C3(64, 64, 2),  # 4
                conv_bn_silu(64, 128, 3, 2),  # 5, P4/16
                C3(128, 128, 3),  # 6
                conv_bn_silu(128, 256, 3, 2),  # 7, P5/32
                C3(256, 256, 1),  # 8
                SPPF(256, 256),  # 9
                conv_bn_silu(256, 128, 1),  # 10
                nn.Upsample(scale_factor=2, mode="nearest"),  # 11
                Concat(),  # 12: with 6
                C3(256, 128, 1, shortcut=False),  # 13
                conv_bn_silu(128, 64, 1),  # 14
                nn.Upsample(scale_factor=2, mode="nearest"),  # 15
                Concat(),  # 16: with 4
                C3(128, 64, 1, shortcut=False),  # 17, P3
                conv_bn_silu(64, 64, 3, 2),  # 18
                Concat(),  # 19: with 14
                C3(128, 128, 1, shortcut=False),  # 20, P4
                conv_bn_silu(128, 128, 3, 2),  # 21
                Concat(),  # 22: with 10
                C3(256, 256, 1, shortcut=False),  # 23, P5
                Detect((64, 128, 256)),  # 24
            ]
        )

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        saved: list[Any] = []
        y: Any = x
        for i, layer in enumerate(self.model):
            if i in self.FROM:
                y = [y if j == -1 else saved[j] for j in self.FROM[i]]
            y = layer(y)
            saved.append(y)
        out: tuple[torch.Tensor, ...] = y
        return out


class SegmentationOut(nn.Module):
    """torchvision's segmentation models return {"out": tensor}: the tensor alone."""

    def __init__(self, model: nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)["out"]


# --- the zoo: spec file -> how to build the same network in torch ----------------------------

ZOO: list[tuple[str, Callable[[], nn.Module]]] = [
    ("resnet18.yaml", lambda: torchvision.models.resnet18(weights=None)),
    ("resnet34.yaml", lambda: torchvision.models.resnet34(weights=None)),
    ("resnet50.yaml", lambda: torchvision.models.resnet50(weights=None)),
    ("resnet101.yaml", lambda: torchvision.models.resnet101(weights=None)),
    ("wide_resnet50_2.yaml", lambda: torchvision.models.wide_resnet50_2(weights=None)),
    ("vgg16_bn.yaml", lambda: torchvision.models.vgg16_bn(weights=None)),
    ("mobilenet_v2.yaml", lambda: torchvision.models.mobilenet_v2(weights=None)),
    ("vit_b_16.yaml", lambda: torchvision.models.vit_b_16(weights=None)),
    ("shufflenet_v2_x1_0.yaml", lambda: torchvision.models.shufflenet_v2_x1_0(weights=None)),
    ("efficientnet_b0.yaml", lambda: torchvision.models.efficientnet_b0(weights=None)),
    ("mobilenet_v3_large.yaml", lambda: torchvision.models.mobilenet_v3_large(weights=None)),
    ("convnext_tiny.yaml", lambda: torchvision.models.convnext_tiny(weights=None)),
    ("yolov5n.yaml", YOLOv5n),
    ("deeplabv3_mobilenet_v3_large.yaml", lambda: SegmentationOut(torchvision.models.segmentation.deeplabv3_mobilenet_v3_large(weights=None, weights_backbone=None))),
    ("unet.yaml", UNet),
    ("inception3a.yaml", lambda: Inception(192, 64, 96, 128, 16, 32, 32)),
    ("inception3a-naive.yaml", lambda: NaiveInception(192, 64, 128, 32)),
    ("bottleneck.yaml", bottleneck),
    ("two-3x3-convs.yaml", two_3x3_convs),
]

FIGURES = ("params", "buffers", "macs", "output")


class Figures(NamedTuple):
    params: int
    buffers: int
    macs: int
    # H×W×C, or (features,) for a flat vector; a network with several outputs: one such shape each
    output: tuple[int, ...] | tuple[tuple[int, ...], ...]


def hwc(y: torch.Tensor) -> tuple[int, ...]:
    """A (1, C, H, W) tensor's shape as H×W×C; (1, features) as (features,)."""
    dims = tuple(int(d) for d in y.shape[1:])
    return (*dims[1:], dims[0]) if len(dims) > 1 else dims


def torch_figures(build: Callable[[], nn.Module], input_hwc: tuple[int, ...], device: str) -> Figures:
    """Build the model on ``device`` and count its figures for one image of shape ``input_hwc``."""
    with torch.device(device):
        model = build()
    model.eval()
    params = sum(p.numel() for p in model.parameters())
    buffers = sum(b.numel() for name, b in model.named_buffers() if name.endswith(("running_mean", "running_var")))
    *spatial, channels = input_hwc
    x = torch.zeros(1, channels, *spatial, device=device)
    counter = FlopCounterMode(display=False)
    with sdpa_kernel(SDPBackend.MATH), counter:  # gradients on: no fused attention path (see the docstring)
        y = model(x)
    flops = counter.get_total_flops()
    if flops % 2:
        raise AssertionError(f"odd FLOP count {flops}: FlopCounterMode counts 2 per multiply-accumulate")
    output = tuple(hwc(t) for t in y) if isinstance(y, (tuple, list)) else hwc(y)  # YOLO: one per level
    return Figures(params, buffers, flops // 2, output)


def convcalc_figures(spec: Path) -> tuple[Figures, tuple[int, ...], list[str]]:
    """convcalc's figures for ``spec``, its input shape, and the spec's failed expectations."""
    try:
        from convcalc.engine.evaluate import evaluate
        from convcalc.spec.parser import load_spec
    except ImportError:
        return _convcalc_subprocess(spec)
    report = evaluate(load_spec(spec.read_bytes()))
    t = report.totals
    shapes = tuple(tuple(o.shape.dims) for o in report.outputs)
    return (
        Figures(t.params, t.buffers, t.macs, shapes if len(shapes) > 1 else tuple(report.output.dims)),
        tuple(report.input.dims),
        [f.message for f in report.failures],
    )


def _convcalc_subprocess(spec: Path) -> tuple[Figures, tuple[int, ...], list[str]]:
    exe = shutil.which("convcalc")
    command = [exe] if exe else [sys.executable, "-m", "convcalc"]
    done = subprocess.run([*command, "show", str(spec), "-f", "json"], capture_output=True, text=True, check=False)
    if not done.stdout.strip():
        raise RuntimeError(f"convcalc show {spec.name} failed: {done.stderr.strip()}")
    doc = json.loads(done.stdout)
    t = doc["total"]
    shapes = tuple(tuple(o["shape"]) for o in doc.get("outputs", []))
    return (
        Figures(t["params"], t["buffers"], t["macs"], shapes if len(shapes) > 1 else tuple(doc["output"])),
        tuple(doc["input"]),
        [f["message"] if isinstance(f, dict) else str(f) for f in doc["expect"]["failures"]],
    )


def shape_text(dims: tuple[int, ...]) -> str:
    return "×".join(map(str, dims))


def figure_text(figure: str, value: Any) -> str:
    if figure != "output":
        return f"{value:,}"
    several = bool(value) and isinstance(value[0], tuple)
    return ", ".join(map(shape_text, value)) if several else shape_text(value)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of a table")
    parser.add_argument(
        "--device",
        choices=["meta", "cpu"],
        default="meta",
        help="where torch builds and runs the models (default: meta, no data)",
    )
    parser.add_argument("specs", nargs="*", metavar="SPEC", help="only these zoo specs (file names)")
    args = parser.parse_args(argv)

    zoo = [(name, build) for name, build in ZOO if not args.specs or name in args.specs]
    unknown = set(args.specs) - {name for name, _ in ZOO}
    if unknown:
        parser.error(f"not in the zoo: {', '.join(sorted(unknown))}")

    results: list[dict[str, Any]] = []
    for name, build in zoo:
        try:
            ours, input_hwc, failures = convcalc_figures(SPECS / name)
        except (OSError, ValueError, RuntimeError, SPEC_ERRORS) as err:  # report a spec that does not load
            print(f"zoo_reference: {name}: convcalc failed: {err}", file=sys.stderr)
            return 2
        theirs = torch_figures(build, input_hwc, args.device)
        rows = [
            {
                "figure": f,
                "torch": getattr(theirs, f),
                "convcalc": getattr(ours, f),
                "ok": getattr(theirs, f) == getattr(ours, f),
            }
            for f in FIGURES
        ]
        results.append(
            {
                "spec": name,
                "input": list(input_hwc),
                "figures": rows,
                "expect_failures": failures,
                "ok": all(r["ok"] for r in rows) and not failures,
            }
        )

    ok = all(r["ok"] for r in results)
    if args.json:
        for r in results:
            for row in r["figures"]:
                for side in ("torch", "convcalc"):
                    if isinstance(row[side], tuple):
                        row[side] = list(row[side])
        print(
            json.dumps(
                {
                    "torch": torch.__version__,
                    "torchvision": torchvision.__version__,
                    "device": args.device,
                    "ok": ok,
                    "models": results,
                },
                indent=2,
            )
        )
        return 0 if ok else 1

    print(
        f"torch {torch.__version__}, torchvision {torchvision.__version__}, device {args.device}; "
        "MACs = FlopCounterMode FLOPs / 2, batch 1\n"
    )
    header = ("spec", "input", "figure", "torch", "convcalc", "")
    lines: list[tuple[str, ...]] = []
    for r in results:
        for i, row in enumerate(r["figures"]):
            lines.append(
                (
                    r["spec"] if i == 0 else "",
                    shape_text(tuple(r["input"])) if i == 0 else "",
                    row["figure"],
                    figure_text(row["figure"], row["torch"]),
                    figure_text(row["figure"], row["convcalc"]),
                    "ok" if row["ok"] else "MISMATCH",
                )
            )
        for failure in r["expect_failures"]:
            lines.append(("", "", "expect", "", failure, "FAILED"))
    widths = [max(len(line[i]) for line in [header, *lines]) for i in range(len(header))]
    right = {3, 4}

    def fmt(line: tuple[str, ...]) -> str:
        return "  ".join(
            c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(line, widths))
        ).rstrip()

    print(fmt(header))
    print("  ".join("-" * w for w in widths))
    for line in lines:
        if line[0] and line is not lines[0]:
            print()
        print(fmt(line))
    bad = [r["spec"] for r in results if not r["ok"]]
    print(f"\n{len(results)} models: " + ("all figures agree" if not bad else f"mismatch in {', '.join(bad)}"))
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
