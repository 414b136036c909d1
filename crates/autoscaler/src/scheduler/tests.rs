//! Table-driven tests of the scheduler.
