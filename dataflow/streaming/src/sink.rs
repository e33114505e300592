//! Where one epoch's outputs go: feature-row changes to the mart table and the changelog
//! topic, forecasts to the predictions table and topic, refused records to the dead-letter
//! topic. All must acknowledge before the epoch counts as written.
//!
//! With the history kept, every version goes to the history tables in the same write, known
//! from one time per epoch that the changelog and predictions messages carry too
//! ([`crate::history`]).
//!
//! Outages are waited out ([`wait_out`]): the same writes are tried again until they succeed
//! (every statement is idempotent; the changelog is at least once). An output its store refuses
//! for what it is (a key Cassandra cannot hold, a message larger than the broker takes) is
//! found by writing the epoch's outputs one by one, dead-lettered, and the rest are written.

use crate::changes::RowChanges;
use crate::history::{HistorySink, time};
use crate::latency::PublishTimes;
use crate::metrics::Metrics;
use anyhow::Context;
use pricestream_cassandra::FeatureVersion;
use pricestream_cassandra::{FeatureTable, PredictionTable};
use pricestream_kafka::Publisher;
use pricestream_records::wire;
use pricestream_records::{DeadLetter, FeatureChange, FeatureKey, FeatureRow, Prediction};
use pricestream_runtime::fault::{DependencyError, Fault, Outages, Patience, wait_out_for};
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::{Instant, SystemTime, UNIX_EPOCH};
use tracing::error;
use uuid::Uuid;

/// The mart table, the forecasts and the topics.
pub struct MartSink {
    /// The `features` table.
    pub table: FeatureTable,
    /// The producer of every topic written.
    pub publisher: Publisher,
    /// The changelog topic.
    pub changelog_topic: String,
    /// The `predictions` table.
    pub predictions: PredictionTable,
    /// The predictions topic.
    pub predictions_topic: String,
    /// The dead-letter topic.
    pub dead_letter_topic: String,
    /// The trading-days topic.
    pub trading_days_topic: String,
    /// Outages are reported here.
    pub outages: Arc<Outages>,
    /// Set when the process is asked to stop: a wait for a dependency ends with its error.
    pub stop: Arc<AtomicBool>,
    /// This process's run (the dead letters' `task_number`).
    pub run_id: Uuid,
    /// The history tables, when the history is kept.
    pub history: Option<HistorySink>,
}

