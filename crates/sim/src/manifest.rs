//! serde mirrors of the Kubernetes objects users paste into scenarios, with Kubernetes field
//! names and Quantity strings. Spec types deny unknown fields (a typo is an error, as with
//! `kubectl --validate=strict`); `status` and most of `metadata` are accepted and ignored so
//! that `kubectl get -o yaml` output loads unchanged.
//!
//! - [`apps`]: Deployment; [`pod`]: the pod template they all embed; [`batch`]: Job and
//!   CronJob; [`policy`]: PodDisruptionBudget and PriorityClass; [`hpa`]: the
//!   HorizontalPodAutoscaler; [`karpenter`]: karpenter.sh/v1 NodePool; [`common`]:
//!   quantities, selectors, metadata.

pub mod apps;
pub mod batch;
pub mod common;
pub mod hpa;
pub mod karpenter;
pub mod pod;
pub mod policy;
