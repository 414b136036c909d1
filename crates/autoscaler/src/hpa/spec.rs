//! The validated HPA spec (API defaults applied) and the controller's settings.

/// An autoscaling/v2 HorizontalPodAutoscaler spec as the controller reads it: validated, with
/// the API server's defaults applied (`minReplicas` 1, the default cpu metric, the behavior
/// rules of `SetDefaults_HorizontalPodAutoscalerBehavior`), quantities as milli-units.
#[derive(Debug, Clone, PartialEq)]
pub struct HpaSpec {
    /// `spec.minReplicas`, 1 when unset. 0 only with scale-to-zero (`HPAScaleToZero`).
    pub min_replicas: i32,
    pub max_replicas: i32,
    /// Never empty: an HPA without metrics gets a cpu utilization 80 % metric.
    pub metrics: Vec<MetricSpec>,
    /// `None` selects the legacy normalization path (no `spec.behavior`).
    pub behavior: Option<Behavior>,
}

/// One entry of `spec.metrics`.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricSpec {
    pub source: MetricSource,
    /// How the controller names the metric in `ValidMetricFound` (e.g. `"cpu resource
    /// utilization (percentage of request)"`), built once at validation.
    pub description: String,
}

#[derive(Debug, Clone, PartialEq)]
pub enum MetricSource {
    /// `Resource` (container `None`) or `ContainerResource` (container `Some`).
    Resource {
        resource: String,
        container: Option<String>,
        target: ResourceTarget,
    },
    /// `Pods`: a per-pod custom metric with an `AverageValue` target (milli-units).
    Pods {
        metric: String,
        target_average_milli: i64,
    },
    /// `Object`: one value describing another object (an Ingress's requests per second).
    Object {
        metric: String,
        described_kind: String,
        described_name: String,
        target: ValueTarget,
    },
    /// `External`: a metric from outside the cluster, the sum of every returned series.
    External {
        metric: String,
        /// `%+v` of the metric selector as the controller prints it in messages (`<nil>` for none).
        selector_text: String,
        target: ValueTarget,
    },
}

impl MetricSource {
    /// The `metricErrors` key of this metric: the resource name for (Container)Resource
    /// metrics, the metric name otherwise.
    pub fn key(&self) -> &str {
        match self {
            MetricSource::Resource { resource, .. } => resource,
            MetricSource::Pods { metric, .. }
            | MetricSource::Object { metric, .. }
            | MetricSource::External { metric, .. } => metric,
        }
    }

    /// The `type` of the metric in the API (`Resource`, `ContainerResource`, ...).
    pub fn type_name(&self) -> &'static str {
        match self {
            MetricSource::Resource {
                container: None, ..
            } => "Resource",
            MetricSource::Resource {
                container: Some(_), ..
            } => "ContainerResource",
            MetricSource::Pods { .. } => "Pods",
            MetricSource::Object { .. } => "Object",
            MetricSource::External { .. } => "External",
        }
    }
}

/// A (Container)Resource target. `averageValue` wins over `averageUtilization` when both are set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceTarget {
    /// Integer percent of the pods' requests.
    Utilization(i32),
    /// Milli-units per pod (`"500m"` cpu is 500; `"256Mi"` memory is 268_435_456_000).
    AverageValue(i64),
}

/// An Object or External target in milli-units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ValueTarget {
    /// The metric as a whole (`target.value`).
    Value(i64),
    /// The metric divided by the replica count (`target.averageValue`).
    AverageValue(i64),
}

/// `spec.behavior` with the API defaults applied to whichever direction was left out.
#[derive(Debug, Clone, PartialEq)]
pub struct Behavior {
    pub scale_up: ScalingRules,
    pub scale_down: ScalingRules,
}

