#!/usr/bin/python3
"""scikit-learn peer of `npm run bench:text`.

Usage: sklearn_text.py FORTUNES_CSV OUT_DIR
Splits fortunes.csv 80/20 stratified by topic (train_test_split, random_state=0), writes the two
halves to OUT_DIR/train.csv and OUT_DIR/test.csv (bench/text-classification.ts uploads the same
files to our platform), then fits TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True) with
LinearSVC and with LogisticRegression (scikit-learn's defaults otherwise) and prints one JSON
object per line: {"model", "accuracy", "fitSeconds", "features"}.
Run with Debian's interpreter (/usr/bin/python3, python3-sklearn 1.2).
"""
import csv
import json
import os
import sys
import time

import numpy as np

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.svm import LinearSVC


def write(path, texts, topics):
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["text", "topic"])
        w.writerows(zip(texts, topics))


def main():
    source, out = sys.argv[1], sys.argv[2]
    with open(source, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    texts = [r["text"] for r in rows]
    topics = [r["topic"] for r in rows]
    x_train, x_test, y_train, y_test = train_test_split(texts, topics, test_size=0.2, stratify=topics, random_state=0)
    write(os.path.join(out, "train.csv"), x_train, y_train)
    write(os.path.join(out, "test.csv"), x_test, y_test)
    for name, model in [("svm", LinearSVC()), ("logistic_regression", LogisticRegression())]:
        pipe = make_pipeline(TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True), model)
        t0 = time.perf_counter()
        pipe.fit(x_train, y_train)
        seconds = time.perf_counter() - t0
        accuracy = float((pipe.predict(x_test) == np.array(y_test)).mean())
        features = len(pipe.steps[0][1].vocabulary_)
        print(json.dumps({"model": name, "accuracy": accuracy, "fitSeconds": seconds, "features": features}), flush=True)


if __name__ == "__main__":
    main()
