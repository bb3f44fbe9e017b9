"""Fitted tree ensembles as plain arrays: saved without pickle, predicted with numpy.

scikit-learn's fitted trees are stored by the library as pickles; here each fitted ensemble is read out
into five arrays per tree (left child, right child, split feature, threshold, leaf value), padded to one
node count and stacked, plus an offset and a scale:

    prediction(x) = offset + scale * reduce_t value_t(leaf_t(x))       reduce = sum (boosting) | mean (forest)

The arrays go into a safetensors file, which holds nothing but named tensors. Prediction walks every tree
at once, one vectorised step per tree level, so a batch of queries costs `depth` numpy operations.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.errors import CacheError

LEAF = -1


@dataclass(frozen=True, eq=False)
class TreeEnsemble:
    """Stacked trees: arrays of shape (trees, nodes); `reduce` is 'sum' or 'mean'."""

    left: np.ndarray
    right: np.ndarray
    feature: np.ndarray
    threshold: np.ndarray
    value: np.ndarray
    offset: float
    scale: float
    reduce: str
    depth: int

    def predict(self, x: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        if x.ndim != 2:
            raise ValueError("predict takes a 2-d feature matrix")
        trees = self.left.shape[0]
        node = np.zeros((x.shape[0], trees), dtype=np.int64)
        tree_index = np.arange(trees)[None, :]
        rows = np.arange(x.shape[0])[:, None]
        for _ in range(self.depth):
            feat = self.feature[tree_index, node]
            leaf = feat == LEAF
            go_left = x[rows, np.where(leaf, 0, feat)] <= self.threshold[tree_index, node]
            nxt = np.where(go_left, self.left[tree_index, node], self.right[tree_index, node])
            node = np.where(leaf, node, nxt)
        values = self.value[tree_index, node]
        total = values.sum(axis=1) if self.reduce == "sum" else values.mean(axis=1)
        return self.offset + self.scale * total

    # --- storage ---
    def tensors(self, prefix: str) -> dict[str, np.ndarray]:
        return {
            f"{prefix}.left": self.left.astype(np.int32),
            f"{prefix}.right": self.right.astype(np.int32),
            f"{prefix}.feature": self.feature.astype(np.int32),
            f"{prefix}.threshold": self.threshold.astype(np.float64),
            f"{prefix}.value": self.value.astype(np.float64),
        }

    def header(self) -> dict[str, Any]:
        return {"offset": self.offset, "scale": self.scale, "reduce": self.reduce, "depth": self.depth}

    @classmethod
    def from_tensors(
        cls, tensors: dict[str, np.ndarray], prefix: str, header: dict[str, Any]
    ) -> TreeEnsemble:
        try:
            parts = {k: tensors[f"{prefix}.{k}"] for k in ("left", "right", "feature", "threshold", "value")}
            shapes = {a.shape for a in parts.values()}
            if len(shapes) != 1 or len(next(iter(shapes))) != 2:
                raise CacheError(f"surrogate model: tree arrays of {prefix!r} disagree in shape")
            _, nodes = next(iter(shapes))
            for name in ("left", "right"):
                child = parts[name]
                if np.any((child != LEAF) & ((child < 0) | (child >= nodes))):
                    raise CacheError(f"surrogate model: {prefix}.{name} points outside its tree")
            reduce = str(header["reduce"])
            if reduce not in ("sum", "mean"):
                raise CacheError(f"surrogate model: unknown reduction {reduce!r}")
            depth = int(header["depth"])
            if not 0 <= depth <= 64:
                raise CacheError(f"surrogate model: tree depth {depth} out of range")
            return cls(
                left=parts["left"].astype(np.int64),
                right=parts["right"].astype(np.int64),
                feature=parts["feature"].astype(np.int64),
                threshold=parts["threshold"].astype(np.float64),
                value=parts["value"].astype(np.float64),
                offset=float(header["offset"]),
                scale=float(header["scale"]),
                reduce=reduce,
                depth=depth,
            )
        except KeyError as exc:
            raise CacheError(f"surrogate model: missing {exc.args[0]!r}") from exc


def from_sklearn(model: Any, features: int) -> TreeEnsemble:
    """Read a fitted GradientBoostingRegressor or RandomForestRegressor/ExtraTreesRegressor out."""
    from sklearn.ensemble import GradientBoostingRegressor

    if isinstance(model, GradientBoostingRegressor):
        trees = [est[0].tree_ for est in model.estimators_]
        reduce, scale = "sum", float(model.learning_rate)
    else:
        trees = [est.tree_ for est in model.estimators_]
        reduce, scale = "mean", 1.0
    nodes = max(t.node_count for t in trees)
    shape = (len(trees), nodes)
    left = np.full(shape, LEAF, dtype=np.int64)
    right = np.full(shape, LEAF, dtype=np.int64)
    feature = np.full(shape, LEAF, dtype=np.int64)
    threshold = np.zeros(shape)
    value = np.zeros(shape)
    for i, t in enumerate(trees):
        n = t.node_count
        left[i, :n] = t.children_left
        right[i, :n] = t.children_right
        feature[i, :n] = np.where(t.children_left == LEAF, LEAF, t.feature)
        threshold[i, :n] = t.threshold
        value[i, :n] = t.value[:, 0, 0]
    depth = max(int(t.max_depth) for t in trees)
    ensemble = TreeEnsemble(left, right, feature, threshold, value, 0.0, scale, reduce, depth)
    probe = np.zeros((1, features))
    offset = float(model.predict(probe)[0] - ensemble.predict(probe)[0])  # boosting's initial estimate
    return TreeEnsemble(left, right, feature, threshold, value, offset, scale, reduce, depth)
