//! PodTopologySpread: the DoNotSchedule filter (maxSkew, minDomains, node inclusion
//! policies, matchLabelKeys) and the ScheduleAnyway score, including kube-scheduler's
//! default system constraints for pods owned by a workload.

use super::filters::{FilterResult, Reason, Rejection};
use super::matching::{
    first_untolerated_hard_taint, label_selector_matches, required_node_affinity_matches,
};
use super::snapshot::{ClusterSnapshot, NodeId, NO_DOMAIN};
use crate::model::{
    well_known, LabelSelector, NodeSchedulingSpec, PodSchedulingSpec, SelectorOperator,
    SelectorRequirement, SpreadPolicy, TopologySpreadConstraint, WhenUnsatisfiable,
};

/// kube-scheduler's `systemDefaulting` constraints, applied (as ScheduleAnyway) to pods that
/// declare none but are selected by a workload: (topology key, maxSkew).
pub const SYSTEM_DEFAULT_CONSTRAINTS: [(&str, i32); 2] =
    [(well_known::HOSTNAME, 3), (well_known::ZONE, 5)];

/// One constraint resolved against the snapshot's indexes.
#[derive(Debug, Clone)]
pub(crate) struct Constraint {
    max_skew: i64,
    topo: u32,
    min_domains: i64,
    selector: u32,
    honor_affinity: bool,
    honor_taints: bool,
    self_match: bool,
    is_hostname: bool,
}

impl Constraint {
    fn new(snap: &ClusterSnapshot, pod: &PodSchedulingSpec, c: &TopologySpreadConstraint) -> Self {
        let selector = merge_match_label_keys(&c.label_selector, &c.match_label_keys, pod);
        Constraint {
            max_skew: i64::from(c.max_skew),
            topo: snap.topology_id(&c.topology_key),
            min_domains: i64::from(c.min_domains.unwrap_or(1)),
            self_match: label_selector_matches(&selector, &pod.labels),
            selector: snap.selector_id(&pod.namespace, &selector),
            honor_affinity: c.node_affinity_policy == SpreadPolicy::Honor,
            honor_taints: c.node_taints_policy == SpreadPolicy::Honor,
            is_hostname: c.topology_key == well_known::HOSTNAME,
        }
    }

    /// `matchNodeInclusionPolicies`: whether pods on this node count at all.
    fn includes(
        &self,
        pod: &PodSchedulingSpec,
        node: &NodeSchedulingSpec,
        affinity_ok: &mut Option<bool>,
    ) -> bool {
        if self.honor_affinity
            && !*affinity_ok.get_or_insert_with(|| required_node_affinity_matches(pod, node))
        {
            return false;
        }
        !(self.honor_taints
            && first_untolerated_hard_taint(&node.taints, &pod.tolerations).is_some())
    }
}

/// `matchLabelKeys`: the pod's values for those keys are ANDed into the selector.
fn merge_match_label_keys(
    sel: &LabelSelector,
    keys: &[String],
    pod: &PodSchedulingSpec,
) -> LabelSelector {
    let mut merged = sel.clone();
    for key in keys {
        if let Some(v) = pod.labels.get(key) {
            merged.match_expressions.push(SelectorRequirement {
                key: key.clone(),
                operator: SelectorOperator::In,
                values: vec![v.clone()],
            });
        }
    }
    merged
}

fn constraints(
    snap: &ClusterSnapshot,
    pod: &PodSchedulingSpec,
    when: WhenUnsatisfiable,
) -> Vec<Constraint> {
    pod.topology_spread
        .iter()
        .filter(|c| c.when_unsatisfiable == when)
        .map(|c| Constraint::new(snap, pod, c))
        .collect()
}

