//! Trained models in `instrument_mart.models`: every version kept, the latest of a scope one
//! single-row read.

use super::CassandraError;
use super::statements::{insert_cql, prepare};
use crate::Result;
use chrono::{DateTime, NaiveDate, Utc};
use pricestream_model::{
    BacktestSummary, Booster, Challenge, Gate, MODEL_FORMAT_VERSION, Metrics, ModelRecord, ModelScope,
    StoredModel,
};
use scylla::client::session::Session;
use scylla::statement::prepared::PreparedStatement;
use scylla::value::{CqlValue, Row};
use scylla::{DeserializeRow, SerializeRow};
use std::sync::Arc;
use tracing::{debug, info};

const COLUMNS: &str = "scope, version, trained_at, horizon_bars, hyperparameters, training_rows, \
    first_date, last_date, backtest_rows, model_rmse, model_mae, model_mape_percent, \
    model_direction_percent, baseline_rmse, baseline_mae, baseline_mape_percent, up_percent, \
    gated_rmse, gated_mae, gated_mape_percent, gated_direction_percent, gate_weight, importance, \
    kept_version, challenge, model_last_date, model_format_version, model";

/// One row of `models`, as written and as read.
#[derive(SerializeRow, DeserializeRow)]
struct ModelRow {
    scope: String,
    version: i32,
    trained_at: DateTime<Utc>,
    horizon_bars: i32,
    hyperparameters: String,
    training_rows: i64,
    first_date: Option<NaiveDate>,
    last_date: Option<NaiveDate>,
    backtest_rows: Option<i64>,
    model_rmse: Option<f64>,
    model_mae: Option<f64>,
    model_mape_percent: Option<f64>,
    model_direction_percent: Option<f64>,
    baseline_rmse: Option<f64>,
    baseline_mae: Option<f64>,
    baseline_mape_percent: Option<f64>,
    up_percent: Option<f64>,
    gated_rmse: Option<f64>,
    gated_mae: Option<f64>,
    gated_mape_percent: Option<f64>,
    gated_direction_percent: Option<f64>,
    /// The serving gate's weight; null in rows stored before the gate existed (read as
    /// persistence: those versions were never checked against it).
    gate_weight: Option<f64>,
    /// JSON of the model's feature importance (`Booster::importance`), for readers without a
    /// model parser; null in rows stored before it was kept.
    importance: Option<String>,
    /// The version whose model and gate this one keeps serving (it did not beat them).
    kept_version: Option<i32>,
    /// JSON of the challenge against the version serving when it was trained (`Challenge`).
    challenge: Option<String>,
    /// The last row date the stored model was fitted on; null in rows stored before it was
    /// kept (read as `last_date`: those versions serve their own model).
    model_last_date: Option<NaiveDate>,
    /// Checked by `Booster::from_json` on reading; the column is for readers without it.
    model_format_version: i32,
    model: String,
}

/// How many times [`ModelTable::save`] tries for a free version before giving up.
const SAVE_ATTEMPTS: usize = 20;

/// Stores and loads models in `models`.
pub struct ModelTable {
    session: Arc<Session>,
    insert: PreparedStatement,
    latest: PreparedStatement,
    newest: PreparedStatement,
    version: PreparedStatement,
    table: String,
}

impl ModelTable {
    /// Prepares the statements against `keyspace.models`.
    pub async fn prepare(session: Arc<Session>, keyspace: &str) -> Result<Self> {
        let table = format!("{keyspace}.models");
        // A lightweight transaction: two trainers racing for the same version cannot both win.
        let insert = prepare(&session, format!("{} IF NOT EXISTS", insert_cql(&table, COLUMNS))).await?;
        let cql = format!("SELECT {COLUMNS} FROM {table} WHERE scope = ? LIMIT 1");
        let latest = prepare(&session, cql).await?;
        let cql = format!("SELECT {COLUMNS} FROM {table} WHERE scope = ? LIMIT ?");
        let newest = prepare(&session, cql).await?;
        let cql = format!("SELECT {COLUMNS} FROM {table} WHERE scope = ? AND version = ?");
        let version = prepare(&session, cql).await?;
        Ok(ModelTable { session, insert, latest, newest, version, table })
    }

