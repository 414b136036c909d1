//! The cluster-autoscaler's flags that change its decisions, with CA 1.36 defaults
//! (reference §5, CA: `config/flags/flags.go`), and their validation. Durations are in
//! milliseconds of simulated time.

use thiserror::Error;

const SECOND_MS: i64 = 1_000;
const MINUTE_MS: i64 = 60 * SECOND_MS;
const HOUR_MS: i64 = 60 * MINUTE_MS;

/// Invalid cluster-autoscaler configuration; the only `Err` this module returns.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("unknown expander {0:?} (expected random, most-pods, least-waste, least-nodes, price or priority)")]
    UnknownExpander(String),
    #[error("expander {0:?} is listed twice in --expander")]
    DuplicateExpander(String),
    #[error("expander random must be the last in the --expander chain")]
    RandomNotLast,
    #[error("--expander is empty")]
    EmptyExpander,
    #[error("{flag} must be within {min}..={max}, got {value}")]
    OutOfRange {
        flag: &'static str,
        value: f64,
        min: f64,
        max: f64,
    },
    #[error("{flag}: min {min} is above max {max}")]
    MinAboveMax {
        flag: &'static str,
        min: i64,
        max: i64,
    },
    #[error("priority expander ConfigMap: {0}")]
    Priorities(String),
}

/// One expander of the `--expander` chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ExpanderKind {
    Random,
    MostPods,
    LeastWaste,
    LeastNodes,
    Price,
    Priority,
}

impl ExpanderKind {
    pub fn name(self) -> &'static str {
        match self {
            ExpanderKind::Random => "random",
            ExpanderKind::MostPods => "most-pods",
            ExpanderKind::LeastWaste => "least-waste",
            ExpanderKind::LeastNodes => "least-nodes",
            ExpanderKind::Price => "price",
            ExpanderKind::Priority => "priority",
        }
    }
}

/// Parses `--expander=a,b` with CA's rules: no repeats, `random` only last
/// (CA: `expander/factory/expander_factory.go`).
pub fn parse_expanders(flag: &str) -> Result<Vec<ExpanderKind>, ConfigError> {
    let mut out: Vec<ExpanderKind> = Vec::new();
    for name in flag.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let kind = [
            ExpanderKind::Random,
            ExpanderKind::MostPods,
            ExpanderKind::LeastWaste,
            ExpanderKind::LeastNodes,
            ExpanderKind::Price,
            ExpanderKind::Priority,
        ]
        .into_iter()
        .find(|k| k.name() == name)
        .ok_or_else(|| ConfigError::UnknownExpander(name.to_string()))?;
        if out.contains(&kind) {
            return Err(ConfigError::DuplicateExpander(name.to_string()));
        }
        if out.last() == Some(&ExpanderKind::Random) {
            return Err(ConfigError::RandomNotLast);
        }
        out.push(kind);
    }
    if out.is_empty() {
        return Err(ConfigError::EmptyExpander);
    }
    Ok(out)
}

