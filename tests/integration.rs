//! Workspace integration tests.

mod hpa_evaluate;
mod run;
mod validate;
