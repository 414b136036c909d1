//! serde mirrors of the Kubernetes objects users paste into scenarios, with Kubernetes field
//! names and Quantity strings. Spec types deny unknown fields (a typo is an error, as with
//! `kubectl --validate=strict`); `status` and most of `metadata` are accepted and ignored so
//! that `kubectl get -o yaml` output loads unchanged.

pub mod hpa;
pub mod karpenter;
