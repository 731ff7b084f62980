"""Turn a customer table into the matrix the clustering sees, and say what was done to it.

Steps, in order (each reported in :class:`PreparedData`):

1. optional winsorising of each feature at ``[quantile(1-q), quantile(q)]`` (bounds from every
   customer that has a value), then optional ``log1p``;
2. correlation filter, the reference's upper-triangle rule: a feature is dropped when its
   absolute Pearson correlation with *any earlier* feature in the list exceeds the threshold
   (measured on the features as they will be clustered; with no transform that is the raw data,
   as in the reference). A feature with no variance is dropped too;
3. rows with a missing value in a kept feature are dropped and counted;
4. scaling: ``standard`` (z-scores, exactly ``sklearn.preprocessing.StandardScaler``) or
   ``robust`` (median and inter-quartile range, ``RobustScaler``).

The rows come out sorted by the frame index (the customer id). That canonical order is what
makes clustering independent of the order of the input rows: KMeans++ seeding depends on row
positions, so a shuffled table would otherwise give different clusters.

The fitted steps are kept in :class:`FeatureTransform`, which applies them unchanged to new
customers (``custseg assign``) and saves as plain JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
import pandas as pd
from sklearn.preprocessing import RobustScaler, StandardScaler

from custseg.errors import InputError
from custseg.ids import strictly_increasing

__all__ = ["DroppedFeature", "FeatureTransform", "PreparedData", "prepare_features"]

TRANSFORMS = (None, "log1p")
from custseg.config import SCALERS  # noqa: E402 - one list for the config check and this stage


@dataclass(frozen=True)
class DroppedFeature:
    """A feature left out of the clustering, and why (``reason`` is a plain-English sentence)."""

    name: str
    reason: str
    correlated_with: str | None = None
    correlation: float | None = None


@dataclass(frozen=True)
class FeatureTransform:
    """The fitted preparation: which features, clipping bounds, transform, centre and scale."""

    features: tuple[str, ...]
    transform: str | None
    winsorize_quantile: float | None
    clip_low: tuple[float, ...] | None
    clip_high: tuple[float, ...] | None
    scaler: str
    center: tuple[float, ...]
    scale: tuple[float, ...]

    def _transformed(self, values: np.ndarray) -> np.ndarray:
        values = np.array(values, dtype=np.float64, copy=True)
        if self.clip_low is not None and self.clip_high is not None:
            np.clip(values, np.asarray(self.clip_low), np.asarray(self.clip_high), out=values)
        if self.transform == "log1p":
            _check_log1p(values, self.features)
            values = np.log1p(values)
        return values

    def transform_matrix(self, values: np.ndarray) -> np.ndarray:
        """Apply the fitted steps to a float matrix whose columns are :attr:`features`."""
        values = self._transformed(values)
        values -= np.asarray(self.center)
        values /= np.asarray(self.scale)
        return values

    def transform_frame(self, frame: pd.DataFrame) -> tuple[np.ndarray, pd.Index, pd.Index]:
        """Prepare new customers: returns (matrix, ids kept in sorted order, ids with missing values)."""
        missing_cols = [f for f in self.features if f not in frame.columns]
        if missing_cols:
            raise InputError(
                f"the data has no column {missing_cols[0]!r}, which the saved model needs "
                f"(model features: {', '.join(self.features)})"
            )
        data = _numeric_features(_sorted_by_id(frame), list(self.features))
        has_missing = data.isna().any(axis=1)
        kept = data.loc[~has_missing]
        return self.transform_matrix(kept.to_numpy()), kept.index, data.index[has_missing]

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": list(self.features),
            "transform": self.transform,
            "winsorize_quantile": self.winsorize_quantile,
            "clip_low": None if self.clip_low is None else list(self.clip_low),
            "clip_high": None if self.clip_high is None else list(self.clip_high),
            "scaler": self.scaler,
            "center": list(self.center),
            "scale": list(self.scale),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "FeatureTransform":
        def tup(v):
            return None if v is None else tuple(float(x) for x in v)

        return cls(
            features=tuple(data["features"]),
            transform=data["transform"],
            winsorize_quantile=data["winsorize_quantile"],
            clip_low=tup(data["clip_low"]),
            clip_high=tup(data["clip_high"]),
            scaler=data["scaler"],
            center=tup(data["center"]),
            scale=tup(data["scale"]),
        )


@dataclass
class PreparedData:
    """The clustering matrix and the record of how it was made.

    ``X`` rows follow ``index`` (customer ids, sorted); columns follow ``features``.
    ``skewness`` has one row per kept feature with columns ``before`` (raw values of the kept
    customers) and ``after`` (the values clustered).
    """

    X: np.ndarray
    index: pd.Index
    features: list[str]
    dropped_features: list[DroppedFeature]
    n_rows_input: int
    n_dropped_missing: int
    missing_index: pd.Index
    correlation: pd.DataFrame
    skewness: pd.DataFrame
    transform: FeatureTransform
    corr_threshold: float = 0.6
    notes: list[str] = field(default_factory=list)

    def frame(self) -> pd.DataFrame:
        """``X`` as a DataFrame indexed by customer id."""
        return pd.DataFrame(self.X, index=self.index, columns=self.features)

    def summary_lines(self) -> list[str]:
        """What was done, one plain-English line per step (for logs and the report)."""
        lines = [f"Features used: {', '.join(self.features)}."]
        lines += [f"Dropped feature {d.name!r}: {d.reason}" for d in self.dropped_features]
        lines.append(
            f"{self.n_dropped_missing:,} of {self.n_rows_input:,} customers dropped for missing values."
        )
        lines += self.notes
        return lines


# ----------------------------------------------------------------------------- helpers


def _sorted_by_id(frame: pd.DataFrame) -> pd.DataFrame:
    if strictly_increasing(frame.index):
        return frame
    if not frame.index.is_unique:
        dup = frame.index[frame.index.duplicated()][0]
        raise InputError(f"customer id {dup!r} appears more than once in the customer table")
    if frame.index.is_monotonic_increasing:
        return frame
    try:
        return frame.sort_index(kind="mergesort")
    except TypeError as exc:
        raise InputError(
            "customer ids cannot be sorted (mixed types?); use ids of one type"
        ) from exc


def _numeric_features(frame: pd.DataFrame, features: list[str]) -> pd.DataFrame:
    out = {}
    for name in features:
        col = frame[name]
        if pd.api.types.is_bool_dtype(col) or not pd.api.types.is_numeric_dtype(col):
            raise InputError(f"feature {name!r} is not numeric (dtype {col.dtype}); choose numeric features")
        out[name] = col.to_numpy(dtype="float64", na_value=np.nan)  # arrays: no alignment on the index
    data = pd.DataFrame(out, index=frame.index)
    inf_cols = [c for c in features if np.isinf(data[c].to_numpy()).any()]
    if inf_cols:
        raise InputError(f"feature {inf_cols[0]!r} has infinite values; fix the data before clustering")
    return data


def _check_log1p(values: np.ndarray, features: Sequence[str]) -> None:
    """log1p needs values > -1 (NaN is left to the missing-value step)."""
    with np.errstate(invalid="ignore"):
        bad = np.atleast_2d(values) <= -1
    if bad.any():
        col = int(np.flatnonzero(bad.any(axis=0))[0])
        raise InputError(
            f"log1p is undefined for values <= -1, and feature {features[col]!r} has "
            f"{int(bad[:, col].sum())} of them; use no transform or fix the data"
        )


def correlation_drops(corr: pd.DataFrame, threshold: float) -> list[DroppedFeature]:
    """The reference's upper-triangle rule, with the reason for each dropped feature.

    ``upper = corr.abs().where(triu(k=1))``; a column is dropped when any of its entries
    (its correlations with earlier features) exceeds ``threshold``.
    """
    upper = corr.abs().where(np.triu(np.ones(corr.shape), k=1).astype(bool))
    drops = []
    for col in upper.columns:
        above = upper[col][upper[col] > threshold]
        if len(above):
            partner = str(above.idxmax())
            r = float(corr.loc[partner, col])
            drops.append(
                DroppedFeature(
                    name=str(col),
                    reason=(
                        f"|r| = {abs(r):.2f} with {partner!r} (listed earlier), above the "
                        f"threshold {threshold:g}; it would count the same behaviour twice."
                    ),
                    correlated_with=partner,
                    correlation=r,
                )
            )
    return drops


# ----------------------------------------------------------------------------- main entry


def prepare_features(
    frame: pd.DataFrame,
    features: Sequence[str],
    *,
    corr_threshold: float | None = 0.6,
    transform: str | None = None,
    scaler: str = "standard",
    winsorize_quantile: float | None = None,
) -> PreparedData:
    """Build the clustering matrix from ``frame`` (one row per customer, index = customer id).

    ``corr_threshold=None`` keeps every feature. ``winsorize_quantile=q`` (0.5 < q < 1) clips
    each feature to its ``1-q`` and ``q`` quantiles before the optional ``log1p``.
    """
    features = list(features)
    if not features:
        raise InputError("no features given for clustering; list at least one")
    if len(set(features)) != len(features):
        raise InputError(f"a feature is listed twice: {features}")
    absent = [f for f in features if f not in frame.columns]
    if absent:
        raise InputError(
            f"the customer table has no column {absent[0]!r}; available: {', '.join(map(str, frame.columns))}"
        )
    if transform not in TRANSFORMS:
        raise InputError(f"transform must be one of none, log1p; got {transform!r}")
    if scaler not in SCALERS:
        raise InputError(f"scaler must be one of {', '.join(SCALERS)}; got {scaler!r}")
    if winsorize_quantile is not None and not 0.5 < winsorize_quantile < 1:
        raise InputError(f"winsorize quantile must be between 0.5 and 1 (e.g. 0.99); got {winsorize_quantile}")
    if corr_threshold is not None and not 0 < corr_threshold <= 1:
        raise InputError(f"correlation threshold must be in (0, 1]; got {corr_threshold}")

    raw = _numeric_features(_sorted_by_id(frame), features)
    n_input = len(raw)
    notes: list[str] = []

    # 1. winsorise, log1p (each makes a new frame: raw is not changed)
    shaped = raw
    clip_low = clip_high = None
    if winsorize_quantile is not None:
        low = shaped.quantile(1 - winsorize_quantile)
        high = shaped.quantile(winsorize_quantile)
        shaped = shaped.clip(lower=low, upper=high, axis=1)
        clip_low, clip_high = tuple(low.to_numpy(float)), tuple(high.to_numpy(float))
        notes.append(
            f"Winsorised each feature at its {1 - winsorize_quantile:.3g} and {winsorize_quantile:.3g} quantiles."
        )
    if transform == "log1p":
        _check_log1p(shaped.to_numpy(), features)
        shaped = np.log1p(shaped)
        notes.append("Applied log1p to every feature.")

    # 2. correlation filter (on the features as clustered), constant features
    corr = shaped.corr()
    dropped = correlation_drops(corr, corr_threshold) if corr_threshold is not None else []
    dropped_names = {d.name for d in dropped}
    kept = [f for f in features if f not in dropped_names]

    # 3. rows with missing values (in the kept features)
    # (an array, not a Series: numpy asking a Series for an attribute makes pandas look the name up
    # in its index, which builds a hash table of every customer id: ~0.8 GB at 10M customers)
    has_missing = shaped[kept].isna().any(axis=1).to_numpy()
    missing_index = shaped.index[has_missing]
    if missing_index.empty:  # no copy of millions of rows to drop none
        shaped, raw_kept = shaped[kept], raw[kept]
    else:
        shaped, raw_kept = shaped.loc[~has_missing, kept], raw.loc[~has_missing, kept]
    if len(shaped) < 2:
        raise InputError(f"only {len(shaped)} customer(s) left after dropping missing values; cannot cluster")
    for name in list(kept):
        if shaped[name].min() == shaped[name].max():  # one value (no missing ones here): no hashing of every row
            dropped.append(DroppedFeature(name, "it has the same value for every customer (no variance)."))
            kept.remove(name)
    if not kept:
        raise InputError("no feature is left to cluster on after dropping correlated and constant features")
    shaped = shaped[kept]
    raw_kept = raw_kept[kept]

    # 4. scaling, with scikit-learn's estimators so the numbers are theirs bit for bit
    values = shaped.to_numpy(dtype=np.float64, copy=True)
    est = StandardScaler() if scaler == "standard" else RobustScaler()
    est.fit(values)
    center = est.mean_ if scaler == "standard" else est.center_
    scale = est.scale_
    fitted = FeatureTransform(
        features=tuple(kept),
        transform=transform,
        winsorize_quantile=winsorize_quantile,
        clip_low=None if clip_low is None else tuple(clip_low[features.index(f)] for f in kept),
        clip_high=None if clip_high is None else tuple(clip_high[features.index(f)] for f in kept),
        scaler=scaler,
        center=tuple(float(c) for c in center),
        scale=tuple(float(s) for s in scale),
    )
    values -= center
    values /= scale
    X = np.ascontiguousarray(values)

    # column by column: a whole frame's skew makes three temporary copies of it (~1.4 GB at 10M customers)
    skewness = pd.DataFrame(
        {"before": [raw_kept[f].skew() for f in kept], "after": [pd.Series(X[:, j]).skew() for j in range(len(kept))]},
        index=kept,
    )
    return PreparedData(
        X=X,
        index=shaped.index,
        features=kept,
        dropped_features=dropped,
        n_rows_input=n_input,
        n_dropped_missing=int(has_missing.sum()),
        missing_index=missing_index,
        correlation=corr,
        skewness=skewness,
        transform=fitted,
        corr_threshold=corr_threshold if corr_threshold is not None else float("nan"),
        notes=notes,
    )
