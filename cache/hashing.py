"""Derived identities: training seeds from (task, architecture, replicate); run seeds and run ids."""

from __future__ import annotations

import hashlib

SEED_BITS = 63


def training_seed(task_key: str, arch_hash: str, replicate: int) -> int:
    """The training seed of replicate `replicate` of architecture `arch_hash` under task `task_key`.

    It depends on nothing else (never on the algorithm that asks), so every algorithm that asks for the
    same replicate of the same network gets the same stored result. 63 bits, so it fits a signed BIGINT.
    """
    if replicate < 0:
        raise ValueError(f"replicate must be >= 0, got {replicate}")
    digest = hashlib.sha256(f"evonas-seed\x1f{task_key}\x1f{arch_hash}\x1f{replicate}".encode()).digest()
    return int.from_bytes(digest[:8], "big") & ((1 << SEED_BITS) - 1)


def run_seed(experiment: str, algorithm: str, trial: int) -> int:
    """The seed of a run's own Generator, derived from (experiment, algorithm label, trial)."""
    digest = hashlib.sha256(f"evonas-run\x1f{experiment}\x1f{algorithm}\x1f{trial}".encode()).digest()
    return int.from_bytes(digest[:8], "big") & ((1 << SEED_BITS) - 1)


def run_id(experiment: str, algorithm: str, trial: int) -> str:
    """A readable, stable run id: experiment/algorithm/trial."""
    return f"{experiment}/{algorithm}/{trial}"
