//! The extractor's data-lake readers as a library, so other tools read market-data files
//! exactly as the extractor does (`pricestream-analytics backtest --input` uses them).
//!
//! ```no_run
//! use pricestream_extractor::sources::{FileFormat, list_files, open_file};
//! use std::path::Path;
//!
//! for file in list_files(Path::new("data/")).unwrap() {
//!     let bars = open_file(&file, &FileFormat::Yahoo, uuid::Uuid::nil()).unwrap();
//!     println!("{}: {} bars", file.display(), bars.filter(Result::is_ok).count());
//! }
//! ```

pub mod sources;
