//! Corporate actions restate the adjusted series, through the real extractor, Kafka and
//! Cassandra. The delivered series is NVDA's shared file un-adjusted for splits this test
//! defines (2:1 several times, one 3:2, a 1-for-4 reverse split) and carries three dozen cash
//! dividends. The oracle: pandas adjusts the delivered series as docs/adjustment.md says
//! (`tests/oracle/adjust.py`), TA-Lib computes the indicators over it and pandas builds the
//! seed's join and labels (`tests/oracle/seed_join.py`). Whatever order bars and actions arrive
//! in, every bar's factor and every indicator value on Kafka and in the seven indicator tables
//! ends equal to the oracle; the analytics service's mart equals the seed join of the adjusted
//! series, each row with its factor. Actions alone keep a file series' price basis.

use chrono::NaiveDate;
use pricestream_records::wire;
use pricestream_records::{Bar, IndicatorRecord, Prediction};
use pricestream_tests::mart::{differences, seed_join};
use pricestream_tests::repo_paths::oracle_output;
use pricestream_tests::talib::{INDICATOR_COLUMNS, Outputs, fields, reference};
use pricestream_tests::{Namespace, analytics_to_end, cassandra, kafka, run_ok, shared_market_data};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The splits of the test: (ex-date, new shares per old share).
const SPLITS: [(&str, f64); 6] = [
    ("2000-06-27", 2.0),
    ("2001-09-17", 2.0),
    ("2006-04-07", 2.0),
    ("2007-09-11", 1.5),
    ("2010-03-15", 0.25),
    ("2013-05-20", 2.0),
];

const CONFIG: &str = "[adjustment]\nprices = \"raw\"\nmode = \"splits_and_dividends\"\n";

fn date(text: &str) -> NaiveDate {
    text.parse().unwrap_or_default()
}

/// The delivered series and the actions, written under `dir`.
struct Inputs {
    /// Header and lines of the delivered (raw) Yahoo CSV, in date order.
    header: String,
    lines: Vec<(NaiveDate, String)>,
    /// The actions CSV's records (without header).
    actions: Vec<String>,
    dir: tempfile::TempDir,
}

impl Inputs {
    fn build() -> anyhow::Result<Self> {
        let text = std::fs::read_to_string(shared_market_data()?.join("nvda-1999-2014.csv"))?;
        let mut rows = text.lines();
        let header = rows.next().unwrap_or_default().to_owned();
        let mut lines = Vec::new();
        for row in rows {
            let fields: Vec<&str> = row.split(',').collect();
            let day = date(fields[0]);
            // Shares per share today of one share on `day`: prices then were that much higher.
            let scale: f64 = SPLITS.iter().filter(|(ex, _)| day < date(ex)).map(|(_, r)| r).product();
            let price = |i: usize| -> anyhow::Result<f64> {
                Ok((fields[i].parse::<f64>()? * scale * 1e4).round() / 1e4)
            };
            let (o, h, l, c) = (price(1)?, price(2)?, price(3)?, price(4)?);
            let volume = (fields[6].parse::<f64>()? / scale).round() as i64;
            lines.push((day, format!("{},{o},{h},{l},{c},{c},{volume}", fields[0])));
        }
        let mut actions: Vec<String> =
            SPLITS.iter().map(|(ex, ratio)| format!("NVDA,{ex},split,{ratio},")).collect();
        // Quarterly dividends from 2005: 36 of them, a few cents each.
        let mut ex = date("2005-02-14");
        for i in 0..36 {
            actions.push(format!("NVDA,{ex},cash_dividend,,{}", 0.03 + 0.01 * f64::from(i % 4)));
            ex = ex + chrono::Days::new(91);
        }
        Ok(Inputs { header, lines, actions, dir: tempfile::tempdir()? })
    }

    /// Writes the bars of dates in `range` as `name/nvda-raw.csv`; returns the folder.
    fn bars(&self, name: &str, keep: impl Fn(NaiveDate) -> bool) -> anyhow::Result<PathBuf> {
        let folder = self.dir.path().join(name);
        std::fs::create_dir_all(&folder)?;
        let mut text = self.header.clone() + "\n";
        for (_, line) in self.lines.iter().filter(|(day, _)| keep(*day)) {
            text += line;
            text.push('\n');
        }
        std::fs::write(folder.join("nvda-raw.csv"), text)?;
        Ok(folder)
    }

