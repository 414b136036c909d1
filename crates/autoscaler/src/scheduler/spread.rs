//! PodTopologySpread: the DoNotSchedule filter (maxSkew, minDomains, node inclusion
//! policies, matchLabelKeys) and the ScheduleAnyway score, including kube-scheduler's
//! default system constraints for pods owned by a workload.

use std::borrow::Cow;

use super::filters::{FilterResult, Reason, Rejection};
use super::matching::label_selector_matches;
use super::scores::{NodeScore, MAX_NODE_SCORE};
use super::snapshot::{ClusterSnapshot, NodeId, StaticFit, NO_DOMAIN};
use crate::model::{
    well_known, LabelSelector, PodSchedulingSpec, SelectorOperator, SelectorRequirement,
    SpreadPolicy, TopologySpreadConstraint, WhenUnsatisfiable,
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

    /// `matchNodeInclusionPolicies`: whether pods on this node count at all, from the
    /// node's cached static filter verdicts.
    fn includes(&self, fit: StaticFit) -> bool {
        (!self.honor_affinity || fit.matches_affinity())
            && (!self.honor_taints || fit.tolerates_taints())
    }
}

/// `matchLabelKeys`: the pod's values for those keys are ANDed into the selector (borrowed
/// as is when there are none, the common case on the hot path).
fn merge_match_label_keys<'a>(
    sel: &'a LabelSelector,
    keys: &[String],
    pod: &PodSchedulingSpec,
) -> Cow<'a, LabelSelector> {
    if keys.iter().all(|k| !pod.labels.contains_key(k)) {
        return Cow::Borrowed(sel);
    }
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
    Cow::Owned(merged)
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

/// The system default constraints of a pod, resolved against the snapshot's indexes: what
/// the snapshot remembers per spec (see [`ClusterSnapshot::default_spread`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DefaultSpread {
    selector: u32,
    /// Topology ids, in [`SYSTEM_DEFAULT_CONSTRAINTS`] order.
    topo: [u32; 2],
    self_match: bool,
}

/// The system default constraints, if the pod declares none and has a controller.
fn default_constraints(snap: &ClusterSnapshot, pod: &PodSchedulingSpec) -> Vec<Constraint> {
    let resolve = || {
        let selector = pod
            .controller_selector
            .as_ref()
            .filter(|s| **s != LabelSelector::default())?;
        Some(DefaultSpread {
            selector: snap.selector_id(&pod.namespace, selector),
            topo: SYSTEM_DEFAULT_CONSTRAINTS.map(|(key, _)| snap.topology_id(key)),
            self_match: label_selector_matches(selector, &pod.labels),
        })
    };
    let Some(d) = snap.default_spread(pod, resolve) else {
        return Vec::new();
    };
    // Built directly (not through a TopologySpreadConstraint) to keep this per-pod path
    // free of allocations: minDomains 1, nodeAffinityPolicy Honor, nodeTaintsPolicy Ignore.
    SYSTEM_DEFAULT_CONSTRAINTS
        .iter()
        .zip(d.topo)
        .map(|(&(key, max_skew), topo)| Constraint {
            max_skew: i64::from(max_skew),
            topo,
            min_domains: 1,
            selector: d.selector,
            honor_affinity: true,
            honor_taints: false,
            self_match: d.self_match,
            is_hostname: key == well_known::HOSTNAME,
        })
        .collect()
}

/// Per-constraint domain counts for the DoNotSchedule filter (PreFilter state).
pub(crate) struct HardSpread {
    constraints: Vec<(Constraint, DomainCounts)>,
}

struct DomainCounts {
    /// Matching pods per domain slot (see [`slot`]); negative for domains no eligible node
    /// belongs to.
    counts: Vec<i64>,
    /// The global minimum after minDomains.
    min_match: i64,
}

/// A node's domain slot for a key: 0 when it lacks the label (the value "" to
/// kube-scheduler), else the domain id + 1.
fn slot(node_domain: &[u32], i: usize) -> usize {
    match node_domain.get(i) {
        Some(&d) if d != NO_DOMAIN => d as usize + 1,
        _ => 0,
    }
}

/// Empty per-slot counts (all domains absent) for each constraint; none for hostname
/// constraints when `per_node_hostnames` (the score reads those per node).
fn absent_counts(
    snap: &ClusterSnapshot,
    cs: &[Constraint],
    per_node_hostnames: bool,
) -> Vec<Vec<i64>> {
    let index = snap.index();
    cs.iter()
        .map(|c| {
            if per_node_hostnames && c.is_hostname {
                Vec::new()
            } else {
                vec![-1; index.topology[c.topo as usize].domains.len() + 1]
            }
        })
        .collect()
}