/// The system default constraints, if the pod declares none and has a controller.
fn default_constraints(snap: &ClusterSnapshot, pod: &PodSchedulingSpec) -> Vec<Constraint> {
    let Some(selector) = pod
        .controller_selector
        .as_ref()
        .filter(|s| **s != LabelSelector::default())
    else {
        return Vec::new();
    };
    SYSTEM_DEFAULT_CONSTRAINTS
        .iter()
        .map(|&(key, max_skew)| {
            let c = TopologySpreadConstraint {
                max_skew,
                topology_key: key.to_string(),
                when_unsatisfiable: WhenUnsatisfiable::ScheduleAnyway,
                label_selector: selector.clone(),
                min_domains: None,
                node_affinity_policy: SpreadPolicy::Honor,
                node_taints_policy: SpreadPolicy::Ignore,
                match_label_keys: Vec::new(),
            };
            Constraint::new(snap, pod, &c)
        })
        .collect()
}

/// Per-constraint domain counts for the DoNotSchedule filter (PreFilter state).
pub(crate) struct HardSpread {
    constraints: Vec<(Constraint, DomainCounts)>,
}

struct DomainCounts {
    /// Matching pods per domain id; `None` for domains no eligible node belongs to.
    counts: Vec<Option<i64>>,
    /// The global minimum after minDomains.
    min_match: i64,
}

pub(crate) fn prefilter(snap: &ClusterSnapshot, pod: &PodSchedulingSpec) -> HardSpread {
    let cs = constraints(snap, pod, WhenUnsatisfiable::DoNotSchedule);
    if cs.is_empty() {
        return HardSpread {
            constraints: Vec::new(),
        };
    }
    let index = snap.index();
    let mut counts: Vec<Vec<Option<i64>>> = cs
        .iter()
        .map(|c| vec![None; index.topology[c.topo as usize].domains.len()])
        .collect();
    for &n in snap.node_ids() {
        // Only nodes carrying every constraint's topology key count.
        if cs.iter().any(|c| index.domain(c.topo, n) == NO_DOMAIN) {
            continue;
        }
        let spec = &*snap.node(n).expect("live node").spec;
        let mut affinity_ok = None;
        for (c, dc) in cs.iter().zip(counts.iter_mut()) {
            if !c.includes(pod, spec, &mut affinity_ok) {
                continue;
            }
            let d = index.domain(c.topo, n) as usize;
            let matched = i64::from(index.selectors[c.selector as usize].per_node[n.0 as usize]);
            *dc[d].get_or_insert(0) += matched;
        }
    }
    let constraints = cs
        .into_iter()
        .zip(counts)
        .map(|(c, counts)| {
            let domains = counts.iter().flatten().count() as i64;
            let min = counts
                .iter()
                .flatten()
                .copied()
                .min()
                .unwrap_or(i64::from(i32::MAX));
            // Fewer eligible domains than minDomains: the global minimum is taken as 0.
            let min_match = if domains < c.min_domains { 0 } else { min };
            (c, DomainCounts { counts, min_match })
        })
        .collect();
    HardSpread { constraints }
}

impl HardSpread {
    /// 'existing matching num' + 'self match' - 'global minimum' must not exceed maxSkew.
    pub(crate) fn filter(&self, snap: &ClusterSnapshot, node: NodeId) -> FilterResult {
        if self.constraints.is_empty() {
            return Ok(());
        }
        let index = snap.index();
        for (c, dc) in &self.constraints {
            let d = index.domain(c.topo, node);
            if d == NO_DOMAIN {
                return Err(Rejection::unresolvable(Reason::SpreadMissingLabel));
            }
            let matched = dc.counts.get(d as usize).copied().flatten().unwrap_or(0);
            let skew = matched + i64::from(c.self_match) - dc.min_match;
            if skew > c.max_skew {
                return Err(Rejection::unschedulable(Reason::SpreadConstraintsNotMatch));
            }
        }
        Ok(())
    }
}

