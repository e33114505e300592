"""The feature mart as a pandas DataFrame, read from its changelog topic.

Reads `pricestream.features` (or --topic) from the beginning to the current end of every
partition, keeps the last value of each key and drops a key whose last message is a tombstone
(a null value) or an older release's `{"op": "delete"}` body. The result has one row per mart
row, with the topic's camelCase columns (the seed's column names), indexed by ticker,
timeframe and dateTime: the same rows as `instrument_mart.features`.

    python3 examples/python/features_table.py --brokers 127.0.0.1:9092
    python3 examples/python/features_table.py --topic prod.pricestream.features --csv mart.csv
    python3 examples/python/features_table.py --follow       # then keep it equal to the mart

With --follow it goes on reading after the end and applies each change as it comes, so the
frame stays equal to the mart (it prints the row count whenever changes arrived; Ctrl-C or
SIGTERM stops it, and the frame is then printed or written).

Needs confluent-kafka and pandas (examples/python/requirements.txt).
"""

import argparse
import json
import signal
import sys
import uuid

import pandas as pd
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition


def apply(table: dict, message) -> None:
    """Applies one changelog message to `table`: the key's new row, or its deletion."""
    key = message.key().decode()
    value = message.value()
    body = None if value is None else json.loads(value)
    if body is None or body.get("op") == "delete":
        table.pop(key, None)
    else:
        table[key] = body


def read_table(brokers: str, topic: str, timeout_s: float = 10.0, follow: bool = False) -> dict:
    """The last value of every key of `topic` that is not deleted, as parsed JSON objects. With
    `follow`, goes on applying changes after the end, reporting the row count, until Ctrl-C."""
    consumer = Consumer(
        {
            "bootstrap.servers": brokers,
            # A group of its own that commits nothing: every run reads the whole topic.
            "group.id": f"features-table-{uuid.uuid4()}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    try:
        metadata = consumer.list_topics(topic, timeout=timeout_s)
        if metadata.topics[topic].error is not None:
            raise SystemExit(f"topic {topic}: {metadata.topics[topic].error}")
        partitions = [TopicPartition(topic, p) for p in metadata.topics[topic].partitions]
        # Where each partition ends now: the table is read up to there.
        end = {}
        for tp in partitions:
            low, high = consumer.get_watermark_offsets(tp, timeout=timeout_s)
            if high > low:
                end[tp.partition] = high
        # Every partition when following (an empty one gets changes later too).
        assigned = [tp.partition for tp in partitions] if follow else list(end)
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in assigned])
        table = {}
        while end:
            message = consumer.poll(timeout_s)
            if message is None:
                raise SystemExit(f"topic {topic}: no message within {timeout_s} s before its end")
            if message.error():
                raise SystemExit(f"topic {topic}: {message.error()}")
            apply(table, message)
            if message.offset() + 1 >= end.get(message.partition(), 0):
                end.pop(message.partition(), None)
        if follow:
            # Ctrl-C or SIGTERM ends following; a background start may have ignored SIGINT.
            for stop in (signal.SIGINT, signal.SIGTERM):
                signal.signal(stop, signal.default_int_handler)
            print(f"{len(table)} rows: the mart as of now; following", file=sys.stderr)
            try:
                while True:
                    messages = consumer.consume(num_messages=10_000, timeout=1.0)
                    for message in messages:
                        if message.error():
                            raise SystemExit(f"topic {topic}: {message.error()}")
                        apply(table, message)
                    if messages:
                        print(f"{len(table)} rows after {len(messages)} change(s)", file=sys.stderr)
            except KeyboardInterrupt:
                pass
        return table
    finally:
        consumer.close()


def to_frame(table: dict) -> pd.DataFrame:
    """One row per key, the topic's columns, indexed like the mart's primary key."""
    rows = [{k: v for k, v in body.items() if k != "schema_version"} for body in table.values()]
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    frame["dateTime"] = pd.to_datetime(frame["dateTime"])
    return frame.set_index(["ticker", "timeframe", "dateTime"]).sort_index()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--brokers", default="127.0.0.1:9092", help="bootstrap brokers, host:port[,...]")
    parser.add_argument("--topic", default="pricestream.features", help="the features changelog topic")
    parser.add_argument("--csv", help="write the frame to this CSV file instead of printing a summary")
    parser.add_argument("--follow", action="store_true", help="keep applying changes after the end (Ctrl-C stops)")
    args = parser.parse_args()
    frame = to_frame(read_table(args.brokers, args.topic, follow=args.follow))
    if args.csv:
        frame.to_csv(args.csv)
    else:
        print(f"{len(frame)} rows", file=sys.stderr)
        print(frame.tail())


if __name__ == "__main__":
    main()