/// Adds each counting node's matching pods to its domain, per constraint. A node counts if
/// it carries every constraint's key (when `require_all`) and passes the constraint's
/// inclusion policies. With `create`, domains become present as nodes are counted;
/// without, only domains already present are added to, and hostname constraints (which
/// the score counts per node) are skipped.
fn count_domains(
    snap: &ClusterSnapshot,
    static_class: u32,
    cs: &[Constraint],
    require_all: bool,
    counts: &mut [Vec<i64>],
    create: bool,
) {
    let index = snap.index();
    let dom = |c: &Constraint| &index.topology[c.topo as usize].node_domain[..];
    let doms: Vec<&[u32]> = cs.iter().map(dom).collect();
    // The constraints counted here, with their columns, resolved once rather than per node.
    let cols: Vec<(usize, &Constraint, &[u32], &[u32])> = cs
        .iter()
        .enumerate()
        .filter(|(_, c)| create || !c.is_hostname)
        .map(|(k, c)| {
            let per_node = &index.selectors[c.selector as usize].per_node[..];
            (k, c, dom(c), per_node)
        })
        .collect();
    if cols.is_empty() {
        return;
    }
    let fits = index.static_fit.fits(static_class);
    if !create {
        // Only nodes holding matching pods add anything: visit those, found through the
        // selectors' pod classes, rather than every node (sums of integers, so the order
        // does not matter).
        for &(k, c, dom, per_node) in &cols {
            let dc = &mut counts[k];
            let add = |n: &NodeId| {
                let i = n.0 as usize;
                if require_all && doms.iter().any(|dom| slot(dom, i) == 0) {
                    return;
                }
                let s = slot(dom, i);
                if c.includes(fits[i]) && dc[s] >= 0 {
                    dc[s] += i64::from(per_node[i]);
                }
            };
            let classes = &index.selectors[c.selector as usize].classes;
            if let &[class] = &classes[..] {
                // One class (the common case, one workload's pods): its nodes are distinct.
                index.classes[class as usize].nodes.keys().for_each(add);
            } else {
                let mut holding: Vec<NodeId> = classes
                    .iter()
                    .flat_map(|&cl| index.classes[cl as usize].nodes.keys().copied())
                    .collect();
                holding.sort_unstable();
                holding.dedup();
                holding.iter().for_each(add);
            }
        }
        return;
    }
    for &n in snap.node_ids() {
        let i = n.0 as usize;
        if require_all && doms.iter().any(|dom| slot(dom, i) == 0) {
            continue;
        }
        for &(k, c, dom, per_node) in &cols {
            if !c.includes(fits[i]) {
                continue;
            }
            let (s, dc) = (slot(dom, i), &mut counts[k]);
            if dc[s] < 0 {
                dc[s] = 0;
            }
            dc[s] += i64::from(per_node[i]);
        }
    }
}

/// `static_class` is the pod's class in the snapshot's static filter cache, filled.
pub(crate) fn prefilter(
    snap: &ClusterSnapshot,
    pod: &PodSchedulingSpec,
    static_class: u32,
) -> HardSpread {
    let cs = constraints(snap, pod, WhenUnsatisfiable::DoNotSchedule);
    if cs.is_empty() {
        return HardSpread {
            constraints: Vec::new(),
        };
    }
    let mut counts = absent_counts(snap, &cs, false);
    count_domains(snap, static_class, &cs, true, &mut counts, true);
    let constraints = cs
        .into_iter()
        .zip(counts)
        .map(|(c, counts)| {
            let present = counts.iter().filter(|&&n| n >= 0);
            let domains = present.clone().count() as i64;
            let min = present.copied().min().unwrap_or(i64::from(i32::MAX));
            // Fewer eligible domains than minDomains: the global minimum is taken as 0.
            let min_match = if domains < c.min_domains { 0 } else { min };
            (c, DomainCounts { counts, min_match })
        })
        .collect();
    HardSpread { constraints }
}

impl HardSpread {
    /// Whether the pod has no DoNotSchedule constraint: the filter passes every node.
    pub(crate) fn is_empty(&self) -> bool {
        self.constraints.is_empty()
    }

