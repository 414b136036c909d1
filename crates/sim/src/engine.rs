//! The discrete-event engine: virtual time, nodes, pods, controllers, accounting.
//!
//! Lifecycle of a run: [`run`] builds the cluster at time 0 (the pools' initial nodes, every
//! Deployment's replicas, the Jobs and CronJob schedules), then delivers events in (time,
//! insertion sequence) order until the scenario's duration. Every metrics step it samples
//! demand and usage, accrues accounting and emits a timeline row. At the end it closes the
//! books and builds the [`report::Report`].
//!
//! Guarantees: single-threaded; a pure function of (scenario, seed); every random draw comes
//! from a named stream of the seed (`startup`, `jobs`, `scheduler`, `load/<workload>`), so
//! adding draws to one subsystem leaves the others unchanged.

mod accounting;
mod ca_view;
mod hpa;
mod jobs;
mod karpenter;
pub mod load;
mod nodes;
pub mod placement;
pub mod queue;
pub mod report;
mod sched_queue;
mod spot;
mod state;
mod timeline;

pub use state::Engine;
pub use timeline::{NoTimeline, NodeRow, PendingRow, TimelineSink, WorkloadRow};

use crate::scenario::model::Scenario;

/// A run that could not complete.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    #[error(transparent)]
    Queue(#[from] queue::QueueError),
    #[error("writing the timeline: {0}")]
    Timeline(#[from] std::io::Error),
}

/// Runs `scenario` to its end, streaming timeline rows into `sink`.
pub fn run(scenario: &Scenario, sink: &mut dyn TimelineSink) -> Result<report::Report, SimError> {
    let mut engine = Engine::new(scenario);
    engine.run(sink)?;
    Ok(engine.report())
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_karpenter;
#[cfg(test)]
mod tests_nodes;
#[cfg(test)]
mod tests_spot_prices;
