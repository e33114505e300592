#!/usr/bin/env python3
"""Runs TA-Lib on a price series and writes every output of the seven indicators.

Input: a Yahoo CSV (Date,Open,High,Low,Close,Adj Close,Volume; High/Low/Close are used) or any CSV
with high, low and close columns (case-insensitive). Output: CSV, one row per input bar, columns
index, sma, ema, rsi, macd, macd_signal, macd_hist, slow_k, slow_d, bb_upper, bb_middle, bb_lower,
willr; values are Python's shortest round-trip repr (parse them back to the same double), NaN
inside the lookback.

    python3 tests/oracle/talib_reference.py --input ../shared/data/market/nvda-1999-2014.csv \
        [--sma 20 --ema 20 --rsi 14 --macd 12,26,9 --stoch 5,3,3 --bbands 20,2,2 --willr 14] [--output F]

Install with: pip install -r tests/oracle/requirements.txt
"""

import argparse
import csv
import math
import sys

from oracle_common import add_indicator_arguments, require

np, talib = require("TA-Lib oracle", "numpy", "talib")

COLUMNS = [
    "sma", "ema", "rsi", "macd", "macd_signal", "macd_hist",
    "slow_k", "slow_d", "bb_upper", "bb_middle", "bb_lower", "willr",
]


def ints(text):
    return [int(v) for v in text.split(",")]


def read_prices(path):
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        raise SystemExit(f"{path}: no rows")
    names = {name.lower(): name for name in rows[0]}
    missing = [c for c in ("high", "low", "close") if c not in names]
    if missing:
        raise SystemExit(f"{path}: missing column(s) {missing}")
    return [np.array([float(r[names[c]]) for r in rows], dtype=np.float64) for c in ("high", "low", "close")]


def compute(high, low, close, args):
    fast, slow, signal = ints(args.macd)
    fast_k, slow_k, slow_d = ints(args.stoch)
    bb = args.bbands.split(",")
    macd = talib.MACD(close, fastperiod=fast, slowperiod=slow, signalperiod=signal)
    stoch = talib.STOCH(high, low, close, fastk_period=fast_k, slowk_period=slow_k, slowk_matype=0,
                        slowd_period=slow_d, slowd_matype=0)
    bands = talib.BBANDS(close, timeperiod=int(bb[0]), nbdevup=float(bb[1]), nbdevdn=float(bb[2]), matype=0)
    return [
        talib.SMA(close, timeperiod=args.sma),
        talib.EMA(close, timeperiod=args.ema),
        talib.RSI(close, timeperiod=args.rsi),
        *macd,
        *stoch,
        *bands,
        talib.WILLR(high, low, close, timeperiod=args.willr),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", required=True)
    parser.add_argument("--output", help="file to write (default: stdout)")
    add_indicator_arguments(parser)
    args = parser.parse_args()

    high, low, close = read_prices(args.input)
    outputs = compute(high, low, close, args)
    out = open(args.output, "w", newline="") if args.output else sys.stdout
    try:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(["index"] + COLUMNS)
        for i in range(len(close)):
            row = [i]
            for series in outputs:
                v = float(series[i])
                row.append("NaN" if math.isnan(v) else repr(v))
            writer.writerow(row)
    finally:
        if out is not sys.stdout:
            out.close()


if __name__ == "__main__":
    main()
