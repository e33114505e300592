//! The trading-day frontier: an exchange calendar (weekdays minus a holiday file), a universe
//! of tickers, and the rule that declares each trading day complete, or closed by a deadline,
//! once and in order, and then its forecasts complete ([`ForecastWatch`]). Pure logic: the
//! analytics service feeds it the bars and forecasts it wrote and publishes its [`DayEvent`]s
//! (`docs/trading-days.md`).

mod calendar;
mod event;
mod forecasts;
mod frontier;

pub use calendar::{Calendar, HolidayError, XNYS_HOLIDAYS};
pub use event::{DayEvent, DayStatus};
pub use forecasts::ForecastWatch;
pub use frontier::{Declared, Frontier, FrontierSettings, LateBar, Universe};
