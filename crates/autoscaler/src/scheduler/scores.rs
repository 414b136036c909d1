//! The Score plugins with kube-scheduler's default weights, their normalization, and the
//! seeded choice among the best-scoring nodes.

use rand::Rng;

use super::matching::{node_selector_term_matches, toleration_tolerates};
use super::snapshot::{non_zero_request, ClusterSnapshot, NodeId, NodeInfo};
use super::{interpod, spread, ScoringStrategy};
use crate::model::{PodSchedulingSpec, Resources, TaintEffect, Toleration};

pub const MAX_NODE_SCORE: i64 = 100;

/// Default plugin weights (`apis/config/v1/default_plugins.go`).
pub const WEIGHT_TAINT_TOLERATION: i64 = 3;
pub const WEIGHT_NODE_AFFINITY: i64 = 2;
pub const WEIGHT_POD_TOPOLOGY_SPREAD: i64 = 2;
pub const WEIGHT_INTER_POD_AFFINITY: i64 = 2;
pub const WEIGHT_NODE_RESOURCES_FIT: i64 = 1;
pub const WEIGHT_BALANCED_ALLOCATION: i64 = 1;

/// Each plugin's normalized score for one node, and the weighted total.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct NodeScore {
    pub node: Option<NodeId>,
    pub taint_toleration: i64,
    pub node_affinity: i64,
    pub pod_topology_spread: i64,
    pub inter_pod_affinity: i64,
    pub node_resources_fit: i64,
    pub balanced_allocation: i64,
    pub total: i64,
}

/// Scores every feasible node for `pod`, in the order given.
pub fn score_nodes(
    snap: &ClusterSnapshot,
    pod: &PodSchedulingSpec,
    feasible: &[NodeId],
    strategy: ScoringStrategy,
) -> Vec<NodeScore> {
    let mut scores = Vec::with_capacity(feasible.len());
    score_nodes_into(snap, pod, feasible, strategy, &mut scores);
    scores
}

/// [`score_nodes`] into `scores` (cleared first), so a caller scoring attempt after attempt
/// reuses one allocation. Two passes over the nodes: the per-node raw scores (the resource
/// scores are final there), then, once every plugin's maximum is known, the normalization
/// and the weighted total. PodTopologySpread and InterPodAffinity fill in their own column
/// in between.
pub(crate) fn score_nodes_into(
    snap: &ClusterSnapshot,
    pod: &PodSchedulingSpec,
    feasible: &[NodeId],
    strategy: ScoringStrategy,
    scores: &mut Vec<NodeScore>,
) {
    scores.clear();
    // TaintToleration and NodeAffinity raw scores (most pods and nodes have nothing for
    // either, and then a check is all they cost).
    let prefer = |t: &&Toleration| t.effect.is_none_or(|e| e == TaintEffect::PreferNoSchedule);
    let untolerated = |n: &NodeInfo| {
        let t = n.spec.taints.iter();
        t.filter(|t| {
            t.effect == TaintEffect::PreferNoSchedule
                && !pod
                    .tolerations
                    .iter()
                    .filter(prefer)
                    .any(|tol| toleration_tolerates(tol, t))
        })
        .count() as i64
    };
    let preferred = &pod.node_affinity.preferred;
    let affinity = |n: &NodeInfo| -> i64 {
        let terms = preferred.iter();
        terms
            .filter(|(_, t)| node_selector_term_matches(t, &n.spec))
            .map(|(w, _)| i64::from(*w))
            .sum()
    };
    let best_effort = pod.requests.cpu_m == 0 && pod.requests.memory_bytes == 0;
    let nz = non_zero_request(&pod.requests);
    let (mut taint_max, mut affinity_max) = (0, 0);
    for &n in feasible {
        let info = snap.node(n).expect("feasible node");
        let taints = if info.spec.taints.is_empty() {
            0
        } else {
            untolerated(info)
        };
        let terms = if preferred.is_empty() {
            0
        } else {
            affinity(info)
        };
        taint_max = taint_max.max(taints);
        affinity_max = affinity_max.max(terms);
        scores.push(NodeScore {
            node: Some(n),
            // Raw until normalized below.
            taint_toleration: taints,
            node_affinity: terms,
            pod_topology_spread: 0,
            inter_pod_affinity: 0,
            node_resources_fit: fit_score(&nz, info, strategy),
            balanced_allocation: if best_effort {
                0
            } else {
                balanced_allocation_score(pod, info)
            },
            total: 0,
        });
    }
    spread::score(snap, pod, feasible, scores);
    interpod::score(snap, pod, feasible, scores);
    for s in scores.iter_mut() {
        s.taint_toleration = normalized(s.taint_toleration, taint_max, true);
        s.node_affinity = normalized(s.node_affinity, affinity_max, false);
        s.total = WEIGHT_TAINT_TOLERATION * s.taint_toleration
            + WEIGHT_NODE_AFFINITY * s.node_affinity
            + WEIGHT_POD_TOPOLOGY_SPREAD * s.pod_topology_spread
            + WEIGHT_INTER_POD_AFFINITY * s.inter_pod_affinity
            + WEIGHT_NODE_RESOURCES_FIT * s.node_resources_fit
            + WEIGHT_BALANCED_ALLOCATION * s.balanced_allocation;
    }
}

