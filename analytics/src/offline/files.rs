//! Mart rows computed from CSV files, without any service: the extractor's readers for the
//! bars, the model's offline feature computation for the rows.

use super::error::ModelCommandError;
use pricestream_indicators::IndicatorParams;
use pricestream_model::feature_rows;
use pricestream_records::{Bar, FeatureRow};
use pricestream_sources::{FileFormat, list_files, open_file};
use std::collections::BTreeMap;
use std::path::Path;
use tracing::{info, warn};

/// The bars of every data file `input` names, by ticker, in date order (a date read twice for a
/// ticker keeps the later file's bar). Lines the extractor would refuse are skipped and counted.
pub fn read_bars(input: &Path) -> Result<BTreeMap<String, Vec<Bar>>, ModelCommandError> {
    let files = list_files(input)?;
    if files.is_empty() {
        return Err(ModelCommandError::NoFiles(input.to_owned()));
    }
    let mut series: BTreeMap<String, BTreeMap<chrono::NaiveDate, Bar>> = BTreeMap::new();
    for file in &files {
        let (mut read, mut refused) = (0_usize, 0_usize);
        for item in open_file(file, &FileFormat::Yahoo, uuid::Uuid::nil())? {
            match item {
                Ok(bar) => {
                    read += 1;
                    series.entry(bar.ticker.to_string()).or_default().insert(bar.datetime, bar);
                }
                Err(error) => {
                    if refused == 0 {
                        warn!(file = %file.display(), %error, "Skipping a line the extractor would refuse.");
                    }
                    refused += 1;
                }
            }
        }
        info!(file = %file.display(), bars = read, refused, "Read bars.");
    }
    Ok(series.into_iter().map(|(ticker, bars)| (ticker, bars.into_values().collect())).collect())
}

/// The mart rows of each series, as the analytics service would keep them with the default
/// indicator periods and `horizon_bars`.
pub fn mart_rows(bars: &BTreeMap<String, Vec<Bar>>, horizon_bars: usize) -> Vec<FeatureRow> {
    let params = IndicatorParams::default();
    bars.values().flat_map(|series| feature_rows(series, &params, horizon_bars)).collect()
}
