//! A cheap guard that the bench measured a working graph: the sampled tickers' consolidated
//! output must equal a naive recomputation (ids, labels, indicator values), row for row.

use crate::synthetic::{Series, series};
use chrono::NaiveDate;
use pricestream_features::{FeatureRecord, Indicator, SeriesKey};
use pricestream_records::Timeframe;
use std::collections::HashMap;

/// The rows of ticker `index` over `dates` as the seed's `combineDatasets` would compute them.
fn expected(index: usize, dates: &[NaiveDate], horizon: usize) -> Vec<FeatureRecord> {
    let Series { bars, indicators } = series(index, dates);
    bars.iter()
        .zip(&indicators)
        .enumerate()
        .map(|(i, (bar, values))| {
            let values = values.iter().map(|record| Indicator::from(&record.value)).collect();
            FeatureRecord {
                key: (SeriesKey { ticker: bar.ticker.to_string(), timeframe: Timeframe::Day }, bar.datetime),
                id: i as u64 + 1,
                close: bar.close.into(),
                label: bars.get(i + horizon).map(|later| later.close.into()),
                indicators: values,
            }
        })
        .collect()
}

/// Compares the accumulated output `updates` of the sampled tickers with [`expected`]; returns
/// how many rows were compared.
pub fn sampled_rows(
    updates: &[(FeatureRecord, isize)],
    samples: &[usize],
    dates: &[NaiveDate],
    horizon: usize,
) -> Result<usize, String> {
    let mut accumulated: HashMap<&FeatureRecord, isize> = HashMap::new();
    for (record, diff) in updates {
        *accumulated.entry(record).or_default() += diff;
    }
    let mut got: Vec<FeatureRecord> = Vec::new();
    for (record, count) in accumulated {
        match count {
            0 => {}
            1 => got.push(record.clone()),
            _ => return Err(format!("multiplicity {count} for {record:?}")),
        }
    }
    got.sort_by(|a, b| a.key.cmp(&b.key));
    let mut want: Vec<FeatureRecord> = samples.iter().flat_map(|&i| expected(i, dates, horizon)).collect();
    want.sort_by(|a, b| a.key.cmp(&b.key));
    if got.len() != want.len() {
        return Err(format!("{} sampled rows out, {} expected", got.len(), want.len()));
    }
    match got.iter().zip(&want).find(|(g, w)| g != w) {
        Some((g, w)) => Err(format!("row differs:\n  got  {g:?}\n  want {w:?}")),
        None => Ok(want.len()),
    }
}
