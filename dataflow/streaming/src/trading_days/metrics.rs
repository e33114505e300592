//! The frontier's metrics (worker 0 of the cluster declares the days).

use pricestream_runtime::telemetry::register;
use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts, Registry};

/// What `/metrics` shows of the trading days.
pub struct TradingDayMetrics {
    /// Days declared, by `status` (complete, deadline).
    pub declared: IntCounterVec,
    /// The last day declared, as the Unix time of its midnight UTC.
    pub last_declared: IntGauge,
    /// Tickers missing from the last day declared.
    pub missing: IntGauge,
    /// Bars that arrived after their day was declared without them (applied as restatements).
    pub late_bars: IntCounter,
    /// From the end of this worker's write of the epoch that completed a day to the day's event
    /// acknowledged by Kafka.
    pub declare_seconds: Histogram,
}

impl TradingDayMetrics {
    /// Creates and registers them.
    pub fn new(registry: &Registry) -> Result<Self, prometheus::Error> {
        Ok(TradingDayMetrics {
            declared: register(
                registry,
                IntCounterVec::new(
                    Opts::new(
                        "pricestream_analytics_trading_days_declared_total",
                        "Events on the trading-days topic, by status: complete (every universe ticker has its bar), deadline, or forecasts_complete (every forecast of a declared day written).",
                    ),
                    &["status"],
                )?,
            )?,
            last_declared: register(
                registry,
                IntGauge::new(
                    "pricestream_analytics_trading_day_last_declared_timestamp_seconds",
                    "The last trading day declared, as the Unix time of its midnight UTC.",
                )?,
            )?,
            missing: register(
                registry,
                IntGauge::new(
                    "pricestream_analytics_trading_day_missing_tickers",
                    "Universe tickers without a bar on the last trading day declared.",
                )?,
            )?,
            late_bars: register(
                registry,
                IntCounter::new(
                    "pricestream_analytics_trading_day_late_bars_total",
                    "Bars that arrived after their trading day was declared without them; applied as restatements.",
                )?,
            )?,
            declare_seconds: register(
                registry,
                Histogram::with_opts(
                    HistogramOpts::new(
                        "pricestream_analytics_trading_day_declare_seconds",
                        "From the end of the write of the epoch that completed a trading day to its event acknowledged by Kafka.",
                    )
                    .buckets(vec![0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.25, 0.5, 1.0, 5.0]),
                )?,
            )?,
        })
    }
}