impl MartSink {
    fn patience(&self) -> Patience<'_> {
        Patience::Forever { stop: Some(&self.stop) }
    }

    /// Writes one epoch's outputs: `changes` to Cassandra and the changelog, `predictions` to
    /// their table and topic, and `refused` input messages (with any output refused now) to the
    /// dead-letter topic; returns once all are acknowledged. A prediction whose bar's publish
    /// time is in `published` is observed in `prediction_latency_seconds`. A `replayed` epoch
    /// (recovery, a rewrite) may have been written before: its history versions already stored
    /// are not written again, and their messages carry the stored version's time.
    pub async fn write(
        &self,
        changes: &RowChanges,
        predictions: &[Prediction],
        refused: &[DeadLetter],
        published: &PublishTimes,
        metrics: &Metrics,
        replayed: bool,
    ) -> anyhow::Result<()> {
        let known = match &self.history {
            Some(history) => Some(self.plan(history, changes, predictions, replayed, metrics).await?),
            None => None,
        };
        let (rows, forecasts) = tokio::try_join!(
            self.write_changes(changes, metrics, known.as_ref()),
            self.write_predictions(predictions, published, metrics, known.as_ref())
        )?;
        let letters: Vec<DeadLetter> = refused.iter().cloned().chain(rows).chain(forecasts).collect();
        self.publish_dead_letters(&letters).await
    }

    /// The time of each version of the epoch: the epoch's, or for a replayed epoch the stored
    /// one where the version is stored already.
    async fn plan<'a>(
        &self,
        history: &'a HistorySink,
        changes: &'a RowChanges,
        predictions: &[Prediction],
        replayed: bool,
        metrics: &Metrics,
    ) -> anyhow::Result<Known<'a>> {
        let ms = history.known_from_ms();
        let versions = HistorySink::row_versions(changes);
        let (mut rows, mut forecasts) = (vec![None; versions.len()], vec![None; predictions.len()]);
        if replayed {
            let what = "read feature history";
            rows = wait_out_for(&self.outages, what, self.patience(), || history.stored_rows(&versions))
                .await
                .map_err(|e| count(metrics, "features_history", e.into()))?;
            let what = "read prediction history";
            forecasts = wait_out_for(&self.outages, what, self.patience(), || {
                history.stored_predictions(predictions)
            })
            .await
            .map_err(|e| count(metrics, "predictions_history", e.into()))?;
        }
        Ok(Known { history, ms, versions, rows, forecasts })
    }

    async fn write_changes(
        &self,
        changes: &RowChanges,
        metrics: &Metrics,
        known: Option<&Known<'_>>,
    ) -> anyhow::Result<Vec<DeadLetter>> {
        if changes.upserts.is_empty() && changes.deletes.is_empty() {
            return Ok(Vec::new());
        }
        let cassandra = async {
            let started = Instant::now();
            let mart = async {
                let refused =
                    each_or_all(&self.outages, self.patience(), "write features", &changes.upserts, |rows| {
                        self.table.upsert_all(rows)
                    })
                    .await
                    .map_err(|e| count(metrics, "features", e))?;
                let deletes = &changes.deletes;
                wait_out_for(&self.outages, "delete features", self.patience(), || {
                    self.table.delete_all(deletes)
                })
                .await
                .map_err(|e| count(metrics, "features", e.into()))?;
                anyhow::Ok(refused)
            };
            let history = async {
                let Some(known) = known else { return anyhow::Ok(()) };
                let versions = unstored(known.versions.iter().cloned(), &known.rows);
                // A version refused for what it is was refused from the mart too: dead-lettered there.
                let what = "write feature history";
                each_or_all(&self.outages, self.patience(), what, &versions, |versions| {
                    known.history.features.write(versions, time(known.ms))
                })
                .await
                .map_err(|e| count(metrics, "features_history", e))?;
                anyhow::Ok(())
            };
            let (refused, ()) = tokio::try_join!(mart, history)?;
            metrics.cassandra_write_seconds.observe(started.elapsed().as_secs_f64());
            let letters =
                refused.iter().map(|((row, _), error)| self.row_letter(row, error)).collect::<Vec<_>>();
            metrics.outputs_refused.with_label_values(&["features"]).inc_by(letters.len() as u64);
            metrics.cassandra_write_errors.with_label_values(&["features"]).inc_by(letters.len() as u64);
            anyhow::Ok(letters)
        };
        let kafka = async {
            let started = Instant::now();
            // In the order of the history's versions, each with its version's time.
            let times = known.map(|known| known.row_times());
            let messages: Vec<(String, FeatureChange, Option<i64>)> = changes
                .rows()
                .cloned()
                .map(|row| FeatureChange::Upsert(Box::new(row)))
                .chain(changes.deletes.iter().map(|(ticker, timeframe, date)| {
                    FeatureChange::Delete(FeatureKey {
                        ticker: ticker.clone(),
                        timeframe: *timeframe,
                        date_time: *date,
                    })
                }))
                .enumerate()
                .map(|(at, change)| {
                    (change.key().message_key(), change, times.as_ref().map(|times| times[at]))
                })
                .collect();
            // A deleted row is a tombstone: compaction removes its key, table readers drop it.
            let refused =
                each_or_all(&self.outages, self.patience(), "publish changelog", &messages, |messages| {
                    let topic = &self.changelog_topic;
                    let payloads = messages.iter().map(|(k, c, time)| (k.as_str(), c.payload(), *time));
                    let timed: Option<Vec<_>> =
                        payloads.clone().map(|(k, p, time)| Some((k, p, time?))).collect();
                    async move {
                        match timed {
                            Some(timed) => self.publisher.publish_values_known(topic, timed).await,
                            None => {
                                self.publisher.publish_values(topic, payloads.map(|(k, p, _)| (k, p))).await
                            }
                        }
                    }
                })
                .await?;
            metrics.changelog_publish_seconds.observe(started.elapsed().as_secs_f64());
            metrics.outputs_refused.with_label_values(&["changelog"]).inc_by(refused.len() as u64);
            let letters = refused
                .iter()
                .map(|((key, change, _), error)| {
                    DeadLetter::refused_output(
                        &self.changelog_topic,
                        key,
                        &wire::encode(change),
                        error,
                        self.run_id,
                    )
                })
                .collect::<Vec<_>>();
            anyhow::Ok(letters)
        };
        let (mut rows, messages) = tokio::try_join!(cassandra, kafka)?;
        rows.extend(messages);
        Ok(rows)
    }

    async fn write_predictions(
        &self,
        predictions: &[Prediction],
        published: &PublishTimes,
        metrics: &Metrics,
        known: Option<&Known<'_>>,
    ) -> anyhow::Result<Vec<DeadLetter>> {
        if predictions.is_empty() {
            return Ok(Vec::new());
        }
        let table = async {
            let refused =
                each_or_all(&self.outages, self.patience(), "write predictions", predictions, |rows| {
                    self.predictions.upsert_all(rows)
                })
                .await
                .map_err(|e| count(metrics, "predictions", e))?;
            anyhow::Ok(refused)
        };
        let history = async {
            let Some(known) = known else { return anyhow::Ok(()) };
            let versions = unstored(predictions.iter(), &known.forecasts);
            let what = "write prediction history";
            each_or_all(&self.outages, self.patience(), what, &versions, |versions| {
                known.history.predictions.write(versions, time(known.ms))
            })
            .await
            .map_err(|e| count(metrics, "predictions_history", e))?;
            anyhow::Ok(())
        };
        let topic = async {
            // Each with its version's time.
            let timed: Vec<(&Prediction, Option<i64>)> = match known {
                Some(known) => {
                    predictions.iter().zip(known.forecast_times()).map(|(p, t)| (p, Some(t))).collect()
                }
                None => predictions.iter().map(|p| (p, None)).collect(),
            };
            let refused =
                each_or_all(&self.outages, self.patience(), "publish predictions", &timed, |rows| {
                    let topic = &self.predictions_topic;
                    let times: Option<Vec<_>> =
                        rows.iter().map(|(p, time)| Some((p.message_key(), *p, (*time)?))).collect();
                    async move {
                        match times {
                            Some(times) => self.publisher.publish_derived_known(topic, times).await,
                            None => {
                                self.publisher
                                    .publish_derived(topic, rows.iter().map(|(p, _)| (p.message_key(), *p)))
                                    .await
                            }
                        }
                    }
                })
                .await?;
            anyhow::Ok(
                refused.into_iter().map(|((prediction, _), error)| (*prediction, error)).collect::<Vec<_>>(),
            )
        };
        let (in_table, (), on_topic) = tokio::try_join!(table, history, topic)?;
        metrics.cassandra_write_errors.with_label_values(&["predictions"]).inc_by(in_table.len() as u64);
        metrics.predictions_written.inc_by(predictions.len() as u64);
        metrics
            .outputs_refused
            .with_label_values(&["predictions"])
            .inc_by((in_table.len() + on_topic.len()) as u64);
        let now_ms = SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64);
        let rows = predictions.iter().map(|prediction| (prediction.ticker.as_str(), prediction.as_of));
        for published_ms in published.take(rows) {
            metrics.prediction_latency_seconds.observe((now_ms - published_ms).max(0) as f64 / 1000.0);
        }
        let letter = |(prediction, error): &(&Prediction, String), what: &str| {
            let key = format!("{}|{}", prediction.ticker, prediction.as_of);
            DeadLetter::refused_output(what, &key, &wire::encode(*prediction), error, self.run_id)
        };
        let mut letters: Vec<DeadLetter> = in_table.iter().map(|r| letter(r, "predictions")).collect();
        letters.extend(on_topic.iter().map(|r| letter(r, &self.predictions_topic)));
        Ok(letters)
    }

    /// Publishes dead letters, waiting out Kafka outages; one the broker refuses is logged.
    async fn publish_dead_letters(&self, letters: &[DeadLetter]) -> anyhow::Result<()> {
        if letters.is_empty() {
            return Ok(());
        }
        let keyed: Vec<(String, &DeadLetter)> = letters.iter().map(|letter| (letter.key(), letter)).collect();
        let what = "publish dead letters";
        let refused = each_or_all(&self.outages, self.patience(), what, &keyed, |letters| {
            self.publisher
                .publish_derived(&self.dead_letter_topic, letters.iter().map(|(k, l)| (k.as_str(), *l)))
        })
        .await?;
        for ((key, _), reason) in refused {
            error!(key, "The dead-letter topic refused a dead letter: {reason}");
        }
        Ok(())
    }

    fn row_letter(&self, row: &FeatureRow, error: &str) -> DeadLetter {
        let key = format!("{}|{}|{}", row.ticker, row.timeframe, row.date_time);
        let change = FeatureChange::Upsert(Box::new(row.clone()));
        DeadLetter::refused_output("features", &key, &wire::encode(&change), &error, self.run_id)
    }
}

