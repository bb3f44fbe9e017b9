"""Parameter inheritance for RENAS (Sec. 4.3), stored without breaking the cache contract.

The child C starts from its parent B's trained weights for every unchanged part (`inherit_state`: every
tensor whose name and shape C shares with B, except the two operations of each block position an action
changed, i.e. whose (input, op) differ: those are freshly initialised), then trains one pass over the
training set, SGD momentum 0.9, learning rate 0.01 for the new parameters and 0.001 (10x less) for the
inherited ones (`InheritProtocol`; the paper names the rates, not the optimiser: momentum 0.9 is the
CIFAR recipe's, Sec. 5.1.2). Batch size and augmentation are the task's.

Cache contract. A fine-tuned result depends on the parent's weights, hence on the parent's whole lineage,
so it is not a plain (arch, task, replicate) evaluation. It is stored in the ordinary `evaluations` table
under a *lineage task key*: a `tasks` row whose spec is the base task's protocol plus
``"inherit": {"parent": "<task key>/<arch hash>/<replicate>", lr_new, lr_inherited, momentum, passes}``,
keyed like every task by the sha256 of its spec. The parent's identity is the parent evaluation's primary
key, itself a lineage key when the parent was inherited, so a key fixes the whole chain back to a
from-scratch ancestor (a Merkle chain); the stored result again depends only on (task, arch, replicate).
Plain tasks never see inherited rows; `evonas cache verify` accepts them (the key is the hash of the spec
and the dataset is the spec's). Trained weights go to a `WeightStore` beside the cache; a file that was
evicted is regenerated on demand by replaying its lineage (every training here is seeded from its
identity, and bitwise reproducible on a CPU). Initial members are trained from scratch under the plain
task with the plain seed, so their stored records are exactly what any other algorithm would get.
"""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import Any

import torch
from torch import nn

from algorithms.renas_weights import EvalId, WeightStore
from cache.hashing import training_seed
from cache.records import EvalRecord
from cache.store import Cache, library_versions, now
from harness.errors import CacheError
from harness.spaces.base import SearchSpace, canonical_json
from harness.spaces.renas_cell_genome import RenasCellGenome
from harness.tasks import Task
from harness.training import (
    DeviceSplit,
    accuracy,
    augment,
    count_flops,
    count_parameters,
    device_name,
    device_split,
    torch_threads,
    train_module,
)

log = logging.getLogger(__name__)

_OP_PARAM = re.compile(r"cells\.\d+\.blocks\.(\d+)\.op([12])\.")
INHERIT_TASK_NAME = "renas_inherit"


@dataclass(frozen=True)
class InheritProtocol:
    lr_new: float = 0.01
    lr_inherited: float = 0.001
    momentum: float = 0.9
    passes: int = 1


def lineage_spec(base: Task, protocol: InheritProtocol, parent: EvalId) -> dict[str, Any]:
    return {**base.protocol(), "inherit": {**asdict(protocol), "parent": parent.text()}}


def spec_key(spec: dict[str, Any]) -> str:
    """The key of a task spec, computed as `Task.key` does (and as `evonas cache verify` checks it)."""
    import hashlib

    return hashlib.sha256(canonical_json(spec).encode("utf-8")).hexdigest()[:16]


def changed_operands(parent: RenasCellGenome, child: RenasCellGenome) -> set[tuple[int, int]]:
    """(block, operand 1 or 2) whose input or operation differ between parent and child."""
    out = set()
    for b, (p, c) in enumerate(zip(parent.blocks, child.blocks, strict=True)):
        if (p.i1, p.o1) != (c.i1, c.o1):
            out.add((b, 1))
        if (p.i2, p.o2) != (c.i2, c.o2):
            out.add((b, 2))
    return out


def inherit_state(
    parent_state: dict[str, torch.Tensor],
    child: nn.Module,
    parent_genome: RenasCellGenome,
    child_genome: RenasCellGenome,
) -> set[str]:
    """Load the inheritable part of `parent_state` into `child`; returns the inherited parameter names."""
    changed = changed_operands(parent_genome, child_genome)
    state = child.state_dict()
    inherited: set[str] = set()
    for name, tensor in state.items():
        match = _OP_PARAM.match(name)
        if match is not None and (int(match.group(1)), int(match.group(2))) in changed:
            continue
        ref = parent_state.get(name)
        if ref is not None and ref.shape == tensor.shape and ref.dtype == tensor.dtype:
            state[name] = ref.clone()
            inherited.add(name)
    child.load_state_dict(state)
    return inherited


