//! Kafka and Cassandra, written in an order that makes the bars table the
//! commit record: a bar is stored only after its indicator values and every
//! message of its batch are acknowledged, so a restart that finds a bar
//! stored can trust that everything derived from it is stored too.
//!
//! Outages are waited out with backoff ([`pricestream_runtime::fault`]): for as long as they
//! last in `follow`, a bounded number of tries in `backfill` (`extract.sink_max_attempts`),
//! after which the run fails naming the sink and how to resume.

use crate::{Batch, StoredSeries};
use anyhow::Context;
use pricestream_cassandra::{
    BarTable, BatchLimits, CassandraError, CorporateActionTable, DataQualityTable, IndicatorTables,
    SeriesSettingsTable, connect, create_dwh_schema,
};
use pricestream_indicators::IndicatorParams;
use pricestream_kafka::kafka_fault;
use pricestream_kafka::{KafkaError, PublishError, Publisher, Retention, ensure_topics};
use pricestream_records::topics::Topics;
use pricestream_records::{Adjustment, Timeframe};
use pricestream_runtime::config::{CassandraConfig, KafkaConfig};
use pricestream_runtime::fault::{Backoff, Dependency, Fault, Outages, Patience, wait_out};
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;
use uuid::Uuid;

/// How long the sinks wait for Kafka or Cassandra.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SinkPatience {
    /// This many tries in all, then the run fails (`backfill`).
    Attempts(u32),
    /// Until the service is back, or the process is asked to stop (`follow`).
    Forever,
}

/// A part of a batch a sink did not take.
#[derive(Debug, thiserror::Error)]
#[error("{sink} did not take the batch: {source:#}")]
pub struct SinkError {
    /// The sink, readable (`Kafka topic pricestream.bars`, `Cassandra instrument_data`).
    pub sink: String,
    /// The service behind it.
    pub dependency: Dependency,
    /// Whether waiting can help.
    pub fault: Fault,
    /// What it said.
    #[source]
    pub source: anyhow::Error,
}

/// Where the sinks are and how they write.
#[derive(Debug, Clone, Copy)]
pub struct SinkConfig<'a> {
    /// The brokers and the topic prefix.
    pub kafka: &'a KafkaConfig,
    /// The contact points and the `dwh_keyspace` bars and values are stored in.
    pub cassandra: &'a CassandraConfig,
    /// Rows per Cassandra batch (`extract.cassandra_batch_rows`).
    pub cassandra_batch_rows: usize,
    /// The indicator settings of this run, recorded per series.
    pub indicators: &'a IndicatorParams,
    /// The price adjustment of this run, recorded per series with the indicator settings.
    pub adjustment: Adjustment,
}

/// The connected sinks of one run.
pub struct Sinks {
    publisher: Publisher,
    bars: BarTable,
    indicators: IndicatorTables,
    settings: SeriesSettingsTable,
    actions: CorporateActionTable,
    quality: DataQualityTable,
    /// The settings of this run's values ([`crate::series_settings`]).
    indicator_settings: String,
    topics: Topics,
    task_number: Uuid,
    keyspace: String,
    outages: Arc<Outages>,
    patience: SinkPatience,
    stop: Arc<AtomicBool>,
}

