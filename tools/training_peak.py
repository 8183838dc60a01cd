"""Measure a training step's peak memory in PyTorch and compare it with `show --train`'s estimate.

    python tools/training_peak.py [SPEC ...] [--batch N]

For each spec (default: the zoo in specs/), the module `convcalc export --to torch` writes is
built on the `meta` device in training mode with `torch.optim.Adam` (one tensor at a time, as
on the CPU).  One step is taken unmeasured, so that the optimizer's state exists as in every
later step; the next step (forward, `loss.backward()` with the loss a sum of the outputs,
`optimizer.step()`) runs under a `TorchDispatchMode` that counts every storage an operation
makes until the last tensor on it is gone (a weak-reference finalizer), on top of the input,
parameters, buffers and optimizer state.  Prints the measured peak, where it happened and
convcalc's `peak_bytes` with their ratio.

Needs torch and convcalc; not part of the package or its tests.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import warnings
import weakref
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def measure(path: Path, batch: int = 2) -> tuple[int, int, str] | None:
    """(measured peak, convcalc's peak_bytes, the operation at the peak) for a spec file, or
    None for a network without parameters."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode
    from torch.utils._pytree import tree_flatten

    from convcalc.engine.evaluate import evaluate
    from convcalc.engine.export import class_name, export_torch
    from convcalc.engine.training import training
    from convcalc.spec.parser import load_spec

    class Live(TorchDispatchMode):
        def __init__(self, held: int, known: set[int]) -> None:
            super().__init__()
            self.refs: dict[int, int] = {}
            self.size: dict[int, int] = {}
            self.known, self.live, self.peak, self.where = known, held, held, ""

        def drop(self, key: int) -> None:
            self.refs[key] -= 1
            if not self.refs[key]:
                self.live -= self.size.pop(key)
                del self.refs[key]

        def __torch_dispatch__(self, func: Any, types: Any, args: Any = (), kwargs: Any = None) -> Any:
            out = func(*args, **(kwargs or {}))
            for t in tree_flatten(out)[0]:
                if isinstance(t, torch.Tensor) and t.untyped_storage()._cdata not in self.known:
                    key = t.untyped_storage()._cdata
                    if key not in self.refs:
                        self.refs[key], self.size[key] = 0, t.untyped_storage().nbytes()
                        self.live += self.size[key]
                    self.refs[key] += 1
                    weakref.finalize(t, self.drop, key)
            if self.live > self.peak:
                self.peak, self.where = self.live, str(func)
            return out

    def step(model: Any, x: Any, optimizer: Any) -> None:
        y = model(x)
        ys = y if isinstance(y, tuple) else (y,)
        loss = sum(t.sum() for t in ys)
        del y, ys
        loss.backward()
        del loss
        optimizer.step()
        optimizer.zero_grad(set_to_none=True)

    spec = load_spec(path.read_text(encoding="utf-8"))
    report = evaluate(spec, batch=batch)
    with tempfile.TemporaryDirectory() as directory, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        module_path = Path(directory) / "exported_for_peak.py"
        module_path.write_text(export_torch(spec), encoding="utf-8")
        loader = importlib.util.spec_from_file_location(module_path.stem, module_path)
        assert loader is not None and loader.loader is not None
        module = importlib.util.module_from_spec(loader)
        loader.loader.exec_module(module)
        with torch.device("meta"):
            model = getattr(module, class_name(spec.name))().train()
        if not any(True for _ in model.parameters()):
            return None
        x = torch.randn(batch, report.input.channels, *report.input.spatial, device="meta")
        optimizer = torch.optim.Adam(model.parameters(), foreach=False)
        step(model, x, optimizer)  # the state exists from here on
        state = [v for s in optimizer.state.values() for v in s.values() if isinstance(v, torch.Tensor)]
        own = [x, *model.parameters(), *model.buffers(), *state]
        mode = Live(sum(t.untyped_storage().nbytes() for t in own), {t.untyped_storage()._cdata for t in own})
        with mode:
            step(model, x, optimizer)
    return mode.peak, training(report, "adam").peak_bytes, mode.where


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("specs", nargs="*", type=Path)
    parser.add_argument("--batch", type=int, default=2)
    args = parser.parse_args()
    if importlib.util.find_spec("torch") is None:
        print("needs torch: pip install torch", file=sys.stderr)
        return 2
    print(f"{'spec':30} {'measured':>15} {'convcalc':>15}  ratio  peak at")
    for path in args.specs or sorted((ROOT / "specs").glob("*.yaml")):
        found = measure(path, args.batch)
        if found is not None:
            theirs, ours, where = found
            print(f"{path.stem:30} {theirs:>15,} {ours:>15,}  {ours / theirs:5.3f}  {where}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
