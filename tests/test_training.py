"""``show --train``: backward MACs, saved tensors, gradient and optimizer state, against PyTorch.

The oracle is one training step of the module ``convcalc export --to torch`` writes: a forward
pass in training mode, ``loss = sum of the outputs``, ``loss.backward()`` under
``torch.utils.flop_counter.FlopCounterMode``, then the gradients torch filled, the storages
``torch.autograd.graph.saved_tensors_hooks`` sees in a forward pass (parameters and buffers
apart, each storage once) and, on the CPU, the state a real optimizer keeps after ``step()``.

One known difference, asserted exactly rather than hidden: torch's flop counter counts the
weight gradient of a grouped conv as if it were not grouped (its formula drops ``groups``), that
is ``groups`` times the products it takes; convcalc counts the products.  The tests add
``(groups − 1) × forward MACs`` of every grouped conv to convcalc's figure before comparing.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from pathlib import Path
from typing import Any

import pytest

torch = pytest.importorskip("torch")

from hypothesis import HealthCheck, assume, example, given, settings
from hypothesis import strategies as st

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # "Failed to initialize NumPy" when numpy is absent
    from torch.utils.flop_counter import FlopCounterMode

from convcalc.base.errors import SpecError
from convcalc.engine.evaluate import evaluate
from convcalc.engine.export import class_name, export_torch
from convcalc.engine.training import OPTIMIZERS, largest_batch, training
from convcalc.spec.parser import load_spec

from helpers import ROOT, SPEC_FILES, expect_exit, run, show_json, write
from test_export import load_module, random_specs
from test_oracle import FAMILIES, valid_spec_text

BATCH = 2  # a batch norm in training mode needs more than one value per channel
RESNET18_BACKWARD_FLOPS = 7_020_265_472  # torchvision resnet18 at 224, batch 1 (docs/pytorch-facts)


class Step:
    """What torch counts for one training step of an exported module on ``device``."""

    def __init__(self, text: str, directory: Path, device: str = "meta") -> None:
        spec = load_spec(text)
        self.report = evaluate(spec, batch=BATCH)
        module = load_module(export_torch(spec), directory)
        with torch.device(device):
            self.model = getattr(module, class_name(spec.name))().train()
        r = self.report
        self.x = torch.randn(BATCH, r.input.channels, *r.input.spatial, device=device)
        # The bytes of the unique storages autograd keeps in the forward pass, parameters and
        # buffers apart (the hook keeps each tensor alive, so that no storage is freed and its
        # address reused by another during the pass).
        own = {t.untyped_storage()._cdata for t in (*self.model.parameters(), *self.model.buffers())}
        seen: dict[int, Any] = {}

        def pack(t: Any) -> Any:
            if t.untyped_storage()._cdata not in own:
                seen[t.untyped_storage()._cdata] = t
            return t

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
                y = self.model(self.x)
            self.saved = sum(t.untyped_storage().nbytes() for t in seen.values())
            ys = y if isinstance(y, tuple) else (y,)
            loss = sum(t.sum() for t in ys)
            with FlopCounterMode(display=False) as counter:
                if loss.requires_grad:  # a network without parameters has nothing to train
                    loss.backward()
        self.backward_flops = counter.get_total_flops()
        self.with_grad = [p for p in self.model.parameters() if p.grad is not None]
        self.excess = self.grouped_excess()

    def grouped_excess(self) -> int:
        """The FLOPs torch's counter adds to the weight gradient of each grouped conv."""
        excess = []

        def hook(m: Any, args: Any, out: Any) -> None:
            if m.groups > 1:
                positions = (args[0] if m.transposed else out)[0, 0].numel() * BATCH
                macs = positions * m.out_channels * m.in_channels // m.groups * math.prod(m.kernel_size)
                excess.append((m.groups - 1) * 2 * macs)

        convs = [m for m in self.model.modules() if isinstance(m, torch.nn.modules.conv._ConvNd)]
        handles = [m.register_forward_hook(hook) for m in convs]
        with torch.no_grad(), warnings.catch_warnings():
            warnings.simplefilter("ignore")
            self.model(self.x)
        for h in handles:
            h.remove()
        return sum(excess)

    def check(self) -> None:
        ours = training(self.report, "adam")
        assert self.backward_flops == ours.total_backward_flops + self.excess
        per_value = 4  # float32
        assert sum(p.numel() for p in self.with_grad) * per_value == ours.gradient_bytes
        # adam: two buffers per value and a float32 step per tensor that has a gradient
        assert ours.optimizer_bytes == 2 * ours.gradient_bytes + 4 * len(self.with_grad)
        assert ours.total_saved_bytes == self.saved


