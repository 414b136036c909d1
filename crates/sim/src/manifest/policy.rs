//! policy/v1 PodDisruptionBudget and scheduling.k8s.io/v1 PriorityClass, in their API shape.

use serde::Deserialize;
use serde_json::Value;

use crate::manifest::common::{IntOrString, LabelSelector, ObjectMeta};

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PodDisruptionBudget {
    pub api_version: Option<String>,
    pub kind: Option<String>,
    #[serde(default)]
    pub metadata: ObjectMeta,
    pub spec: PodDisruptionBudgetSpec,
    pub status: Option<Value>,
}

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PodDisruptionBudgetSpec {
    pub min_available: Option<IntOrString>,
    pub max_unavailable: Option<IntOrString>,
    pub selector: Option<LabelSelector>,
    pub unhealthy_pod_eviction_policy: Option<Value>,
}

/// PriorityClass has no `spec`: its fields sit at the top level.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PriorityClass {
    pub api_version: Option<String>,
    pub kind: Option<String>,
    #[serde(default)]
    pub metadata: ObjectMeta,
    pub value: i32,
    #[serde(default)]
    pub global_default: bool,
    pub description: Option<String>,
    pub preemption_policy: Option<autoscaler::model::PreemptionPolicy>,
}
