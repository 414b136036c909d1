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
//! - [`quantity`]: Kubernetes Quantity strings parsed to exact integers, and rendered back.
//! - [`node_fit`]: packing simulations on the scheduler's snapshot, for the node autoscalers.
//! - [`cluster_autoscaler`]: the cluster-autoscaler's `RunOnce` (scale-up, expanders, scale-down).
//! - [`karpenter`]: Karpenter-style NodePools, provisioning and disruption.
//! - [`spot`]: spot interruption hazard per Spot Instance Advisor bucket.
//! - [`go_duration`]: Go duration strings (`30s`, `720h`) in milliseconds.
//! - [`numeric`]: rounding as Go's `math.Round`, without a libm call.

pub mod cluster_autoscaler;
pub mod fast_hash;
pub mod go_duration;
pub mod hpa;
pub mod karpenter;
pub mod model;
pub mod node_fit;
pub mod numeric;
pub mod quantity;
pub mod scheduler;
pub mod spot;
