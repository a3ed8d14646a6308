"""Train a binary classifier on a CSV: a scikit-learn random forest, or xgboost's XGBClassifier.

Lathe runs this as the `train-sklearn` step of pipeline.ts (a `pythonTrainer` from lathe/ml),
passing paths and params by the lathe_step convention. By hand, from this directory:

    PYTHONPATH=../../python /usr/bin/python3 train.py --input data=data/breast_cancer.csv \
        --output model=/tmp/model.joblib --output metrics=/tmp/metrics.json \
        --param-str label=diagnosis --param-str algorithm=random-forest --param maxDepth=4 \
        --param nEstimators=200 --param testSize=0.2 --param seed=42

(every param the pipeline declares, except the optional `positive`, must be given).

Input `data`: a CSV with a header row, numeric feature columns and one label column with exactly
two classes. Outputs: `model`, a joblib pickle of {model, features, label, classes, positive};
`metrics`, {accuracy, f1, roc_auc, n_train, n_test} on a stratified held-out split (also the
scalar output `accuracy`).

Exit codes: 0 ok, 2 bad data or params (e.g. no label column), 3 a library is missing.
"""

import csv
import sys
import time

import lathe_step


def fail(message, code=2):
    print(f"train.py: error: {message}", file=sys.stderr)
    sys.exit(code)


def read_csv(path, label):
    """Returns (feature names, rows of floats, labels) using only the standard library."""
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if not header:
            fail(f"{path} is empty; expected a header row")
        if label not in header:
            fail(f"label column '{label}' not found; columns are: {', '.join(header)}")
        label_index = header.index(label)
        features = [name for i, name in enumerate(header) if i != label_index]
        rows, labels = [], []
        for line, record in enumerate(reader, start=2):
            if not record:
                continue
            if len(record) != len(header):
                fail(f"line {line}: expected {len(header)} fields, found {len(record)}")
            try:
                rows.append([float(v) for i, v in enumerate(record) if i != label_index])
            except ValueError as error:
                fail(f"line {line}: a feature value is not a number ({error})")
            labels.append(record[label_index])
    if not rows:
        fail("the CSV has a header but no data rows")
    return features, rows, labels


def make_model(algorithm, max_depth, n_estimators, seed):
    if algorithm == "xgboost":
        try:
            from xgboost import XGBClassifier
        except ImportError as error:
            fail(f"{error}; {sys.executable} needs xgboost (Debian: apt-get install -y python3-xgboost)", 3)
        return XGBClassifier(
            n_estimators=n_estimators, max_depth=max_depth, learning_rate=0.1, random_state=seed, n_jobs=1
        )
    from sklearn.ensemble import RandomForestClassifier

    return RandomForestClassifier(n_estimators=n_estimators, max_depth=max_depth, random_state=seed)


def main():
    ctx = lathe_step.context()
    p = ctx.params
    label, algorithm = p["label"], p["algorithm"]
    if not 0 < p["testSize"] < 1:
        fail(f"testSize {p['testSize']} must be between 0 and 1")
    try:
        import joblib
        import numpy as np
        from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
        from sklearn.model_selection import train_test_split
    except ImportError as error:
        fail(f"{error}; {sys.executable} needs scikit-learn (Debian: apt-get install -y python3-sklearn)", 3)

    features, rows, labels = read_csv(ctx.inputs["data"], label)
    classes = sorted(set(labels))
    if len(classes) != 2:
        fail(f"label column '{label}' must have exactly 2 classes, found {len(classes)}: {classes[:10]}")
    positive = p.get("positive") or classes[-1]
    if positive not in classes:
        fail(f"positive '{positive}' is not a class of '{label}' ({', '.join(classes)})")
    negative = classes[0] if classes[1] == positive else classes[1]
    X = np.asarray(rows, dtype=float)
    y = np.asarray([1 if value == positive else 0 for value in labels])
    print(f"loaded {X.shape[0]} rows x {X.shape[1]} features", flush=True)

    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=p["testSize"], random_state=p["seed"], stratify=y
    )
    model = make_model(algorithm, p["maxDepth"], p["nEstimators"], p["seed"])
    started = time.perf_counter()
    model.fit(X_train, y_train)
    print(
        f"trained {type(model).__name__}(n_estimators={p['nEstimators']}, max_depth={p['maxDepth']}) "
        f"on {len(y_train)} rows in {time.perf_counter() - started:.2f}s",
        flush=True,
    )

    predicted = model.predict(X_test)
    probability = model.predict_proba(X_test)[:, 1]
    metrics = ctx.write_metrics(
        {
            "accuracy": accuracy_score(y_test, predicted),
            "f1": f1_score(y_test, predicted),
            "roc_auc": roc_auc_score(y_test, probability),
            "n_train": len(y_train),
            "n_test": len(y_test),
        }
    )
    print(f"test accuracy {metrics['accuracy']:.4f}, f1 {metrics['f1']:.4f}, roc_auc {metrics['roc_auc']:.4f}")
    bundle = {"model": model, "features": features, "label": label, "classes": [negative, positive], "positive": positive}
    joblib.dump(bundle, ctx.outputs["model"])


if __name__ == "__main__":
    main()
