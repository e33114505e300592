//! Values bound to a statement whose columns come from the indicator table rather than from a
//! struct: each is written as its column's type asks.

use chrono::{DateTime, NaiveDate, Utc};
use scylla::cluster::metadata::ColumnType;
use scylla::serialize::SerializationError;
use scylla::serialize::value::SerializeValue;
use scylla::serialize::writers::{CellWriter, WrittenCellProof};
use scylla::value::MaybeUnset;
use uuid::Uuid;

/// One optional cell: a value, a null (the value goes away), or nothing written.
pub type Cell<T> = MaybeUnset<Option<T>>;

/// One bound value of a row.
#[derive(Clone, Debug)]
pub enum Bound<'a> {
    /// `text`.
    Text(&'a str),
    /// `text`, made for the statement (a JSON document); `None` is not written.
    OwnedText(Option<String>),
    /// `date`.
    Date(NaiveDate),
    /// `timestamp`.
    Timestamp(DateTime<Utc>),
    /// `uuid`.
    Uuid(Uuid),
    /// `int`, maybe null or not written.
    Int(Cell<i32>),
    /// `bigint`, maybe null or not written.
    BigInt(Cell<i64>),
    /// `double`, maybe null or not written.
    Double(Cell<f64>),
    /// `boolean`.
    Bool(bool),
}

impl SerializeValue for Bound<'_> {
    fn serialize<'b>(
        &self,
        typ: &ColumnType,
        writer: CellWriter<'b>,
    ) -> Result<WrittenCellProof<'b>, SerializationError> {
        match self {
            Bound::Text(text) => text.serialize(typ, writer),
            Bound::OwnedText(Some(text)) => text.serialize(typ, writer),
            Bound::OwnedText(None) => MaybeUnset::<&str>::Unset.serialize(typ, writer),
            Bound::Date(date) => date.serialize(typ, writer),
            Bound::Timestamp(time) => time.serialize(typ, writer),
            Bound::Uuid(uuid) => uuid.serialize(typ, writer),
            Bound::Int(cell) => cell.serialize(typ, writer),
            Bound::BigInt(cell) => cell.serialize(typ, writer),
            Bound::Double(cell) => cell.serialize(typ, writer),
            Bound::Bool(value) => value.serialize(typ, writer),
        }
    }
}

/// A value that is there.
pub fn set<T>(value: T) -> Cell<T> {
    MaybeUnset::Set(Some(value))
}
