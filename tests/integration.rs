//! Workspace integration tests.

mod validate;
