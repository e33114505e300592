use super::CassandraError;
use crate::Result;
use pricestream_records::IndicatorKind;
use pricestream_runtime::config::CassandraConfig;
use scylla::client::session::Session;
use tracing::info;

/// The warehouse table of bars: the seed's keyspace, table and columns, with a
/// primary key that puts one ticker and timeframe in one partition, clustered
/// by time, so a date-range read for a ticker is a single-partition slice and
/// no secondary index is needed.
const TIME_SERIES_HISTORY: &str = "CREATE TABLE IF NOT EXISTS {ks}.time_series_history (
    ticker text,
    timeframe text,
    datetime timestamp,
    task_number uuid,
    open decimal,
    high decimal,
    low decimal,
    close decimal,
    volume bigint,
    source text,
    PRIMARY KEY ((ticker, timeframe), datetime)
) WITH CLUSTERING ORDER BY (datetime ASC)
  AND compression = {'class': 'LZ4Compressor', 'chunk_length_in_kb': 64}";

/// The indicator settings each series' stored values were computed with (see
/// `SeriesSettingsTable`): one row per series.
const SERIES_SETTINGS: &str = "CREATE TABLE IF NOT EXISTS {ks}.series_settings (
    ticker text,
    timeframe text,
    indicators text,
    PRIMARY KEY ((ticker, timeframe))
)";

/// The feature mart: one row per bar, the seed's `combineDatasets` columns (unquoted, so CQL
/// matches them case-insensitively), plus the model label.
fn features_table(keyspace: &str) -> String {
    let columns: Vec<String> =
        super::mart_row::columns().into_iter().map(|(name, typ)| format!("    {name} {typ},")).collect();
    format!(
        "CREATE TABLE IF NOT EXISTS {keyspace}.features (\n{}\n    PRIMARY KEY ((ticker, timeframe), dateTime)\n) \
         WITH CLUSTERING ORDER BY (dateTime ASC)",
        columns.join("\n")
    )
}

/// Trained models, every version kept. One partition per scope (a ticker, or `global`), newest
/// version first, so "the latest model of a scope" is the first row of one partition
/// (`LIMIT 1`). The hyperparameters are JSON text under XGBoost's names; the backtest columns are
/// null when the model was stored without a walk-forward backtest (too few rows). A version
/// that did not beat the version serving when it was trained keeps that one's model and gate:
/// `kept_version` names it, `challenge` (JSON) holds both sides' holdout errors.
const MODELS: &str = "CREATE TABLE IF NOT EXISTS {ks}.models (
    scope text,
    version int,
    trained_at timestamp,
    horizon_bars int,
    hyperparameters text,
    training_rows bigint,
    first_date date,
    last_date date,
    backtest_rows bigint,
    model_rmse double, model_mae double, model_mape_percent double, model_direction_percent double,
    baseline_rmse double, baseline_mae double, baseline_mape_percent double,
    up_percent double,
    gated_rmse double, gated_mae double, gated_mape_percent double, gated_direction_percent double,
    gate_weight double,
    importance text,
    kept_version int,
    challenge text,
    model_last_date date,
    model_format_version int,
    model text,
    PRIMARY KEY ((scope), version)
) WITH CLUSTERING ORDER BY (version DESC)";

/// Forecasts, keyed like the mart: one partition per ticker and timeframe, one row per as-of
/// date (a newer forecast for the same day replaces the older one).
fn predictions_table(keyspace: &str) -> String {
    format!(
        "CREATE TABLE IF NOT EXISTS {keyspace}.predictions (\n    ticker text,\n    timeframe text,\n    as_of date,\n\
         {}\n    PRIMARY KEY ((ticker, timeframe), as_of)\n) WITH CLUSTERING ORDER BY (as_of ASC)",
        super::predictions::VALUE_COLUMNS
    )
}

