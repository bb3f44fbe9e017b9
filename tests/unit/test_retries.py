"""Which failures are retried, which are stored, which are raised (harness.training / harness.executors)."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from cache import Cache
from harness.errors import InvalidGenomeError, TransientTrainingError
from harness.evaluation import Evaluator, Request
from harness.executors import InlineExecutor, ProcessExecutor
from harness.spaces import get_space
from harness.tasks import preset
from harness.training import is_out_of_memory, train_genome
from tests.jobfixtures import BuggyJob, CrashingJob, OutOfMemoryJob

SPACE = get_space("genetic_cnn")
TASK = preset("digits_quick")
GENOME = SPACE.named("chain")


class _BrokenBuild:
    """The genetic_cnn space with a build() that raises a given exception."""

    def __init__(self, exc: BaseException) -> None:
        self.exc = exc

    def __getattr__(self, name):
        return getattr(SPACE, name)

    def build(self, genome, task):
        raise self.exc


def attempts(path: Path) -> int:
    return int(path.read_text()) if path.exists() else 0


def test_out_of_memory_is_recognised():
    assert is_out_of_memory(torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2 GiB"))
    assert is_out_of_memory(RuntimeError("[enforce fail] DefaultCPUAllocator: can't allocate memory"))
    assert is_out_of_memory(MemoryError())
    assert not is_out_of_memory(RuntimeError("mat1 and mat2 shapes cannot be multiplied"))


def test_out_of_memory_is_transient_not_a_result():
    with pytest.raises(TransientTrainingError, match="out of memory"):
        train_genome(_BrokenBuild(torch.OutOfMemoryError("CUDA out of memory")), GENOME, TASK, seed=1)


def test_an_invalid_build_is_a_result():
    result = train_genome(_BrokenBuild(InvalidGenomeError("kernel larger than input")), GENOME, TASK, 1)
    assert result.status == "invalid" and "kernel larger" in result.error


def test_a_bug_raises_instead_of_being_a_result():
    with pytest.raises(RuntimeError, match="shapes cannot be multiplied"):
        train_genome(_BrokenBuild(RuntimeError("mat1 and mat2 shapes cannot be multiplied")), GENOME, TASK, 1)


def test_inline_executor_retries_transient_failures(tmp_path):
    counter = tmp_path / "n"
    [(index, result)] = list(InlineExecutor(attempts=3).run([OutOfMemoryJob(str(counter), failures=2)]))
    assert index == 0 and result.status == "ok" and attempts(counter) == 3


def test_inline_executor_gives_up_with_one_line(tmp_path):
    counter = tmp_path / "n"
    with pytest.raises(TransientTrainingError, match=r"failed 3 time.*nothing was stored.*--resume"):
        list(InlineExecutor(attempts=3).run([OutOfMemoryJob(str(counter), failures=99)]))
    assert attempts(counter) == 3


def test_inline_executor_does_not_retry_bugs(tmp_path):
    counter = tmp_path / "n"
    with pytest.raises(ZeroDivisionError):
        list(InlineExecutor(attempts=3).run([BuggyJob(str(counter))]))
    assert attempts(counter) == 1


@pytest.mark.slow
def test_process_executor_survives_a_dying_worker(tmp_path):
    """A worker killed mid-job (segfault, OOM killer): the pool restarts and the jobs in flight run again."""
    jobs = [CrashingJob(str(tmp_path / "crash"), crashes=1), OutOfMemoryJob(str(tmp_path / "oom"), 1)]
    with ProcessExecutor(workers=2, attempts=3) as executor:
        results = dict(executor.run(jobs))
        assert {i: r.status for i, r in results.items()} == {0: "ok", 1: "ok"}
        assert attempts(tmp_path / "crash") == 2
        # the pool works after the restart
        assert next(executor.run([OutOfMemoryJob(str(tmp_path / "later"), 0)]))[1].val_acc == 0.25


@pytest.mark.slow
def test_process_executor_gives_up_on_a_job_that_always_kills_its_worker(tmp_path):
    with (
        ProcessExecutor(workers=1, attempts=2) as executor,
        pytest.raises(TransientTrainingError, match="died"),
    ):
        list(executor.run([CrashingJob(str(tmp_path / "crash"), crashes=99)]))
    assert attempts(tmp_path / "crash") == 2


class _TransientExecutor(InlineExecutor):
    def run(self, jobs):
        raise TransientTrainingError("out of memory on cuda:0 (test)")
        yield  # pragma: no cover


def test_nothing_is_stored_for_a_transient_failure(tmp_path):
    with Cache(tmp_path / "c.duckdb") as cache:
        evaluator = Evaluator(cache, SPACE, TASK, executor=_TransientExecutor())
        with pytest.raises(TransientTrainingError):
            evaluator.evaluate([Request(GENOME)])
        assert cache.stats()["tables"]["evaluations"] == 0
