//! The feature mart's row in Cassandra, for the writer and the reader alike: its columns (the
//! key, the indicator fields the indicator table gives the row, close and label), how a
//! [`FeatureRow`] is bound to them, and how it is read back.

use super::cells::{Bound, Cell, set};
use pricestream_records::{FeatureRow, MartCell, MartCellMut};
use scylla::value::{CqlValue, MaybeUnset, Row};

/// What an upserted row replaces in the table, so that a missing value is written as null only
/// where a value goes away. Every null written is a tombstone that reads of the partition step
/// over until compaction: rewriting the early rows of a series (indicators still in their
/// lookback) with nulls a few times made a full read of the mart fail with
/// `READ_TOO_MANY_TOMBSTONES`.
#[derive(Clone, Debug, PartialEq)]
pub enum Replaces {
    /// No row: the key is new, or its row was deleted. Missing values are not written.
    Nothing,
    /// This version of the row: a missing value is written as null where it had a value.
    Row(Box<FeatureRow>),
    /// Whatever the table holds (a rewrite of the whole mart): every missing value is null.
    Unknown,
}

/// The columns before the indicator fields, and after them.
const KEY_COLUMNS: [&str; 4] = ["ticker", "timeframe", "dateTime", "id"];
const LAST_COLUMNS: [&str; 3] = ["close", "label", "adjustmentFactor"];

/// A row field's column: its name in camelCase (`ema_time_period` → `emaTimePeriod`), as the
/// seed's `combineDatasets` spelt it; unquoted in CQL, so Cassandra keeps it lower-cased.
fn column_name(field: &str) -> String {
    let mut words = field.split('_');
    let first = words.next().unwrap_or_default().to_owned();
    words.fold(first, |mut name, word| {
        let mut letters = word.chars();
        name.extend(letters.next().map(|c| c.to_ascii_uppercase()));
        name.push_str(letters.as_str());
        name
    })
}

/// Every column of the mart with its CQL type, in bind order: the names of the changelog's
/// JSON (camelCase).
pub fn columns() -> Vec<(String, &'static str)> {
    let key = KEY_COLUMNS.iter().zip(["text", "text", "date", "bigint"]);
    let cells = FeatureRow::default().indicator_cells();
    let indicators = FeatureRow::INDICATOR_FIELDS.iter().zip(cells.iter()).map(|(field, cell)| {
        (column_name(field), if matches!(cell, MartCell::Period(_)) { "int" } else { "double" })
    });
    let last = LAST_COLUMNS.iter().zip(["double", "double", "double"]);
    key.map(|(name, typ)| (name.to_string(), typ))
        .chain(indicators)
        .chain(last.map(|(name, typ)| (name.to_string(), typ)))
        .collect()
}

/// The column names, comma-separated, in bind order.
pub(crate) fn column_list() -> String {
    columns().into_iter().map(|(name, _)| name).collect::<Vec<_>>().join(", ")
}

/// The cell of a value that is `new` now and was `old` (`None`: not known, `Some(None)`: null).
pub(crate) fn cell<T>(new: Option<T>, old: Option<Option<T>>) -> Cell<T> {
    match (new, old) {
        (Some(value), _) => MaybeUnset::Set(Some(value)),
        // Nothing there to clear.
        (None, Some(None)) => MaybeUnset::Unset,
        (None, _) => MaybeUnset::Set(None),
    }
}

/// The bound values of the upsert of `row`, which replaces `replaces`.
pub(crate) fn bind<'a>(row: &'a FeatureRow, replaces: &Replaces) -> Vec<Bound<'a>> {
    // What the table holds for the key, where known: no row holds nothing.
    let empty = FeatureRow::default();
    let old: Option<&FeatureRow> = match replaces {
        Replaces::Nothing => Some(&empty),
        Replaces::Row(old) => Some(old),
        Replaces::Unknown => None,
    };
    let old_cells = old.map(FeatureRow::indicator_cells);
    let mut values =
        Vec::with_capacity(KEY_COLUMNS.len() + FeatureRow::INDICATOR_FIELDS.len() + LAST_COLUMNS.len());
    values.push(Bound::Text(&row.ticker));
    values.push(Bound::Text(row.timeframe.as_str()));
    values.push(Bound::Date(row.date_time));
    values.push(Bound::BigInt(cell(row.id, old.map(|old| old.id))));
    for (index, new) in row.indicator_cells().into_iter().enumerate() {
        values.push(match (new, old_cells.map(|cells| cells[index])) {
            (MartCell::Period(value), Some(MartCell::Period(old))) => Bound::Int(cell(value, Some(old))),
            (MartCell::Period(value), _) => Bound::Int(cell(value, None)),
            (MartCell::Number(value), Some(MartCell::Number(old))) => Bound::Double(cell(value, Some(old))),
            (MartCell::Number(value), _) => Bound::Double(cell(value, None)),
        });
    }
    values.push(Bound::Double(set(row.close)));
    values.push(Bound::Double(cell(row.label, old.map(|old| old.label))));
    values.push(Bound::Double(set(row.adjustment_factor)));
    values
}

