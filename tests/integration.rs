//! Workspace integration tests.

mod hpa_evaluate;
mod run;
mod spot_prices;
mod validate;
