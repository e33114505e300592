//! `pricestream-analytics query bars|indicators|actions` through the real services: NVDA's first
//! days and a few corporate actions go through the extractor into Cassandra, then:
//! * the bars' Parquet export, read by pandas, holds the delivered file's prices and volumes
//!   exactly, with dates as dates;
//! * the indicators' export holds TA-Lib's values, bit for bit, at the default periods;
//! * the actions' export holds the actions file's rows;
//! * `--all` reads the same bars through the token ring, and `--as-of` is refused.

use pricestream_tests::{
    Namespace, cassandra, read_csv_naively, read_parquet_with_pandas, run_binary, run_ok, shared_market_data,
    talib,
};
use std::collections::BTreeMap;

/// Days of NVDA: every indicator's lookback and a few hundred values.
const BARS: usize = 300;

/// Actions in those days. The file is split-adjusted (a Yahoo export) and the default mode
/// adjusts for splits only: none of them moves an indicator.
const ACTIONS: &str = "ticker,ex_date,kind,ratio,amount\n\
    NVDA,2000-06-27,split,2,\n\
    NVDA,1999-09-01,cash_dividend,,0.01\n";

/// `query <args> --format json` of NVDA's namespace: one JSON object per line.
fn json_lines(ns: &Namespace, args: &[&str]) -> anyhow::Result<Vec<serde_json::Value>> {
    let mut all = vec!["query"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--format", "json"]);
    let output = run_ok("pricestream-analytics", &all, ns)?;
    String::from_utf8(output.stdout)?.lines().map(|line| Ok(serde_json::from_str(line)?)).collect()
}

#[tokio::test]
async fn warehouse_exports_hold_the_delivered_bars_talib_values_and_the_actions() -> anyhow::Result<()> {
    let ns = Namespace::unique();
    let dir = tempfile::tempdir()?;
    let lake = dir.path().join("lake");
    std::fs::create_dir(&lake)?;
    let text = std::fs::read_to_string(shared_market_data()?.join("nvda-1999-2014.csv"))?;
    let csv = lake.join("nvda-1999-2014.csv");
    std::fs::write(&csv, text.lines().take(BARS + 1).collect::<Vec<_>>().join("\n") + "\n")?;
    let actions = dir.path().join("actions.csv");
    std::fs::write(&actions, ACTIONS)?;
    let (lake_arg, actions_arg) = (lake.to_str().unwrap_or_default(), actions.to_str().unwrap_or_default());
    run_ok(
        "pricestream-extractor",
        &["backfill", "--input", lake_arg, "--actions", actions_arg, "--no-progress"],
        &ns,
    )?;

    // Bars: Parquet, read by pandas, against the file read on its own.
    let delivered = read_csv_naively(&csv)?;
    assert_eq!(delivered.len(), BARS);
    let parquet = dir.path().join("bars.parquet");
    run_ok(
        "pricestream-analytics",
        &["query", "bars", "--ticker", "NVDA", "--out", parquet.to_str().unwrap_or_default()],
        &ns,
    )?;
    let read = read_parquet_with_pandas(&parquet)?;
    for (column, typ) in [
        ("ticker", "string"),
        ("datetime", "date32[day]"),
        ("open", "double"),
        ("close", "double"),
        ("volume", "int64"),
    ] {
        assert_eq!(read["types"][column], typ, "{column}: {}", read["types"]);
    }
    let rows = read["rows"].as_array().cloned().unwrap_or_default();
    assert_eq!(rows.len(), BARS, "one row per delivered bar");
    for row in &rows {
        let date = row["datetime"].as_str().unwrap_or_default();
        let want = delivered.get(date).ok_or_else(|| anyhow::anyhow!("{date}: not delivered"))?;
        let got: Vec<f64> =
            ["open", "high", "low", "close"].iter().filter_map(|c| row[*c].as_f64()).collect();
        assert_eq!(got, want.ohlc, "{date}: prices as delivered");
        assert_eq!(row["volume"].as_i64(), Some(want.volume), "{date}: volume");
        assert_eq!(row["ticker"], "NVDA");
        assert_eq!(row["source"], "file");
    }

    // Indicators: each row's values against TA-Lib's for its bar.
    let oracle = talib::reference(&csv)?;
    let index: BTreeMap<&str, usize> =
        delivered.keys().enumerate().map(|(i, date)| (date.as_str(), i)).collect();
    let fields: BTreeMap<&str, &[&str]> = [
        ("sma", &["sma"][..]),
        ("ema", &["ema"]),
        ("rsi", &["rsi"]),
        ("macd", &["macd", "macdSignal", "macdHist"]),
        ("stoch", &["slowK", "slowD"]),
        ("bbands", &["upperBand", "middleBand", "lowerBand"]),
        ("willr", &["willr"]),
    ]
    .into_iter()
    .collect();
    let values = json_lines(&ns, &["indicators", "--ticker", "NVDA"])?;
    let mut counted: BTreeMap<String, usize> = BTreeMap::new();
    for value in &values {
        let (indicator, date) =
            (value["indicator"].as_str().unwrap_or_default(), value["datetime"].as_str().unwrap_or_default());
        let at = index.get(date).ok_or_else(|| anyhow::anyhow!("{date}: no such bar"))?;
        let (_, columns) = talib::INDICATOR_COLUMNS
            .iter()
            .find(|(name, _)| *name == indicator)
            .ok_or_else(|| anyhow::anyhow!("unknown indicator {indicator}"))?;
        for (field, column) in fields[indicator].iter().zip(columns.iter()) {
            let got = value[*field].as_f64().unwrap_or(f64::NAN);
            let want = oracle[*at][*column];
            assert!(talib::same(got, want), "{indicator}.{field} on {date}: {got} vs TA-Lib {want}");
        }
        *counted.entry(indicator.to_owned()).or_default() += 1;
    }
    for (indicator, lookback) in talib::DEFAULT_LOOKBACKS {
        assert_eq!(
            counted.get(indicator).copied(),
            Some(BARS - lookback),
            "{indicator}: one value per bar after its lookback"
        );
    }

    // Actions: the file's rows.
    let stored = json_lines(&ns, &["actions", "--ticker", "NVDA"])?;
    let shown: Vec<String> = stored
        .iter()
        .map(|a| format!("{},{},{},{},{}", a["ticker"], a["exDate"], a["kind"], a["ratio"], a["amount"]))
        .collect();
    assert_eq!(
        shown,
        [r#""NVDA","1999-09-01","cash_dividend",null,0.01"#, r#""NVDA","2000-06-27","split",2.0,null"#]
    );

    // The whole universe through the token ring: the same bars; no versions to read.
    let all = json_lines(&ns, &["bars", "--all"])?;
    assert_eq!(all.len(), BARS);
    let refused = run_binary(
        "pricestream-analytics",
        &["query", "bars", "--ticker", "NVDA", "--as-of", "2024-01-01"],
        &ns,
    )?;
    assert!(!refused.status.success(), "--as-of of bars is refused");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("--as-of: bars, indicators and actions"), "{stderr}");

    let session = cassandra::session().await?;
    cassandra::drop_keyspaces(&session, &[&ns.dwh_keyspace, &ns.mart_keyspace]).await;
    Ok(())
}
