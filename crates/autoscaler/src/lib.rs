//! headroom's pure policy engine.
//!
//! Everything here is a pure function of its arguments: the caller passes `now`, the policy
//! state, the observations and (where a tie-break needs one) an RNG. Nothing reads a clock,
//! the environment, the network or a global random source, so the simulator (`sim`) and live
//! mode (`api`) run the very same code.
//!
//! - [`model`]: the cluster vocabulary shared by every policy: resources, labels, taints,
//!   tolerations, selectors, affinity, topology spread, the scheduling view of pods and nodes.
//! - [`scheduler`]: kube-scheduler semantics: filters, scores, preemption.
//! - [`hpa`]: the Horizontal Pod Autoscaler controller.
//! - [`node_fit`]: the filter-only "does this pod fit on this node" seam the node autoscalers pack through.
//! - [`cluster_autoscaler`]: the cluster-autoscaler's `RunOnce` (scale-up, expanders, scale-down).
//! - [`karpenter`]: Karpenter-style NodePools, provisioning and disruption.
//! - [`spot`]: spot interruption hazard per Spot Instance Advisor bucket.

pub mod cluster_autoscaler;
pub mod go_duration;
pub mod karpenter;
pub mod model;
pub mod node_fit;
pub mod scheduler;
pub mod spot;
