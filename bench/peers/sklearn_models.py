#!/usr/bin/python3
"""scikit-learn peer of `npm run bench:ml`.

Reads a JSON job file written by bench/ml.ts (the same numeric feature matrices and the same
train/test row indices our estimators use), fits scikit-learn's corresponding models and prints
one JSON object per line: {"dataset", "model", "fitSeconds": [...], "score", "metric"}.
Run with Debian's interpreter (/usr/bin/python3, python3-sklearn 1.2).
"""
import json
import sys
import time

import numpy as np
import sklearn
from sklearn.ensemble import (HistGradientBoostingClassifier, HistGradientBoostingRegressor,
                              RandomForestClassifier, RandomForestRegressor)
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.metrics import accuracy_score, r2_score


def models(task):
    """Model kind -> constructor taking a seed (scikit-learn's defaults otherwise)."""
    if task == "classification":
        return {
            "logistic_regression": lambda seed: LogisticRegression(),
            "random_forest": lambda seed: RandomForestClassifier(random_state=seed),
            "gradient_boosting": lambda seed: HistGradientBoostingClassifier(random_state=seed),
        }
    return {
        "linear_regression": lambda seed: Ridge(),
        "random_forest": lambda seed: RandomForestRegressor(random_state=seed),
        "gradient_boosting": lambda seed: HistGradientBoostingRegressor(random_state=seed),
    }


def score(model, x_test, y_test, task):
    pred = model.predict(x_test)
    if task == "classification":
        return float(accuracy_score(y_test, pred))
    return float(r2_score(y_test, pred))


def main():
    with open(sys.argv[1]) as f:
        job = json.load(f)
    repeats = job.get("repeats", 3)
    print(json.dumps({"sklearn": sklearn.__version__, "numpy": np.__version__}), flush=True)
    for ds in job["datasets"]:
        x = np.asarray(ds["x"], dtype=np.float64).reshape(ds["rows"], ds["cols"])
        y = np.asarray(ds["y"], dtype=np.int64 if ds["task"] == "classification" else np.float64)
        train = np.asarray(ds["train"], dtype=np.int64)
        test = np.asarray(ds["test"], dtype=np.int64)
        x_train, y_train, x_test, y_test = x[train], y[train], x[test], y[test]
        for name, make in models(ds["task"]).items():
            if job.get("only") and name not in job["only"]:
                continue
            if ds.get("only") and name not in ds["only"]:
                continue
            times = []
            model = None
            for _ in range(ds.get("repeats", repeats)):
                model = make(0)
                t0 = time.perf_counter()
                model.fit(x_train, y_train)
                times.append(time.perf_counter() - t0)
            seed_scores = [score(model, x_test, y_test, ds["task"])]
            if name in job.get("seededKinds", []) and not ds.get("only"):
                for seed in range(1, job.get("seeds", 1)):
                    seed_scores.append(score(make(seed).fit(x_train, y_train), x_test, y_test, ds["task"]))
            print(json.dumps({"dataset": ds["name"], "model": name, "fitSeconds": times,
                              "score": seed_scores[0], "seedScores": seed_scores}), flush=True)


if __name__ == "__main__":
    main()
