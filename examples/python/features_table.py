"""The feature mart as a pandas DataFrame, read from its changelog topic.

Reads `pricestream.features` (or --topic) from the beginning to the current end of every
partition, keeps the last value of each key and drops a key whose last message is a tombstone
(a null value) or an older release's `{"op": "delete"}` body. The result has one row per mart
row, with the topic's camelCase columns (the seed's column names), indexed by ticker,
timeframe and dateTime: the same rows as `instrument_mart.features`.

    python3 examples/python/features_table.py --brokers 127.0.0.1:9092
    python3 examples/python/features_table.py --topic prod.pricestream.features --csv mart.csv

Needs confluent-kafka and pandas (examples/python/requirements.txt).
"""

import argparse
import json
import sys
import uuid

import pandas as pd
from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition


def read_table(brokers: str, topic: str, timeout_s: float = 10.0) -> dict:
    """The last value of every key of `topic` that is not deleted, as parsed JSON objects."""
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
        consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in end])
        table = {}
        while end:
            message = consumer.poll(timeout_s)
            if message is None:
                raise SystemExit(f"topic {topic}: no message within {timeout_s} s before its end")
            if message.error():
                raise SystemExit(f"topic {topic}: {message.error()}")
            key = message.key().decode()
            value = message.value()
            body = None if value is None else json.loads(value)
            if body is None or body.get("op") == "delete":
                table.pop(key, None)
            else:
                table[key] = body
            if message.offset() + 1 >= end.get(message.partition(), 0):
                end.pop(message.partition(), None)
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
    args = parser.parse_args()
    frame = to_frame(read_table(args.brokers, args.topic))
    if args.csv:
        frame.to_csv(args.csv)
    else:
        print(f"{len(frame)} rows", file=sys.stderr)
        print(frame.tail())


if __name__ == "__main__":
    main()
