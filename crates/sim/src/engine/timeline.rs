//! Timeline rows, one set per metrics step, streamed to a sink as they are produced so a run
//! never holds its timeline in memory.

/// Nodes of one pool and capacity type at one step.
#[derive(Debug, Clone, serde::Serialize)]
pub struct NodeRow<'a> {
    pub t_s: i64,
    pub pool: &'a str,
    pub capacity_type: &'a str,
    pub ready: i64,
    pub provisioning: i64,
    pub draining: i64,
    /// What the pool's nodes cost per hour at this instant (spot nodes at the price in force).
    pub cost_usd_per_hour: f64,
}

/// One workload (Deployment) at one step.
#[derive(Debug, Clone, serde::Serialize)]
pub struct WorkloadRow<'a> {
    pub t_s: i64,
    pub namespace: &'a str,
    pub workload: &'a str,
    pub desired_replicas: i64,
    pub pods: i64,
    pub ready: i64,
    pub demand_rps: f64,
    pub served_rps: f64,
    /// Mean CPU usage of ready pods over their CPU request, percent.
    pub cpu_utilization_pct: f64,
    /// Backlog of a queue-driven worker.
    pub queue: f64,
    /// The HPA's last decision (empty without an HPA): desired replicas and the reasons of
    /// its AbleToScale, ScalingActive and ScalingLimited conditions.
    pub hpa_desired_replicas: Option<i64>,
    pub hpa_able_to_scale: &'a str,
    pub hpa_scaling_active: &'a str,
    pub hpa_scaling_limited: &'a str,
}

/// Pending pods of one priority tier at one step.
#[derive(Debug, Clone, serde::Serialize)]
pub struct PendingRow<'a> {
    pub t_s: i64,
    pub tier: &'a str,
    pub pending: i64,
}

/// Where timeline rows go. The engine does no I/O of its own; `api` writes CSV files.
pub trait TimelineSink {
    fn node_row(&mut self, row: &NodeRow<'_>) -> std::io::Result<()>;
    fn workload_row(&mut self, row: &WorkloadRow<'_>) -> std::io::Result<()>;
    fn pending_row(&mut self, row: &PendingRow<'_>) -> std::io::Result<()>;
    /// Whether rows are wanted at all (a sink that drops them lets the engine skip building them).
    fn wants_rows(&self) -> bool {
        true
    }
}

/// A sink that keeps nothing.
pub struct NoTimeline;

impl TimelineSink for NoTimeline {
    fn node_row(&mut self, _: &NodeRow<'_>) -> std::io::Result<()> {
        Ok(())
    }
    fn workload_row(&mut self, _: &WorkloadRow<'_>) -> std::io::Result<()> {
        Ok(())
    }
    fn pending_row(&mut self, _: &PendingRow<'_>) -> std::io::Result<()> {
        Ok(())
    }
    fn wants_rows(&self) -> bool {
        false
    }
}