/// A row read with the columns of [`column_list`] back as a [`FeatureRow`]; the error says which
/// column is not what the mart writes.
pub(crate) fn read(row: Row) -> Result<FeatureRow, String> {
    let mut cells = row.columns.into_iter();
    let mut next = |name: &str| cells.next().ok_or_else(|| format!("column {name} missing"));
    let text = |value: Option<CqlValue>, name: &str| match value {
        Some(CqlValue::Text(text) | CqlValue::Ascii(text)) => Ok(text),
        other => Err(format!("column {name}: expected text, got {other:?}")),
    };
    let ticker = text(next("ticker")?, "ticker")?;
    let timeframe = text(next("timeframe")?, "timeframe")?.parse().map_err(|e| format!("{e}"))?;
    let date_time = match next("dateTime")? {
        Some(CqlValue::Date(date)) => {
            TryInto::<chrono::NaiveDate>::try_into(date).map_err(|e| format!("column dateTime: {e}"))?
        }
        other => return Err(format!("column dateTime: expected a date, got {other:?}")),
    };
    let id = match next("id")? {
        Some(CqlValue::BigInt(id)) => Some(id),
        None => None,
        other => return Err(format!("column id: expected a bigint, got {other:?}")),
    };
    let mut feature = FeatureRow { ticker, timeframe, date_time, id, ..FeatureRow::default() };
    for (field, slot) in FeatureRow::INDICATOR_FIELDS.iter().zip(feature.indicator_cells_mut()) {
        match (slot, next(field)?) {
            (_, None) => {}
            (MartCellMut::Period(slot), Some(CqlValue::Int(period))) => *slot = Some(period),
            (MartCellMut::Number(slot), Some(CqlValue::Double(number))) => *slot = Some(number),
            (_, other) => return Err(format!("column {}: unexpected {other:?}", column_name(field))),
        }
    }
    feature.close = match next("close")? {
        Some(CqlValue::Double(close)) => close,
        other => return Err(format!("column close: expected a double, got {other:?}")),
    };
    feature.label = match next("label")? {
        Some(CqlValue::Double(label)) => Some(label),
        None => None,
        other => return Err(format!("column label: expected a double, got {other:?}")),
    };
    feature.adjustment_factor = match next("adjustmentFactor")? {
        Some(CqlValue::Double(factor)) => factor,
        // Written before the column existed, when nothing was adjusted.
        None => 1.0,
        other => return Err(format!("column adjustmentFactor: expected a double, got {other:?}")),
    };
    Ok(feature)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pricestream_records::Timeframe;

    fn shown<T: std::fmt::Debug>(cell: &Cell<T>) -> String {
        format!("{cell:?}")
    }

    #[test]
    fn a_missing_value_is_null_only_where_a_value_goes_away() {
        assert_eq!(shown(&cell(Some(1.5), None)), "Set(Some(1.5))");
        assert_eq!(shown(&cell::<f64>(None, Some(None))), "Unset", "nothing stored: nothing written");
        assert_eq!(shown(&cell(None, Some(Some(2.0)))), "Set(None)", "a value goes away: null");
        assert_eq!(shown(&cell::<f64>(None, None)), "Set(None)", "not known: null");
        let old =
            FeatureRow { ticker: "T".into(), ema: Some(1.0), label: Some(3.0), ..FeatureRow::default() };
        let new = FeatureRow { ticker: "T".into(), ema: Some(1.5), ..FeatureRow::default() };
        let names: Vec<String> = columns().into_iter().map(|(name, _)| name).collect();
        let at = |name: &str| names.iter().position(|n| n == name).expect("a column");
        let cells = |values: Vec<Bound<'_>>| {
            ["ema", "label", "rsi"].map(|name| match &values[at(name)] {
                Bound::Double(cell) => shown(cell),
                other => format!("{other:?}"),
            })
        };
        assert_eq!(
            cells(bind(&new, &Replaces::Row(Box::new(old)))),
            ["Set(Some(1.5))", "Set(None)", "Unset"]
        );
        assert_eq!(cells(bind(&new, &Replaces::Nothing)), ["Set(Some(1.5))", "Unset", "Unset"]);
        assert_eq!(cells(bind(&new, &Replaces::Unknown)), ["Set(Some(1.5))", "Set(None)", "Set(None)"]);
    }

    /// The columns are the seed's `combineDatasets` names and types.
    #[test]
    fn the_columns_are_the_seed_names() {
        let columns = columns();
        assert_eq!(columns.len(), 31);
        for (name, typ) in [
            ("dateTime", "date"),
            ("emaTimePeriod", "int"),
            ("bbSd", "double"),
            ("slowDPeriod", "int"),
            ("macdHist", "double"),
            ("willrTimePeriod", "int"),
            ("label", "double"),
        ] {
            assert!(columns.contains(&(name.to_owned(), typ)), "{name} {typ}");
        }
    }

    #[test]
    fn a_row_read_back_is_the_row_written() {
        let row = FeatureRow {
            ticker: "NVDA".into(),
            timeframe: Timeframe::Day,
            date_time: chrono::NaiveDate::from_ymd_opt(2014, 12, 31).unwrap_or_default(),
            id: Some(4000),
            ema_time_period: Some(20),
            ema: Some(20.25),
            slow_d_period: Some(3),
            bb_sd: Some(2.0),
            close: 20.0,
            label: Some(21.5),
            adjustment_factor: 0.25,
            ..FeatureRow::default()
        };
        // What Cassandra sends back for the bound values (an unwritten cell reads as null).
        let columns = bind(&row, &Replaces::Nothing)
            .into_iter()
            .map(|bound| match bound {
                Bound::Text(text) => Some(CqlValue::Text(text.to_owned())),
                Bound::Date(date) => Some(CqlValue::Date(date.into())),
                Bound::Int(MaybeUnset::Set(Some(v))) => Some(CqlValue::Int(v)),
                Bound::BigInt(MaybeUnset::Set(Some(v))) => Some(CqlValue::BigInt(v)),
                Bound::Double(MaybeUnset::Set(Some(v))) => Some(CqlValue::Double(v)),
                _ => None,
            })
            .collect();
        assert_eq!(read(Row { columns }), Ok(row));
    }
}
