#!/usr/bin/env python3
"""Times TA-Lib's batch calls for the seven indicators and prints ns per bar.

Same series length (100,000 bars, a random walk with prices in the thousands) and default periods
as `cargo bench -p pricestream-indicators --bench indicators`, so the two can be compared:

    python3 tests/oracle/talib_bench.py [--bars 100000] [--repeat 50]

Install with: pip install -r tests/oracle/requirements.txt
"""

import argparse
import sys
import time

from oracle_common import require

np, talib = require("TA-Lib", "numpy", "talib")


def series(n):
    rng = np.random.default_rng(7)
    close = 2500.0 * np.cumprod(1.0 + rng.uniform(-0.02, 0.02, n))
    high = close * (1.0 + rng.uniform(0.0, 0.01, n))
    low = close * (1.0 - rng.uniform(0.0, 0.01, n))
    return high, low, close


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--bars", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=50)
    args = parser.parse_args()
    high, low, close = series(args.bars)

    calls = {
        "SMA(20)": lambda: talib.SMA(close, 20),
        "EMA(20)": lambda: talib.EMA(close, 20),
        "RSI(14)": lambda: talib.RSI(close, 14),
        "MACD(12,26,9)": lambda: talib.MACD(close, 12, 26, 9),
        "STOCH(5,3,3)": lambda: talib.STOCH(high, low, close, 5, 3, 0, 3, 0),
        "BBANDS(20,2,2)": lambda: talib.BBANDS(close, 20, 2.0, 2.0, 0),
        "WILLR(14)": lambda: talib.WILLR(high, low, close, 14),
    }

    def best(fn):
        fn()  # warm up
        times = []
        for _ in range(args.repeat):
            start = time.perf_counter_ns()
            fn()
            times.append(time.perf_counter_ns() - start)
        times.sort()
        return times[0], times[len(times) // 2]

    print(f"TA-Lib {talib.__version__} (C {talib.__ta_version__.decode()}), {args.bars} bars, "
          f"best/median of {args.repeat}")
    total_best = total_median = 0
    for name, fn in calls.items():
        b, m = best(fn)
        total_best += b
        total_median += m
        print(f"  {name:<16} {b / args.bars:7.2f} ns/bar (median {m / args.bars:7.2f})")
    b, m = best(lambda: [fn() for fn in calls.values()])
    print(f"  {'sum of the seven':<16} {total_best / args.bars:7.2f} ns/bar (median {total_median / args.bars:7.2f})")
    print(f"  {'all seven, one loop':<16} {b / args.bars:7.2f} ns/bar (median {m / args.bars:7.2f})")


if __name__ == "__main__":
    main()
