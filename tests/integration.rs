//! Workspace integration tests.

mod hpa_evaluate;
