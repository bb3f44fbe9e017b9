"""A surrogate benchmark model: predicted mean accuracy, replicate noise and train time of any genome.

Fitted on the measured evaluations of one (space, task) table:

- the **mean** validation and test accuracy of a network (over its ok replicates) and the log of its
  train seconds, each by a tree ensemble on the genome's isomorphism-invariant features
  (`harness.surrogate_features`);
- the **replicate noise**, from the networks the table holds at least two replicates of, in bins of the
  network's mean accuracy (weaker networks are noisier): the measured (validation, test) deviations of each
  replicate from its network's mean, scaled by sqrt(k / (k - 1)) so that their spread is a replicate's;
  and, for reports, the pooled standard deviations and the validation/test correlation.

Replicate r of a network is then drawn from its training seed (task, arch, r), exactly as a training
would be seeded: mean + one measured deviation pair of the network's bin, chosen by that seed (a residual
bootstrap). Seed noise on small data is skewed (a seed that fails costs far more than a lucky one gains),
and a Gaussian would let weak networks draw perfect scores; measured deviations keep the shape, and the
coupling of validation and test. A predicted network has as many replicates as anyone asks for, each the
same for every caller, like a stored one.

A model is saved as one safetensors file (named arrays and a JSON header, no code); its id is the digest of
those bytes, so a refit on a changed table is a new model.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from cache.hashing import training_seed
from harness.errors import CacheError
from harness.surrogate_features import Featurizer
from harness.surrogate_trees import TreeEnsemble

FORMAT = "evonas-surrogate"
FORMAT_VERSION = 2  # 2: residual-bootstrap noise
NOISE_BINS = 4  #: bins of mean accuracy for the noise model (fewer when few networks have replicates)
MIN_PER_BIN = 25  #: networks with >= 2 replicates each noise bin needs
METRICS = ("val", "test", "seconds")


@dataclass(frozen=True)
class NoiseModel:
    """Replicate standard deviations by bin of mean validation accuracy; `networks` is the evidence."""

    edges: tuple[float, ...]  # inner bin edges on the mean validation accuracy (len = bins - 1)
    std_val: tuple[float, ...]
    std_test: tuple[float, ...]
    rho: float  # correlation of a replicate's validation and test deviations
    networks: int  # networks with >= 2 ok replicates the noise was measured on
    residuals: tuple[tuple[tuple[float, float], ...], ...] = ()  # per bin: scaled (val, test) deviations

    def std(self, mean_val: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        index = np.searchsorted(np.asarray(self.edges), np.asarray(mean_val), side="right")
        return np.asarray(self.std_val)[index], np.asarray(self.std_test)[index]

    def deviation(self, mean_val: float, rng: np.random.Generator) -> tuple[float, float]:
        """One (val, test) replicate deviation for a network of mean `mean_val`, chosen by `rng`."""
        index = int(np.searchsorted(np.asarray(self.edges), mean_val, side="right"))
        pool = self.residuals[index] if self.residuals else ()
        if not pool:
            return 0.0, 0.0
        return pool[int(rng.integers(len(pool)))]

    def to_json(self) -> dict[str, Any]:
        return {
            "edges": list(self.edges),
            "std_val": list(self.std_val),
            "std_test": list(self.std_test),
            "rho": self.rho,
            "networks": self.networks,
            "residuals": [[list(p) for p in pool] for pool in self.residuals],
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> NoiseModel:
        model = cls(
            tuple(map(float, data["edges"])),
            tuple(map(float, data["std_val"])),
            tuple(map(float, data["std_test"])),
            float(data["rho"]),
            int(data["networks"]),
            tuple(tuple((float(v), float(t)) for v, t in pool) for pool in data.get("residuals", [])),
        )
        bins = len(model.edges) + 1
        if len(model.std_val) != bins or len(model.std_test) != bins or not -1.0 <= model.rho <= 1.0:
            raise CacheError("surrogate model: inconsistent noise model")
        if model.residuals and len(model.residuals) != bins:
            raise CacheError("surrogate model: one residual pool per noise bin expected")
        if any(not (math.isfinite(v) and math.isfinite(t)) for pool in model.residuals for v, t in pool):
            raise CacheError("surrogate model: non-finite residuals")
        if any(not math.isfinite(s) or s < 0 for s in (*model.std_val, *model.std_test)):
            raise CacheError("surrogate model: negative or non-finite noise")
        return model


@dataclass(frozen=True)
class SurrogateInfo:
    """What a model was fitted on and how; `quality` holds the held-out figures measured at fit time."""

    space: str
    space_params: dict[str, Any]
    task_key: str
    table_digest: str
    kind: str
    networks: int
    evaluations: int
    seed: int
    quality: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "space": self.space,
            "space_params": self.space_params,
            "task_key": self.task_key,
            "table_digest": self.table_digest,
            "kind": self.kind,
            "networks": self.networks,
            "evaluations": self.evaluations,
            "seed": self.seed,
            "quality": self.quality,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> SurrogateInfo:
        return cls(
            str(data["space"]),
            dict(data["space_params"]),
            str(data["task_key"]),
            str(data["table_digest"]),
            str(data["kind"]),
            int(data["networks"]),
            int(data["evaluations"]),
            int(data["seed"]),
            dict(data.get("quality") or {}),
        )


@dataclass(frozen=True)
class Prediction:
    """One predicted replicate of a network."""

    val_acc: float
    test_acc: float
    train_seconds: float


@dataclass(frozen=True, eq=False)
class SurrogateModel:
    info: SurrogateInfo
    featurizer: Featurizer
    means: dict[str, TreeEnsemble]  # val, test, seconds (log seconds)
    noise: NoiseModel

    # --- prediction ---
    def predict_means(self, features: np.ndarray) -> dict[str, np.ndarray]:
        """Mean validation and test accuracy (clipped to [0, 1]) and train seconds of each row."""
        return {
            "val": np.clip(self.means["val"].predict(features), 0.0, 1.0),
            "test": np.clip(self.means["test"].predict(features), 0.0, 1.0),
            "seconds": np.exp(self.means["seconds"].predict(features)),
        }

    def replicate(
        self, arch_hash: str, replicate: int, val: float, test: float, seconds: float
    ) -> Prediction:
        """Replicate `replicate` of a network of predicted means (val, test), drawn from its training seed."""
        rng = np.random.default_rng(training_seed(self.info.task_key, arch_hash, replicate))
        dv, dt = self.noise.deviation(val, rng)
        v, t = val + dv, test + dt
        return Prediction(float(min(1.0, max(0.0, v))), float(min(1.0, max(0.0, t))), float(seconds))

    # --- storage ---
    def to_bytes(self) -> bytes:
        from safetensors.numpy import save

        tensors: dict[str, np.ndarray] = {}
        trees: dict[str, Any] = {}
        for name in METRICS:
            tensors.update(self.means[name].tensors(name))
            trees[name] = self.means[name].header()
        header = {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "info": self.info.to_json(),
            "featurizer": self.featurizer.to_json(),
            "trees": trees,
            "noise": self.noise.to_json(),
        }
        return save(tensors, metadata={"evonas": json.dumps(header, sort_keys=True)})

    @property
    def model_id(self) -> str:
        return hashlib.sha256(self.to_bytes()).hexdigest()[:20]

    @classmethod
    def from_bytes(cls, blob: bytes) -> SurrogateModel:
        """Read a saved model; anything malformed is a CacheError (the bytes are untrusted)."""
        from safetensors import SafetensorError
        from safetensors.numpy import load

        try:
            tensors = load(blob)
            header = json.loads(_metadata(blob).get("evonas", ""))
        except (SafetensorError, ValueError, TypeError) as exc:
            raise CacheError(f"surrogate model is not a readable safetensors file: {exc}") from exc
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise CacheError("surrogate model: not an evonas surrogate")
        if header.get("version") != FORMAT_VERSION:
            raise CacheError(f"surrogate model: format version {header.get('version')!r} unsupported")
        try:
            featurizer = Featurizer.from_json(header["featurizer"])
            means = {m: TreeEnsemble.from_tensors(tensors, m, header["trees"][m]) for m in METRICS}
            model = cls(
                SurrogateInfo.from_json(header["info"]),
                featurizer,
                means,
                NoiseModel.from_json(header["noise"]),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CacheError(f"surrogate model: malformed header ({exc})") from exc
        width = len(featurizer.names)
        for m in METRICS:
            if means[m].feature.size and int(means[m].feature.max()) >= width:
                raise CacheError("surrogate model: a tree splits on a feature the model does not have")
        return model


def _metadata(blob: bytes) -> dict[str, str]:
    """The JSON metadata of a safetensors byte string (its first 8 bytes give the header's length)."""
    if len(blob) < 8:
        raise ValueError("too short")
    size = int.from_bytes(blob[:8], "little")
    if size > len(blob) - 8:
        raise ValueError("header runs past the end")
    data = json.loads(blob[8 : 8 + size])
    meta = data.get("__metadata__", {}) if isinstance(data, dict) else {}
    return meta if isinstance(meta, dict) else {}


def fit_noise(groups: Sequence[Sequence[tuple[float, float]]]) -> NoiseModel:
    """Pooled within-network std of (val, test) per bin of network mean val, from networks with >= 2 reps."""
    multi = [np.asarray(g, dtype=np.float64) for g in groups if len(g) >= 2]
    if not multi:
        return NoiseModel((), (0.0,), (0.0,), 0.0, 0, ((),))
    means = np.array([g[:, 0].mean() for g in multi])
    bins = max(1, min(NOISE_BINS, len(multi) // MIN_PER_BIN))
    edges = tuple(float(q) for q in np.quantile(means, np.linspace(0, 1, bins + 1)[1:-1]))
    index = np.searchsorted(np.asarray(edges), means, side="right")
    std_val, std_test = [], []
    dv_all, dt_all = [], []
    pools: list[tuple[tuple[float, float], ...]] = []
    for b in range(bins):
        members = [g for g, i in zip(multi, index, strict=True) if i == b]
        dev = np.vstack([g - g.mean(axis=0) for g in members])
        scaled = np.vstack([(g - g.mean(axis=0)) * math.sqrt(len(g) / (len(g) - 1)) for g in members])
        pools.append(tuple((float(v), float(t)) for v, t in scaled))
        dof = sum(len(g) - 1 for g in members)
        std_val.append(float(math.sqrt((dev[:, 0] ** 2).sum() / dof)))
        std_test.append(float(math.sqrt((dev[:, 1] ** 2).sum() / dof)))
        dv_all.append(dev[:, 0])
        dt_all.append(dev[:, 1])
    dv, dt = np.concatenate(dv_all), np.concatenate(dt_all)
    denom = math.sqrt(float((dv**2).sum() * (dt**2).sum()))
    rho = float((dv * dt).sum() / denom) if denom > 0 else 0.0
    return NoiseModel(
        edges, tuple(std_val), tuple(std_test), max(-1.0, min(1.0, rho)), len(multi), tuple(pools)
    )