/// The PodTopologySpread score of each feasible node, normalized to 0..=100 (PreScore,
/// Score and NormalizeScore).
pub(crate) fn score(
    snap: &ClusterSnapshot,
    pod: &PodSchedulingSpec,
    feasible: &[NodeId],
) -> Vec<i64> {
    // Pods with their own constraints use their ScheduleAnyway ones; only pods with none get
    // the system defaults, which do not require every topology label on a node.
    let (cs, require_all) = if pod.topology_spread.is_empty() {
        (default_constraints(snap, pod), false)
    } else {
        (
            constraints(snap, pod, WhenUnsatisfiable::ScheduleAnyway),
            true,
        )
    };
    if cs.is_empty() {
        return vec![0; feasible.len()];
    }
    let index = snap.index();
    let has_all = |n: NodeId| cs.iter().all(|c| index.domain(c.topo, n) != NO_DOMAIN);
    let ignored: Vec<bool> = feasible
        .iter()
        .map(|&n| require_all && !has_all(n))
        .collect();
    // Domains present among the scored nodes; a missing label is the domain "" (slot 0).
    let slot = |c: &Constraint, n: NodeId| match index.domain(c.topo, n) {
        NO_DOMAIN => 0,
        d => d as usize + 1,
    };
    let mut counts: Vec<Vec<Option<i64>>> = cs
        .iter()
        .map(|c| vec![None; index.topology[c.topo as usize].domains.len() + 1])
        .collect();
    for (&n, _) in feasible.iter().zip(&ignored).filter(|(_, &ig)| !ig) {
        for (c, dc) in cs.iter().zip(counts.iter_mut()) {
            if !c.is_hostname {
                dc[slot(c, n)].get_or_insert(0);
            }
        }
    }
    let scored = ignored.iter().filter(|&&ig| !ig).count();
    let weights: Vec<f64> = cs
        .iter()
        .zip(&counts)
        .map(|(c, dc)| {
            let size = if c.is_hostname {
                scored
            } else {
                dc.iter().flatten().count()
            };
            ((size + 2) as f64).ln()
        })
        .collect();
    for &n in snap.node_ids() {
        if require_all && !has_all(n) {
            continue;
        }
        let spec = &*snap.node(n).expect("live node").spec;
        let mut affinity_ok = None;
        for (c, dc) in cs.iter().zip(counts.iter_mut()) {
            if c.is_hostname || !c.includes(pod, spec, &mut affinity_ok) {
                continue;
            }
            if let Some(count) = dc[slot(c, n)].as_mut() {
                *count += i64::from(index.selectors[c.selector as usize].per_node[n.0 as usize]);
            }
        }
    }
    let raw: Vec<Option<i64>> = feasible
        .iter()
        .zip(&ignored)
        .map(|(&n, &ig)| {
            if ig {
                return None;
            }
            let mut s = 0.0;
            for ((c, dc), w) in cs.iter().zip(&counts).zip(&weights) {
                if index.domain(c.topo, n) == NO_DOMAIN {
                    continue;
                }
                let cnt = if c.is_hostname {
                    i64::from(index.selectors[c.selector as usize].per_node[n.0 as usize])
                } else {
                    dc[slot(c, n)].unwrap_or(0)
                };
                s += cnt as f64 * w + (c.max_skew - 1) as f64;
            }
            Some(s.round() as i64)
        })
        .collect();
    normalize(&raw)
}

/// Fewer matching pods score higher: 100 × (max + min − s) ÷ max; ignored nodes score 0.
fn normalize(raw: &[Option<i64>]) -> Vec<i64> {
    let min = raw.iter().flatten().copied().min().unwrap_or(i64::MAX);
    let max = raw.iter().flatten().copied().max().unwrap_or(0).max(0);
    raw.iter()
        .map(|s| match *s {
            None => 0,
            Some(_) if max == 0 => super::scores::MAX_NODE_SCORE,
            Some(s) => super::scores::MAX_NODE_SCORE * (max + min - s) / max,
        })
        .collect()
}
