"""Which replicate (training seed) of a network a run's query gets: the replicate policy.

An algorithm numbers the replicates of a network it asks for: 0 for the first query, 1, 2, ... for
re-evaluations (Genetic CNN averages over occurrences). The policy maps that number to the replicate that is
looked up or trained:

- `shared`: the algorithm's number itself. Every trial's first query of a network gets replicate 0, so
  trials share their noise (common random numbers): a valid variance-reduction design for *paired*
  comparisons, but trials of one algorithm are then not independent samples.
- `independent`: each run draws its own. In tabular mode, among the R replicates the table holds for the
  network, by a permutation seeded from (run seed, network), so a run's k-th query of a network gets the
  k-th replicate of its own permutation (beyond R it asks for replicate k, which the table lacks). In live
  mode, a fresh replicate per run (the run id and k hashed into the replicate number): nothing is shared
  across runs, and nothing is reused from other runs' trainings either.
- In surrogate mode, `independent` draws among the measured replicates a network has (policy
  `measured_first`) and beyond them, or for every query under policy `predicted`, a replicate of the
  run's own, as in live mode: a predicted replicate costs nothing, so no run shares another's noise.
- `auto` (default): `independent` in tabular and surrogate mode, `shared` in live mode. The report's
  tests (Mann-Whitney, dominance, ASO) treat the trials of an algorithm as independent samples; a
  reviewer accepts that only if they are, and with a table of R replicates independence costs nothing.
  In live mode it would multiply the training cost by the number of trials, so `auto` shares, and the
  report says so.

The mapping needs no state: it is a pure function of (policy, mode, run, network, k), so a resumed run
maps exactly as it did before the kill.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from harness.errors import ConfigError

POLICIES = ("auto", "shared", "independent")
MAX_REPLICATE = 2**31 - 1


def resolve(policy: str, mode: str) -> str:
    """`shared` or `independent` for `policy` under evaluation `mode`."""
    if policy not in POLICIES:
        raise ConfigError(f"replicate policy {policy!r} not in {POLICIES}")
    if policy == "auto":
        return "shared" if mode == "live" else "independent"
    return policy


@dataclass(frozen=True)
class ReplicateMap:
    """Maps (network, the algorithm's replicate number) to the replicate a run queries."""

    policy: str  # shared | independent (resolved)
    mode: str
    run_id: str
    run_seed: int
    stored: Callable[[str], int]  # how many replicates the table holds for a network (tabular mode)

    def __call__(self, arch_hash: str, k: int) -> int:
        if self.policy == "shared":
            return k
        if self.mode == "live":
            return self._fresh(k)
        count = self.stored(arch_hash)
        if k >= count:
            return self._fresh(k) if self.mode == "surrogate" else k
        seq = np.random.SeedSequence([self.run_seed, int(arch_hash[:16], 16)])
        return int(np.random.default_rng(seq).permutation(count)[k])

    def _fresh(self, k: int) -> int:
        """A replicate of this run's own (the run id and k hashed): shared with no other run."""
        digest = hashlib.sha256(f"{self.run_id}\x00{k}".encode()).digest()
        return 1 + int.from_bytes(digest[:8], "big") % (MAX_REPLICATE - 1)
