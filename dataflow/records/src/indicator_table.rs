//! The machinery behind the one description of the indicators (`indicator.rs`): from each
//! indicator's line of that table, [`describe_indicators!`] derives the record variant with its
//! JSON field names, the kind with its tag (also its Cassandra table), the generic field access
//! every consumer uses, and the indicator columns of the mart row.

/// The most periods one indicator has (MACD and STOCH: three).
pub const MAX_PERIODS: usize = 3;
/// The most numbers one indicator has (BBANDS: two multipliers and three bands).
pub const MAX_NUMBERS: usize = 5;

/// Up to `N` fields of one value, in the table's order.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fields<T, const N: usize> {
    values: [T; N],
    len: usize,
}

impl<T: Copy + Default, const N: usize> Fields<T, N> {
    /// The fields in `values`, which the table keeps within `N`.
    pub(crate) fn of(values: &[T]) -> Self {
        let mut fields = Fields { values: [T::default(); N], len: values.len().min(N) };
        fields.values[..fields.len].copy_from_slice(&values[..fields.len]);
        fields
    }
}

impl<T, const N: usize> std::ops::Deref for Fields<T, N> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        &self.values[..self.len]
    }
}

/// One indicator cell of a mart row: a period or a number, absent until the bar has a value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MartCell {
    /// A period (`emaTimePeriod`, `fastPeriod`, …).
    Period(Option<i32>),
    /// A number (`ema`, `macdSignal`, `bbSd`, …).
    Number(Option<f64>),
}