@pytest.mark.parametrize("path", SPEC_FILES, ids=[p.name for p in SPEC_FILES])
def test_zoo_backward_and_gradients_agree_with_torch(path: Path, tmp_path: Path) -> None:
    Step(path.read_text(encoding="utf-8"), tmp_path).check()


@settings(
    max_examples=int(os.environ.get("TRAIN_EXAMPLES", "60")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large],
)
@given(text=random_specs())
def test_random_specs_backward_agrees_with_torch(text: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    try:
        report = evaluate(load_spec(text), batch=BATCH)
    except SpecError:
        assume(False)
        return
    assume(max((r.output.numel for r in report.rows), default=0) <= 50_000)
    try:
        step = Step(text, tmp_path_factory.getbasetemp(), device="cpu")
    except ValueError as err:  # torch: a norm in training mode over a single value
        assume("more than 1" not in str(err))
        raise
    step.check()


# Every kind, through the PyTorch oracle's own cases (tests/test_oracle.py), a few of each family.


@pytest.mark.parametrize("family", sorted(FAMILIES))
def test_every_kind_trains_as_torch_counts(family: str, tmp_path_factory: pytest.TempPathFactory) -> None:
    cases, _ = FAMILIES[family]

    @settings(max_examples=int(os.environ.get("TRAIN_FAMILY_EXAMPLES", "25")), deadline=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
    @given(case=cases)
    def check(case: Any) -> None:
        text = valid_spec_text(case, BATCH)
        try:
            step = Step(text, tmp_path_factory.getbasetemp(), device="cpu")
        except (ValueError, RuntimeError) as err:  # torch refuses a training step on a norm over one value
            assume("more than 1" not in str(err) and "Expected" not in str(err))
            raise
        step.check()

    check()


# Hand-made cases for the rules the zoo and the random specs may not reach.

DEAD_BRANCH = """\
name: dead branch
input: 8x8x3
layers:
  - conv: {out: 4, kernel: 3, padding: 1, name: trunk}
  - conv: {out: 6, kernel: 1, name: unused}
  - from: trunk
  - conv: {out: 5, kernel: 3, padding: 1}
"""

FROM_THE_INPUT = """\
name: from the input
input: 8x8x3
layers:
  - pool: {kernel: 2}
  - concat:
      - [{conv: {out: 4, kernel: 3, padding: 1}}]
      - [{pad: {padding: 0}}]
  - conv: {out: 5, kernel: 1}
"""


# Storage corners the random specs found: torch's 1×1×1 transposed 3-D conv writes into a storage
# of its input's size only at stride 1 and dilation 1 (padding or not); untokens of one token; the
# export's layernorm on a 1-D map of one channel; a dropout of rate 0 returns its input (the mlp's
# second linear keeps the relu's output, already kept).
CORNERS = [
    # tokens laid out by `tokens` (kept so by the add and the relu): at batch 2, the matmul of the
    # attention's and the dense layer's projection keeps a copy of its input, not the relu's output
    '{"name": "n", "input": [2, 2], "layers": ["tokens", "position_embedding", "relu", {"attention": {"heads": 1}}]}',
    '{"name": "n", "input": [3, 2], "layers": ["tokens", "gelu", {"dense": {"out": 3}}]}',
    '{"name": "n", "input": [1, 1], "layers": ["tokens", {"mlp": {"hidden": 1, "dropout": 0.0, "act": "relu"}}]}',
    '{"name": "n", "input": [1, 1, 1, 2], "layers": [{"deconv": {"out": 1, "kernel": 1, "act": "relu6"}}]}',
    '{"name": "n", "input": [1, 1, 1, 2], "layers": [{"deconv": {"out": 1, "kernel": 1, "dilation": 2, "act": "relu6"}}]}',
    '{"name": "n", "input": [3, 3, 3, 1], "layers": [{"conv": {"out": 1, "kernel": 1}},'
    ' {"deconv": {"out": 1, "kernel": 1, "padding": 1}}, {"conv": {"out": 1, "kernel": 1, "act": "relu"}}]}',
    '{"name": "n", "input": [3, 3, 3, 2], "layers": [{"deconv": {"out": 1, "kernel": 1, "stride": 2, "padding": 1}},'
    ' "batchnorm"]}',
    '{"name": "n", "input": [1, 1], "layers": ["tokens", "position_embedding", "relu", {"untokens": {"size": 1}},'
    ' {"pointwise": {"out": 1}}]}',
    '{"name": "n", "input": [3, 1], "layers": [{"conv": {"out": 1, "kernel": 1}}, "layernorm",'
    ' {"conv": {"out": 2, "kernel": 1, "act": "relu"}}, "flatten", {"dense": {"out": 1}}]}',
]


# padding_mode: the exported pad module of that mode, then the conv, which keeps the padded map
PADDING_MODES = (
    '{"name": "n", "input": [8, 8, 3], "layers": [{"conv": {"out": 4, "kernel": 3, "padding": 1, "padding_mode": '
    '"reflect", "bn": true, "act": "relu"}}, {"conv": {"out": 4, "kernel": 2, "padding": "same", "padding_mode": '
    '"circular"}}, {"separable": {"out": 6, "kernel": 3, "padding": 1, "padding_mode": "replicate"}}]}'
)


@pytest.mark.parametrize("text", [DEAD_BRANCH, FROM_THE_INPUT, PADDING_MODES, *CORNERS])
def test_skip_rules_agree_with_torch(text: str, tmp_path: Path) -> None:
    Step(text, tmp_path, device="cpu").check()


def test_a_layer_that_reaches_no_output_gets_no_gradient(tmp_path: Path) -> None:
    report = evaluate(load_spec(DEAD_BRANCH), batch=BATCH)
    t = training(report)
    rows = {r.name: i for i, r in enumerate(report.rows)}
    assert t.backward_macs[rows["unused"]] == 0
    # trunk: 3·3·3·4 + 4 params, its input needs no gradient; the last conv both gradients
    assert t.gradient_bytes == 4 * ((3 * 3 * 3 * 4 + 4) + (3 * 3 * 4 * 5 + 5))
    assert t.backward_macs[rows["trunk"]] == report.rows[rows["trunk"]].macs


@pytest.mark.parametrize(
    "example", ["vit-tiny.yaml", "se-block.yaml", "heads.yaml", "convnext-block.yaml"]
)
def test_modern_examples_agree_with_torch(example: str, tmp_path: Path) -> None:
    Step((ROOT / "docs" / "examples" / example).read_text(encoding="utf-8"), tmp_path, device="cpu").check()


def test_resnet18_backward_is_torchvisions() -> None:
    report = evaluate(load_spec((ROOT / "specs" / "resnet18.yaml").read_text(encoding="utf-8")), batch=1)
    assert training(report).total_backward_flops == RESNET18_BACKWARD_FLOPS


# The optimizers' state, as torch.optim keeps it after one step (on the CPU: real tensors).

OPTIMIZER_SPEC = """\
name: optimizer state
input: 6x6x3
layers:
  - conv: {out: 4, kernel: 3, padding: 1, bn: true, act: relu}
  - conv: {out: 4, kernel: 1, bias: false}
  - layernorm
  - flatten
  - dense: {out: 3}
"""


@pytest.mark.parametrize("name", sorted(OPTIMIZERS))
def test_optimizer_state_is_what_torch_optim_keeps(name: str, tmp_path: Path) -> None:
    step = Step(OPTIMIZER_SPEC, tmp_path, device="cpu")
    params = step.model.parameters()
    make = {
        "sgd": lambda: torch.optim.SGD(params, lr=0.1),
        "momentum": lambda: torch.optim.SGD(params, lr=0.1, momentum=0.9),
        "adam": lambda: torch.optim.Adam(params),
        "adamw": lambda: torch.optim.AdamW(params),
    }
    optimizer = make[name]()
    optimizer.step()
    kept = sum(
        t.untyped_storage().nbytes()
        for state in optimizer.state.values()
        for t in state.values()
        if isinstance(t, torch.Tensor)
    )
    assert kept == training(step.report, name).optimizer_bytes


# --- the command line -------------------------------------------------------------------------


def test_cli_optimizer_choices_are_the_engines() -> None:
    from convcalc.commands.show import show

    option = next(p for p in show.params if p.name == "optimizer")
    assert list(option.type.choices) == list(OPTIMIZERS)


def test_json_training_total_and_rows(tmp_path: Path) -> None:
    spec = write(tmp_path, "s.yaml", OPTIMIZER_SPEC)
    plain = show_json(spec)
    assert "training" not in plain["total"] and "backward_macs" not in plain["layers"][0]
    doc = show_json(spec, "--train")
    training_ = doc["total"]["training"]
    assert set(training_) == {
        "backward_macs",
        "backward_flops",
        "saved_bytes",
        "gradient_bytes",
        "optimizer_bytes",
        "peak_bytes",
        "optimizer",
    }
    assert training_["optimizer"] == "adam"
    assert training_["backward_flops"] == 2 * training_["backward_macs"]
    assert sum(layer["backward_macs"] for layer in doc["layers"]) == training_["backward_macs"]
    assert sum(layer["saved_bytes"] for layer in doc["layers"]) == training_["saved_bytes"]
    # the first conv's input is the network's: only its weight gradient; every later product twice
    first, *rest = doc["layers"]
    assert first["backward_macs"] == first["macs"]
    assert all(layer["backward_macs"] == 2 * layer["macs"] for layer in rest)
    assert training_["gradient_bytes"] == 4 * doc["total"]["params"]
    # params: 112 + 8 (bn) + 16 + 8 (layernorm) + 435; tensors: 2 + 2 + 1 + 2 + 2
    assert training_["optimizer_bytes"] == 2 * 4 * doc["total"]["params"] + 4 * 9


def test_optimizer_implies_train_and_sgd_keeps_nothing(tmp_path: Path) -> None:
    spec = write(tmp_path, "s.yaml", OPTIMIZER_SPEC)
    doc = show_json(spec, "--optimizer", "sgd")
    assert doc["total"]["training"]["optimizer"] == "sgd" and doc["total"]["training"]["optimizer_bytes"] == 0
    momentum = show_json(spec, "--optimizer", "momentum")["total"]["training"]
    assert momentum["optimizer_bytes"] == 4 * doc["total"]["params"]


def test_csv_table_and_markdown_gain_the_backward_figures(tmp_path: Path) -> None:
    spec = write(tmp_path, "s.yaml", OPTIMIZER_SPEC)
    csv_out = run("show", spec, "--train", "--memory", "-f", "csv")
    expect_exit(csv_out, 0)
    header, first = csv_out.stdout.splitlines()[:2]
    assert header.endswith(",flag,memory,backward_macs,backward_flops,saved_bytes")
    macs = 6 * 6 * 4 * 3 * 3 * 3
    # conv + bn + relu keeps the input, the conv's output, the batch statistics and the relu's output
    saved = 6 * 6 * 3 * 4 + 6 * 6 * 4 * 4 + 2 * 4 * 4 + 6 * 6 * 4 * 4
    assert first.endswith(f",{6 * 6 * 4 * 4},{macs},{2 * macs},{saved}")
    table = run("show", spec, "--train")
    expect_exit(table, 0)
    head = next(line for line in table.stdout.splitlines() if " name " in line)
    assert head.split()[-5:] == ["FLOPs", "bwd", "FLOPs", "saved", "flags"]
    assert any(line.startswith("optimizer state (adam)") for line in table.stdout.splitlines())
    markdown = run("show", spec, "--train", "-f", "markdown")
    expect_exit(markdown, 0)
    assert "| FLOPs | backward FLOPs | saved | flags |" in markdown.stdout
    assert "- backward FLOPs (= 2 × MACs): " in markdown.stdout


def test_unknown_optimizer_is_a_usage_error_naming_the_choices(tmp_path: Path) -> None:
    spec = write(tmp_path, "s.yaml", OPTIMIZER_SPEC)
    result = run("show", spec, "--optimizer", "lion")
    expect_exit(result, 2)
    assert "'lion' is not one of 'sgd', 'momentum', 'adam', 'adamw'" in result.stderr


# The step's peak is an estimate (docs/format.md): tools/training_peak.py measures torch's.


def _peak_tool() -> Any:
    import importlib.util

    loader = importlib.util.spec_from_file_location("training_peak", ROOT / "tools" / "training_peak.py")
    assert loader is not None and loader.loader is not None
    module = importlib.util.module_from_spec(loader)
    loader.loader.exec_module(module)
    return module


@pytest.mark.parametrize("name", ["resnet18.yaml", "mobilenet_v2.yaml", "vgg16.yaml"])
def test_training_peak_is_within_one_percent_above_torchs(name: str) -> None:
    found = _peak_tool().measure(ROOT / "specs" / name)
    assert found is not None
    measured, ours, _ = found
    assert measured <= ours <= measured * 1.01, (measured, ours)


def test_vgg16_peaks_in_adams_step() -> None:
    report = evaluate(load_spec((ROOT / "specs" / "vgg16.yaml").read_text(encoding="utf-8")), batch=2)
    adam = training(report, "adam")
    params = 138_357_544  # torchvision's vgg16
    held = 4 * (2 * 224 * 224 * 3 + params) + adam.optimizer_bytes  # the input, the weights, the state
    # the step: every gradient, and two temporaries the size of fc1's 25,088·4,096 + 4,096 parameters
    assert adam.peak_bytes == held + 4 * params + 2 * 4 * (25088 * 4096 + 4096)
    assert training(report, "sgd").peak_bytes < adam.peak_bytes - adam.optimizer_bytes  # sgd updates in place


# --- a memory budget in CI ----------------------------------------------------------------------

BUDGET = """\
input: 224x224x3
layers:
  - conv: {{out: 64, kernel: 3, padding: 1, act: relu}}
  - global_pool
  - flatten
  - dense: {{out: 10}}
expect:
  training_peak_bytes_max: {budget}
"""


def test_training_peak_budget_in_check(tmp_path: Path) -> None:
    peak = training(evaluate(load_spec(BUDGET.format(budget=1))), "adam").peak_bytes
    assert 20 * 2**20 < peak < 40 * 2**20
    tight = write(tmp_path, "tight.yaml", BUDGET.format(budget="20MiB"))
    result = run("check", tight)
    expect_exit(result, 1)
    line = f"tight.yaml:8:28: error: expect: training_peak_bytes is {peak:,}, expected at most 20,971,520"
    assert line in result.stdout
    expect_exit(run("check", write(tmp_path, "roomy.yaml", BUDGET.format(budget="40MiB"))), 0)
    expect_exit(run("check", write(tmp_path, "exact.yaml", BUDGET.format(budget=peak))), 0)


@pytest.mark.parametrize(
    ("text", "value"), [("20GiB", 20 * 2**30), ("1.5 KiB", 1536), ("2TiB", 2 * 2**40), ("3M", 3 * 10**6)]
)
def test_counts_take_binary_suffixes(text: str, value: int) -> None:
    from convcalc.spec.parser import parse_count

    assert parse_count(text, None, "x") == value


def test_a_training_figure_on_a_layer_is_one_located_error(tmp_path: Path) -> None:
    text = "input: 8x8x3\nlayers:\n  - conv: {out: 4, kernel: 3, expect: {training_peak_bytes_max: 1GiB}}\n"
    spec = write(tmp_path, "s.yaml", text)
    result = run("check", spec)
    expect_exit(result, 2)
    assert result.stdout.count("\n") + result.stderr.count("\n") <= 2
    line = "s.yaml:3:65: error: expect training_peak_bytes_max is a figure of the whole network"
    assert line in result.stdout + result.stderr


# --- solve --train --max-memory ---------------------------------------------------------------

@settings(max_examples=40, deadline=None)
@given(
    name=st.sampled_from(["convnet.yaml", "resnet18.yaml", "mobilenet_v2.yaml", "vit_b_16.yaml", "unet.yaml"]),
    memory=st.integers(2**20, 2**44),
    optimizer=st.sampled_from(sorted(OPTIMIZERS)),
)
def test_largest_batch_is_the_last_that_fits(name: str, memory: int, optimizer: str) -> None:
    spec = load_spec((ROOT / "specs" / name).read_text(encoding="utf-8"))
    found = largest_batch(spec, memory, optimizer)

    def peak(batch: int) -> int:
        return training(evaluate(spec, batch=batch), optimizer).peak_bytes

    assert found.next_peak_bytes == peak(found.batch + 1) > memory
    if found.batch:
        assert found.peak_bytes == peak(found.batch) <= memory


def test_solve_max_memory_text_and_json() -> None:
    spec = str(ROOT / "specs" / "resnet50.yaml")
    found = largest_batch(load_spec((ROOT / "specs" / "resnet50.yaml").read_text(encoding="utf-8")), 24 * 2**30)
    text = run("solve", spec, "--train", "--max-memory", "24GiB")
    expect_exit(text, 0)
    assert text.stdout.splitlines()[0] == (
        "ResNet-50: largest batch whose training step peaks within 24 GiB (25,769,803,776 bytes) "
        f"at 224×224×3, adam, float32: {found.batch:,}"
    )
    doc = json.loads(run("solve", spec, "--max-memory", "24GiB", "-f", "json").stdout)
    assert doc["question"] == "max_memory" and doc["batch"] == found.batch and doc["max_memory"] == 24 * 2**30
    assert doc["peak_bytes"] <= doc["max_memory"] < doc["next_peak_bytes"]
    none = run("solve", spec, "--max-memory", "1KiB")
    expect_exit(none, 0)
    assert "not one sample trains in 1 KiB (1,024 bytes)" in none.stdout


def next_clean_side(axes: list[list[Any]], side: int) -> int | None:
    """The smallest side above ``side`` in every axis's clean progressions (None within 4,096)."""
    for n in range(side + 1, side + 4097):
        if all(any(n in p for p in axis) for axis in axes):
            return n
    return None


SQUARE_SPECS = ["resnet18.yaml", "vgg16.yaml", "unet.yaml", "ecg1d.yaml", "convnet.yaml", "vit_b_16.yaml",
                "decoder.yaml", "inception3a.yaml"]


@settings(max_examples=25, deadline=None)
@given(
    name=st.sampled_from(SQUARE_SPECS),
    memory=st.integers(2**24, 2**38),
    batches=st.lists(st.integers(1, 300), min_size=1, max_size=3),
)
@example(name="resnet18.yaml", memory=24 * 2**30, batches=[1, 64, 64])
@example(name="ecg1d.yaml", memory=24 * 2**30, batches=[1, 8])
@example(name="unet.yaml", memory=2**34, batches=[2, 1])
@example(name="vit_b_16.yaml", memory=2**34, batches=[1])
def test_largest_square_is_the_last_clean_side_that_fits(name: str, memory: int, batches: list[int]) -> None:
    from convcalc.engine.solve import solve
    from convcalc.engine.training import LARGEST_SIDE, largest_squares

    spec = load_spec((ROOT / "specs" / name).read_text(encoding="utf-8"))
    squares = largest_squares(spec, memory, "adam", None, batches)
    answer = solve(spec)
    axes = [s.levels["clean"].progressions for s in answer.solutions]
    x = answer.report.input
    assert squares is not None and [q.batch for q in squares] == batches

    def peak(side: int, batch: int) -> int | None:
        try:
            return training(evaluate(spec, input=(*(side,) * x.rank, x.channels), batch=batch)).peak_bytes
        except SpecError:
            return None

    for q in squares:
        if q.side is None:  # not even the smallest clean side the network accepts
            smallest = next(n for n in range(1, 4097) if all(any(n in p for p in a) for a in axes)
                            and peak(n, q.batch) is not None)
            assert (peak(smallest, q.batch) or 0) > memory
            continue
        assert all(any(q.side in p for p in axis) for axis in axes)
        assert q.peak_bytes == peak(q.side, q.batch) and q.peak_bytes <= memory
        after = next_clean_side(axes, q.side)
        if q.capped:
            assert q.side + (after or q.side) > LARGEST_SIDE
        elif after is not None:
            above = peak(after, q.batch)
            assert above is None or above > memory


def test_no_square_input_for_a_fixed_non_cube() -> None:
    from convcalc.engine.training import largest_squares

    # C3D's 16×112×112 input ends in a dense layer that fixes its size: no cube is accepted
    spec = load_spec((ROOT / "specs" / "c3d.yaml").read_text(encoding="utf-8"))
    assert largest_squares(spec, 2**34, "adam", None, [1]) is None


def test_solve_max_memory_lists_squares_per_batch() -> None:
    spec = str(ROOT / "specs" / "resnet18.yaml")
    found = largest_batch(load_spec((ROOT / "specs" / "resnet18.yaml").read_text(encoding="utf-8")), 2**30)
    doc = json.loads(run("solve", spec, "--max-memory", "1GiB", "-f", "json").stdout)
    powers = [2**k for k in range(found.batch.bit_length())]
    assert [q["batch"] for q in doc["squares"]] == sorted({*powers, found.batch})
    at_largest = doc["squares"][-1]
    assert at_largest["input"][0] >= 224 and at_largest["input"][2] == 3  # 224 fits the largest batch
    asked = json.loads(run("solve", spec, "--max-memory", "1GiB", "--batch", "3", "--batch", "1", "-f", "json").stdout)
    assert [q["batch"] for q in asked["squares"]] == [1, 3]
    text = run("solve", spec, "--max-memory", "1GiB", "--batch", "3").stdout.splitlines()
    side = asked["squares"][1]["input"][0]
    assert text[3] == "largest square input per batch (clean sizes: no input data cut off, every join matching):"
    assert text[4].split() == ["batch", "3", f"{side}×{side}×3", "peak", f"{asked['squares'][1]['peak_bytes']:,}",
                               "bytes", text[4].split()[-2], text[4].split()[-1]]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--batch", "4"], "--batch asks for --max-memory"),
        (["--train"], "--train asks for --max-memory"),
        (["--max-memory", "lots"], "--max-memory must be a count"),
        (["--max-memory", "1GiB", "--output", "7x7"], "--max-memory and --output ask two questions"),
    ],
)
def test_solve_memory_usage_errors(args: list[str], message: str) -> None:
    result = run("solve", str(ROOT / "specs" / "convnet.yaml"), *args)
    expect_exit(result, 2)
    assert message in result.stderr
