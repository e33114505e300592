#!/usr/bin/env python3
"""Loads a model file with Python's xgboost and prints its prediction for every row of a CSV
of inputs (a header of feature names, `nan` for a missing input), one per line: the oracle
for the XGBoost-format export (dataflow/model/tests/model_xgboost_export.rs)."""

import argparse
import sys

from oracle_common import require

np, xgb = require("XGBoost oracle", "numpy", "xgboost")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True, help="an XGBoost JSON model file")
    parser.add_argument("--inputs", required=True, help="CSV of inputs with a header")
    args = parser.parse_args()
    with open(args.inputs) as f:
        names = f.readline().strip().split(",")
    rows = np.loadtxt(args.inputs, delimiter=",", skiprows=1, dtype=np.float32, ndmin=2)
    booster = xgb.Booster(model_file=args.model)
    predictions = booster.predict(xgb.DMatrix(rows, feature_names=names, missing=np.nan))
    sys.stdout.write("".join(f"{float(p)!r}\n" for p in predictions))


if __name__ == "__main__":
    main()