/// The history of an epoch being written: where, the epoch's time, and its versions with the
/// times of those stored already.
struct Known<'a> {
    history: &'a HistorySink,
    ms: i64,
    /// The row versions, in the changelog's order.
    versions: Vec<FeatureVersion<'a>>,
    /// Per row version, the time of the same version stored already.
    rows: Vec<Option<i64>>,
    /// Per forecast, the time of the same forecast stored already.
    forecasts: Vec<Option<i64>>,
}

impl Known<'_> {
    /// The time of each row version.
    fn row_times(&self) -> Vec<i64> {
        self.rows.iter().map(|stored| stored.unwrap_or(self.ms)).collect()
    }

    /// The time of each forecast.
    fn forecast_times(&self) -> Vec<i64> {
        self.forecasts.iter().map(|stored| stored.unwrap_or(self.ms)).collect()
    }
}

/// The items not stored already (`stored`, item by item, says since when they are).
fn unstored<T>(items: impl Iterator<Item = T>, stored: &[Option<i64>]) -> Vec<T> {
    items.zip(stored).filter(|(_, stored)| stored.is_none()).map(|(item, _)| item).collect()
}

/// Counts a failed write of `table` in `cassandra_write_errors_total` and hands the error on.
fn count(metrics: &Metrics, table: &str, error: anyhow::Error) -> anyhow::Error {
    metrics.cassandra_write_errors.with_label_values(&[table]).inc();
    error
}

