//! Poison on the input topics: messages a third-party producer might write (not JSON, an
//! unknown schema version, an empty or 70,000-character ticker, NaN and infinite prices, high
//! below low, a 1 MB value, wrong field types, a missing field) are published straight to the
//! topics, before the analytics service starts and while it runs. The service stays up, every
//! poison message is on the dead-letter topic with its reason and where it was, and the mart
//! equals the mart of the good messages alone.

use pricestream_records::DeadLetter;
use pricestream_records::wire;
use pricestream_tests::faults::Running;
use pricestream_tests::{
    Namespace, analytics_to_end, cassandra, generate_lake, kafka, kafka_brokers, run_ok, snapshot, wait_for,
};
use rdkafka::ClientConfig;
use rdkafka::producer::{FutureProducer, FutureRecord};
use std::collections::BTreeMap;
use std::time::{Duration, Instant};

/// A bar as a third-party producer would write it, with `field` replaced by raw JSON `value`.
fn bar_json(field: &str, value: &str) -> Vec<u8> {
    let mut fields = vec![
        ("schema_version", "1".to_owned()),
        ("ticker", "\"GEN000\"".to_owned()),
        ("timeframe", "\"1day\"".to_owned()),
        ("datetime", "\"2031-06-02\"".to_owned()),
        ("open", "10.0".to_owned()),
        ("high", "12.0".to_owned()),
        ("low", "9.0".to_owned()),
        ("close", "11.0".to_owned()),
        ("volume", "1000".to_owned()),
        ("task_number", "\"00000000-0000-0000-0000-000000000000\"".to_owned()),
    ];
    fields.retain(|(name, _)| *name != field || !value.is_empty());
    for (name, text) in &mut fields {
        if *name == field {
            *text = value.to_owned();
        }
    }
    let body: Vec<String> = fields.iter().map(|(name, text)| format!("\"{name}\":{text}")).collect();
    format!("{{{}}}", body.join(",")).into_bytes()
}

/// The poison corpus: (topic suffix, payload, the reason it must be refused for).
fn corpus() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let long_ticker = format!("\"{}\"", "X".repeat(70_000));
    let mut megabyte = bar_json("ticker", "\"GEN000\"");
    megabyte.truncate(megabyte.len() - 1);
    megabyte.extend(format!(",\"padding\":\"{}\"}}", "x".repeat(1_000_000 - 1_000)).into_bytes());
    let rsi = |period: &str, value: &str| {
        format!(
            r#"{{"schema_version":1,"ticker":"GEN001","timeframe":"1day","datetime":"2031-06-02","task_number":"00000000-0000-0000-0000-000000000000","indicator":"rsi","timePeriod":{period},"rsi":{value}}}"#
        )
        .into_bytes()
    };
    vec![
        ("bars", vec![0x00, 0xff, 0x13, 0x37, b'{'], "not_json"),
        ("bars", bar_json("schema_version", "2"), "unsupported_version"),
        ("bars", bar_json("ticker", "\"\""), "bad_ticker"),
        ("bars", bar_json("ticker", &long_ticker), "too_large"),
        ("bars", bar_json("close", "NaN"), "not_json"),
        ("bars", bar_json("high", "Infinity"), "not_json"),
        ("bars", bar_json("low", "1e999"), "bad_field"),
        ("bars", bar_json("high", "8.5"), "inconsistent_bar"),
        ("bars", megabyte, "too_large"),
        ("bars", bar_json("open", "\"ten\""), "bad_field"),
        ("bars", bar_json("volume", ""), "bad_field"),
        ("bars", bar_json("close", "-11.0"), "bad_price"),
        ("bars", b"".to_vec(), "empty"),
        ("bars", bar_json("ticker", "\"GEN|000\""), "bad_ticker"),
        ("indicators", rsi("14", "NaN"), "not_json"),
        ("indicators", rsi("14", "\"high\""), "bad_field"),
        ("indicators", rsi("0", "55.0"), "bad_period"),
        ("indicators", rsi("14", "1e400"), "bad_field"),
    ]
}

/// Publishes `messages` with a plain producer (its own client, no headers), returning where
/// each landed: (topic, partition, offset).
async fn publish(
    prefix: &str,
    messages: &[(&str, Vec<u8>, &str)],
) -> anyhow::Result<Vec<(String, i32, i64)>> {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", kafka_brokers())
        .set("message.max.bytes", "2000000")
        .create()?;
    let mut landed = Vec::new();
    for (suffix, payload, _) in messages {
        let topic = format!("{prefix}{suffix}");
        let record: FutureRecord<'_, str, [u8]> =
            FutureRecord::to(&topic).key("GEN000").payload(payload.as_slice());
        let delivery = producer.send(record, Duration::from_secs(30)).await.map_err(|(e, _)| e)?;
        landed.push((topic, delivery.partition, delivery.offset));
    }
    Ok(landed)
}

