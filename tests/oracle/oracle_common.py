"""What the oracle scripts share: a loud exit when a package is missing, and the indicator
settings on the command line (pricestream's defaults)."""

import importlib
import sys


def require(oracle, *modules):
    """The modules, imported. When one is missing, exits 3 naming the oracle: the Rust tests
    report that as a failure, never as a skip."""
    try:
        return [importlib.import_module(name) for name in modules]
    except ImportError as err:
        sys.stderr.write(
            f"{oracle} unavailable ({err}). Install it with: pip install -r tests/oracle/requirements.txt\n"
        )
        sys.exit(3)


def add_indicator_arguments(parser):
    """--sma, --ema, --rsi, --macd, --stoch, --bbands and --willr."""
    parser.add_argument("--sma", type=int, default=20)
    parser.add_argument("--ema", type=int, default=20)
    parser.add_argument("--rsi", type=int, default=14)
    parser.add_argument("--macd", default="12,26,9", help="fast,slow,signal")
    parser.add_argument("--stoch", default="5,3,3", help="fastK,slowK,slowD (SMA smoothing)")
    parser.add_argument("--bbands", default="20,2,2", help="period,devUp,devDown (SMA middle)")
    parser.add_argument("--willr", type=int, default=14)