/// Columns added after a table was first released, by table: a mart created by an older
/// release gets them with `ALTER TABLE … ADD` (see [`add_missing_columns`]).
const ADDED_MART_COLUMNS: [(&str, &[(&str, &str)]); 4] = [
    ("features", &[("adjustmentFactor", "double")]),
    (
        "models",
        &[
            ("gated_rmse", "double"),
            ("gated_mae", "double"),
            ("gated_mape_percent", "double"),
            ("gated_direction_percent", "double"),
            ("gate_weight", "double"),
            ("importance", "text"),
            ("kept_version", "int"),
            ("challenge", "text"),
            ("model_last_date", "date"),
        ],
    ),
    ("predictions", &[("forecaster", "text"), ("gate_weight", "double"), ("adjustment_factor", "double")]),
    // Versions as changelog messages; versions of the typed layout before are refused on read.
    ("features_history", &[("row_json", "text")]),
];

/// The warehouse's columns added after its first release, by table: a warehouse created
/// before gets them by `ALTER TABLE` (rows written before read as null).
const ADDED_DWH_COLUMNS: [(&str, &[(&str, &str)]); 1] = [("time_series_history", &[("source", "text")])];

/// Fencing: the generation of each consumer group's cluster, taken with a lightweight
/// transaction by every new incarnation (see `GenerationTable`).
const GENERATIONS: &str = "CREATE TABLE IF NOT EXISTS {ks}.generations (
    group_id text PRIMARY KEY,
    generation bigint,
    claimed_at timestamp,
    claimed_by text
)";

/// One table per indicator, the seed's names and value columns, keyed like
/// `time_series_history` so a ticker's values are one partition in date order.
fn indicator_table(keyspace: &str, kind: IndicatorKind) -> String {
    let table = kind.as_str();
    let columns: Vec<String> =
        super::indicators::value_columns(kind).map(|(column, typ)| format!("    {column} {typ},")).collect();
    format!(
        "CREATE TABLE IF NOT EXISTS {keyspace}.{table} (\n    ticker text,\n    timeframe text,\n    datetime timestamp,\n    \
         task_number uuid,\n{}\n    PRIMARY KEY ((ticker, timeframe), datetime)\n) WITH CLUSTERING ORDER BY (datetime ASC)",
        columns.join("\n")
    )
}

fn keyspace(name: &str, replication: &str) -> String {
    format!("CREATE KEYSPACE IF NOT EXISTS {name} WITH replication = {replication}")
}

/// CQL that creates the warehouse keyspace and tables, idempotently.
pub fn dwh_statements(config: &CassandraConfig) -> Vec<String> {
    let ks = &config.dwh_keyspace;
    let mut statements = vec![keyspace(ks, &config.replication), TIME_SERIES_HISTORY.replace("{ks}", ks)];
    statements.extend(IndicatorKind::ALL.iter().map(|&kind| indicator_table(ks, kind)));
    statements.push(SERIES_SETTINGS.replace("{ks}", ks));
    statements.push(super::corporate_actions::CORPORATE_ACTIONS.replace("{ks}", ks));
    statements.push(super::data_quality::DATA_QUALITY.replace("{ks}", ks));
    statements
}

/// CQL that creates the mart keyspace and tables, idempotently.
pub fn mart_statements(config: &CassandraConfig) -> Vec<String> {
    let ks = &config.mart_keyspace;
    vec![
        keyspace(ks, &config.replication),
        features_table(ks),
        MODELS.replace("{ks}", ks),
        predictions_table(ks),
        GENERATIONS.replace("{ks}", ks),
        super::feature_history::features_history_table(ks),
        super::prediction_history::predictions_history_table(ks),
    ]
}

async fn run_all(session: &Session, statements: Vec<String>) -> Result<()> {
    for statement in statements {
        session
            .query_unpaged(statement.as_str(), &[])
            .await
            .map_err(|source| CassandraError::Schema { statement: statement.clone(), source })?;
    }
    // Later statements prepared against these tables must see them on every node.
    if let Err(e) = session.await_schema_agreement().await {
        tracing::warn!(error = %e, "Schema agreement not reached; continuing.");
    }
    Ok(())
}

