//! The bad-input corpus through the real extractor: each class of bad line
//! lands on the dead-letter topic with its reason, line and raw text, and
//! every valid line around them still reaches Cassandra and Kafka.

use pricestream_records::wire;
use pricestream_records::{Bar, DeadLetter};
use pricestream_tests::{Namespace, cassandra, kafka, run_ok};
use std::collections::BTreeMap;

#[tokio::test]
async fn every_class_of_bad_line_is_dead_lettered_and_the_good_lines_arrive() -> anyhow::Result<()> {
    let ns = Namespace::unique();
    let dir = tempfile::tempdir()?;
    // The 10 MB line: refused whole, the lines after it still read.
    let long_line = format!("2024-02-20,{},11,9,10,10,100", "1".repeat(10 * 1024 * 1024));
    // (line text, the reason it must be refused for; None = valid)
    let lines: Vec<(Vec<u8>, Option<&str>)> = vec![
        (b"2024-01-02,10,11,9,10.5,10.5,100".to_vec(), None),
        (b"2024-01-03,\"10,11,9,10.5,10.5,100".to_vec(), Some("malformed")),
        (b"2024-01-04,10,11,9,10.5,100".to_vec(), Some("wrong_column_count")),
        (b"2024-01-05,10,11,9,null,null,100".to_vec(), Some("missing_value")),
        (b"2024-01-08,10,11,9,10.5,10.5,300".to_vec(), None),
        (b"2024-01-09,10,eleven,9,10.5,10.5,100".to_vec(), Some("bad_number")),
        (b"2024-01-10,-10,11,9,10.5,10.5,100".to_vec(), Some("bad_price")),
        (b"2024-01-11,10,9.5,9,10.5,10.5,100".to_vec(), Some("inconsistent_ohlc")),
        (b"2024-01-12,10,11,9,10.5,10.5,-5".to_vec(), Some("negative_volume")),
        (b"2024-01-15,NaN,11,9,10.5,10.5,100".to_vec(), Some("bad_price")),
        (b"2024-13-16,10,11,9,10.5,10.5,100".to_vec(), Some("bad_date")),
        (b"2024-01-17,10,11,9,10.6,10.6,400".to_vec(), None),
        (b"2024-01-08,10,11,9,10.9,10.9,999".to_vec(), Some("duplicate_date")),
        (b"2024-01-18,10,11,9,10.5,10.5,1\xff00".to_vec(), Some("not_utf8")),
        (long_line.into_bytes(), Some("line_too_long")),
        (b"2024-01-19,10,11,9,10.2,10.2,500".to_vec(), None),
    ];
    let mut file = b"Date,Open,High,Low,Close,Adj Close,Volume\n".to_vec();
    for (line, _) in &lines {
        file.extend_from_slice(line);
        file.push(b'\n');
    }
    std::fs::write(dir.path().join("corpus-bad.csv"), &file)?;
    std::fs::write(dir.path().join("empty-file.csv"), b"")?;

    let backfill = run_ok(
        "pricestream-extractor",
        &["backfill", "--input", dir.path().to_str().unwrap_or_default()],
        &ns,
    )?;
    let stdout = String::from_utf8_lossy(&backfill.stdout);

    // Dead letters: one per bad line, with its line number (header is line 1), reason and text.
    let mut letters: BTreeMap<u64, DeadLetter> = BTreeMap::new();
    for message in kafka::read_topic(&ns.dead_letter_topic())? {
        let letter: DeadLetter = wire::decode(&message.payload)?;
        assert!(letter.source.ends_with("corpus-bad.csv"), "{letter:?}");
        assert_eq!(message.key, letter.source);
        letters.insert(letter.line.unwrap_or_default(), letter);
    }
    let bad: Vec<(u64, &str, &[u8])> = lines
        .iter()
        .enumerate()
        .filter_map(|(i, (text, reason))| reason.map(|r| (i as u64 + 2, r, text.as_slice())))
        .collect();
    assert_eq!(letters.len(), bad.len(), "{letters:#?}");
    for (line, reason, text) in bad {
        let letter = &letters[&line];
        assert_eq!(letter.reason, reason, "line {line}: {letter:?}");
        let raw = String::from_utf8_lossy(text);
        let kept = &raw[..raw.len().min(1_000)];
        assert!(letter.raw.starts_with(kept), "line {line}: raw {:?}", letter.raw);
        assert!(!letter.message.is_empty());
    }
    let rejected: usize = stdout
        .lines()
        .find(|l| l.trim_start().starts_with("lines rejected"))
        .and_then(|l| l.split_whitespace().nth(2)?.parse().ok())
        .unwrap_or_default();
    assert_eq!(rejected, letters.len(), "{stdout}");

    // The valid lines, in Cassandra and on the bars topic.
    let valid = ["2024-01-02", "2024-01-08", "2024-01-17", "2024-01-19"];
    let session = cassandra::session().await?;
    let stored: Vec<String> = cassandra::bars(&session, &ns.dwh_keyspace, "CORPUS")
        .await?
        .keys()
        .map(ToString::to_string)
        .collect();
    assert_eq!(stored, valid);
    let mut published: Vec<String> = kafka::read_topic(&ns.bars_topic())?
        .iter()
        .map(|m| wire::decode::<Bar>(&m.payload).map(|b| b.datetime.to_string()))
        .collect::<Result<_, _>>()?;
    published.sort();
    assert_eq!(published, valid);
    cassandra::drop_keyspaces(&session, &[&ns.dwh_keyspace]).await;
    Ok(())
}