/// Every cluster-autoscaler flag of reference §5 that changes a decision. `Default` gives
/// the Kubernetes defaults.
#[derive(Debug, Clone, PartialEq)]
pub struct CaSettings {
    pub scan_interval_ms: i64,
    pub new_pod_scale_up_delay_ms: i64,
    pub expanders: Vec<ExpanderKind>,
    /// The `priorities` value of the `cluster-autoscaler-priority-expander` ConfigMap, if any.
    /// Re-read every decision, as CA does; a malformed value lets every option through.
    pub priority_config: Option<String>,
    /// 0 means no limit.
    pub max_nodes_total: i32,
    pub cores_total_min: i64,
    pub cores_total_max: i64,
    pub memory_total_gib_min: i64,
    pub memory_total_gib_max: i64,
    pub max_nodes_per_scaleup: i32,
    pub balance_similar_node_groups: bool,
    pub balancing_ignore_labels: Vec<String>,
    /// When non-empty, groups are similar exactly when these labels are equal.
    pub balancing_labels: Vec<String>,
    pub memory_difference_ratio: f64,
    pub max_allocatable_difference_ratio: f64,
    pub max_free_difference_ratio: f64,
    pub max_node_provision_time_ms: i64,
    /// Registered to Ready deadline: a registered node not Ready for longer is Unready.
    pub max_node_startup_time_ms: i64,
    pub initial_node_group_backoff_ms: i64,
    pub max_node_group_backoff_ms: i64,
    pub node_group_backoff_reset_timeout_ms: i64,
    pub scale_up_from_zero: bool,
    pub enforce_node_group_min_size: bool,
    pub scale_down_enabled: bool,
    pub scale_down_utilization_threshold: f64,
    pub scale_down_gpu_utilization_threshold: f64,
    pub scale_down_unneeded_time_ms: i64,
    pub scale_down_unready_time_ms: i64,
    pub scale_down_unready_enabled: bool,
    pub scale_down_delay_after_add_ms: i64,
    pub scale_down_delay_after_delete_ms: i64,
    pub scale_down_delay_after_failure_ms: i64,
    pub scale_down_delay_type_local: bool,
    pub unremovable_node_recheck_timeout_ms: i64,
    pub max_scale_down_parallelism: i32,
    pub max_drain_parallelism: i32,
    pub max_graceful_termination_s: i64,
    pub max_pod_eviction_time_ms: i64,
    pub node_delete_delay_after_taint_ms: i64,
    pub daemonset_eviction_for_occupied_nodes: bool,
    pub daemonset_eviction_for_empty_nodes: bool,
    pub ignore_daemonsets_utilization: bool,
    pub ignore_mirror_pods_utilization: bool,
    pub skip_nodes_with_system_pods: bool,
    pub blocking_system_pod_disruption_timeout_ms: i64,
    pub skip_nodes_with_local_storage: bool,
    pub skip_nodes_with_custom_controller_pods: bool,
    pub min_replica_count: i32,
    pub expendable_pods_priority_cutoff: i32,
    pub max_total_unready_percentage: f64,
    pub ok_total_unready_count: i32,
    pub max_bulk_soft_taint_count: i32,
    pub force_delete_unregistered_nodes: bool,
}

impl Default for CaSettings {
    fn default() -> Self {
        CaSettings {
            scan_interval_ms: 10 * SECOND_MS,
            new_pod_scale_up_delay_ms: 0,
            expanders: vec![ExpanderKind::LeastWaste],
            priority_config: None,
            max_nodes_total: 0,
            cores_total_min: 0,
            cores_total_max: 320_000,
            memory_total_gib_min: 0,
            memory_total_gib_max: 6_400_000,
            max_nodes_per_scaleup: 1000,
            balance_similar_node_groups: false,
            balancing_ignore_labels: Vec::new(),
            balancing_labels: Vec::new(),
            memory_difference_ratio: 0.015,
            max_allocatable_difference_ratio: 0.05,
            max_free_difference_ratio: 0.05,
            max_node_provision_time_ms: 15 * MINUTE_MS,
            max_node_startup_time_ms: 15 * MINUTE_MS,
            initial_node_group_backoff_ms: 5 * MINUTE_MS,
            max_node_group_backoff_ms: 30 * MINUTE_MS,
            node_group_backoff_reset_timeout_ms: 3 * HOUR_MS,
            scale_up_from_zero: true,
            enforce_node_group_min_size: false,
            scale_down_enabled: true,
            scale_down_utilization_threshold: 0.5,
            scale_down_gpu_utilization_threshold: 0.5,
            scale_down_unneeded_time_ms: 10 * MINUTE_MS,
            scale_down_unready_time_ms: 20 * MINUTE_MS,
            scale_down_unready_enabled: true,
            scale_down_delay_after_add_ms: 10 * MINUTE_MS,
            scale_down_delay_after_delete_ms: 0,
            scale_down_delay_after_failure_ms: 3 * MINUTE_MS,
            scale_down_delay_type_local: false,
            unremovable_node_recheck_timeout_ms: 5 * MINUTE_MS,
            max_scale_down_parallelism: 10,
            max_drain_parallelism: 1,
            max_graceful_termination_s: 600,
            max_pod_eviction_time_ms: 2 * MINUTE_MS,
            node_delete_delay_after_taint_ms: 5 * SECOND_MS,
            daemonset_eviction_for_occupied_nodes: true,
            daemonset_eviction_for_empty_nodes: false,
            ignore_daemonsets_utilization: false,
            ignore_mirror_pods_utilization: false,
            skip_nodes_with_system_pods: true,
            blocking_system_pod_disruption_timeout_ms: HOUR_MS,
            skip_nodes_with_local_storage: true,
            skip_nodes_with_custom_controller_pods: true,
            min_replica_count: 0,
            expendable_pods_priority_cutoff: -10,
            max_total_unready_percentage: 45.0,
            ok_total_unready_count: 3,
            max_bulk_soft_taint_count: 10,
            force_delete_unregistered_nodes: false,
        }
    }
}

