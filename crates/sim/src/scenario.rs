//! The scenario format. A YAML file (see scenarios/README.md) is loaded and validated into a
//! [`model::Scenario`], which is all the engine reads.

pub mod catalog;
pub mod cron;
pub mod duration;
pub mod model;
pub mod spec;
pub mod yaml;