def finetune(
    model: nn.Module,
    inherited: set[str],
    task: Task,
    protocol: InheritProtocol,
    seed: int,
    device: torch.device,
    data: DeviceSplit,
) -> dict[str, Any]:
    """`protocol.passes` passes over the training set with two learning rates; metrics as train_module's."""
    gen = torch.Generator(device=device)
    gen.manual_seed(seed)
    named = [(n, p) for n, p in model.named_parameters() if p.requires_grad]
    groups = [
        {"params": [p for n, p in named if n not in inherited], "lr": protocol.lr_new},
        {"params": [p for n, p in named if n in inherited], "lr": protocol.lr_inherited},
    ]
    optimizer = torch.optim.SGD([g for g in groups if g["params"]], momentum=protocol.momentum)
    n, bs = data.x_train.shape[0], task.batch_size
    steps = n // bs + (1 if n % bs >= 2 else 0)
    curve: list[float] = []
    loss_sum = torch.zeros((), device=device)
    for _ in range(protocol.passes):
        model.train()
        perm = torch.randperm(n, device=device, generator=gen)
        loss_sum = torch.zeros((), device=device)
        for s in range(steps):
            idx = perm[s * bs : (s + 1) * bs]
            x = data.x_train.index_select(0, idx)
            if task.augmentation:
                x = augment(x, task.augmentation, gen, data.pad_value)
            loss = nn.functional.cross_entropy(model(x), data.y_train.index_select(0, idx))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            loss_sum += loss.detach()
        split = (data.x_val, data.y_val) if data.x_val.shape[0] else (data.x_test, data.y_test)
        curve.append(float(accuracy(model, *split, _null())))
    has_val = data.x_val.shape[0] > 0
    test = float(accuracy(model, data.x_test, data.y_test, _null())) if data.x_test.shape[0] else None
    return {
        "val_acc": curve[-1] if has_val else None,
        "test_acc": test,
        "train_loss": float(loss_sum) / max(1, steps),
        "curve": tuple(curve),
    }


def _null() -> Any:
    import contextlib

    return contextlib.nullcontext()


