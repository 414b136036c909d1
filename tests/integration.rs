//! Workspace integration tests.

mod hpa_evaluate;
mod validate;
