"""Train a random forest on a CSV with a binary label column; write the model, metrics and accuracy.

Lathe runs this as the `train-sklearn` command component (see pipeline.ts). It can also be run
by hand:

    /usr/bin/python3 train.py --data data/breast_cancer.csv --model /tmp/model.joblib \
        --metrics /tmp/metrics.json --accuracy /tmp/accuracy.json

Inputs: a CSV with a header row, numeric feature columns and one label column with exactly two
classes. Outputs: --model, a joblib pickle of {model, features, label, classes, positive};
--metrics, a JSON object (accuracy, f1, roc_auc, n_train, n_test) on a stratified 80/20 split;
--accuracy, the test accuracy as a bare JSON number.

Exit codes: 0 ok, 2 bad data or arguments (e.g. no label column), 3 scikit-learn missing.
"""

import argparse
import csv
import json
import sys
import time


def fail(message, code=2):
    print(f"train.py: error: {message}", file=sys.stderr)
    sys.exit(code)


def positive_int(text):
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be an integer >= 1")
    return value


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--data", required=True, help="CSV file with a header row")
    parser.add_argument("--label", default="diagnosis", help="label column (default: diagnosis)")
    parser.add_argument(
        "--positive",
        help="the positive class for f1 and roc_auc (default: the last class in sorted order)",
    )
    parser.add_argument("--max-depth", type=positive_int, default=6, help="tree depth (default: 6)")
    parser.add_argument("--n-estimators", type=positive_int, default=200, help="trees (default: 200)")
    parser.add_argument("--seed", type=int, default=42, help="seed for the split and the forest")
    parser.add_argument("--test-size", type=float, default=0.2, help="held-out fraction (default: 0.2)")
    parser.add_argument("--model", required=True, help="where to write the model (joblib pickle)")
    parser.add_argument("--metrics", required=True, help="where to write the metrics JSON object")
    parser.add_argument("--accuracy", required=True, help="where to write the accuracy as a JSON number")
    return parser.parse_args(argv)


def read_csv(path, label):
    """Returns (feature names, rows of floats, labels) using only the standard library."""
    try:
        handle = open(path, newline="", encoding="utf-8")
    except OSError as error:
        fail(f"cannot read {path}: {error.strerror}")
    with handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if not header:
            fail(f"{path} is empty; expected a header row")
        if label not in header:
            fail(f"label column '{label}' not found in {path}; columns are: {', '.join(header)}")
        label_index = header.index(label)
        features = [name for i, name in enumerate(header) if i != label_index]
        rows, labels = [], []
        for line, record in enumerate(reader, start=2):
            if not record:
                continue
            if len(record) != len(header):
                fail(f"{path}:{line}: expected {len(header)} fields, found {len(record)}")
            try:
                rows.append([float(v) for i, v in enumerate(record) if i != label_index])
            except ValueError as error:
                fail(f"{path}:{line}: a feature value is not a number ({error})")
            labels.append(record[label_index])
    if not rows:
        fail(f"{path} has a header but no data rows")
    return features, rows, labels


def write_json(path, value):
    with open(path, "w", encoding="utf-8") as handle:
        json.dump(value, handle, indent=2)
        handle.write("\n")


def main(argv=None):
    args = parse_args(argv)
    if not 0 < args.test_size < 1:
        fail(f"--test-size {args.test_size} must be between 0 and 1")
    try:
        import joblib
        import numpy as np
        from sklearn.ensemble import RandomForestClassifier
        from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
        from sklearn.model_selection import train_test_split
    except ImportError as error:
        fail(
            f"{error}; {sys.executable} needs scikit-learn (Debian: apt-get install -y python3-sklearn)",
            code=3,
        )

    features, rows, labels = read_csv(args.data, args.label)
    classes = sorted(set(labels))
    if len(classes) != 2:
        fail(f"label column '{args.label}' must have exactly 2 classes, found {len(classes)}: {classes[:10]}")
    positive = args.positive if args.positive is not None else classes[-1]
    if positive not in classes:
        fail(f"--positive '{positive}' is not a class of '{args.label}' ({', '.join(classes)})")
    negative = classes[0] if classes[1] == positive else classes[1]
    X = np.asarray(rows, dtype=float)
    y = np.asarray([1 if value == positive else 0 for value in labels])
    print(f"loaded {X.shape[0]} rows x {X.shape[1]} features from {args.data}", flush=True)
    print(f"label '{args.label}': {positive} (positive) {int(y.sum())}, {negative} {int(len(y) - y.sum())}", flush=True)

    X_train, X_test, y_train, y_test = train_test_split(
        X, y, test_size=args.test_size, random_state=args.seed, stratify=y
    )
    print(f"stratified split (seed {args.seed}): {len(y_train)} train, {len(y_test)} test", flush=True)

    model = RandomForestClassifier(
        n_estimators=args.n_estimators, max_depth=args.max_depth, random_state=args.seed
    )
    started = time.perf_counter()
    model.fit(X_train, y_train)
    print(
        f"trained RandomForestClassifier(n_estimators={args.n_estimators}, max_depth={args.max_depth})"
        f" in {time.perf_counter() - started:.2f}s",
        flush=True,
    )

    predicted = model.predict(X_test)
    probability = model.predict_proba(X_test)[:, 1]
    metrics = {
        "accuracy": float(accuracy_score(y_test, predicted)),
        "f1": float(f1_score(y_test, predicted)),
        "roc_auc": float(roc_auc_score(y_test, probability)),
        "n_train": int(len(y_train)),
        "n_test": int(len(y_test)),
    }
    print(
        f"test accuracy {metrics['accuracy']:.4f}, f1 {metrics['f1']:.4f}, roc_auc {metrics['roc_auc']:.4f}",
        flush=True,
    )

    bundle = {
        "model": model,
        "features": features,
        "label": args.label,
        "classes": [negative, positive],
        "positive": positive,
    }
    joblib.dump(bundle, args.model)
    write_json(args.metrics, metrics)
    with open(args.accuracy, "w", encoding="utf-8") as handle:
        handle.write(json.dumps(metrics["accuracy"]))
    print("wrote the model, metrics and accuracy", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
