#!/usr/bin/env python3
"""Computes the seed's feature table (`combineDatasets`) from a Yahoo CSV with pandas and TA-Lib.

The independent oracle for the feature mart: the price series LEFT OUTER JOINed, on the date, with one
frame per indicator (the seed's one table per indicator, which has rows only from the end of the
indicator's lookback on), numbered by date, with the close `--horizon-bars` rows later as the label.

Input: a Yahoo CSV (Date,Open,High,Low,Close,Adj Close,Volume; Date, High, Low and Close are used; the
names are matched case-insensitively). Lines whose date or prices do not parse are dropped, a repeated
date keeps its first line, rows are ordered by date.

Output: CSV on stdout (or `--output`), one row per bar in date order, columns

    dateTime, emaTimePeriod, ema, fastKPeriod, slowKPeriod, slowDPeriod, slowD, slowK, bbTimePeriod,
    bbSd, lowerBand, middleBand, upperBand, signalPeriod, fastPeriod, slowPeriod, macd, macdHist,
    macdSignal, rsiTimePeriod, rsi, smaTimePeriod, sma, willrTimePeriod, willr, close, id, label

dateTime as YYYY-MM-DD, periods and id as integers, every other value as Python's shortest
round-trip repr (it parses back to the same double); an empty field is null (inside a lookback, or a
label whose later bar does not exist), never 0.

    python3 tests/oracle/seed_join.py --input ../shared/data/market/nvda-1999-2014.csv \
        [--horizon-bars 2] [--sma 20 --ema 20 --rsi 14 --macd 12,26,9 --stoch 5,3,3 --bbands 20,2,2 \
         --willr 14] [--output F]

The indicator options and defaults are those of talib_reference.py (and of the `indicators` config
section). Install with: pip install -r tests/oracle/requirements.txt
"""

import argparse
import csv
import math
import sys

from oracle_common import add_indicator_arguments, require

np, pd, talib = require("seed-join oracle", "numpy", "pandas", "talib")

COLUMNS = [
    "dateTime", "emaTimePeriod", "ema", "fastKPeriod", "slowKPeriod", "slowDPeriod", "slowD", "slowK",
    "bbTimePeriod", "bbSd", "lowerBand", "middleBand", "upperBand", "signalPeriod", "fastPeriod",
    "slowPeriod", "macd", "macdHist", "macdSignal", "rsiTimePeriod", "rsi", "smaTimePeriod", "sma",
    "willrTimePeriod", "willr", "close", "id", "label",
]
INTEGER_COLUMNS = {name for name in COLUMNS if name.endswith("Period")} | {"id"}


def ints(text):
    return [int(v) for v in text.split(",")]


def read_bars(path):
    """The bars of a Yahoo CSV: dateTime (datetime64), high, low, close (float64), ordered by date."""
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    names = {name.strip().lower(): name for name in raw.columns}
    missing = [c for c in ("date", "high", "low", "close") if c not in names]
    if missing:
        raise SystemExit(f"{path}: missing column(s) {missing}")
    bars = pd.DataFrame({
        "dateTime": pd.to_datetime(raw[names["date"]].str.strip(), format="%Y-%m-%d", errors="coerce"),
        **{c: pd.to_numeric(raw[names[c]].str.strip(), errors="coerce") for c in ("high", "low", "close")},
    })
    # The seed drops rows with a null date; the extractor refuses a line whose prices do not parse.
    bars = bars.dropna(subset=["dateTime", "high", "low", "close"])
    bars = bars.drop_duplicates(subset="dateTime", keep="first")
    return bars.sort_values("dateTime", kind="stable").reset_index(drop=True)


def indicator_frame(dates, settings, values):
    """One indicator's table: its settings (periods, deviations) and values on the dates where every
    value is defined."""
    columns = {name: np.asarray(series, dtype=np.float64) for name, series in values.items()}
    frame = pd.DataFrame({"dateTime": dates, **columns})
    frame = frame.dropna(subset=list(values)).copy()
    for name, setting in settings.items():
        frame[name] = setting
    return frame[["dateTime", *settings, *values]]


