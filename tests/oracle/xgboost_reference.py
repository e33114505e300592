#!/usr/bin/env python3
"""Trains XGBoost (tree_method=hist) on the folds of a walk-forward split and writes its predictions.

The reference for dataflow/model/tests/model_*.rs: the Rust test writes the table and the folds, this
script trains one XGBoost model per fold with the same hyperparameters and predicts the fold's test
rows, and the test compares the errors of both models on the same rows.

Inputs:

    --data F     CSV with a header: the input columns, then `target`. An empty field is a missing
                 input (NaN). Values are parsed exactly (round trip) and used as float32, as XGBoost
                 stores them.
    --folds F    CSV `train_end,test_start,test_end`: train on rows [0, train_end), predict rows
                 [test_start, test_end).
    --params J   JSON of hyperparameters under XGBoost's names: n_estimators, max_depth,
                 learning_rate, lambda, gamma, min_child_weight, max_bin, subsample,
                 colsample_bytree, seed, base_score (omitted or null: XGBoost estimates it).
    --nthread N  threads for XGBoost (default 2).
    --repeat N   train every fold N times and report the fastest (default 1), for timings.

Output: `--output F` gets CSV `row,prediction` for every test row (prediction as the exact float32
value); stdout gets one JSON line: {"xgboost": version, "nthread": N, "dmatrix_seconds": [...],
"train_seconds": [...], "importance": {...}} with, per fold, the time to build the DMatrix and the
time of xgb.train (which includes XGBoost's quantile sketch and binning), and the last fold's
model's get_score for each importance type (inputs named f0, f1, ... by column).

    python3 tests/oracle/xgboost_reference.py --data table.csv --folds folds.csv \
        --params '{"n_estimators": 100, "max_depth": 6}' --output predictions.csv

Install with: pip install -r tests/oracle/requirements.txt
"""

import argparse
import csv
import json
import sys
import time

from oracle_common import require

np, pd, xgb = require("XGBoost oracle", "numpy", "pandas", "xgboost")

# Our names -> XGBoost's learner parameters (n_estimators is the number of rounds instead).
PARAM_NAMES = {
    "max_depth": "max_depth",
    "learning_rate": "eta",
    "lambda": "lambda",
    "gamma": "gamma",
    "min_child_weight": "min_child_weight",
    "max_bin": "max_bin",
    "subsample": "subsample",
    "colsample_bytree": "colsample_bytree",
    "seed": "seed",
    "base_score": "base_score",
}


def booster_params(settings, nthread):
    params = {
        "objective": "reg:squarederror",
        "tree_method": "hist",
        "grow_policy": "depthwise",
        "nthread": nthread,
        "verbosity": 1,
    }
    for ours, theirs in PARAM_NAMES.items():
        if settings.get(ours) is not None:
            params[theirs] = settings[ours]
    return params


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--folds", required=True)
    parser.add_argument("--params", default="{}")
    parser.add_argument("--nthread", type=int, default=2)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--output", required=True)
    args = parser.parse_args()

    settings = json.loads(args.params)
    rounds = int(settings.get("n_estimators", 100))
    params = booster_params(settings, args.nthread)

    table = pd.read_csv(args.data, float_precision="round_trip")
    inputs = table.drop(columns=["target"]).to_numpy(dtype=np.float64).astype(np.float32)
    target = table["target"].to_numpy(dtype=np.float64).astype(np.float32)
    with open(args.folds, newline="") as f:
        folds = [tuple(int(v) for v in (r["train_end"], r["test_start"], r["test_end"])) for r in csv.DictReader(f)]

    dmatrix_seconds, train_seconds = [], []
    with open(args.output, "w", newline="") as out:
        writer = csv.writer(out)
        writer.writerow(["row", "prediction"])
        for train_end, test_start, test_end in folds:
            best_dmatrix = best_train = float("inf")
            for _ in range(max(1, args.repeat)):
                started = time.perf_counter()
                train = xgb.DMatrix(inputs[:train_end], label=target[:train_end], missing=np.nan,
                                    nthread=args.nthread)
                built = time.perf_counter()
                booster = xgb.train(params, train, num_boost_round=rounds)
                finished = time.perf_counter()
                best_dmatrix = min(best_dmatrix, built - started)
                best_train = min(best_train, finished - built)
            dmatrix_seconds.append(best_dmatrix)
            train_seconds.append(best_train)
            test = xgb.DMatrix(inputs[test_start:test_end], missing=np.nan, nthread=args.nthread)
            predictions = booster.predict(test)
            for offset, value in enumerate(predictions):
                writer.writerow([test_start + offset, repr(float(value))])

    # The last fold's model: XGBoost's own importances (inputs named f0, f1, ... by column).
    kinds = ["weight", "gain", "total_gain", "cover", "total_cover"]
    print(json.dumps({
        "xgboost": xgb.__version__,
        "nthread": args.nthread,
        "dmatrix_seconds": dmatrix_seconds,
        "train_seconds": train_seconds,
        "importance": {kind: booster.get_score(importance_type=kind) for kind in kinds},
    }))


if __name__ == "__main__":
    main()
