"""GBDT peers for the ML bench: xgboost and scikit-learn's HistGradientBoostingClassifier.

Usage: /usr/bin/python3 bench/ml_peers.py DIR [--peers xgboost,sklearn_hgb]

DIR holds a dataset written by bench/ml-data.ts (writeBenchDataset):

  DIR/dataset.json  {"format": "lathe-bench-gbdt/1", "rows": R, "features": F, "train": T,
                     "test": R - T, "x": "x.f64", "y": "y.i32", "dtype": "float64",
                     "layout": "column-major"}
  DIR/x.f64         the feature matrix, raw little-endian float64, COLUMN-MAJOR: F blocks of R
                    values, feature 0's R values first (exactly the bytes of the Float64Array
                    columns, concatenated).
  DIR/y.i32         the labels, raw little-endian int32, R values (0 / 1).

Rows [0, T) are the training rows and rows [T, R) the holdout rows (the generator already
shuffled them). Loading is not timed; the matrix is converted to a C-contiguous float64 array (the
layout scikit-learn's make_classification returns) before anything is timed.

Prints one JSON object per line per peer on stdout:
  {"peer": "xgboost" | "sklearn_hgb", "fit_seconds": s, "predict_seconds": s, "auc": a, "version": v}
fit_seconds is the wall clock of fit() on the training rows (time.perf_counter), predict_seconds
that of predict_proba() on the holdout rows, auc the holdout ROC AUC of predict_proba[:, 1]
(sklearn.metrics.roc_auc_score). A peer whose module is missing prints {"peer": ..., "missing": true}.
"""

import json
import os
import sys
import time

PEERS = ("xgboost", "sklearn_hgb")


def load(directory):
    import numpy as np

    with open(os.path.join(directory, "dataset.json"), encoding="utf8") as f:
        header = json.load(f)
    if header.get("dtype") != "float64" or header.get("layout") != "column-major":
        raise SystemExit(f"unsupported dataset layout: {header}")
    rows, features, train = int(header["rows"]), int(header["features"]), int(header["train"])
    x = np.fromfile(os.path.join(directory, header["x"]), dtype="<f8")
    y = np.fromfile(os.path.join(directory, header["y"]), dtype="<i4")
    if x.size != rows * features or y.size != rows or not 0 < train < rows:
        raise SystemExit(f"dataset sizes do not match the header: x {x.size}, y {y.size}, {header}")
    x = np.ascontiguousarray(x.reshape(features, rows).T)  # C-contiguous rows × features
    return x[:train], y[:train], x[train:], y[train:]


def make_model(peer):
    if peer == "xgboost":
        import xgboost

        model = xgboost.XGBClassifier(
            n_estimators=100,
            max_depth=6,
            learning_rate=0.1,
            tree_method="hist",
            max_bin=255,
            n_jobs=2,
        )
        return model, xgboost.__version__
    if peer == "sklearn_hgb":
        import sklearn
        from sklearn.ensemble import HistGradientBoostingClassifier

        model = HistGradientBoostingClassifier(
            max_iter=100,
            max_depth=6,
            max_leaf_nodes=64,
            learning_rate=0.1,
            max_bins=255,
            early_stopping=False,
        )
        return model, sklearn.__version__
    raise SystemExit(f"unknown peer {peer!r}; known: {', '.join(PEERS)}")


def run(peer, data):
    try:
        model, version = make_model(peer)
        from sklearn.metrics import roc_auc_score
    except ImportError:
        return {"peer": peer, "missing": True}
    x_train, y_train, x_test, y_test = data
    start = time.perf_counter()
    model.fit(x_train, y_train)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    proba = model.predict_proba(x_test)
    predict_seconds = time.perf_counter() - start
    auc = float(roc_auc_score(y_test, proba[:, 1]))
    return {
        "peer": peer,
        "fit_seconds": fit_seconds,
        "predict_seconds": predict_seconds,
        "auc": auc,
        "version": version,
    }


def main(argv):
    args = list(argv)
    peers = list(PEERS)
    if "--peers" in args:
        i = args.index("--peers")
        if i + 1 >= len(args):
            raise SystemExit("--peers needs a comma-separated list")
        peers = [p for p in args[i + 1].split(",") if p]
        del args[i : i + 2]
    if len(args) != 1:
        raise SystemExit(__doc__)
    try:
        data = load(args[0])
    except ImportError:  # no numpy: every peer is missing
        for peer in peers:
            print(json.dumps({"peer": peer, "missing": True}), flush=True)
        return
    for peer in peers:
        print(json.dumps(run(peer, data)), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
