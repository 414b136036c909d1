//! The validated karpenter.sh/v1 NodePool (the serde mirror is `sim::manifest::karpenter`),
//! its defaults (KC: `pkg/apis/v1/nodepool.go`) and disruption budgets.

use thiserror::Error;

use crate::model::{Labels, SelectorOperator, SelectorRequirement, Taint};

/// 720 h, Karpenter's default `expireAfter`.
pub const DEFAULT_EXPIRE_AFTER_MS: i64 = 720 * 3_600_000;

#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum NodePoolError {
    #[error("nodepool {pool}: weight must be within 1..=100, got {weight}")]
    Weight { pool: String, weight: i32 },
    #[error("nodepool {pool}: requirement {key}: operator {op:?} needs {need}")]
    Requirement {
        pool: String,
        key: String,
        op: SelectorOperator,
        need: &'static str,
    },
    #[error(
        "nodepool {pool}: budget nodes {value:?} must be a non-negative integer or percentage"
    )]
    Budget { pool: String, value: String },
    #[error("nodepool {pool}: budget with a schedule needs a duration (and the other way round)")]
    BudgetSchedule { pool: String },
    #[error(
        "nodepool {pool}: unknown disruption reason {reason:?} (Empty, Drifted, Underutilized)"
    )]
    Reason { pool: String, reason: String },
    #[error("nodepool {pool}: unknown consolidationPolicy {policy:?}")]
    Policy { pool: String, policy: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum CapacityType {
    Reserved,
    Spot,
    OnDemand,
}

impl CapacityType {
    /// The value of `karpenter.sh/capacity-type`.
    pub fn label(self) -> &'static str {
        match self {
            CapacityType::Reserved => "reserved",
            CapacityType::Spot => "spot",
            CapacityType::OnDemand => "on-demand",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConsolidationPolicy {
    WhenEmpty,
    WhenEmptyOrUnderutilized,
    /// v1.14's Balanced policy; scored like WhenEmptyOrUnderutilized here (see module docs).
    Balanced,
}

impl ConsolidationPolicy {
    pub fn parse(pool: &str, s: &str) -> Result<Self, NodePoolError> {
        match s {
            "WhenEmpty" => Ok(Self::WhenEmpty),
            "WhenEmptyOrUnderutilized" => Ok(Self::WhenEmptyOrUnderutilized),
            "Balanced" => Ok(Self::Balanced),
            _ => Err(NodePoolError::Policy {
                pool: pool.into(),
                policy: s.into(),
            }),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DisruptionReason {
    Empty,
    Drifted,
    Underutilized,
}

impl DisruptionReason {
    pub fn parse(pool: &str, s: &str) -> Result<Self, NodePoolError> {
        match s {
            "Empty" => Ok(Self::Empty),
            "Drifted" => Ok(Self::Drifted),
            "Underutilized" => Ok(Self::Underutilized),
            _ => Err(NodePoolError::Reason {
                pool: pool.into(),
                reason: s.into(),
            }),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BudgetNodes {
    Count(i32),
    Percent(i32),
}

impl BudgetNodes {
    /// `"10%"` or `"5"`, as the NodePool writes it.
    pub fn parse(pool: &str, s: &str) -> Result<Self, NodePoolError> {
        let err = || NodePoolError::Budget {
            pool: pool.into(),
            value: s.into(),
        };
        match s.strip_suffix('%') {
            Some(p) => p
                .parse()
                .ok()
                .filter(|v: &i32| *v >= 0)
                .map(Self::Percent)
                .ok_or_else(err),
            None => s
                .parse()
                .ok()
                .filter(|v: &i32| *v >= 0)
                .map(Self::Count)
                .ok_or_else(err),
        }
    }
}

/// One `disruption.budgets` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Budget {
    pub nodes: BudgetNodes,
    /// Empty: applies to every reason.
    pub reasons: Vec<DisruptionReason>,
    /// Cron (UTC) and duration; the caller decides whether a scheduled budget is active now.
    pub schedule: Option<String>,
    pub duration_ms: Option<i64>,
}

impl Budget {
    /// `ceil(total × pct)` or the plain count.
    pub fn allowed(&self, total: i32) -> i32 {
        match self.nodes {
            BudgetNodes::Count(n) => n,
            BudgetNodes::Percent(p) => ((total as i64 * p as i64 + 99) / 100) as i32,
        }
    }
}

/// One `template.spec.requirements` entry.
#[derive(Debug, Clone, PartialEq)]
pub struct Requirement {
    pub req: SelectorRequirement,
    pub min_values: Option<i32>,
}

/// `spec.limits`: caps on the pool's summed node capacity. `None`: unlimited.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Limits {
    pub cpu_m: Option<i64>,
    pub memory_bytes: Option<i64>,
    pub gpu: Option<i64>,
    pub nodes: Option<i64>,
}

/// A validated NodePool.
#[derive(Debug, Clone, PartialEq)]
pub struct NodePool {
    pub name: String,
    /// Higher weights are tried first; 0 when unset.
    pub weight: i32,
    pub requirements: Vec<Requirement>,
    pub labels: Labels,
    pub taints: Vec<Taint>,
    pub startup_taints: Vec<Taint>,
    pub limits: Limits,
    pub consolidation_policy: ConsolidationPolicy,
    /// `None`: `consolidateAfter: Never`.
    pub consolidate_after_ms: Option<i64>,
    pub budgets: Vec<Budget>,
    /// `None`: `expireAfter: Never`.
    pub expire_after_ms: Option<i64>,
    pub termination_grace_ms: Option<i64>,
}

impl NodePool {
    /// A pool with Karpenter's defaults: WhenEmptyOrUnderutilized, consolidateAfter 0 s,
    /// budgets `[{nodes: 10%}]`, expireAfter 720 h.
    pub fn with_defaults(name: &str) -> NodePool {
        NodePool {
            name: name.into(),
            weight: 0,
            requirements: Vec::new(),
            labels: Labels::new(),
            taints: Vec::new(),
            startup_taints: Vec::new(),
            limits: Limits::default(),
            consolidation_policy: ConsolidationPolicy::WhenEmptyOrUnderutilized,
            consolidate_after_ms: Some(0),
            budgets: vec![Budget {
                nodes: BudgetNodes::Percent(10),
                reasons: Vec::new(),
                schedule: None,
                duration_ms: None,
            }],
            expire_after_ms: Some(DEFAULT_EXPIRE_AFTER_MS),
            termination_grace_ms: None,
        }
    }

    pub fn validate(&self) -> Result<(), NodePoolError> {
        let pool = self.name.clone();
        if self.weight != 0 && !(1..=100).contains(&self.weight) {
            return Err(NodePoolError::Weight {
                pool,
                weight: self.weight,
            });
        }
        for r in &self.requirements {
            let need = match r.req.operator {
                SelectorOperator::In | SelectorOperator::NotIn if r.req.values.is_empty() => {
                    Some("values")
                }
                SelectorOperator::Gt | SelectorOperator::Lt
                    if r.req.values.len() != 1 || r.req.values[0].parse::<i64>().is_err() =>
                {
                    Some("one integer value")
                }
                _ => None,
            };
            if let Some(need) = need {
                return Err(NodePoolError::Requirement {
                    pool,
                    key: r.req.key.clone(),
                    op: r.req.operator,
                    need,
                });
            }
        }
        if self
            .budgets
            .iter()
            .any(|b| b.schedule.is_some() != b.duration_ms.is_some())
        {
            return Err(NodePoolError::BudgetSchedule { pool });
        }
        Ok(())
    }

    /// Nodes that may be disrupted for `reason` now: the minimum over active applicable
    /// budgets, less the pool's nodes already NotReady or being deleted (KC:
    /// `GetAllowedDisruptionsByReason`, `BuildDisruptionBudgetMapping`).
    pub fn available_disruptions(
        &self,
        reason: DisruptionReason,
        total: i32,
        disrupting: i32,
        budget_active: &dyn Fn(&Budget) -> bool,
    ) -> i32 {
        let allowed = self
            .budgets
            .iter()
            .filter(|b| b.reasons.is_empty() || b.reasons.contains(&reason))
            .filter(|b| b.schedule.is_none() || budget_active(b))
            .map(|b| b.allowed(total))
            .min()
            .unwrap_or(i32::MAX);
        (allowed.saturating_sub(disrupting)).max(0)
    }
}