def indicator_frames(bars, args):
    """The seven indicator tables, as the extractor stores them, with the seed's column names."""
    high, low, close = (bars[c].to_numpy(dtype=np.float64) for c in ("high", "low", "close"))
    dates = bars["dateTime"]
    fast, slow, signal = ints(args.macd)
    fast_k, slow_k, slow_d = ints(args.stoch)
    bb = args.bbands.split(",")
    bb_period, bb_up, bb_down = int(bb[0]), float(bb[1]), float(bb[2])

    macd, macd_signal, macd_hist = talib.MACD(close, fastperiod=fast, slowperiod=slow, signalperiod=signal)
    stoch_k, stoch_d = talib.STOCH(high, low, close, fastk_period=fast_k, slowk_period=slow_k,
                                   slowk_matype=0, slowd_period=slow_d, slowd_matype=0)
    upper, middle, lower = talib.BBANDS(close, timeperiod=bb_period, nbdevup=bb_up, nbdevdn=bb_down, matype=0)
    return [
        indicator_frame(dates, {"emaTimePeriod": args.ema}, {"ema": talib.EMA(close, timeperiod=args.ema)}),
        indicator_frame(dates, {"fastKPeriod": fast_k, "slowKPeriod": slow_k, "slowDPeriod": slow_d},
                        {"slowD": stoch_d, "slowK": stoch_k}),
        indicator_frame(dates, {"bbTimePeriod": bb_period, "bbSd": bb_up},
                        {"lowerBand": lower, "middleBand": middle, "upperBand": upper}),
        indicator_frame(dates, {"signalPeriod": signal, "fastPeriod": fast, "slowPeriod": slow},
                        {"macd": macd, "macdHist": macd_hist, "macdSignal": macd_signal}),
        indicator_frame(dates, {"rsiTimePeriod": args.rsi}, {"rsi": talib.RSI(close, timeperiod=args.rsi)}),
        indicator_frame(dates, {"smaTimePeriod": args.sma}, {"sma": talib.SMA(close, timeperiod=args.sma)}),
        indicator_frame(dates, {"willrTimePeriod": args.willr},
                        {"willr": talib.WILLR(high, low, close, timeperiod=args.willr)}),
    ]


def combine(bars, frames, horizon):
    """The seed's combineDatasets: prices LEFT OUTER JOIN each indicator on the date, row_number by
    date as id, and the close `horizon` rows later as label."""
    table = bars[["dateTime", "close"]]
    for frame in frames:
        table = table.merge(frame, on="dateTime", how="left", validate="one_to_one")
    table = table.sort_values("dateTime", kind="stable").reset_index(drop=True)
    table["id"] = np.arange(1, len(table) + 1)
    table["label"] = table["close"].shift(-horizon)
    return table[COLUMNS]


def cell(name, value):
    if name == "dateTime":
        return value.strftime("%Y-%m-%d")
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return ""
    if name in INTEGER_COLUMNS:
        return str(int(value))
    return repr(float(value))


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--input", required=True)
    parser.add_argument("--output", help="file to write (default: stdout)")
    parser.add_argument("--horizon-bars", type=int, default=2,
                        help="the label is the close this many rows later (features.horizon_bars)")
    add_indicator_arguments(parser)
    args = parser.parse_args()
    if args.horizon_bars < 1:
        parser.error(f"--horizon-bars must be >= 1, got {args.horizon_bars}")

    bars = read_bars(args.input)
    table = combine(bars, indicator_frames(bars, args), args.horizon_bars)
    out = open(args.output, "w", newline="") if args.output else sys.stdout
    try:
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(COLUMNS)
        for row in table.itertuples(index=False, name=None):
            writer.writerow([cell(name, value) for name, value in zip(COLUMNS, row)])
    finally:
        if out is not sys.stdout:
            out.close()


if __name__ == "__main__":
    main()