class InheritingEvaluator:
    """From-scratch members under the plain task, inherited children under lineage keys, weights kept."""

    def __init__(
        self,
        cache: Cache,
        space: SearchSpace,
        task: Task,
        store: WeightStore,
        protocol: InheritProtocol | None = None,
        device: str = "cpu",
        data_root: str | None = None,
        threads: int | None = 1,
    ) -> None:
        self.cache = cache
        self.space = space
        self.task = task
        self.task_key = task.key()
        self.store = store
        self.protocol = protocol or InheritProtocol()
        self.device = torch.device(device)
        self.data_root = data_root
        self.threads = threads
        self.versions = library_versions()
        self.trained = 0
        self.finetuned = 0
        self.regenerated = 0
        cache.put_task(self.task_key, task.name, task.protocol(), task.dataset)

    # --- public ---
    def scratch(
        self,
        genome: RenasCellGenome,
        replicate: int = 0,
        pinned: Iterable[EvalId] = (),
        run_id: str | None = None,
    ) -> tuple[EvalRecord, EvalId, bool]:
        """Replicate `replicate` of `genome` trained from scratch (the plain cache entry); weights stored."""
        arch = self._register(genome)
        ident = EvalId(self.task_key, arch, replicate)
        record = self.cache.get_evaluation(arch, self.task_key, replicate)
        if record is not None:
            return record, ident, True
        record = self._train_scratch(genome, ident, pinned, run_id)
        return record, ident, False

    def child(
        self,
        genome: RenasCellGenome,
        parent_genome: RenasCellGenome,
        parent: EvalId,
        pinned: Iterable[EvalId] = (),
        run_id: str | None = None,
    ) -> tuple[EvalRecord, EvalId, bool]:
        """`genome` fine-tuned from `parent`'s weights, stored under the lineage key of `parent`."""
        arch = self._register(genome)
        spec = lineage_spec(self.task, self.protocol, parent)
        key = spec_key(spec)
        ident = EvalId(key, arch, 0)
        record = self.cache.get_evaluation(arch, key, 0)
        if record is not None:
            return record, ident, True
        with self.cache.transaction():
            self.cache.put_task(key, INHERIT_TASK_NAME, spec, self.task.dataset)
        record = self._train_child(genome, parent_genome, parent, ident, pinned, run_id)
        return record, ident, False

    def weights(self, ident: EvalId, genome: RenasCellGenome) -> dict[str, torch.Tensor]:
        """The trained weights of an evaluation: from the store, or regenerated from its lineage."""
        state = self.store.get(ident)
        if state is not None:
            return state
        self.regenerated += 1
        log.info("regenerating weights of %s", ident.text())
        if ident.task_key == self.task_key:
            model, _ = self._fit_scratch(genome, ident)
        else:
            parent = self._parent_of(ident)
            parent_genome = self._genome_of(parent.arch_hash)
            model, _, _ = self._fit_child(genome, parent_genome, parent, ident)
        state = {k: v.detach().clone() for k, v in model.state_dict().items()}
        self.store.put(ident, state, pinned=[ident])
        return state

    # --- internals ---
    def _register(self, genome: RenasCellGenome) -> str:
        arch = self.space.hash(genome)
        self.cache.put_architecture(
            arch,
            self.space.name,
            self.space.version,
            self.space.encode(genome),
            self.space.canonical(genome),
            self.space.params,
            self.space.summary(genome),
        )
        return arch

    def _data(self) -> DeviceSplit:
        return device_split(self.task, self.device, self.data_root)

    def _fit_scratch(self, genome: RenasCellGenome, ident: EvalId) -> tuple[nn.Module, dict[str, Any]]:
        seed = training_seed(ident.task_key, ident.arch_hash, ident.replicate)
        with torch_threads(self.threads), torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)  # the plain trainer's initialisation (harness.training.train_genome)
            model = self.space.build(genome, self.task)
            sizes = self._sizes(model)
            model = model.to(self.device)
            metrics = {**train_module(model, self.task, seed, self.device, self._data()), **sizes}
        metrics.pop("curve_split", None)
        return model, metrics

    def _fit_child(
        self, genome: RenasCellGenome, parent_genome: RenasCellGenome, parent: EvalId, ident: EvalId
    ) -> tuple[nn.Module, dict[str, Any], int]:
        parent_state = self.weights(parent, parent_genome)
        seed = training_seed(ident.task_key, ident.arch_hash, ident.replicate)
        with torch_threads(self.threads), torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)  # the new parts' initialisation
            model = self.space.build(genome, self.task)
            sizes = self._sizes(model)
            inherited = inherit_state(parent_state, model, parent_genome, genome)
            model = model.to(self.device)
            metrics = {
                **finetune(model, inherited, self.task, self.protocol, seed, self.device, self._data()),
                **sizes,
            }
        return model, metrics, len(inherited)

    def _sizes(self, model: nn.Module) -> dict[str, Any]:
        return {"params": count_parameters(model), "flops": count_flops(model, self.task.input_shape)}

    def _train_scratch(
        self, genome: RenasCellGenome, ident: EvalId, pinned: Iterable[EvalId], run_id: str | None
    ) -> EvalRecord:
        start = time.perf_counter()
        model, metrics = self._fit_scratch(genome, ident)
        record = self._record(ident, model, metrics, time.perf_counter() - start, run_id)
        self._keep(ident, model, record, pinned)
        self.trained += 1
        return record

    def _train_child(
        self,
        genome: RenasCellGenome,
        parent_genome: RenasCellGenome,
        parent: EvalId,
        ident: EvalId,
        pinned: Iterable[EvalId],
        run_id: str | None,
    ) -> EvalRecord:
        self.weights(parent, parent_genome)  # before the clock starts: regeneration is not the child's cost
        start = time.perf_counter()
        model, metrics, _ = self._fit_child(genome, parent_genome, parent, ident)
        record = self._record(ident, model, metrics, time.perf_counter() - start, run_id)
        self._keep(ident, model, record, pinned)
        self.finetuned += 1
        return record

    def _record(
        self, ident: EvalId, model: nn.Module, metrics: dict[str, Any], seconds: float, run_id: str | None
    ) -> EvalRecord:
        return EvalRecord(
            arch_hash=ident.arch_hash,
            task_key=ident.task_key,
            replicate=ident.replicate,
            seed=training_seed(ident.task_key, ident.arch_hash, ident.replicate),
            status="ok",
            val_acc=metrics["val_acc"],
            test_acc=metrics["test_acc"],
            train_loss=metrics["train_loss"],
            curve=tuple(metrics["curve"]),
            train_seconds=seconds,
            device=device_name(self.device),
            versions=self.versions,
            created_at=now(),
            params=metrics["params"],
            flops=metrics["flops"],
            run_id=run_id,
        )

    def _keep(self, ident: EvalId, model: nn.Module, record: EvalRecord, pinned: Iterable[EvalId]) -> None:
        # weights first: a record never points at weights that were never written
        self.store.put(ident, {k: v.detach() for k, v in model.state_dict().items()}, pinned=pinned)
        with self.cache.transaction():
            self.cache.put_evaluation(record)
            if record.params is not None:
                self.cache.set_architecture_size(
                    record.arch_hash, record.params, record.flops, ident.task_key
                )

    def _parent_of(self, ident: EvalId) -> EvalId:
        row = self.cache.execute("SELECT spec FROM tasks WHERE task_key = ?", [ident.task_key]).fetchone()
        if row is None:
            raise CacheError(
                f"lineage task {ident.task_key} is not stored; its weights cannot be regenerated"
            )
        spec = json.loads(row[0])
        return EvalId.parse(spec["inherit"]["parent"])

    def _genome_of(self, arch_hash: str) -> RenasCellGenome:
        arch = self.cache.architecture(arch_hash)
        if arch is None:
            raise CacheError(f"architecture {arch_hash[:12]} is not stored")
        return self.space.decode(arch["encoding"])