    /// Stores `record` under the next version of its scope (1 for the first) and returns it.
    pub async fn save(&self, record: &ModelRecord) -> Result<i32> {
        let scope = record.scope.as_str();
        let hyperparameters =
            serde_json::to_string(record.booster.params()).map_err(|e| self.bad_row(scope, e))?;
        let model = record.booster.to_json();
        let importance =
            serde_json::to_string(&record.booster.importance()).map_err(|e| self.bad_row(scope, e))?;
        let challenge = record.challenge.map(|c| serde_json::to_string(&c)).transpose();
        let challenge = challenge.map_err(|e| self.bad_row(scope, e))?;
        let backtest = record.backtest.as_ref();
        let metric = |pick: fn(&BacktestSummary) -> f64| backtest.map(pick);
        // The latest version + 1; when another trainer took that number first, the next one.
        let mut version = self.latest_version(scope).await?.map_or(1, |latest| latest + 1);
        for _ in 0..SAVE_ATTEMPTS {
            let values = ModelRow {
                scope: scope.to_owned(),
                version,
                trained_at: record.trained_at,
                horizon_bars: i32::try_from(record.horizon_bars).unwrap_or(i32::MAX),
                hyperparameters: hyperparameters.clone(),
                training_rows: record.training_rows,
                first_date: record.first_date,
                last_date: record.last_date,
                backtest_rows: backtest.map(|b| b.model.rows as i64),
                model_rmse: metric(|b| b.model.rmse),
                model_mae: metric(|b| b.model.mae),
                model_mape_percent: metric(|b| b.model.mape_percent),
                model_direction_percent: backtest.and_then(|b| b.model.directional_accuracy_percent),
                baseline_rmse: metric(|b| b.baseline.rmse),
                baseline_mae: metric(|b| b.baseline.mae),
                baseline_mape_percent: metric(|b| b.baseline.mape_percent),
                up_percent: metric(|b| b.up_percent),
                gated_rmse: metric(|b| b.gated.rmse),
                gated_mae: metric(|b| b.gated.mae),
                gated_mape_percent: metric(|b| b.gated.mape_percent),
                gated_direction_percent: backtest.and_then(|b| b.gated.directional_accuracy_percent),
                gate_weight: Some(record.gate.weight),
                importance: Some(importance.clone()),
                kept_version: record.kept_version(),
                challenge: challenge.clone(),
                model_last_date: record.model_last_date,
                model_format_version: MODEL_FORMAT_VERSION as i32,
                // A model is a few hundred kilobytes of JSON; a copy per save costs nothing
                // next to the training before it.
                model: model.clone(),
            };
            let result = self.session.execute_unpaged(&self.insert, values).await.map_err(|source| {
                CassandraError::Write { table: self.table.clone(), key: format!("{scope}/{version}"), source }
            })?;
            if applied(result)
                .map_err(|message| CassandraError::Decode { table: self.table.clone(), message })?
            {
                info!(scope, version, training_rows = record.training_rows, "Stored model.");
                return Ok(version);
            }
            debug!(scope, version, "Version taken by another writer; trying the next.");
            version += 1;
        }
        Err(CassandraError::VersionConflict {
            table: self.table.clone(),
            scope: scope.to_owned(),
            attempts: SAVE_ATTEMPTS,
        })
    }

    /// The latest version of `scope`, if it has any model.
    pub async fn latest_version(&self, scope: &str) -> Result<Option<i32>> {
        Ok(self.read_one(&self.latest, (scope,)).await?.map(|row| row.version))
    }

    /// The latest model of `scope` (one single-row read), if it has any.
    pub async fn load_latest(&self, scope: &ModelScope) -> Result<Option<StoredModel>> {
        self.read_one(&self.latest, (scope.as_str(),)).await?.map(|row| self.decode(row)).transpose()
    }

    /// The `count` newest versions of `scope`, newest first (one single-partition read).
    pub async fn load_newest(&self, scope: &ModelScope, count: i32) -> Result<Vec<StoredModel>> {
        let read_error = |message: String| CassandraError::Read { table: self.table.clone(), message };
        let decode_error = |message: String| CassandraError::Decode { table: self.table.clone(), message };
        let result = self
            .session
            .execute_unpaged(&self.newest, (scope.as_str(), count))
            .await
            .map_err(|e| read_error(e.to_string()))?;
        let rows = result.into_rows_result().map_err(|e| decode_error(e.to_string()))?;
        let rows: Vec<ModelRow> = rows
            .rows::<ModelRow>()
            .map_err(|e| decode_error(e.to_string()))?
            .collect::<std::result::Result<_, _>>()
            .map_err(|e| decode_error(e.to_string()))?;
        rows.into_iter().map(|row| self.decode(row)).collect()
    }