impl Sinks {
    /// Connects to Kafka and Cassandra, creating topics, keyspace and tables if missing, and
    /// waiting out outages as `patience` says (outages are reported to `outages`; `stop` ends
    /// an endless wait).
    pub async fn connect(
        config: SinkConfig<'_>,
        task_number: Uuid,
        outages: Arc<Outages>,
        patience: SinkPatience,
        stop: Arc<AtomicBool>,
    ) -> anyhow::Result<Self> {
        let topics = Topics::with_prefix(&config.kafka.topic_prefix);
        let wanted = [
            (topics.bars.as_str(), Retention::Forever),
            (topics.indicators.as_str(), Retention::Forever),
            (topics.dead_letter.as_str(), Retention::Forever),
            (topics.corporate_actions.as_str(), Retention::Forever),
            (topics.data_quality.as_str(), Retention::Forever),
        ];
        let tries = as_patience(patience, &stop);
        wait_out(&outages, Dependency::Kafka, "create topics", tries, KafkaError::fault, || {
            ensure_topics(config.kafka, &wanted)
        })
        .await?;
        let keyspace = &config.cassandra.dwh_keyspace;
        let limits = BatchLimits {
            rows: config.cassandra_batch_rows,
            in_flight: config.cassandra.max_in_flight_requests,
        };
        let cassandra = || async {
            let session = Arc::new(connect(config.cassandra).await?);
            create_dwh_schema(&session, config.cassandra).await?;
            let bars = BarTable::prepare(Arc::clone(&session), keyspace, limits).await?;
            let settings = SeriesSettingsTable::prepare(Arc::clone(&session), keyspace).await?;
            let in_flight = limits.in_flight;
            let actions = CorporateActionTable::prepare(Arc::clone(&session), keyspace, in_flight).await?;
            let quality = DataQualityTable::prepare(Arc::clone(&session), keyspace, in_flight).await?;
            let indicators = IndicatorTables::prepare(session, keyspace, limits).await?;
            Ok::<_, CassandraError>((bars, indicators, settings, (actions, quality)))
        };
        let (bars, indicators, settings, (actions, quality)) =
            wait_out(&outages, Dependency::Cassandra, "connect", tries, CassandraError::fault, cassandra)
                .await?;
        Ok(Sinks {
            publisher: Publisher::reporting(config.kafka, Arc::clone(&outages))?,
            bars,
            indicators,
            settings,
            actions,
            quality,
            indicator_settings: crate::series_settings(config.indicators, config.adjustment),
            topics,
            task_number,
            keyspace: keyspace.clone(),
            outages,
            patience,
            stop,
        })
    }

    /// Every stored bar of one series, the settings its values were computed with (`None`:
    /// none recorded) and its ticker's corporate actions, waiting out Cassandra outages.
    pub async fn read_series(&self, ticker: &str, timeframe: Timeframe) -> anyhow::Result<StoredSeries> {
        let tries = || as_patience(self.patience, &self.stop);
        let context = || format!("cannot read the stored bars of {ticker} from Cassandra {}", self.keyspace);
        let (outages, what) = (&self.outages, "read stored bars");
        let (bars, settings, actions, findings) = tokio::try_join!(
            wait_out(outages, Dependency::Cassandra, what, tries(), CassandraError::fault, || {
                self.bars.read_series(ticker, timeframe)
            }),
            wait_out(outages, Dependency::Cassandra, what, tries(), CassandraError::fault, || {
                self.settings.read(ticker, timeframe.as_str())
            }),
            wait_out(outages, Dependency::Cassandra, what, tries(), CassandraError::fault, || {
                self.actions.read(ticker)
            }),
            wait_out(outages, Dependency::Cassandra, what, tries(), CassandraError::fault, || {
                self.quality.read_open(ticker)
            }),
        )
        .with_context(context)?;
        Ok(StoredSeries { ticker: ticker.to_owned(), timeframe, bars, settings, actions, findings })
    }

    /// During an outage, asks the dependency whether it is back (a follower with nothing to
    /// send would otherwise stay not ready until its next file).
    pub async fn probe(&self) {
        if self.outages.is_down(Dependency::Kafka) {
            let (publisher, topic) = (&self.publisher, self.topics.bars.clone());
            let back = tokio::task::block_in_place(|| publisher.answers(&topic, Duration::from_secs(1)));
            if back {
                self.outages.succeeded(Dependency::Kafka);
            }
        }
        if self.outages.is_down(Dependency::Cassandra) && self.settings.read("", "1day").await.is_ok() {
            self.outages.succeeded(Dependency::Cassandra);
        }
    }

