//! Workspace integration tests.

mod common;
mod hpa_evaluate;
mod karpenter;
mod run;
mod spot_prices;
mod validate;
