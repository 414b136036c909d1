//! InterPodAffinity: the required affinity / anti-affinity filter (including existing pods'
//! anti-affinity against the incoming pod) and the preferred-terms score.

use std::collections::BTreeMap;

use super::filters::{FilterResult, Reason, Rejection};
use super::matching::{label_selector_matches, term_namespaces};
use super::scores::{NodeScore, MAX_NODE_SCORE};
use super::snapshot::{ClusterSnapshot, NodeId, NO_DOMAIN};
use crate::model::{PodAffinityTerm, PodSchedulingSpec};

/// kube-scheduler's `hardPodAffinityWeight`: existing pods' required affinity terms count
/// this much in the score of nodes near them.
pub const HARD_POD_AFFINITY_WEIGHT: i64 = 1;

/// A (topology key id, domain id) pair.
type Pair = (u32, u32);

/// Domains of a few topology keys, as dense per-key vectors so a node check is a couple of
/// indexed loads.
#[derive(Default)]
struct DomainCounts {
    per_topo: Vec<(u32, Vec<i64>)>,
}

impl DomainCounts {
    fn add(&mut self, snap: &ClusterSnapshot, topo: u32, domain: u32, n: i64) {
        let i = match self.per_topo.iter().position(|(t, _)| *t == topo) {
            Some(i) => i,
            None => {
                let len = snap.index().topology[topo as usize].domains.len();
                self.per_topo.push((topo, vec![0; len]));
                self.per_topo.len() - 1
            }
        };
        self.per_topo[i].1[domain as usize] += n;
    }

    fn get(&self, topo: u32, domain: u32) -> i64 {
        let v = self
            .per_topo
            .iter()
            .find(|(t, _)| *t == topo)
            .map(|(_, v)| v);
        v.and_then(|v| v.get(domain as usize)).copied().unwrap_or(0)
    }

    fn is_empty(&self) -> bool {
        self.per_topo.is_empty()
    }

    /// Whether the node sits in a domain with a positive count, for any key.
    fn hits_node(&self, index: &super::snapshot::Index, node: NodeId) -> bool {
        self.per_topo.iter().any(|(topo, v)| {
            let d = index.domain(*topo, node);
            d != NO_DOMAIN && v[d as usize] > 0
        })
    }
}

/// PreFilter state of InterPodAffinity.
#[derive(Default)]
pub(crate) struct InterPodFilter {
    /// Domains where an existing pod's required anti-affinity term matches the pod.
    existing_anti: DomainCounts,
    affinity_topos: Vec<u32>,
    /// Existing pods matching all the pod's required affinity terms, per domain.
    affinity_counts: DomainCounts,
    self_matches_affinity: bool,
    /// Pods matching one of the pod's required anti-affinity terms, per domain.
    anti: DomainCounts,
}

/// Whether `pod` matches `term` as carried by a pod of namespace `owner_ns`.
fn term_matches(term: &PodAffinityTerm, owner_ns: &str, pod: &PodSchedulingSpec) -> bool {
    term_namespaces(&term.namespaces, owner_ns).contains(&pod.namespace)
        && label_selector_matches(&term.label_selector, &pod.labels)
}

/// Classes whose pods match `term` of the incoming pod (via the selector index).
fn matching_classes(snap: &ClusterSnapshot, term: &PodAffinityTerm, owner_ns: &str) -> Vec<u32> {
    let mut classes = Vec::new();
    for ns in term_namespaces(&term.namespaces, owner_ns).iter() {
        let s = snap.selector_id(ns, &term.label_selector);
        classes.extend_from_slice(&snap.index().selectors[s as usize].classes);
    }
    classes.sort_unstable();
    classes.dedup();
    classes
}

/// Calls `f(domain, pods)` for every domain of `topo` where `class` has pods, per node.
fn for_class_domains(snap: &ClusterSnapshot, class: u32, topo: u32, mut f: impl FnMut(u32, i64)) {
    let index = snap.index();
    for (&node, &cnt) in &index.classes[class as usize].nodes {
        let d = index.domain(topo, node);
        if d != NO_DOMAIN {
            f(d, i64::from(cnt));
        }
    }
}

fn add_class_pairs(
    snap: &ClusterSnapshot,
    class: u32,
    topo: u32,
    weight: i64,
    out: &mut BTreeMap<Pair, i64>,
) {
    for_class_domains(snap, class, topo, |d, cnt| {
        *out.entry((topo, d)).or_insert(0) += weight * cnt
    });
}

fn add_class_counts(snap: &ClusterSnapshot, class: u32, topo: u32, out: &mut DomainCounts) {
    let mut found = Vec::new();
    for_class_domains(snap, class, topo, |d, cnt| found.push((d, cnt)));
    for (d, cnt) in found {
        out.add(snap, topo, d, cnt);
    }
}

