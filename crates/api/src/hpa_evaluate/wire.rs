//! The request and response of `headroom hpa evaluate` (and `POST /v1/hpa/evaluate`), in
//! Kubernetes' field names. Pods and PodMetrics are subsets of core/v1 Pod and
//! metrics.k8s.io/v1beta1 PodMetrics: unknown fields are ignored so that `kubectl` output
//! loads unchanged; the request's own fields are strict so that a typo is an error.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use sim::manifest::hpa::{HorizontalPodAutoscaler, QuantityValue};

/// One reconcile of one HPA at `now`.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct EvaluateRequest {
    /// RFC 3339.
    pub now: String,
    pub hpa: HorizontalPodAutoscaler,
    pub scale: ScaleInput,
    #[serde(default)]
    pub pods: Vec<PodJson>,
    #[serde(default)]
    pub pod_metrics: Vec<PodMetricsJson>,
    /// Pods metrics: metric name → one value per pod.
    #[serde(default)]
    pub custom_metrics: BTreeMap<String, Vec<PodValueJson>>,
    /// Object metrics: metric name → value.
    #[serde(default)]
    pub object_metrics: BTreeMap<String, QuantityValue>,
    /// External metrics: metric name → one value per returned series.
    #[serde(default)]
    pub external_metrics: BTreeMap<String, Vec<QuantityValue>>,
    /// Failed fetches: metric name (resource name for (Container)Resource metrics) → error.
    #[serde(default)]
    pub metric_errors: BTreeMap<String, String>,
    /// `null` or absent: the controller has never seen this HPA.
    #[serde(default)]
    pub state: Option<StateJson>,
    #[serde(default)]
    pub controller: Option<ControllerJson>,
}

/// The scale subresource.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScaleInput {
    pub spec_replicas: i32,
    /// Defaults to `specReplicas`.
    #[serde(default)]
    pub status_replicas: Option<i32>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodJson {
    #[serde(default)]
    pub metadata: PodMetaJson,
    #[serde(default)]
    pub spec: PodSpecJson,
    #[serde(default)]
    pub status: PodStatusJson,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodMetaJson {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub deletion_timestamp: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodSpecJson {
    #[serde(default)]
    pub containers: Vec<ContainerJson>,
    #[serde(default)]
    pub init_containers: Vec<ContainerJson>,
    /// Pod-level resources (`PodLevelResources`).
    #[serde(default)]
    pub resources: Option<ResourcesJson>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerJson {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub resources: Option<ResourcesJson>,
    /// `Always` on an init container makes it a sidecar.
    #[serde(default)]
    pub restart_policy: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ResourcesJson {
    #[serde(default)]
    pub requests: BTreeMap<String, QuantityValue>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodStatusJson {
    #[serde(default)]
    pub phase: Option<String>,
    #[serde(default)]
    pub start_time: Option<String>,
    #[serde(default)]
    pub conditions: Vec<PodConditionJson>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodConditionJson {
    #[serde(rename = "type")]
    pub type_: String,
    #[serde(default)]
    pub status: String,
    #[serde(default)]
    pub last_transition_time: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PodMetricsJson {
    #[serde(default)]
    pub metadata: PodMetaJson,
    pub timestamp: String,
    /// A Go duration (`"30s"`).
    pub window: String,
    #[serde(default)]
    pub containers: Vec<ContainerMetricsJson>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ContainerMetricsJson {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub usage: BTreeMap<String, QuantityValue>,
}

/// A Pods metric's value for one pod.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PodValueJson {
    pub pod: String,
    pub value: QuantityValue,
}

/// The controller's stores for this HPA, passed back in on the next call.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct StateJson {
    /// Absent: never recorded (as `state: null`); `[]`: an explicitly empty history.
    #[serde(default)]
    pub recommendations: Option<Vec<RecommendationJson>>,
    #[serde(default)]
    pub scale_up_events: Vec<ScaleEventJson>,
    #[serde(default)]
    pub scale_down_events: Vec<ScaleEventJson>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RecommendationJson {
    pub replicas: i32,
    pub timestamp: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ScaleEventJson {
    pub replica_change: i32,
    pub timestamp: String,
    #[serde(default)]
    pub outdated: bool,
}

/// kube-controller-manager's HPA flags; every field defaults to the flag's default.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ControllerJson {
    #[serde(default)]
    pub tolerance: Option<f64>,
    #[serde(default)]
    pub cpu_initialization_period_seconds: Option<i64>,
    #[serde(default)]
    pub initial_readiness_delay_seconds: Option<i64>,
    #[serde(default)]
    pub downscale_stabilization_seconds: Option<i64>,
    /// The API server's `HPAScaleToZero` gate (allows `minReplicas: 0`).
    #[serde(default)]
    pub scale_to_zero: Option<bool>,
    /// Older Kubernetes behaviours; every switch defaults to the newest (`true`).
    #[serde(default)]
    pub compatibility: Option<CompatJson>,
}

/// The engine's `Compat` switches (see `autoscaler::hpa::Compat`).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CompatJson {
    #[serde(default)]
    pub missing_pod_at_target_over_100: Option<bool>,
    #[serde(default)]
    pub absent_container_is_missing: Option<bool>,
    #[serde(default)]
    pub configurable_tolerance: Option<bool>,
    #[serde(default)]
    pub overflow_caps: Option<bool>,
    #[serde(default)]
    pub sidecar_requests: Option<bool>,
    #[serde(default)]
    pub pod_level_requests: Option<bool>,
}

/// What the controller decides.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct EvaluateResponse {
    pub desired_replicas: i32,
    pub rescale: bool,
    pub metrics: Vec<MetricJson>,
    pub conditions: Vec<ConditionJson>,
    pub state: StateJson,
}

/// One spec metric's outcome, as `kubectl describe hpa` shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MetricJson {
    #[serde(rename = "type")]
    pub type_: String,
    pub name: String,
    pub proposal: Option<i32>,
    pub current_average_utilization: Option<i32>,
    pub current_average_value: Option<String>,
    pub current_value: Option<String>,
    pub error: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConditionJson {
    #[serde(rename = "type")]
    pub type_: String,
    pub status: String,
    pub reason: String,
    pub message: String,
}