#[tokio::test]
async fn poison_messages_are_dead_lettered_and_the_good_ones_flow() -> anyhow::Result<()> {
    let (ns, clean) = (Namespace::unique(), Namespace::unique());
    let dir = tempfile::tempdir()?;
    let data = dir.path().join("data");
    let data_arg = data.to_str().unwrap_or_default();
    generate_lake(data_arg, 3, 150, None, &ns)?;
    for namespace in [&ns, &clean] {
        run_ok("pricestream-extractor", &["backfill", "--input", data_arg], namespace)?;
    }
    analytics_to_end(1, &clean)?;

    // Half the corpus before the service starts (the replay reads it), half while it runs.
    let corpus = corpus();
    let (before, after) = corpus.split_at(corpus.len() / 2);
    let mut landed = publish(&ns.topic_prefix, before).await?;
    let mut service = Running::analytics("analytics", &["run", "--workers", "2"], &ns, dir.path())?;
    let rejected = |service: &Running| {
        corpus
            .iter()
            .map(|(_, _, reason)| *reason)
            .collect::<std::collections::BTreeSet<_>>()
            .iter()
            .filter_map(|reason| {
                service.metric(&format!("pricestream_analytics_messages_rejected_total{{kind=\"{reason}\"}}"))
            })
            .sum::<f64>()
    };
    wait_for("the service to be ready", Duration::from_secs(120), || {
        service.status_of("/readyz") == Some(200)
    })?;
    landed.extend(publish(&ns.topic_prefix, after).await?);
    let deadline = Instant::now() + Duration::from_secs(60);
    while rejected(&service) < before.len() as f64 + after.len() as f64 && Instant::now() < deadline {
        service.assert_running()?;
        std::thread::sleep(Duration::from_millis(200));
    }
    service.assert_running()?;
    assert_eq!(service.status_of("/healthz"), Some(200));

    // Every poison message is dead-lettered once, with its reason and where it was (the last
    // epoch's letters are published after it is counted: read until all are there).
    let mut letters: BTreeMap<(String, i32, i64), DeadLetter> = BTreeMap::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while letters.len() < corpus.len() && Instant::now() < deadline {
        letters.clear();
        for message in kafka::read_topic(&ns.dead_letter_topic())? {
            let letter: DeadLetter = wire::decode(&message.payload)?;
            if let (Some(topic), Some(partition), Some(offset)) =
                (&letter.topic, letter.partition, letter.offset)
            {
                assert_eq!(message.key, format!("{topic}/{partition}/{offset}"));
                letters.insert((topic.clone(), partition, offset), letter);
            }
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    for ((_, payload, reason), at) in corpus.iter().zip(&landed) {
        let letter =
            letters.get(at).ok_or_else(|| anyhow::anyhow!("no dead letter for {at:?} ({reason})"))?;
        assert_eq!(letter.reason, *reason, "{at:?}: {}", letter.message);
        let kept = &payload[..payload.len().min(4096)];
        assert_eq!(letter.raw, String::from_utf8_lossy(kept), "{at:?}");
    }
    assert_eq!(letters.len(), corpus.len(), "one dead letter per poison message");

    // The good messages made exactly the mart they make alone.
    let session = cassandra::session().await?;
    let want = snapshot::mart(&session, &clean.mart_keyspace).await?;
    let mut got = snapshot::mart(&session, &ns.mart_keyspace).await?;
    let deadline = Instant::now() + Duration::from_secs(60);
    while got != want && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
        got = snapshot::mart(&session, &ns.mart_keyspace).await?;
    }
    assert_eq!(want.len(), 3 * 150);
    let differences = snapshot::differences(&got, &want, 5);
    assert!(differences.is_empty(), "{}", differences.join("\n"));
    let status = service.stop()?;
    assert!(status.success(), "{status}:\n{}", service.log_tail(20));
    cassandra::drop_keyspaces(
        &session,
        &[&ns.dwh_keyspace, &ns.mart_keyspace, &clean.dwh_keyspace, &clean.mart_keyspace],
    )
    .await;
    Ok(())
}
