//! The real NVDA and ORCL daily bars in `../shared/data/market` go through the
//! extractor into Kafka and Cassandra unchanged.

use pricestream_tests::{Namespace, cassandra, kafka, read_csv_naively, run_ok, shared_market_data};

#[tokio::test]
async fn every_real_bar_is_stored_and_published_exactly() -> anyhow::Result<()> {
    let ns = Namespace::unique();
    let dir = shared_market_data()?;
    let backfill =
        run_ok("pricestream-extractor", &["backfill", "--input", dir.to_str().unwrap_or_default()], &ns)?;
    assert!(backfill.status.success());

    let session = cassandra::session().await?;
    let mut total = 0;
    for (ticker, file) in [("NVDA", "nvda-1999-2014.csv"), ("ORCL", "orcl-1995-2014.csv")] {
        let expected = read_csv_naively(&dir.join(file))?;
        let stored = cassandra::bars(&session, &ns.dwh_keyspace, ticker).await?;
        assert_eq!(stored.len(), expected.len(), "{ticker}");
        for (date, want) in &expected {
            let (got, _) = stored[&date.parse()?];
            assert_eq!(got, *want, "{ticker} {date}");
        }
        total += expected.len();
    }
    assert_eq!(total, 4_012 + 5_036, "the shared data set changed");
    assert_eq!(kafka::read_topic(&ns.bars_topic())?.len(), total);
    cassandra::drop_keyspaces(&session, &[&ns.dwh_keyspace]).await;
    Ok(())
}
