#!/usr/bin/env python3
"""Adjusts a delivered (raw) daily series for corporate actions with pandas, as docs/adjustment.md
defines it, and writes the adjusted series as a Yahoo CSV plus each bar's factor.

Input: a Yahoo CSV of delivered bars (Date,Open,High,Low,Close,Adj Close,Volume) and an actions
CSV (ticker,ex_date,kind,ratio,amount). Output (stdout or --output): Date,Open,High,Low,Close,
Adj Close,Volume,Factor with the adjusted open, high, low and close (Adj Close = Close) and the
delivered volume; numbers in Python's shortest round-trip repr.

    python3 tests/oracle/adjust.py --bars raw.csv --actions actions.csv \\
        --mode splits_and_dividends [--output F]

Install with: pip install -r tests/oracle/requirements.txt
"""

import argparse
import sys

from oracle_common import require

(pd,) = require("adjustment oracle", "pandas")

KIND_ORDER = {"split": 0, "cash_dividend": 1}


def action_factor(action, bars):
    """The factor of one action, or None when it does not count or is impossible."""
    before = bars[bars["Date"] < action.ex_date]
    if before.empty or bars["Date"].max() < action.ex_date:
        return None
    if action.kind == "split":
        return 1.0 / action.ratio
    previous_close = before["Close"].iloc[-1]
    if action.amount >= previous_close:
        return None
    return 1.0 - action.amount / previous_close


def factors(bars, actions, mode):
    applied = {"none": set(), "splits": {"split"}, "splits_and_dividends": {"split", "cash_dividend"}}[mode]
    actions = actions[actions["kind"].isin(applied)].copy()
    actions["order"] = actions["kind"].map(KIND_ORDER)
    # Latest first: each action multiplies the factor of every bar before its ex-date.
    actions = actions.sort_values(["ex_date", "order"], ascending=False)
    factor = pd.Series(1.0, index=bars.index)
    for action in actions.itertuples():
        f = action_factor(action, bars)
        if f is not None:
            earlier = bars["Date"] < action.ex_date
            factor[earlier] = factor[earlier] * f
    return factor


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bars", required=True)
    parser.add_argument("--actions", required=True)
    parser.add_argument("--mode", default="splits", choices=["none", "splits", "splits_and_dividends"])
    parser.add_argument("--output")
    args = parser.parse_args()

    bars = pd.read_csv(args.bars, dtype={"Volume": "int64"}, float_precision="round_trip")
    bars["Date"] = pd.to_datetime(bars["Date"]).dt.date
    bars = bars.sort_values("Date").reset_index(drop=True)
    actions = pd.read_csv(args.actions, float_precision="round_trip")
    actions["ex_date"] = pd.to_datetime(actions["ex_date"]).dt.date
    factor = factors(bars, actions, args.mode)

    out = open(args.output, "w") if args.output else sys.stdout
    out.write("Date,Open,High,Low,Close,Adj Close,Volume,Factor\n")
    for i, bar in bars.iterrows():
        f = factor[i]
        # Python floats, so that repr writes the shortest round-trip digits.
        o, h, l, c = (float(bar[name] * f) for name in ("Open", "High", "Low", "Close"))
        f = float(f)
        out.write(f"{bar['Date']},{o!r},{h!r},{l!r},{c!r},{c!r},{int(bar['Volume'])},{f!r}\n")


if __name__ == "__main__":
    main()