/// Writes `items` with `write`, waiting out outages as `patience` says. When the store refuses
/// them for what one of them is, writes them one by one and returns the refused ones with the
/// reason; any other failure is returned.
async fn each_or_all<'a, T, E, Fut, R>(
    outages: &Outages,
    patience: Patience<'_>,
    what: &str,
    items: &'a [T],
    write: impl Fn(&'a [T]) -> Fut,
) -> anyhow::Result<Vec<(&'a T, String)>>
where
    Fut: Future<Output = Result<R, E>>,
    E: DependencyError,
{
    if items.is_empty() {
        return Ok(Vec::new());
    }
    match wait_out_for(outages, what, patience, || write(items)).await {
        Ok(_) => return Ok(Vec::new()),
        Err(error) if error.fault() != Fault::Refused => {
            return Err(anyhow::Error::new(error).context(format!("{what} failed")));
        }
        Err(_) => {}
    }
    let mut refused = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let one = &items[index..=index];
        match wait_out_for(outages, what, patience, || write(one)).await {
            Ok(_) => {}
            Err(error) if error.fault() == Fault::Refused => refused.push((item, error.to_string())),
            Err(error) => return Err(anyhow::Error::new(error)).with_context(|| format!("{what} failed")),
        }
    }
    Ok(refused)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pricestream_runtime::fault::Dependency;
    use std::cell::RefCell;

    #[derive(Debug, thiserror::Error)]
    #[error("{0}")]
    struct StoreError(&'static str);

    impl DependencyError for StoreError {
        const DEPENDENCY: Dependency = Dependency::Cassandra;

        fn fault(&self) -> Fault {
            match self.0 {
                "down" => Fault::Transient,
                "too long" => Fault::Refused,
                _ => Fault::Fatal,
            }
        }
    }

    /// A store that is down for its first call and refuses any write that holds a row over 3.
    #[tokio::test(start_paused = true)]
    async fn an_outage_is_waited_out_and_only_the_refused_rows_are_left_out() {
        let outages = Outages::default();
        let written = RefCell::new(Vec::new());
        let calls = RefCell::new(0);
        let rows = [1, 2, 7, 3, 9];
        let write = |rows: &[i32]| {
            *calls.borrow_mut() += 1;
            let result = if *calls.borrow() == 1 {
                Err(StoreError("down"))
            } else if rows.iter().any(|row| *row > 3) {
                Err(StoreError("too long"))
            } else {
                written.borrow_mut().extend_from_slice(rows);
                Ok(())
            };
            async move { result }
        };
        let patience = Patience::Forever { stop: None };
        let refused = each_or_all(&outages, patience, "test", &rows, write).await.expect("only refusals");
        let refused: Vec<i32> = refused.iter().map(|(row, _)| **row).collect();
        assert_eq!(refused, [7, 9]);
        assert_eq!(*written.borrow(), [1, 2, 3]);
        assert!(!outages.any(), "the outage ended with the first success");
        let fatal = |_: &[i32]| async { Err::<(), _>(StoreError("no such table")) };
        let failed = each_or_all(&outages, patience, "test", &rows, fatal).await;
        assert!(failed.is_err(), "a fatal error ends the write");
    }
}