pub(crate) fn prefilter(snap: &ClusterSnapshot, pod: &PodSchedulingSpec) -> InterPodFilter {
    let mut st = InterPodFilter::default();
    // Existing pods' required anti-affinity terms that the incoming pod matches.
    let hits: Vec<(u32, String)> = {
        let index = snap.index();
        let mut hits = Vec::new();
        for &c in &index.affinity_classes {
            let class = &index.classes[c as usize];
            if class.nodes.is_empty() {
                continue;
            }
            for term in &class.spec.pod_anti_affinity.required {
                if term_matches(term, &class.spec.namespace, pod) {
                    hits.push((c, term.topology_key.clone()));
                }
            }
        }
        hits
    };
    for (class, key) in hits {
        let topo = snap.topology_id(&key);
        add_class_counts(snap, class, topo, &mut st.existing_anti);
    }
    let required = &pod.pod_affinity.required;
    if !required.is_empty() {
        st.affinity_topos = required
            .iter()
            .map(|t| snap.topology_id(&t.topology_key))
            .collect();
        st.self_matches_affinity = required
            .iter()
            .all(|t| term_matches(t, &pod.namespace, pod));
        // An existing pod counts only if it matches every term.
        for class in matching_classes(snap, &required[0], &pod.namespace) {
            let spec = snap.index().classes[class as usize].spec.clone();
            if required
                .iter()
                .all(|t| term_matches(t, &pod.namespace, &spec))
            {
                for &topo in &st.affinity_topos {
                    add_class_counts(snap, class, topo, &mut st.affinity_counts);
                }
            }
        }
    }
    for term in &pod.pod_anti_affinity.required {
        let topo = snap.topology_id(&term.topology_key);
        for class in matching_classes(snap, term, &pod.namespace) {
            add_class_counts(snap, class, topo, &mut st.anti);
        }
    }
    st
}

impl InterPodFilter {
    /// Whether no term concerns the pod: the filter passes every node.
    pub(crate) fn is_empty(&self) -> bool {
        self.affinity_topos.is_empty() && self.anti.is_empty() && self.existing_anti.is_empty()
    }

    pub(crate) fn filter(&self, snap: &ClusterSnapshot, node: NodeId) -> FilterResult {
        if self.is_empty() {
            return Ok(());
        }
        let index = snap.index();
        if !self.affinity_topos.is_empty() {
            let mut pods_exist = true;
            for &topo in &self.affinity_topos {
                let d = index.domain(topo, node);
                if d == NO_DOMAIN {
                    return Err(Rejection::unresolvable(Reason::AffinityRulesNotMatch));
                }
                if self.affinity_counts.get(topo, d) <= 0 {
                    pods_exist = false;
                }
            }
            // The first pod of a group with affinity to itself may go anywhere the labels
            // exist, provided no pod in the cluster matches yet.
            let first_of_group = self.affinity_counts.is_empty() && self.self_matches_affinity;
            if !pods_exist && !first_of_group {
                return Err(Rejection::unresolvable(Reason::AffinityRulesNotMatch));
            }
        }
        if self.anti.hits_node(&index, node) {
            return Err(Rejection::unschedulable(Reason::AntiAffinityRulesNotMatch));
        }
        if self.existing_anti.hits_node(&index, node) {
            return Err(Rejection::unschedulable(
                Reason::ExistingAntiAffinityRulesNotMatch,
            ));
        }
        Ok(())
    }
}

/// The InterPodAffinity score of each feasible node, normalized to 0..=100, into
/// `scores[i].inter_pod_affinity` (left 0 when no term concerns the pod).
pub(crate) fn score(
    snap: &ClusterSnapshot,
    pod: &PodSchedulingSpec,
    feasible: &[NodeId],
    scores: &mut [NodeScore],
) {
    let mut topo_score: BTreeMap<Pair, i64> = BTreeMap::new();
    // The incoming pod's preferred terms, against every existing pod.
    let own = pod
        .pod_affinity
        .preferred
        .iter()
        .map(|(w, t)| (i64::from(*w), t));
    let own_anti = pod
        .pod_anti_affinity
        .preferred
        .iter()
        .map(|(w, t)| (-i64::from(*w), t));
    for (weight, term) in own.chain(own_anti) {
        let topo = snap.topology_id(&term.topology_key);
        for class in matching_classes(snap, term, &pod.namespace) {
            add_class_pairs(snap, class, topo, weight, &mut topo_score);
        }
    }
    // Existing pods' terms that the incoming pod matches.
    let hits: Vec<(u32, i64, String)> = {
        let index = snap.index();
        let mut hits = Vec::new();
        for &c in &index.affinity_classes {
            let class = &index.classes[c as usize];
            if class.nodes.is_empty() {
                continue;
            }
            let (aff, anti, ns) = (
                &class.spec.pod_affinity,
                &class.spec.pod_anti_affinity,
                &class.spec.namespace,
            );
            let terms = aff.required.iter().map(|t| (HARD_POD_AFFINITY_WEIGHT, t));
            let terms = terms.chain(aff.preferred.iter().map(|(w, t)| (i64::from(*w), t)));
            let terms = terms.chain(anti.preferred.iter().map(|(w, t)| (-i64::from(*w), t)));
            for (w, t) in terms {
                if term_matches(t, ns, pod) {
                    hits.push((c, w, t.topology_key.clone()));
                }
            }
        }
        hits
    };
    for (class, weight, key) in hits {
        let topo = snap.topology_id(&key);
        add_class_pairs(snap, class, topo, weight, &mut topo_score);
    }
    if topo_score.is_empty() {
        return;
    }
    let index = snap.index();
    // The raw scores, kept in the nodes' own column until normalized. Both bounds start at
    // 0, as in the plugin's NormalizeScore.
    let (mut min, mut max) = (0, 0);
    for (&n, score) in feasible.iter().zip(scores.iter_mut()) {
        let raw: i64 = topo_score
            .iter()
            .filter(|(&(topo, d), _)| index.domain(topo, n) == d)
            .map(|(_, &s)| s)
            .sum();
        (min, max) = (min.min(raw), max.max(raw));
        score.inter_pod_affinity = raw;
    }
    let diff = max - min;
    for score in scores.iter_mut() {
        let s = &mut score.inter_pod_affinity;
        *s = if diff > 0 {
            (MAX_NODE_SCORE as f64 * ((*s - min) as f64 / diff as f64)) as i64
        } else {
            0
        };
    }
}