    /// 'existing matching num' + 'self match' - 'global minimum' must not exceed maxSkew.
    pub(crate) fn filter(&self, snap: &ClusterSnapshot, node: NodeId) -> FilterResult {
        if self.is_empty() {
            return Ok(());
        }
        let index = snap.index();
        for (c, dc) in &self.constraints {
            let s = slot(
                &index.topology[c.topo as usize].node_domain,
                node.0 as usize,
            );
            if s == 0 {
                return Err(Rejection::unresolvable(Reason::SpreadMissingLabel));
            }
            let matched = dc.counts[s].max(0);
            let skew = matched + i64::from(c.self_match) - dc.min_match;
            if skew > c.max_skew {
                return Err(Rejection::unschedulable(Reason::SpreadConstraintsNotMatch));
            }
        }
        Ok(())
    }
}

/// The PodTopologySpread score of each feasible node, normalized to 0..=100 (PreScore,
/// Score and NormalizeScore), into `scores[i].pod_topology_spread` (left 0 when the pod has
/// no constraint to score).
pub(crate) fn score(
    snap: &ClusterSnapshot,
    pod: &PodSchedulingSpec,
    feasible: &[NodeId],
    scores: &mut [NodeScore],
) {
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
        return;
    }
    let static_class = snap.static_fit_class(pod);
    let mut counts = absent_counts(snap, &cs, true);
    let index = snap.index();
    let doms: Vec<&[u32]> = cs
        .iter()
        .map(|c| &index.topology[c.topo as usize].node_domain[..])
        .collect();
    // A node lacking one of the pod's own constraints' keys is not scored (it scores 0).
    let ignored = |n: &NodeId| require_all && doms.iter().any(|dom| slot(dom, n.0 as usize) == 0);
    // Domains present among the scored nodes. Here and below the work goes constraint by
    // constraint, each a tight loop over the nodes.
    let scored = feasible.iter().filter(|n| !ignored(n)).count();
    for ((c, dom), dc) in cs.iter().zip(&doms).zip(counts.iter_mut()) {
        if !c.is_hostname {
            for n in feasible.iter().filter(|n| !ignored(n)) {
                let s = slot(dom, n.0 as usize);
                dc[s] = dc[s].max(0);
            }
        }
    }
    let weights: Vec<f64> = cs
        .iter()
        .zip(&counts)
        .map(|(c, dc)| {
            let size = if c.is_hostname {
                scored
            } else {
                dc.iter().filter(|&&n| n >= 0).count()
            };
            ((size + 2) as f64).ln()
        })
        .collect();
    count_domains(snap, static_class, &cs, require_all, &mut counts, false);
    // Each node's sum of `matching pods × weight + maxSkew − 1` over the constraints whose
    // key it has, added in the constraints' order as the plugin adds them (so the same
    // floating-point sums).
    let mut sums = vec![0.0; feasible.len()];
    for (((c, dom), dc), &weight) in cs.iter().zip(&doms).zip(&counts).zip(&weights) {
        let skew = (c.max_skew - 1) as f64;
        if c.is_hostname {
            let per_node = &index.selectors[c.selector as usize].per_node[..];
            for (n, sum) in feasible.iter().zip(&mut sums) {
                let i = n.0 as usize;
                if slot(dom, i) != 0 {
                    *sum += f64::from(per_node[i]) * weight + skew;
                }
            }
        } else {
            // The same for every node of a domain: worked out once per domain.
            let terms: Vec<f64> = dc
                .iter()
                .map(|&m| m.max(0) as f64 * weight + skew)
                .collect();
            for (n, sum) in feasible.iter().zip(&mut sums) {
                let s = slot(dom, n.0 as usize);
                if s != 0 {
                    *sum += terms[s];
                }
            }
        }
    }
    // The raw scores (kept in the nodes' own column until normalized) and their bounds.
    let (mut min, mut max) = (i64::MAX, 0);
    for ((n, score), &sum) in feasible.iter().zip(scores.iter_mut()).zip(&sums) {
        if !ignored(n) {
            let raw = round_half_away(sum);
            (min, max) = (min.min(raw), max.max(raw));
            score.pod_topology_spread = raw;
        }
    }
    // Fewer matching pods score higher: 100 × (max + min − s) ÷ max; ignored nodes score 0.
    for (n, score) in feasible.iter().zip(scores.iter_mut()) {
        let s = &mut score.pod_topology_spread;
        *s = if ignored(n) {
            0
        } else if max == 0 {
            MAX_NODE_SCORE
        } else {
            MAX_NODE_SCORE * (max + min - *s) / max
        };
    }
}

pub(crate) use crate::numeric::round_half_away;