/// `helper.DefaultNormalizeScore`: scale to 0..=100 by the maximum; `reverse` flips it (an
/// all-zero list becomes all 100 when reversed).
pub fn default_normalize(raw: &[i64], reverse: bool) -> Vec<i64> {
    let max = raw.iter().copied().max().unwrap_or(0).max(0);
    raw.iter().map(|&s| normalized(s, max, reverse)).collect()
}

/// One score of [`default_normalize`], given the list's maximum (at least 0).
fn normalized(s: i64, max: i64, reverse: bool) -> i64 {
    if max == 0 {
        return if reverse { MAX_NODE_SCORE } else { 0 };
    }
    let s = MAX_NODE_SCORE * s / max;
    if reverse {
        MAX_NODE_SCORE - s
    } else {
        s
    }
}

/// NodeResourcesFit score over cpu and memory (weight 1 each), with the non-zero request
/// rule on both the node's pods and the incoming pod.
pub fn resources_fit_score(
    pod: &PodSchedulingSpec,
    node: &NodeInfo,
    strategy: ScoringStrategy,
) -> i64 {
    fit_score(&non_zero_request(&pod.requests), node, strategy)
}

/// [`resources_fit_score`] with the pod's non-zero request worked out once: the mean of
/// the cpu and memory scores, over those the node has any of. Always inlined: it runs once
/// per scored node, and the call itself was a fair part of it.
#[inline(always)]
fn fit_score(nz: &Resources, node: &NodeInfo, strategy: ScoringStrategy) -> i64 {
    let alloc = &node.spec.allocatable;
    let score = |requested: i64, allocatable: i64| match strategy {
        ScoringStrategy::LeastAllocated => least_requested_score(requested, allocatable),
        ScoringStrategy::MostAllocated => most_requested_score(requested, allocatable),
    };
    let cpu = || score(node.non_zero_requested.cpu_m + nz.cpu_m, alloc.cpu_m);
    let memory = || {
        let requested = node.non_zero_requested.memory_bytes + nz.memory_bytes;
        score(requested, alloc.memory_bytes)
    };
    match (alloc.cpu_m != 0, alloc.memory_bytes != 0) {
        (true, true) => (cpu() + memory()) / 2,
        (true, false) => cpu(),
        (false, true) => memory(),
        (false, false) => 0,
    }
}

/// (allocatable − requested) × 100 ÷ allocatable; 0 when over-committed.
pub fn least_requested_score(requested: i64, allocatable: i64) -> i64 {
    if allocatable == 0 || requested > allocatable {
        return 0;
    }
    (allocatable - requested) * MAX_NODE_SCORE / allocatable
}

/// requested × 100 ÷ allocatable, requested capped at allocatable.
pub fn most_requested_score(requested: i64, allocatable: i64) -> i64 {
    if allocatable == 0 {
        return 0;
    }
    requested.min(allocatable) * MAX_NODE_SCORE / allocatable
}

/// NodeResourcesBalancedAllocation with the real (not non-zero) requests:
/// (1 − |cpuFraction − memFraction| ÷ 2) × 100, fractions capped at 1.
pub fn balanced_allocation_score(pod: &PodSchedulingSpec, node: &NodeInfo) -> i64 {
    let alloc = &node.spec.allocatable;
    // With one resource (or none) allocatable the deviation is 0.
    if alloc.cpu_m == 0 || alloc.memory_bytes == 0 {
        return MAX_NODE_SCORE;
    }
    let fraction = |r: i64, a: i64| (r as f64 / a as f64).min(1.0);
    let cpu = fraction(node.requested.cpu_m + pod.requests.cpu_m, alloc.cpu_m);
    let memory = fraction(
        node.requested.memory_bytes + pod.requests.memory_bytes,
        alloc.memory_bytes,
    );
    let std = ((cpu - memory) / 2.0).abs();
    ((1.0 - std) * MAX_NODE_SCORE as f64) as i64
}

/// `selectHost`: the highest total wins; ties are broken uniformly at random by reservoir
/// sampling over the nodes in order, with the caller's RNG.
pub fn select_host(scores: &[NodeScore], rng: &mut impl Rng) -> usize {
    assert!(!scores.is_empty(), "select_host needs at least one node");
    let (mut best, mut ties) = (0, 1u32);
    for i in 1..scores.len() {
        if scores[i].total > scores[best].total {
            best = i;
            ties = 1;
        } else if scores[i].total == scores[best].total {
            ties += 1;
            if rng.random_range(0..ties) == 0 {
                best = i;
            }
        }
    }
    best
}
