"""`leadflow score train history.csv`: fit a logistic regression on past outcomes.

The CSV uses the lead import's column names (`company_size`, `company_industry`,
`company_country`, `source`, any other column = `attributes.<name>`) plus an outcome
column (`converted`, `won` or `outcome`: 1/0, true/false, won/lost). Numeric columns are
standardised; text columns become one indicator per frequent value. 25 % of the rows
(shuffled with a fixed seed) are held out to measure the AUC honestly.
"""

from __future__ import annotations

import csv
import io
import random
from dataclasses import dataclass
from typing import Any

import numpy as np
from sqlalchemy import update

from leadflow.domain.scoring import Feature, LogisticModel, auc
from leadflow.errors import NotFound, ValidationError
from leadflow.services.context import Services
from leadflow.store.lifecycle_models import ScoringModelRow

OUTCOME_COLUMNS = ("converted", "won", "outcome")
POSITIVE = {"1", "true", "yes", "won", "converted"}
NEGATIVE = {"0", "false", "no", "lost", "not_converted", "disqualified"}
TOP_LEVEL = {"source", "value", "language"}
MIN_CATEGORY_COUNT = 5
MAX_CATEGORIES = 20


@dataclass(frozen=True)
class TrainingReport:
    model_id: int
    rows: int
    train_rows: int
    test_rows: int
    auc: float
    active: bool
    top_features: list[tuple[str, float]]


def field_of(column: str) -> str:
    if column.startswith("company_"):
        return "company." + column.removeprefix("company_")
    if column in TOP_LEVEL:
        return column
    return "attributes." + column.removeprefix("attr_")


def parse_history(data: bytes) -> tuple[list[str], list[dict[str, str]], list[int]]:
    """(feature columns, rows, labels); errors name the line."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationError(f"line 0: not UTF-8 text ({exc.reason})", field="file") from None
    reader = csv.DictReader(io.StringIO(text))
    header = list(reader.fieldnames or [])
    outcome = next((c for c in OUTCOME_COLUMNS if c in header), None)
    if outcome is None:
        raise ValidationError(
            f"line 1: the header needs an outcome column ({', '.join(OUTCOME_COLUMNS)})",
            field="outcome",
        )
    columns = [c for c in header if c not in (outcome, "external_id", "id")]
    rows, labels = [], []
    for raw in reader:
        label = (raw.get(outcome) or "").strip().lower()
        if label not in POSITIVE | NEGATIVE:
            raise ValidationError(
                f"line {reader.line_num}: {outcome}: {label!r} is not 1/0, true/false or won/lost",
                field=outcome,
            )
        labels.append(1 if label in POSITIVE else 0)
        rows.append({c: (raw.get(c) or "").strip() for c in columns})
    if len(rows) < 20 or len(set(labels)) < 2:
        raise ValidationError("need at least 20 rows with both outcomes to train", field="file")
    return columns, rows, labels


def _is_number(v: str) -> bool:
    try:
        float(v)
    except ValueError:
        return v.lower() in {"true", "false", "yes", "no"}
    return True


def design(columns: list[str], rows: list[dict[str, str]]) -> list[Feature]:
    """Features from the training rows: numeric columns, or indicators of frequent values."""
    features: list[Feature] = []
    for col in columns:
        values = [r[col] for r in rows if r[col] != ""]
        if not values:
            continue
        if all(_is_number(v) for v in values):
            features.append(Feature(col, field_of(col)))
            continue
        counts: dict[str, int] = {}
        for v in values:
            counts[v.casefold()] = counts.get(v.casefold(), 0) + 1
        frequent = sorted((c for c, n in counts.items() if n >= MIN_CATEGORY_COUNT),
                          key=lambda c: -counts[c])[:MAX_CATEGORIES]  # fmt: skip
        features.extend(Feature(f"{col}={c}", field_of(col), c) for c in frequent)
    return features


def _lead(columns: list[str], row: dict[str, str]) -> dict[str, Any]:
    lead: dict[str, Any] = {}
    for col in columns:
        if row[col] == "":
            continue
        target = lead
        *parents, leaf = field_of(col).split(".")
        for p in parents:
            target = target.setdefault(p, {})
        target[leaf] = row[col]
    return lead


def fit(
    columns: list[str], rows: list[dict[str, str]], labels: list[int], seed: int, holdout: float
) -> tuple[LogisticModel, float, int, int]:
    order = list(range(len(rows)))
    random.Random(seed).shuffle(order)
    n_test = max(1, int(len(rows) * holdout))
    test, train = order[:n_test], order[n_test:]
    leads = [_lead(columns, r) for r in rows]
    raw_features = design(columns, [rows[i] for i in train])
    # Standardise numeric features with the training split's statistics only.
    features = []
    for f in raw_features:
        if f.category is None:
            xs = np.array([f.value({**leads[i]}) for i in train])
            std = float(xs.std()) or 1.0
            features.append(Feature(f.name, f.field, None, float(xs.mean()), std))
        else:
            features.append(f)
    X = np.array([[f.value(leads[i]) for f in features] for i in range(len(rows))], dtype=float)
    y = np.array(labels, dtype=float)
    w, b = _gradient_descent(X[train], y[train])
    model = LogisticModel(tuple(features), tuple(float(v) for v in w), float(b))
    held_out = auc([labels[i] for i in test], [model.probability(leads[i]) for i in test])
    return model, held_out, len(train), len(test)


def _gradient_descent(
    X: np.ndarray[Any, Any], y: np.ndarray[Any, Any], l2: float = 0.01, steps: int = 2000
) -> tuple[np.ndarray[Any, Any], float]:
    w = np.zeros(X.shape[1])
    b = 0.0
    rate = 0.5
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-(X @ w + b)))
        grad_w = X.T @ (p - y) / len(y) + l2 * w
        grad_b = float(np.mean(p - y))
        w -= rate * grad_w
        b -= rate * grad_b
    return w, b


def train(
    svc: Services, data: bytes, *, activate: bool = False, seed: int = 7, holdout: float = 0.25
) -> TrainingReport:
    columns, rows, labels = parse_history(data)
    model, held_out, n_train, n_test = fit(columns, rows, labels, seed, holdout)
    with svc.db.write() as s:
        if activate:
            s.execute(update(ScoringModelRow).values(active=False))
        row = ScoringModelRow(
            kind="logistic",
            model=model.to_dict(),
            auc=held_out,
            row_count=len(rows),
            active=activate,
            created_at=svc.clock.now(),
        )
        s.add(row)
        s.flush()
        model_id = row.id
    top = sorted(
        zip((f.name for f in model.features), model.weights, strict=True),
        key=lambda fw: -abs(fw[1]),
    )[:8]
    return TrainingReport(model_id, len(rows), n_train, n_test, held_out, activate, top)


def activate(svc: Services, model_id: int | None) -> None:
    """Make a trained model the scorer; `None` goes back to the points model."""
    with svc.db.write() as s:
        if model_id is not None and s.get(ScoringModelRow, model_id) is None:
            raise NotFound(f"scoring model {model_id} not found")
        s.execute(update(ScoringModelRow).values(active=False))
        if model_id is not None:
            s.execute(
                update(ScoringModelRow).where(ScoringModelRow.id == model_id).values(active=True)
            )
