/// An instrument symbol. Stored inline up to 24 bytes (every real ticker), so the eight
/// records of a bar copy it instead of each allocating its own; it reads as a `&str`.
pub type Ticker = compact_str::CompactString;
