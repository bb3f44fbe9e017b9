"""Test doubles: an executor whose 'training' is a deterministic function of the job (no torch)."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from typing import Any

from harness.executors import Executor
from harness.fused import GroupJob
from harness.spaces import get_space
from harness.training import TrainingJob, TrainingResult


def fake_result(job: TrainingJob) -> TrainingResult:
    """Accuracy grows with the share of 1-bits (genetic_cnn) plus seed noise; duration from the seed."""
    space = get_space(job.space_name, **dict(job.space_params))
    genome = space.decode(job.encoding)
    digest = hashlib.sha256(f"{job.seed}".encode()).digest()
    noise = int.from_bytes(digest[:4], "big") / 2**32
    bits = getattr(genome, "bits", None)
    base = sum(bits) / len(bits) if bits else 0.5
    acc = round(0.5 + 0.4 * base + 0.05 * noise, 6)
    return TrainingResult(
        status="ok",
        val_acc=acc,
        test_acc=round(acc - 0.01 * noise, 6),
        train_loss=1.0 - acc,
        curve=(acc / 2, acc),
        params=1000 + int(100 * base),
        flops=2000,
        train_seconds=1.0 + round(3 * int.from_bytes(digest[4:8], "big") / 2**32, 3),
        device="fake",
    )


class FakeExecutor(Executor):
    def __init__(self) -> None:
        self.slots = 1
        self.jobs: list[TrainingJob] = []

    def run(self, jobs: Sequence[Any]) -> Iterator[tuple[int, Any]]:
        """One fake result per job; a fused GroupJob gets a list, one per member (as the real trainer)."""
        for i, job in enumerate(jobs):
            if isinstance(job, GroupJob):
                self.jobs.extend(job.jobs)
                yield i, [fake_result(member) for member in job.jobs]
            else:
                self.jobs.append(job)
                yield i, fake_result(job)


class FakeProxyFitness:
    """Deterministic stand-in for `harness.proxy_fitness.ProxyFitness`: scores from a network's hash and
    width, no torch (a zero-cost algorithm's DARTS tournament still trains on `task`)."""

    def __init__(self, space: Any, names: Sequence[str] = ("ntk_cond", "naswot", "grad_corr", "params")):
        from harness.tasks import preset

        self.space = space
        self.names = tuple(names)
        self.task = preset("digits_quick")
        self.device = "cpu"
        self.data_root: str | None = None
        self.queries = 0
        self.charged_seconds = 0.0

    def charge(self, seconds: float) -> None:
        self.charged_seconds += seconds

    def scores(self, genomes: Sequence[Any]) -> list[dict[str, float]]:
        out = []
        for g in genomes:
            self.queries += 1
            self.charged_seconds += 0.25
            h = int(self.space.hash(g)[:8], 16)
            width = sum(sum(b) for c in g.cells for b in c.blocks)
            known = {"ntk_cond": 10.0 + h % 97, "naswot": float(width), "grad_corr": 1.0 + h % 13}
            known["params"] = 50.0 + width
            out.append({n: known.get(n, float(h % 1009)) for n in self.names})
        return out