impl CaSettings {
    /// Checks what CA checks at start-up (and ranges it would misbehave on).
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.expanders.is_empty() {
            return Err(ConfigError::EmptyExpander);
        }
        let names: Vec<&str> = self.expanders.iter().map(|k| k.name()).collect();
        parse_expanders(&names.join(","))?;
        for (flag, value) in [
            (
                "scale-down-utilization-threshold",
                self.scale_down_utilization_threshold,
            ),
            (
                "scale-down-gpu-utilization-threshold",
                self.scale_down_gpu_utilization_threshold,
            ),
            ("memory-difference-ratio", self.memory_difference_ratio),
            (
                "max-allocatable-difference-ratio",
                self.max_allocatable_difference_ratio,
            ),
            ("max-free-difference-ratio", self.max_free_difference_ratio),
        ] {
            if !(0.0..=1.0).contains(&value) {
                return Err(ConfigError::OutOfRange {
                    flag,
                    value,
                    min: 0.0,
                    max: 1.0,
                });
            }
        }
        if !(0.0..=100.0).contains(&self.max_total_unready_percentage) {
            let value = self.max_total_unready_percentage;
            return Err(ConfigError::OutOfRange {
                flag: "max-total-unready-percentage",
                value,
                min: 0.0,
                max: 100.0,
            });
        }
        for (flag, min, max) in [
            ("cores-total", self.cores_total_min, self.cores_total_max),
            (
                "memory-total",
                self.memory_total_gib_min,
                self.memory_total_gib_max,
            ),
            (
                "node-group-backoff",
                self.initial_node_group_backoff_ms,
                self.max_node_group_backoff_ms,
            ),
        ] {
            if min > max {
                return Err(ConfigError::MinAboveMax { flag, min, max });
            }
        }
        for (flag, value) in [
            (
                "max-scale-down-parallelism",
                self.max_scale_down_parallelism,
            ),
            ("max-drain-parallelism", self.max_drain_parallelism),
            ("max-nodes-per-scaleup", self.max_nodes_per_scaleup),
        ] {
            if value < 1 {
                return Err(ConfigError::OutOfRange {
                    flag,
                    value: value as f64,
                    min: 1.0,
                    max: f64::MAX,
                });
            }
        }
        if let Some(cfg) = &self.priority_config {
            super::expander::parse_priorities(cfg)?;
        }
        Ok(())
    }
}

/// Per-node-group overrides of the flags CA lets a group override (`NodeGroupAutoscalingOptions`,
/// on AWS set through ASG tags). `None` falls back to the global flag.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NodeGroupOptions {
    pub scale_down_utilization_threshold: Option<f64>,
    pub scale_down_gpu_utilization_threshold: Option<f64>,
    pub scale_down_unneeded_time_ms: Option<i64>,
    pub scale_down_unready_time_ms: Option<i64>,
    pub max_node_provision_time_ms: Option<i64>,
    pub ignore_daemonsets_utilization: Option<bool>,
}
