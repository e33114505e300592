//! Where a record becomes a bar or a refusal: each cell read and checked
//! ([`cells`]), the bar checked as a whole ([`check_bar`], the rules of
//! [`Bar::validate`](pricestream_records::Bar::validate)), and a second copy of a date refused
//! ([`SeenDates`]). Every source (delimited text, Parquet, the API) goes through here.

mod action;
mod cells;
mod duplicates;
mod file_bar;

pub(crate) use action::{ActionCells, parse_action};
pub(crate) use cells::{
    check_bar, check_price, check_volume, parse_date, parse_price, parse_ticker, parse_volume, whole,
};
pub(crate) use duplicates::SeenDates;
pub(crate) use file_bar::FileBars;