    /// Sends a batch and returns once every part of it is acknowledged, waiting out outages
    /// as the run's patience says. Every write is an upsert keyed by ticker and date (and the
    /// topics are read at least once), so sending a batch again is safe.
    pub async fn send_patiently(&self, batch: &Batch) -> anyhow::Result<()> {
        let mut backoff = Backoff::for_services();
        let mut tries = 0;
        loop {
            tries += 1;
            let error = match self.send(batch).await {
                Ok(()) => {
                    for dependency in Dependency::ALL {
                        self.outages.succeeded(dependency);
                    }
                    return Ok(());
                }
                Err(error) => error,
            };
            let out_of_tries = match self.patience {
                SinkPatience::Attempts(limit) => tries >= limit,
                SinkPatience::Forever => self.stop.load(std::sync::atomic::Ordering::Relaxed),
            };
            if error.fault != Fault::Transient || out_of_tries {
                let sink = error.sink.clone();
                let resume = match error.fault {
                    Fault::Transient => format!(
                        "; once {sink} answers again, run the same command again: bars already stored are skipped, so it resumes where this run stopped"
                    ),
                    _ => String::new(),
                };
                return Err(anyhow::Error::new(error).context(format!(
                    "batch refused {tries} time(s) by {sink}; nothing after it was sent{resume}"
                )));
            }
            self.outages.failed(error.dependency, &error.sink, &error.source);
            tokio::time::sleep(backoff.next_pause()).await;
        }
    }

    /// Sends a batch once and returns once every part of it is acknowledged.
    async fn send(&self, batch: &Batch) -> Result<(), SinkError> {
        let task = self.task_number;
        let mut bars = Vec::with_capacity(batch.bars.len());
        batch.for_each_bar_message(&mut Vec::new(), |ticker, message| bars.push((ticker, message.to_vec())));
        let mut indicators = Vec::with_capacity(batch.indicator_count());
        batch.for_each_indicator_message(&mut Vec::new(), |ticker, message| {
            indicators.push((ticker, message.to_vec()));
        });
        let dead = batch.dead_letters.iter().map(|d| (d.source.as_str(), d));
        let kafka = |topic: &str, result: Result<usize, PublishError>| {
            result.map_err(|error| SinkError {
                sink: format!("Kafka topic {topic}"),
                dependency: Dependency::Kafka,
                fault: kafka_fault(&error.source),
                source: error.into(),
            })
        };
        let cassandra = |result: Result<usize, CassandraError>| {
            result.map_err(|error| SinkError {
                sink: format!("Cassandra keyspace {}", self.keyspace),
                dependency: Dependency::Cassandra,
                fault: error.fault(),
                source: error.into(),
            })
        };
        // The old values of a series sent again with other settings go before its new ones.
        for (ticker, timeframe) in &batch.purged {
            cassandra(self.indicators.delete_series(ticker, timeframe.as_str()).await.map(|()| 1))?;
        }
        tokio::try_join!(
            async {
                kafka(&self.topics.bars, self.publisher.publish_encoded(&self.topics.bars, task, bars).await)
            },
            async {
                let topic = &self.topics.indicators;
                kafka(topic, self.publisher.publish_encoded(topic, task, indicators).await)
            },
            async {
                let topic = &self.topics.dead_letter;
                kafka(topic, self.publisher.publish_all(topic, task, dead).await)
            },
            async { cassandra(self.indicators.write_rows(batch.indicator_rows()).await) },
            async {
                let topic = &self.topics.corporate_actions;
                let actions = batch.actions.iter().map(|action| (&*action.ticker, action));
                kafka(topic, self.publisher.publish_all(topic, task, actions).await)
            },
            async {
                let topic = &self.topics.data_quality;
                let findings = batch.findings.iter().map(|finding| (&*finding.ticker, finding));
                kafka(topic, self.publisher.publish_all(topic, task, findings).await)
            },
            async { cassandra(self.quality.write_all(&batch.findings, task).await) },
        )?;
        cassandra(self.bars.write_all(&batch.bars).await)?;
        // After the bars an action restated: a run that stops before this one restates again.
        cassandra(self.actions.write_all(&batch.actions, task).await)?;
        // Last: a series is recorded as computed with these settings once all its values are in.
        for (ticker, timeframe) in &batch.settled {
            let recorded = self.settings.write(ticker, timeframe.as_str(), &self.indicator_settings).await;
            cassandra(recorded.map(|()| 1))?;
        }
        Ok(())
    }

    /// Waits until the producer has delivered everything.
    pub fn close(&self) -> anyhow::Result<()> {
        self.publisher.flush(Duration::from_secs(60))?;
        Ok(())
    }
}

/// The patience of a wait for one request.
fn as_patience(patience: SinkPatience, stop: &AtomicBool) -> Patience<'_> {
    match patience {
        SinkPatience::Attempts(limit) => Patience::Attempts(limit),
        SinkPatience::Forever => Patience::Forever { stop: Some(stop) },
    }
}
