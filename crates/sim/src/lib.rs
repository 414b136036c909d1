//! headroom's deterministic discrete-event simulator of a Kubernetes-style cluster.
//!
//! - [`time`]: virtual time ([`time::SimTime`], integer milliseconds) and durations.
//! - [`scenario`]: the scenario format: loading, validation, the JSON Schema, and the validated
//!   [`scenario::Scenario`] the engine runs.
//! - [`manifest`]: serde mirrors of the Kubernetes objects users paste (Deployment, HPA, PDB,
//!   PriorityClass, Job, CronJob), in their real field names.
//!
//! Invariant: a run is a pure function of (scenario, seed). The engine is single-threaded,
//! never reads the wall clock and iterates no `HashMap`.

pub mod engine;
pub mod manifest;
pub mod rng;
pub mod scenario;
pub mod time;