    /// Version `version` of `scope`, if it exists.
    pub async fn load(&self, scope: &ModelScope, version: i32) -> Result<Option<StoredModel>> {
        self.read_one(&self.version, (scope.as_str(), version)).await?.map(|row| self.decode(row)).transpose()
    }

    async fn read_one(
        &self,
        statement: &PreparedStatement,
        values: impl scylla::serialize::row::SerializeRow,
    ) -> Result<Option<ModelRow>> {
        let read_error = |message: String| CassandraError::Read { table: self.table.clone(), message };
        let decode_error = |message: String| CassandraError::Decode { table: self.table.clone(), message };
        let result =
            self.session.execute_unpaged(statement, values).await.map_err(|e| read_error(e.to_string()))?;
        let rows = result.into_rows_result().map_err(|e| decode_error(e.to_string()))?;
        rows.maybe_first_row::<ModelRow>().map_err(|e| decode_error(e.to_string()))
    }

    fn decode(&self, row: ModelRow) -> Result<StoredModel> {
        let key = format!("{}/{}", row.scope, row.version);
        let booster = Booster::from_json(&row.model).map_err(|e| CassandraError::BadRow {
            table: self.table.clone(),
            key: key.clone(),
            message: e.to_string(),
        })?;
        let challenge = row.challenge.as_deref().map(serde_json::from_str::<Challenge>).transpose();
        let challenge = challenge.map_err(|e| CassandraError::BadRow {
            table: self.table.clone(),
            key: key.clone(),
            message: format!("challenge: {e}"),
        })?;
        let rows = row.backtest_rows.unwrap_or(0).max(0) as usize;
        let backtest = match (
            row.model_rmse,
            row.model_mae,
            row.model_mape_percent,
            row.baseline_rmse,
            row.baseline_mae,
            row.baseline_mape_percent,
        ) {
            (Some(rmse), Some(mae), Some(mape_percent), Some(b_rmse), Some(b_mae), Some(b_mape)) => {
                Some(BacktestSummary {
                    model: Metrics {
                        rows,
                        rmse,
                        mae,
                        mape_percent,
                        directional_accuracy_percent: row.model_direction_percent,
                    },
                    baseline: Metrics {
                        rows,
                        rmse: b_rmse,
                        mae: b_mae,
                        mape_percent: b_mape,
                        directional_accuracy_percent: None,
                    },
                    // Rows stored before the gate serve persistence (see `gate_weight`).
                    gated: Metrics {
                        rows,
                        rmse: row.gated_rmse.unwrap_or(b_rmse),
                        mae: row.gated_mae.unwrap_or(b_mae),
                        mape_percent: row.gated_mape_percent.unwrap_or(b_mape),
                        directional_accuracy_percent: row.gated_direction_percent,
                    },
                    up_percent: row.up_percent.unwrap_or(f64::NAN),
                })
            }
            _ => None,
        };
        Ok(StoredModel {
            version: row.version,
            hyperparameters: row.hyperparameters,
            record: ModelRecord {
                scope: ModelScope::parse(&row.scope),
                trained_at: row.trained_at,
                horizon_bars: u32::try_from(row.horizon_bars).unwrap_or(0),
                training_rows: row.training_rows,
                first_date: row.first_date,
                last_date: row.last_date,
                backtest,
                gate: row.gate_weight.map_or(Gate::PERSISTENCE, |weight| Gate { weight }),
                booster,
                challenge,
                model_last_date: row.model_last_date.or(row.last_date),
            },
        })
    }

    fn bad_row(&self, scope: &str, error: impl std::fmt::Display) -> CassandraError {
        CassandraError::BadRow {
            table: self.table.clone(),
            key: scope.to_owned(),
            message: error.to_string(),
        }
    }
}

/// Whether a lightweight transaction was applied: its first column, `[applied]`.
fn applied(result: scylla::response::query_result::QueryResult) -> Result<bool, String> {
    let rows = result.into_rows_result().map_err(|e| e.to_string())?;
    let row: Row = rows.first_row().map_err(|e| e.to_string())?;
    match row.columns.first() {
        Some(Some(CqlValue::Boolean(applied))) => Ok(*applied),
        other => Err(format!("unexpected [applied] column: {other:?}")),
    }
}