/// `HPAScalingRules` for one direction.
#[derive(Debug, Clone, PartialEq)]
pub struct ScalingRules {
    /// `None` only for scale-down left unset: the controller then uses its
    /// `--horizontal-pod-autoscaler-downscale-stabilization` flag.
    pub stabilization_window_s: Option<i32>,
    pub select_policy: SelectPolicy,
    /// Never empty (validation requires one policy per direction).
    pub policies: Vec<ScalingPolicy>,
    /// Per-direction tolerance (KEP-4951); `None` uses the cluster-wide flag.
    pub tolerance: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SelectPolicy {
    Max,
    Min,
    Disabled,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScalingPolicy {
    pub kind: PolicyKind,
    pub value: i32,
    pub period_s: i32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    Pods,
    Percent,
}

impl ScalingRules {
    /// `GenerateHPAScaleUpRules` with nothing given: 4 pods or 100 % per 15 s, no window.
    pub fn default_scale_up() -> ScalingRules {
        ScalingRules {
            stabilization_window_s: Some(0),
            select_policy: SelectPolicy::Max,
            policies: vec![
                ScalingPolicy {
                    kind: PolicyKind::Pods,
                    value: 4,
                    period_s: 15,
                },
                ScalingPolicy {
                    kind: PolicyKind::Percent,
                    value: 100,
                    period_s: 15,
                },
            ],
            tolerance: None,
        }
    }

    /// `GenerateHPAScaleDownRules` with nothing given: 100 % per 15 s, window from the flag.
    pub fn default_scale_down() -> ScalingRules {
        ScalingRules {
            stabilization_window_s: None,
            select_policy: SelectPolicy::Max,
            policies: vec![ScalingPolicy {
                kind: PolicyKind::Percent,
                value: 100,
                period_s: 15,
            }],
            tolerance: None,
        }
    }

    /// The longest policy period, which bounds how long scale events matter.
    pub fn longest_period_s(&self) -> i32 {
        self.policies.iter().map(|p| p.period_s).max().unwrap_or(0)
    }
}

impl Default for Behavior {
    fn default() -> Behavior {
        Behavior {
            scale_up: ScalingRules::default_scale_up(),
            scale_down: ScalingRules::default_scale_down(),
        }
    }
}

/// kube-controller-manager's HPA flags plus the compatibility switches for older releases.
#[derive(Debug, Clone, PartialEq)]
pub struct ControllerSettings {
    /// `--horizontal-pod-autoscaler-tolerance` (0.1).
    pub tolerance: f64,
    /// `--horizontal-pod-autoscaler-cpu-initialization-period` (5 min).
    pub cpu_initialization_period_ms: i64,
    /// `--horizontal-pod-autoscaler-initial-readiness-delay` (30 s).
    pub initial_readiness_delay_ms: i64,
    /// `--horizontal-pod-autoscaler-downscale-stabilization` (5 min).
    pub downscale_stabilization_ms: i64,
    /// Legacy path scale-up cap `max(factor × current, minimum)`: 2 and 4 in the controller.
    /// (Kubernetes' own unit tests run with factor 8.)
    pub scale_up_limit_factor: f64,
    pub scale_up_limit_minimum: f64,
    pub compat: Compat,
}

impl Default for ControllerSettings {
    fn default() -> ControllerSettings {
        ControllerSettings {
            tolerance: 0.1,
            cpu_initialization_period_ms: 300_000,
            initial_readiness_delay_ms: 30_000,
            downscale_stabilization_ms: 300_000,
            scale_up_limit_factor: 2.0,
            scale_up_limit_minimum: 4.0,
            compat: Compat::default(),
        }
    }
}

/// Behaviours that changed between Kubernetes releases (hpa.md §11). Every switch is `true`
/// for the newest behaviour, the default; `false` selects what older releases do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Compat {
    /// A missing pod on a utilization scale-down is assumed at `max(100, target)` % of its
    /// request; older releases assume 100 %.
    pub missing_pod_at_target_over_100: bool,
    /// A pod whose metrics lack the HPA's named container counts as missing; older releases
    /// fail the whole metric ("container … not present in metrics").
    pub absent_container_is_missing: bool,
    /// `behavior.scaleUp/scaleDown.tolerance` is honoured (`HPAConfigurableTolerance`); when
    /// off, the API drops the field and the cluster-wide tolerance applies.
    pub configurable_tolerance: bool,
    /// Object/External replica counts are capped at MaxInt32 and external sums saturate at
    /// MaxInt64; older releases wrap the sum as Go's int64 does.
    pub overflow_caps: bool,
    /// Restartable (sidecar) init containers count toward a pod's request.
    pub sidecar_requests: bool,
    /// A pod-level `spec.resources` request is used when set (`PodLevelResources`).
    pub pod_level_requests: bool,
}

impl Default for Compat {
    fn default() -> Compat {
        Compat {
            missing_pod_at_target_over_100: true,
            absent_container_is_missing: true,
            configurable_tolerance: true,
            overflow_caps: true,
            sidecar_requests: true,
            pod_level_requests: true,
        }
    }
}

impl Compat {
    /// Every switch set to the older releases' behaviour.
    pub fn oldest() -> Compat {
        Compat {
            missing_pod_at_target_over_100: false,
            absent_container_is_missing: false,
            configurable_tolerance: false,
            overflow_caps: false,
            sidecar_requests: false,
            pod_level_requests: false,
        }
    }
}
