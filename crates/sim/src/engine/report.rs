//! The run report: what the run cost, how much was used, and whether the SLOs held. Built
//! from the accounting the engine keeps; serialized as deterministic JSON (maps are
//! `BTreeMap`, floats are rounded to fixed decimals).

use std::collections::BTreeMap;

use serde::Serialize;

/// Hours in an average month (365.25 × 24 ÷ 12), as cloud bills and cost tools project.
pub const HOURS_PER_MONTH: f64 = 730.5;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub scenario: String,
    pub seed: u64,
    pub duration_s: i64,
    pub cost: CostReport,
    pub node_hours: NodeHours,
    pub pod_hours: BTreeMap<String, f64>,
    pub resources: ResourceReport,
    pub slo: SloReport,
    /// Jobs by outcome (created, succeeded, BackoffLimitExceeded, DeadlineExceeded, ...) and
    /// CronJob runs started or skipped.
    pub jobs: BTreeMap<String, u64>,
    /// HPA rescales, and how many of them the scaling limits shaped (by ScalingLimited reason).
    pub hpa: BTreeMap<String, u64>,
    /// Node autoscaling and the spot market: scale-ups by node group, nodes added, scale-downs,
    /// backoffs, spot interruptions, launches failed for insufficient capacity.
    pub node_autoscaler: BTreeMap<String, u64>,
    /// Events delivered, by kind.
    pub events: BTreeMap<String, u64>,
    /// A 128-bit hash over the ordered event log (time, kind and subject of every event).
    pub event_log_hash: String,
    pub warnings: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct CostReport {
    pub total_usd: f64,
    pub by_pool_usd: BTreeMap<String, f64>,
    pub by_capacity_type_usd: BTreeMap<String, f64>,
    /// Workload cost (OpenCost: max(request, usage) of each pod, priced at its node's per-CPU
    /// and per-memory rates), by priority class.
    pub by_priority_tier_usd: BTreeMap<String, f64>,
    pub workload_usd: f64,
    /// The DaemonSet pods' share (their requests on every node), part of workload cost.
    pub daemonset_usd: f64,
    /// Node cost not allocated to any pod: total − workload.
    pub idle_usd: f64,
    /// The run's cost rate projected over an average month (730.5 h).
    pub monthly_projection_usd: f64,
    /// What the spot nodes would have cost on demand, minus what they cost.
    pub spot_savings_usd: f64,
    pub monthly_spot_savings_usd: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct NodeHours {
    pub total: f64,
    pub by_pool: BTreeMap<String, f64>,
    pub by_capacity_type: BTreeMap<String, f64>,
    /// Most nodes alive at once.
    pub peak_nodes: i64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ResourceReport {
    pub cpu_requested_core_hours: f64,
    pub cpu_used_core_hours: f64,
    pub cpu_allocatable_core_hours: f64,
    pub memory_requested_gib_hours: f64,
    pub memory_used_gib_hours: f64,
    pub memory_allocatable_gib_hours: f64,
    /// used ÷ requested.
    pub cpu_request_efficiency_pct: f64,
    pub memory_request_efficiency_pct: f64,
    /// requested ÷ allocatable.
    pub cpu_allocation_pct: f64,
    pub memory_allocation_pct: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct SloReport {
    pub demand_requests: f64,
    pub served_requests: f64,
    pub unserved_requests: f64,
    pub demand_served_pct: f64,
    pub by_tier: BTreeMap<String, TierReport>,
    pub objectives: Vec<Objective>,
    /// Every objective met.
    pub met: bool,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct TierReport {
    pub pods_created: u64,
    pub pods_scheduled: u64,
    pub pending_pod_seconds: f64,
    pub pending_p50_s: f64,
    pub pending_p95_s: f64,
    pub pending_max_s: f64,
    /// Pods still pending when the run ended.
    pub pending_at_end: u64,
    /// Why they fit nowhere, in kube-scheduler's words, with how many pods each.
    pub pending_reasons: BTreeMap<String, u64>,
    pub preemptions: u64,
    /// Pods removed against their will, by cause (preemption, spot-interruption,
    /// scale-down, consolidation, node-removed).
    pub evictions: BTreeMap<String, u64>,
    pub demand_served_pct: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Objective {
    pub name: String,
    pub target: f64,
    pub actual: f64,
    pub met: bool,
}

/// Rounds to `decimals` places, so the JSON carries no noise digits.
pub fn round(x: f64, decimals: i32) -> f64 {
    let f = 10f64.powi(decimals);
    let r = (x * f).round() / f;
    if r == 0.0 {
        0.0 // no "-0.0"
    } else {
        r
    }
}

/// The `q`-quantile (0..=1) of sorted samples by the nearest-rank method.
pub fn quantile_sorted(sorted: &[f64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = (q * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_quantiles() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile_sorted(&v, 0.95), 95.0);
        assert_eq!(quantile_sorted(&v, 0.5), 50.0);
        assert_eq!(quantile_sorted(&v, 1.0), 100.0);
        assert_eq!(quantile_sorted(&[], 0.5), 0.0);
        assert_eq!(round(-0.000_01, 3).to_string(), "0");
    }
}
