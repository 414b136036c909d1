//! Karpenter-style node provisioning and disruption as pure functions.
//!
//! - [`nodepool`]: the validated karpenter.sh/v1 NodePool, its defaults and budgets.
//! - [`provisioning`]: batching parameters, the scheduling pass onto existing nodes and
//!   NodeClaims, and the launch choice (capacity type, price-capacity-optimized spot pick,
//!   unavailable offerings).
//! - [`disruption`]: expiration, emptiness, drift, multi- and single-node consolidation.
//!   Its simulations share one base cluster per pass: `lite` (specs and summed requests,
//!   when no pod's verdict reads other nodes) or a `Packing` with `base_fit`'s narrowed
//!   first-fit; both answer exactly as the full scan.
//!
//! **Boundary:** the caller owns time and the cloud. It batches pending pods with
//! [`provisioning::BATCH_IDLE_DURATION_MS`] / [`provisioning::BATCH_MAX_DURATION_MS`], calls
//! [`provisioning::schedule`] and [`provisioning::choose_launch`], marks offerings that fail
//! with insufficient capacity in [`provisioning::UnavailableOfferings`] and asks again, and
//! runs [`disruption::disrupt`] (or [`disruption::disrupt_with_table`] with the candidate
//! table it keeps) every 10 s, re-validating a command 15 s later before acting.
//!
//! Not modelled: the `Balanced` consolidation policy's score (it behaves as
//! WhenEmptyOrUnderutilized), `minValues`, reserved capacity offerings beyond their
//! preference order, and the solver timeouts.

mod base_fit;
pub mod disruption;
mod lite;
pub mod nodepool;
pub mod provisioning;

#[cfg(test)]
mod tests;
