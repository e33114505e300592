"""Waits on the features changelog for a set of rows, then prints the wall-clock time (seconds
since the epoch) it saw the last of them. The service publishes an epoch's changes while it
writes them to Cassandra (it awaits both before the epoch completes), so this is when they
were written, within one epoch's write time. Used by scripts/bench/steady-state.

usage:
  changelog_watch.py BROKERS TOPIC day DATE TICKERS TIMEOUT_S
      every one of TICKERS tickers has its row of DATE with all seven indicators
  changelog_watch.py BROKERS TOPIC restated TICKER BEFORE FACTOR ROWS TIMEOUT_S
      ROWS rows of TICKER before BEFORE carry adjustmentFactor FACTOR
Prints "ready" once it reads from the topic's end, then the time; exits 1 on timeout.
"""

import json
import sys
import time

from confluent_kafka import Consumer, TopicPartition

INDICATORS = ("sma", "ema", "rsi", "macd", "slowK", "middleBand", "willr")


def day_rows(date, tickers):
    """A test of each change: true once every ticker's row of `date` is complete."""
    complete = set()

    def seen(change):
        if change.get("dateTime") == date and all(change.get(name) is not None for name in INDICATORS):
            complete.add(change.get("ticker"))
        return len(complete) >= int(tickers)

    return seen


def restated_rows(ticker, before, factor, rows):
    """A test of each change: true once `rows` rows of `ticker` before `before` have `factor`."""
    factors, state = {}, {"matching": 0}

    def seen(change):
        day = change.get("dateTime", "")
        if change.get("ticker") != ticker or day >= before:
            return False
        was = factors.get(day) == float(factor)
        factors[day] = change.get("adjustmentFactor", 1.0)
        state["matching"] += (factors[day] == float(factor)) - was
        return state["matching"] == int(rows)

    return seen


def main():
    brokers, topic, mode, *args = sys.argv[1:]
    test = {"day": day_rows, "restated": restated_rows}[mode](*args[:-1])
    deadline = time.time() + float(args[-1])
    consumer = Consumer({"bootstrap.servers": brokers, "group.id": f"changelog-watch-{time.time_ns()}",
                         "enable.auto.commit": False})
    partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
    ends = []
    for partition in partitions:
        _, high = consumer.get_watermark_offsets(TopicPartition(topic, partition), timeout=10)
        ends.append(TopicPartition(topic, partition, high))
    consumer.assign(ends)
    print("ready", flush=True)
    while time.time() < deadline:
        message = consumer.poll(0.1)
        if message is None or message.error():
            continue
        change = json.loads(message.value())
        if change.get("op") == "upsert" and test(change):
            print(f"{time.time():.6f}", flush=True)
            return 0
    print(f"timed out waiting for the {mode} rows {args[:-1]}", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
