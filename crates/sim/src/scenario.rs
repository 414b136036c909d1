//! The scenario format. A YAML file (see scenarios/README.md) is loaded and validated into a
//! [`model::Scenario`], which is all the engine reads.
//!
//! - [`load`] / [`load_str`]: the entry points; every [`LoadError`] names
//!   `file:line:column: field.path: message` (plus a hint where one helps).
//! - [`spec`]: the file's own serde types and the JSON Schema ([`spec::json_schema`]).
//! - [`duration`], [`cron`], [`catalog`]: the grammars and the built-in AWS catalog.
//! - [`spot_prices`]: spot prices replayed from a price history (a step function per
//!   instance type and zone), with the catalog discount as fallback.
//! - [`yaml`]: located YAML errors, shared with the manifest reader.

pub mod catalog;
pub mod cron;
pub mod duration;
mod load;
pub mod model;
pub mod spec;
pub mod spot_prices;
pub mod yaml;

pub use load::{load, load_str, parse_rfc3339, LoadError, MAX_FILE_BYTES};
