"""A `pricestream-analytics query` export in pandas, typed, with the seed's column names.

    pricestream-analytics query features --ticker NVDA --out nvda.parquet
    python3 examples/python/read_export.py nvda.parquet

    pricestream-analytics query training-set --all --as-of 2026-12-01 --out train.parquet
    python3 examples/python/read_export.py train.parquet --training

Parquet keeps the types (dates as dates, periods as integers, missing values as NaN/None);
CSV and JSON-lines exports are read with the same types here. `--training` splits a training
set into the model's inputs and its label. Needs pandas and pyarrow
(examples/python/requirements.txt).
"""

import argparse
import sys

import pandas as pd

# The columns that are dates or instants in every export (features: dateTime, knownFrom;
# predictions: as_of, target_date, known_from).
DATES = ["dateTime", "as_of", "target_date"]
INSTANTS = ["knownFrom", "known_from"]


def read(path: str) -> pd.DataFrame:
    """The export at `path` (.parquet, .csv, .json/.jsonl) as a DataFrame."""
    if path.endswith(".parquet"):
        frame = pd.read_parquet(path)
    elif path.endswith(".csv"):
        frame = pd.read_csv(path)
    else:
        frame = pd.read_json(path, lines=True, dtype=False)
    for column in DATES:
        if column in frame and not path.endswith(".parquet"):
            frame[column] = pd.to_datetime(frame[column]).dt.date
    for column in INSTANTS:
        if column in frame and not path.endswith(".parquet"):
            frame[column] = pd.to_datetime(frame[column], utc=True)
    return frame


def training_split(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.Series]:
    """The model's inputs (every indicator value and the close) and its label."""
    keys = {"ticker", "timeframe", "dateTime", "id", "label", "knownFrom", "adjustmentFactor"}
    periods = [c for c in frame.columns if c.endswith("Period")]
    inputs = frame[[c for c in frame.columns if c not in keys and c not in periods]]
    return inputs, frame["label"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("path", help="the export: .parquet, .csv or .json/.jsonl")
    parser.add_argument("--training", action="store_true", help="split a training set into inputs and label")
    args = parser.parse_args()
    frame = read(args.path)
    print(f"{len(frame)} rows, {len(frame.columns)} columns", file=sys.stderr)
    if args.training:
        inputs, label = training_split(frame.dropna(subset=["label"]))
        print(f"inputs {inputs.shape}, label {label.shape}", file=sys.stderr)
    print(frame.dtypes.to_string())
    print(frame.head().to_string())


if __name__ == "__main__":
    main()