/// One indicator cell of a mart row, to be filled in by a reader.
#[derive(Debug)]
pub enum MartCellMut<'a> {
    /// A period.
    Period(&'a mut Option<i32>),
    /// A number.
    Number(&'a mut Option<f64>),
}

/// Declares the indicators: see the table in `indicator.rs`.
macro_rules! describe_indicators {
    ($(
        $(#[doc = $doc:literal])*
        $variant:ident $tag:literal {
            periods: [$($period:ident $period_wire:literal => $period_mart:ident),* $(,)?],
            numbers: [$($number:ident $number_wire:literal $(=> $number_mart:ident)?),* $(,)?],
            settings: $settings:literal $(,)?
        }
    )*) => {
        /// The value of one indicator, tagged by `indicator` on the wire; its fields are the
        /// seed's column names.
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        #[serde(tag = "indicator", rename_all = "lowercase")]
        #[allow(missing_docs)] // Field names are the seed's column names.
        pub enum IndicatorValue {
            $(
                $(#[doc = $doc])*
                $variant {
                    $(#[serde(rename = $period_wire)] $period: i32,)*
                    $(#[serde(rename = $number_wire)] $number: f64,)*
                },
            )*
        }

        /// Which indicator a value belongs to: its `indicator` tag on the wire and its table in
        /// Cassandra. The upsert key of an indicator value is `(ticker, timeframe, date, kind)`.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
        #[serde(rename_all = "lowercase")]
        pub enum IndicatorKind {
            $($(#[doc = $doc])* $variant,)*
        }

        const _: () = {
            $(
                assert!([$($period_wire),*].len() <= $crate::indicator_table::MAX_PERIODS);
                assert!([$($number_wire),*].len() <= $crate::indicator_table::MAX_NUMBERS);
            )*
        };

        impl IndicatorKind {
            /// Every kind, in the table's order.
            pub const ALL: &'static [IndicatorKind] = &[$(IndicatorKind::$variant),*];

            /// The `indicator` tag and Cassandra table name (`macd`).
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(IndicatorKind::$variant => $tag,)*
                }
            }

            /// The wire (and indicator-table column) names of its periods.
            pub const fn period_names(self) -> &'static [&'static str] {
                match self {
                    $(IndicatorKind::$variant => &[$($period_wire),*],)*
                }
            }

            /// The wire (and indicator-table column) names of its numbers.
            pub const fn number_names(self) -> &'static [&'static str] {
                match self {
                    $(IndicatorKind::$variant => &[$($number_wire),*],)*
                }
            }

            /// How many of its numbers, the first ones, are settings rather than outputs (the
            /// Bollinger bands' multipliers).
            pub const fn setting_numbers(self) -> usize {
                match self {
                    $(IndicatorKind::$variant => $settings,)*
                }
            }
        }

        impl IndicatorValue {
            /// Which indicator this is.
            pub fn kind(&self) -> IndicatorKind {
                match self {
                    $(IndicatorValue::$variant { .. } => IndicatorKind::$variant,)*
                }
            }

            /// Its periods, in the order of [`IndicatorKind::period_names`].
            pub fn periods(&self) -> $crate::indicator_table::Fields<i32, { $crate::indicator_table::MAX_PERIODS }> {
                match *self {
                    $(IndicatorValue::$variant { $($period,)* .. } => {
                        $crate::indicator_table::Fields::of(&[$($period),*])
                    })*
                }
            }

            /// Its numbers, in the order of [`IndicatorKind::number_names`].
            pub fn numbers(&self) -> $crate::indicator_table::Fields<f64, { $crate::indicator_table::MAX_NUMBERS }> {
                match *self {
                    $(IndicatorValue::$variant { $($number,)* .. } => {
                        $crate::indicator_table::Fields::of(&[$($number),*])
                    })*
                }
            }

            /// The value of `kind` with these fields; `None` when their counts are not the kind's.
            pub fn from_fields(kind: IndicatorKind, periods: &[i32], numbers: &[f64]) -> Option<Self> {
                match kind {
                    $(IndicatorKind::$variant => {
                        let &[$($period),*] = periods else { return None };
                        let &[$($number),*] = numbers else { return None };
                        Some(IndicatorValue::$variant { $($period,)* $($number,)* })
                    })*
                }
            }
        }

        /// One row of the feature mart: a bar LEFT OUTER JOINed with each indicator on
        /// (ticker, timeframe, date). Field names follow the seed's `combineDatasets` columns
        /// (`dateTime`, `emaTimePeriod`, …) on the wire; Cassandra lower-cases them. A missing
        /// indicator value is `None`, never zero.
        #[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
        #[serde(rename_all = "camelCase")]
        pub struct FeatureRow {
            /// Instrument symbol.
            pub ticker: String,
            /// Bar interval.
            pub timeframe: Timeframe,
            /// Trading day of the bar.
            pub date_time: NaiveDate,
            /// 1-based position of the bar in its ticker's series ordered by date.
            pub id: Option<i64>,
            $(
                $(
                    #[doc = concat!("`", $period_wire, "` of ", $tag, ".")]
                    pub $period_mart: Option<i32>,
                )*
                $($(
                    #[doc = concat!("`", $number_wire, "` of ", $tag, ".")]
                    pub $number_mart: Option<f64>,
                )?)*
            )*
            /// Close of the bar, adjusted (see `docs/adjustment.md`).
            pub close: f64,
            /// Adjusted close `horizon_bars` later: the model's target; `None` until that bar exists.
            pub label: Option<f64>,
            /// The cumulative adjustment factor `close` was computed with: the delivered close
            /// is `close / adjustment_factor`. 1 when no corporate action applies (and in rows
            /// written before it existed).
            #[serde(default = "crate::indicator_table::no_adjustment")]
            pub adjustment_factor: f64,
        }

        impl Default for FeatureRow {
            /// An empty row: no indicator, factor 1.
            fn default() -> Self {
                FeatureRow {
                    ticker: String::new(),
                    timeframe: Timeframe::default(),
                    date_time: NaiveDate::default(),
                    id: None,
                    $(
                        $($period_mart: None,)*
                        $($($number_mart: None,)?)*
                    )*
                    close: 0.0,
                    label: None,
                    adjustment_factor: 1.0,
                }
            }
        }

        impl FeatureRow {
            /// The names of the row's indicator fields, in order (the mart's columns are these
            /// without the underscores).
            pub const INDICATOR_FIELDS: &'static [&'static str] =
                &[$($(stringify!($period_mart),)* $($(stringify!($number_mart),)?)*)*];

            /// Sets the fields of `value`'s indicator (a multiplier the mart does not keep, the
            /// lower band's, is left out).
            pub fn set_indicator(&mut self, value: &IndicatorValue) {
                match *value {
                    $(IndicatorValue::$variant { $($period: $period_mart,)* $($($number: $number_mart,)?)* .. } => {
                        $(self.$period_mart = Some($period_mart);)*
                        $($(self.$number_mart = Some($number_mart);)?)*
                    })*
                }
            }

            /// The periods of `kind`'s value, once that value joined the row (`None` before,
            /// and for a bar inside the indicator's lookback, which has none).
            pub fn indicator_periods(
                &self,
                kind: IndicatorKind,
            ) -> Option<$crate::indicator_table::Fields<i32, { $crate::indicator_table::MAX_PERIODS }>> {
                match kind {
                    $(IndicatorKind::$variant => {
                        let periods = [$(self.$period_mart?),*];
                        Some($crate::indicator_table::Fields::of(&periods))
                    })*
                }
            }

            /// The indicator cells of the row, in the order of [`Self::INDICATOR_FIELDS`].
            pub fn indicator_cells(&self) -> [$crate::indicator_table::MartCell; FeatureRow::INDICATOR_FIELDS.len()] {
                use $crate::indicator_table::MartCell;
                [$($(MartCell::Period(self.$period_mart),)* $($(MartCell::Number(self.$number_mart),)?)*)*]
            }

            /// The indicator cells of the row to fill in, in the order of [`Self::INDICATOR_FIELDS`].
            pub fn indicator_cells_mut(&mut self) -> [$crate::indicator_table::MartCellMut<'_>; FeatureRow::INDICATOR_FIELDS.len()] {
                use $crate::indicator_table::MartCellMut;
                [$($(MartCellMut::Period(&mut self.$period_mart),)* $($(MartCellMut::Number(&mut self.$number_mart),)?)*)*]
            }
        }
    };
}

/// The factor of a row no corporate action adjusts.
pub(crate) fn no_adjustment() -> f64 {
    1.0
}