    /// Writes the actions whose index `keep` accepts as `name`; returns the file.
    fn actions(&self, name: &str, keep: impl Fn(usize) -> bool) -> anyhow::Result<PathBuf> {
        let mut text = "ticker,ex_date,kind,ratio,amount\n".to_owned();
        for (_, action) in self.actions.iter().enumerate().filter(|(i, _)| keep(*i)) {
            text += action;
            text.push('\n');
        }
        let file = self.dir.path().join(name);
        std::fs::write(&file, text)?;
        Ok(file)
    }

    fn config(&self) -> anyhow::Result<PathBuf> {
        let file = self.dir.path().join("extractor.toml");
        std::fs::write(&file, CONFIG)?;
        Ok(file)
    }
}

/// What the oracle says the adjusted series is: each date's factor and TA-Lib's outputs.
struct Expected {
    dates: Vec<NaiveDate>,
    factors: Vec<f64>,
    outputs: Vec<Outputs>,
    /// The adjusted series as a Yahoo CSV.
    csv: PathBuf,
}

fn oracle(inputs: &Inputs) -> anyhow::Result<Expected> {
    oracle_of(inputs, |_| true)
}

/// The oracle for the actions whose index `keep` accepts.
fn oracle_of(inputs: &Inputs, keep: impl Fn(usize) -> bool) -> anyhow::Result<Expected> {
    let (bars, actions) = (inputs.bars("all", |_| true)?, inputs.actions("oracle-actions.csv", keep)?);
    let adjusted = inputs.dir.path().join("adjusted.csv");
    let mut command = pricestream_tests::repo_paths::oracle_command("adjust.py");
    command.arg("--bars").arg(bars.join("nvda-raw.csv")).arg("--actions").arg(&actions);
    command.args(["--mode", "splits_and_dividends"]).arg("--output").arg(&adjusted);
    oracle_output("adjust.py", &mut command);
    let text = std::fs::read_to_string(&adjusted)?;
    let (mut dates, mut factors) = (Vec::new(), Vec::new());
    for line in text.lines().skip(1) {
        let fields: Vec<&str> = line.split(',').collect();
        dates.push(date(fields[0]));
        factors.push(fields[7].parse()?);
    }
    Ok(Expected { dates, factors, outputs: reference(&adjusted)?, csv: adjusted })
}

fn close_enough(got: f64, want: f64) -> bool {
    (got - want).abs() <= 1e-9 * want.abs().max(1e-12)
}

