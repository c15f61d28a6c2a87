#!/usr/bin/python3
"""scikit-learn peer of `npm run bench:quality`.

  sklearn_quality.py generate DIR       writes the generated datasets (CSV) into DIR, prints their list as JSON
  sklearn_quality.py fit JOB.json       fits every kind's scikit-learn counterpart on the same train/test files

Counterparts, with scikit-learn's defaults (max_iter raised so they converge): LogisticRegression,
Ridge, RandomForest*, HistGradientBoosting*, MLP*((128,), max_iter=300). Every model gets the same
preprocessing, the usual pipeline: median imputation and standardization of numbers, most frequent
imputation and one-hot encoding of categories. Prints one JSON object per line:
{"dataset", "kind", "score", "seconds"}. Run with Debian's interpreter (python3-sklearn 1.2).
"""
import csv
import gzip
import json
import os
import sys
import time

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_digits, make_classification, make_friedman1
from sklearn.ensemble import (HistGradientBoostingClassifier, HistGradientBoostingRegressor,
                              RandomForestClassifier, RandomForestRegressor)
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, r2_score
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler


def counterparts(task, seed):
    if task == "classification":
        return {
            "logistic_regression": LogisticRegression(max_iter=1000),
            "random_forest": RandomForestClassifier(random_state=seed, n_jobs=1),
            "gradient_boosting": HistGradientBoostingClassifier(random_state=seed),
            "mlp": MLPClassifier((128,), max_iter=300, random_state=seed),
        }
    return {
        "linear_regression": Ridge(),
        "random_forest": RandomForestRegressor(random_state=seed, n_jobs=1),
        "gradient_boosting": HistGradientBoostingRegressor(random_state=seed),
        "mlp": MLPRegressor((128,), max_iter=300, random_state=seed),
    }


def read_csv(path):
    opener = gzip.open if path.endswith(".gz") else open
    with opener(path, "rt", newline="") as f:
        rows = list(csv.reader(f))
    return rows[0], rows[1:]


def is_number(v):
    try:
        float(v)
        return True
    except ValueError:
        return False


def columns(header, train, target):
    """Feature columns as numeric or categorical, from the training rows (every non-empty value a number: numeric)."""
    numeric, categorical = [], []
    for j, name in enumerate(header):
        if name == target:
            continue
        values = [r[j] for r in train if r[j] != ""]
        (numeric if values and all(is_number(v) for v in values) else categorical).append(j)
    return numeric, categorical


def matrix(rows, numeric, categorical):
    num = np.array([[float(r[j]) if r[j] != "" else np.nan for j in numeric] for r in rows], dtype=np.float64).reshape(len(rows), len(numeric))
    cat = np.array([[r[j] if r[j] != "" else np.nan for j in categorical] for r in rows], dtype=object).reshape(len(rows), len(categorical))
    return np.concatenate([num.astype(object), cat], axis=1) if categorical else num


def preprocessing(n_numeric, n_categorical):
    parts = [("num", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), list(range(n_numeric)))]
    if n_categorical:
        parts.append(("cat", make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")),
                      list(range(n_numeric, n_numeric + n_categorical))))
    return ColumnTransformer(parts)


def fit(job):
    seed = job.get("seed", 0)
    only = set(job.get("kinds") or [])
    for d in job["datasets"]:
        header, train = read_csv(d["train"])
        _, test = read_csv(d["test"])
        t = header.index(d["target"])
        numeric, categorical = columns(header, train, d["target"])
        x_train, x_test = matrix(train, numeric, categorical), matrix(test, numeric, categorical)
        if d["task"] == "classification":
            y_train, y_test = [r[t] for r in train], [r[t] for r in test]
        else:
            y_train, y_test = np.array([float(r[t]) for r in train]), np.array([float(r[t]) for r in test])
        for kind, model in counterparts(d["task"], seed).items():
            if only and kind not in only:
                continue
            pipe = make_pipeline(preprocessing(len(numeric), len(categorical)), model)
            t0 = time.perf_counter()
            pipe.fit(x_train, y_train)
            seconds = time.perf_counter() - t0
            pred = pipe.predict(x_test)
            score = accuracy_score(y_test, pred) if d["task"] == "classification" else r2_score(y_test, pred)
            print(json.dumps({"dataset": d["name"], "kind": kind, "score": float(score), "seconds": seconds}), flush=True)


def write_csv(path, header, rows):
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(header)
        w.writerows(rows)


def generate(out):
    """Data of other shapes than the examples: 8×8 digits (0..16), a noisy 3-class table, a nonlinear regression."""
    os.makedirs(out, exist_ok=True)
    made = []
    digits = load_digits()
    write_csv(os.path.join(out, "digits.csv"), [f"px{i}" for i in range(64)] + ["digit"],
              [[int(v) for v in row] + [int(y)] for row, y in zip(digits.data, digits.target)])
    made.append({"name": "digits", "file": os.path.join(out, "digits.csv"), "target": "digit", "task": "classification"})
    x, y = make_classification(n_samples=2000, n_features=20, n_informative=8, n_redundant=4, n_classes=3,
                               class_sep=0.8, flip_y=0.02, random_state=7)
    write_csv(os.path.join(out, "synthetic-3class.csv"), [f"f{i}" for i in range(20)] + ["cls"],
              [[round(float(v), 5) for v in row] + [f"c{int(c)}"] for row, c in zip(x, y)])
    made.append({"name": "synthetic-3class", "file": os.path.join(out, "synthetic-3class.csv"), "target": "cls", "task": "classification"})
    x, y = make_friedman1(n_samples=1500, n_features=10, noise=1.0, random_state=11)
    write_csv(os.path.join(out, "friedman1.csv"), [f"x{i}" for i in range(10)] + ["y"],
              [[round(float(v), 5) for v in row] + [round(float(t), 5)] for row, t in zip(x, y)])
    made.append({"name": "friedman1", "file": os.path.join(out, "friedman1.csv"), "target": "y", "task": "regression"})
    print(json.dumps(made))


if __name__ == "__main__":
    if sys.argv[1] == "generate":
        generate(sys.argv[2])
    else:
        with open(sys.argv[2]) as f:
            fit(json.load(f))