/// The `ALTER TABLE` statements that add the `columns` `keyspace.table` lacks.
async fn add_missing_columns(
    session: &Session,
    keyspace: &str,
    table: &str,
    columns: &[(&str, &str)],
) -> Result<Vec<String>> {
    let cql = "SELECT column_name FROM system_schema.columns WHERE keyspace_name = ? AND table_name = ?";
    let read = |e: String| CassandraError::Read { table: "system_schema.columns".into(), message: e };
    let result = session.query_unpaged(cql, (keyspace, table)).await.map_err(|e| read(e.to_string()))?;
    let rows = result.into_rows_result().map_err(|e| read(e.to_string()))?;
    let existing: Vec<String> = rows
        .rows::<(String,)>()
        .map_err(|e| read(e.to_string()))?
        .map(|row| row.map(|(name,)| name))
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| read(e.to_string()))?;
    Ok(columns
        .iter()
        // Unquoted names are stored lower-cased.
        .filter(|(name, _)| !existing.iter().any(|column| column.eq_ignore_ascii_case(name)))
        .map(|(name, typ)| format!("ALTER TABLE {keyspace}.{table} ADD {name} {typ}"))
        .collect())
}

/// Adds the `added` columns the tables of `keyspace` lack (created by an older release).
async fn add_columns(session: &Session, keyspace: &str, added: &[(&str, &[(&str, &str)])]) -> Result<()> {
    let mut statements = Vec::new();
    for (table, columns) in added {
        statements.extend(add_missing_columns(session, keyspace, table, columns).await?);
    }
    if !statements.is_empty() {
        run_all(session, statements).await?;
        info!(keyspace, "Added the columns of this release to its tables.");
    }
    Ok(())
}

/// Creates the warehouse keyspace and tables if they do not exist.
pub async fn create_dwh_schema(session: &Session, config: &CassandraConfig) -> Result<()> {
    run_all(session, dwh_statements(config)).await?;
    add_columns(session, &config.dwh_keyspace, &ADDED_DWH_COLUMNS).await?;
    info!(keyspace = %config.dwh_keyspace, "Warehouse schema ready.");
    Ok(())
}

/// Creates the mart keyspace and tables if they do not exist, and adds the columns a mart
/// created by an older release lacks.
pub async fn create_mart_schema(session: &Session, config: &CassandraConfig) -> Result<()> {
    run_all(session, mart_statements(config)).await?;
    add_columns(session, &config.mart_keyspace, &ADDED_MART_COLUMNS).await?;
    info!(keyspace = %config.mart_keyspace, "Mart schema ready.");
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indicator_tables_have_the_seed_columns() {
        let statements = dwh_statements(&CassandraConfig::default());
        assert_eq!(statements.len(), 2 + 7 + 1 + 1 + 1);
        let macd = statements.iter().find(|s| s.contains(".macd (")).expect("macd table");
        for column in ["fastPeriod int", "signalPeriod int", "macdSignal double", "macdHist double"] {
            assert!(macd.contains(column), "{macd}");
        }
        assert!(macd.contains("PRIMARY KEY ((ticker, timeframe), datetime)"), "{macd}");
    }

    #[test]
    fn the_mart_has_features_models_predictions_and_their_history() {
        let statements = mart_statements(&CassandraConfig::default());
        let tables: Vec<&str> = statements
            .iter()
            .filter_map(|s| s.strip_prefix("CREATE TABLE IF NOT EXISTS instrument_mart."))
            .filter_map(|s| s.split_whitespace().next())
            .collect();
        assert_eq!(
            tables,
            ["features", "models", "predictions", "generations", "features_history", "predictions_history"]
        );
        let models = &statements[2];
        assert!(models.contains("CLUSTERING ORDER BY (version DESC)"), "{models}");
    }

    #[test]
    fn a_fresh_mart_and_warehouse_have_every_column_an_old_one_gets_added() {
        let config = CassandraConfig::default();
        let (mart, dwh) = (mart_statements(&config), dwh_statements(&config));
        let added = ADDED_MART_COLUMNS.iter().map(|added| (&mart, "instrument_mart", added));
        for (statements, keyspace, (table, columns)) in
            added.chain(ADDED_DWH_COLUMNS.iter().map(|added| (&dwh, "instrument_data", added)))
        {
            let create = statements
                .iter()
                .find(|s| s.contains(&format!("{keyspace}.{table} (")))
                .unwrap_or_else(|| panic!("no CREATE of {table}"));
            for (name, typ) in columns.iter() {
                assert!(
                    create.contains(&format!("{name} {typ}")),
                    "{table}.{name} {typ} missing from {create}"
                );
            }
        }
    }
}