/// Indicator values by date and indicator name.
type Values = BTreeMap<(NaiveDate, &'static str), Vec<f64>>;

/// The last indicator values per (date, indicator) on the topic, from message `from` on.
fn indicator_fold(ns: &Namespace, from: usize) -> anyhow::Result<(Values, usize)> {
    let messages = kafka::read_topic(&ns.indicators_topic())?;
    let mut fold = BTreeMap::new();
    for message in &messages[from.min(messages.len())..] {
        let record: IndicatorRecord = wire::decode(&message.payload)?;
        let (name, values) = fields(&record.value);
        fold.insert((record.datetime, name), values);
    }
    Ok((fold, messages.len()))
}

/// Each of `values` (found `place`) is TA-Lib's over the adjusted series, and TA-Lib has
/// no value that is missing there.
fn assert_values_match(place: &str, values: &Values, expected: &Expected) {
    let mut compared = 0;
    for (index, outputs) in expected.outputs.iter().enumerate() {
        let day = expected.dates[index];
        for (name, columns) in INDICATOR_COLUMNS {
            let want: Vec<f64> = columns.iter().map(|&c| outputs[c]).collect();
            match values.get(&(day, name)) {
                None => assert!(want.iter().all(|w| w.is_nan()), "{name} at {day} missing {place}"),
                Some(got) => {
                    assert_eq!(got.len(), want.len(), "{name} at {day} {place}");
                    for (g, w) in got.iter().zip(&want) {
                        assert!(close_enough(*g, *w), "{name} at {day} {place}: {g} vs TA-Lib {w}");
                    }
                    compared += 1;
                }
            }
        }
    }
    assert_eq!(compared, values.len(), "values {place} for dates TA-Lib has none");
}

/// Everything the system holds equals the oracle.
async fn assert_matches(ns: &Namespace, expected: &Expected, raw: &Inputs) -> anyhow::Result<()> {
    // Bars: delivered prices, the oracle's factor (the same double).
    let mut bars: BTreeMap<NaiveDate, Bar> = BTreeMap::new();
    for message in kafka::read_topic(&ns.bars_topic())? {
        let bar: Bar = wire::decode(&message.payload)?;
        bars.insert(bar.datetime, bar);
    }
    assert_eq!(bars.len(), expected.dates.len());
    for ((day, factor), (_, line)) in expected.dates.iter().zip(&expected.factors).zip(&raw.lines) {
        let bar = &bars[day];
        assert_eq!(
            bar.adjustment_factor.to_bits(),
            factor.to_bits(),
            "factor of {day}: {} vs {factor}",
            bar.adjustment_factor
        );
        let close: f64 = line.split(',').nth(4).unwrap_or_default().parse()?;
        assert_eq!(bar.close, close, "the delivered close of {day}");
    }
    assert!(expected.factors.iter().filter(|f| **f != 1.0).count() > 3_000, "most bars are adjusted");

    // Indicator values on Kafka and in the seven indicator tables: every one TA-Lib has,
    // nothing else.
    let (fold, _) = indicator_fold(ns, 0)?;
    assert_values_match("on Kafka", &fold, expected);
    let session = cassandra::session().await?;
    let stored = cassandra::indicator_values(&session, &ns.dwh_keyspace, "NVDA").await?;
    assert_values_match("in Cassandra", &stored, expected);
    Ok(())
}

fn backfill(ns: &Namespace, config: &Path, args: &[&Path]) -> anyhow::Result<String> {
    let mut all = vec!["--config", config.to_str().unwrap_or_default(), "backfill", "--no-progress"];
    for (flag, path) in
        args.iter().enumerate().map(|(i, p)| (if i == 0 { "--input" } else { "--actions" }, p))
    {
        if !path.as_os_str().is_empty() {
            all.extend([flag, path.to_str().unwrap_or_default()]);
        }
    }
    let out = run_ok("pricestream-extractor", &all, ns)?;
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[tokio::test]
async fn actions_after_the_bars_restate_exactly_the_changed_values_to_the_oracle() -> anyhow::Result<()> {
    let inputs = Inputs::build()?;
    let expected = oracle(&inputs)?;
    let (ns, config) = (Namespace::unique(), inputs.config()?);
    backfill(&ns, &config, &[&inputs.bars("all", |_| true)?])?;
    let (before, sent_before) = indicator_fold(&ns, 0)?;

    let summary = backfill(&ns, &config, &[Path::new(""), &inputs.actions("all-actions.csv", |_| true)?])?;
    assert!(summary.contains("(42 written)"), "{summary}");
    // The restatement: each changed value once, and only values that changed.
    let messages = kafka::read_topic(&ns.indicators_topic())?;
    let mut seen = BTreeMap::new();
    for message in &messages[sent_before..] {
        let record: IndicatorRecord = wire::decode(&message.payload)?;
        let (name, values) = fields(&record.value);
        assert_ne!(
            before.get(&(record.datetime, name)),
            Some(&values),
            "{name} at {} sent unchanged",
            record.datetime
        );
        assert!(
            seen.insert((record.datetime, name), ()).is_none(),
            "{name} at {} sent twice",
            record.datetime
        );
    }
    assert!(seen.len() > 10_000, "{} values restated", seen.len());
    assert_matches(&ns, &expected, &inputs).await?;

    // The same actions again change nothing.
    backfill(&ns, &config, &[Path::new(""), &inputs.actions("all-actions.csv", |_| true)?])?;
    assert_eq!(kafka::read_topic(&ns.indicators_topic())?.len(), messages.len());

    // The mart: the seed's join of the adjusted series, labels included, each row with its factor.
    analytics_to_end(2, &ns)?;
    let session = cassandra::session().await?;
    let mart = pricestream_tests::mart::features(&session, &ns.mart_keyspace, "NVDA").await?;
    let wrong = differences(&mart, &seed_join(&expected.csv, 2)?);
    assert!(
        wrong.is_empty(),
        "{} cells differ from the seed join, first: {:?}",
        wrong.len(),
        &wrong[..wrong.len().min(10)]
    );
    let cql = format!(
        "SELECT dateTime, adjustmentFactor FROM {}.features WHERE ticker = 'NVDA' AND timeframe = '1day'",
        ns.mart_keyspace
    );
    let rows = session.query_unpaged(cql, &[]).await?.into_rows_result()?;
    let mut factors = BTreeMap::new();
    for row in rows.rows::<(NaiveDate, f64)>()? {
        let (day, factor) = row?;
        factors.insert(day, factor);
    }
    let want: BTreeMap<NaiveDate, f64> =
        expected.dates.iter().copied().zip(expected.factors.iter().copied()).collect();
    assert_eq!(factors, want, "each mart row's factor");
    cassandra::drop_keyspaces(&session, &[&ns.dwh_keyspace, &ns.mart_keyspace]).await;
    Ok(())
}

#[tokio::test]
async fn bars_and_actions_interleaved_and_out_of_order_end_at_the_oracle() -> anyhow::Result<()> {
    let inputs = Inputs::build()?;
    let expected = oracle(&inputs)?;
    let (ns, config) = (Namespace::unique(), inputs.config()?);
    let middle = date("2008-01-01");
    let later = inputs.bars("later", |day| day >= middle)?;
    let earlier = inputs.bars("earlier", |day| day < middle)?;
    let odd = inputs.actions("odd.csv", |i| i % 2 == 1)?;
    let even = inputs.actions("even.csv", |i| i % 2 == 0)?;
    // The later years with half the actions, then the earlier years (inserted before them),
    // then the other half of the actions.
    backfill(&ns, &config, &[&later, &odd])?;
    backfill(&ns, &config, &[&earlier])?;
    backfill(&ns, &config, &[Path::new(""), &even])?;
    assert_matches(&ns, &expected, &inputs).await?;
    let session = cassandra::session().await?;
    cassandra::drop_keyspaces(&session, &[&ns.dwh_keyspace]).await;
    Ok(())
}

#[tokio::test]
async fn a_split_reissues_the_open_forecasts_on_the_adjusted_scale_with_their_factor() -> anyhow::Result<()> {
    let inputs = Inputs::build()?;
    let (ns, config) = (Namespace::unique(), inputs.config()?);
    backfill(&ns, &config, &[&inputs.bars("all", |_| true)?])?;
    analytics_to_end(2, &ns)?;
    let topic = format!("{}predictions", ns.topic_prefix);
    let before: Vec<Prediction> =
        kafka::read_topic(&topic)?.iter().map(|m| wire::decode(&m.payload)).collect::<Result<_, _>>()?;
    // The last two rows have no label yet (horizon 2): their forecasts are the open ones.
    let (last, (day, line)) = (inputs.lines.len() - 1, inputs.lines[inputs.lines.len() - 2].clone());
    let raw_close: f64 = line.split(',').nth(4).unwrap_or_default().parse()?;
    let open = before.iter().rev().find(|p| p.as_of == day).expect("a forecast from the day before the last");
    assert_eq!(open.adjustment_factor, 1.0);

    // A 2-for-1 split on the last day: every row before it halves, the open forecast with it.
    let ex = inputs.lines[last].0;
    let split = inputs.dir.path().join("split.csv");
    std::fs::write(&split, format!("ticker,ex_date,kind,ratio,amount\nNVDA,{ex},split,2,\n"))?;
    backfill(&ns, &config, &[Path::new(""), &split])?;
    analytics_to_end(2, &ns)?;
    let after: Vec<Prediction> =
        kafka::read_topic(&topic)?.iter().map(|m| wire::decode(&m.payload)).collect::<Result<_, _>>()?;
    let reissued =
        after[before.len()..].iter().rev().find(|p| p.as_of == day).expect("the open forecast again");
    assert_eq!(reissued.adjustment_factor, 0.5);
    let adjusted_close = raw_close * 0.5;
    assert!(
        (reissued.predicted_close / adjusted_close - 1.0).abs() < 0.2,
        "{} is not on the adjusted scale of {adjusted_close} (before: {} for {raw_close})",
        reissued.predicted_close,
        open.predicted_close
    );
    let session = cassandra::session().await?;
    let cql = format!(
        "SELECT adjustment_factor, predicted_close FROM {}.predictions WHERE ticker = 'NVDA' AND timeframe = '1day' AND as_of = ?",
        ns.mart_keyspace
    );
    let stored = session.query_unpaged(cql, (day,)).await?.into_rows_result()?.single_row::<(f64, f64)>()?;
    assert_eq!(stored, (0.5, reissued.predicted_close));
    cassandra::drop_keyspaces(&session, &[&ns.dwh_keyspace, &ns.mart_keyspace]).await;
    Ok(())
}

#[tokio::test]
async fn withdrawn_actions_restore_the_series_without_them_exactly() -> anyhow::Result<()> {
    let inputs = Inputs::build()?;
    // The 3:2 split and the tenth dividend come, then are withdrawn.
    let withdrawn = |i: usize| i == 3 || i == SPLITS.len() + 9;
    let expected = oracle_of(&inputs, |i| !withdrawn(i))?;
    let (ns, config) = (Namespace::unique(), inputs.config()?);
    backfill(
        &ns,
        &config,
        &[&inputs.bars("all", |_| true)?, &inputs.actions("others.csv", |i| !withdrawn(i))?],
    )?;
    let (without, _) = indicator_fold(&ns, 0)?;
    backfill(&ns, &config, &[Path::new(""), &inputs.actions("late.csv", withdrawn)?])?;
    let (with, _) = indicator_fold(&ns, 0)?;
    assert_ne!(with, without, "the two actions changed values");

    let mut text = "ticker,ex_date,kind,ratio,amount,status\n".to_owned();
    for (_, action) in inputs.actions.iter().enumerate().filter(|(i, _)| withdrawn(*i)) {
        text += &format!("{action},withdrawn\n");
    }
    let file = inputs.dir.path().join("withdrawn.csv");
    std::fs::write(&file, text)?;
    backfill(&ns, &config, &[Path::new(""), &file])?;
    let (after, _) = indicator_fold(&ns, 0)?;
    assert!(after == without, "every value is again the one before the two actions, bit for bit");
    assert_matches(&ns, &expected, &inputs).await?;
    let session = cassandra::session().await?;
    let cql = format!("SELECT COUNT(*) FROM {}.corporate_actions WHERE ticker = 'NVDA'", ns.dwh_keyspace);
    let count = session.query_unpaged(cql, &[]).await?.into_rows_result()?.single_row::<(i64,)>()?.0;
    assert_eq!(count as usize, inputs.actions.len() - 2, "the withdrawn rows are gone");
    cassandra::drop_keyspaces(&session, &[&ns.dwh_keyspace]).await;
    Ok(())
}

#[tokio::test]
async fn actions_alone_restate_a_series_of_files_on_the_files_price_basis() -> anyhow::Result<()> {
    // A Yahoo file's prices are split-adjusted already (the default basis), so a split that
    // arrives alone later changes nothing: no bar or value is sent again.
    let ns = Namespace::unique();
    let dir = tempfile::tempdir()?;
    let start = date("2024-01-02");
    let days: Vec<NaiveDate> = start
        .iter_days()
        .filter(|d| !matches!(chrono::Datelike::weekday(d), chrono::Weekday::Sat | chrono::Weekday::Sun))
        .take(60)
        .collect();
    let mut csv = "Date,Open,High,Low,Close,Adj Close,Volume\n".to_owned();
    for (i, day) in days.iter().enumerate() {
        let close = 40.0 + (i % 7) as f64;
        csv += &format!("{day},{close},{},{},{close},{close},{}\n", close + 1.0, close - 1.0, 1_000 + i);
    }
    std::fs::create_dir(dir.path().join("lake"))?;
    std::fs::write(dir.path().join("lake/yhf.csv"), csv)?;
    let split = dir.path().join("split.csv");
    std::fs::write(&split, format!("ticker,ex_date,kind,ratio,amount\nYHF,{},split,2,\n", days[30]))?;
    let config = dir.path().join("extractor.toml");
    std::fs::write(&config, "")?;
    backfill(&ns, &config, &[&dir.path().join("lake")])?;
    let sent = kafka::read_topic(&ns.bars_topic())?.len();
    assert_eq!(sent, days.len());

    let summary = backfill(&ns, &config, &[Path::new(""), &split])?;
    let written = summary.lines().find_map(|l| l.trim().strip_prefix("bars written")).map(str::trim);
    assert_eq!(written, Some("0"), "{summary}");
    assert_eq!(kafka::read_topic(&ns.bars_topic())?.len(), sent, "no bar sent again");
    let session = cassandra::session().await?;
    cassandra::drop_keyspaces(&session, &[&ns.dwh_keyspace]).await;
    Ok(())
}
