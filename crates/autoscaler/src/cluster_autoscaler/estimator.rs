//! Pod equivalence groups and the first-fit-decreasing binpacking estimator: how many
//! template nodes of one group the pending pods need (CA: `core/scaleup/equivalence/groups.go`,
//! `estimator/binpacking_estimator.go`, `estimator/decreasing_pod_orderer.go`).

use std::sync::Arc;

use crate::model::{well_known, NodeSchedulingSpec, PodSchedulingSpec};
use crate::node_fit::Packing;

use super::observation::PodInfo;

/// CA caps the groups one controller may form (`maxEquivalenceGroupsByController`); pods
/// beyond it form groups of their own.
pub const MAX_EQUIVALENCE_GROUPS_PER_CONTROLLER: usize = 10;

/// Pods that are interchangeable for scheduling: same controller, same labels and spec.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EquivalenceGroup {
    /// Indices into the pod list the groups were built from, in input order.
    pub pods: Vec<usize>,
}

/// Groups pods by (controller, scheduling spec). Pods without a controller and DaemonSet
/// pods are singletons. Output order follows each group's first pod.
pub fn equivalence_groups(pods: &[&PodInfo]) -> Vec<EquivalenceGroup> {
    let mut groups: Vec<EquivalenceGroup> = Vec::new();
    // (controller kind/name, index of the group) per open group, scanned linearly: the
    // number of groups stays small and a Vec keeps the order deterministic.
    let mut keyed: Vec<((String, String), usize)> = Vec::new();
    for (i, pod) in pods.iter().enumerate() {
        let Some(ctrl) = pod.controller.as_ref().filter(|c| !c.is_daemonset()) else {
            groups.push(EquivalenceGroup { pods: vec![i] });
            continue;
        };
        let key = (ctrl.kind.clone(), ctrl.name.clone());
        let same = keyed
            .iter()
            .find(|(k, g)| *k == key && *pods[groups[*g].pods[0]].spec == *pod.spec);
        if let Some(&(_, g)) = same {
            groups[g].pods.push(i);
            continue;
        }
        let per_controller = keyed.iter().filter(|(k, _)| *k == key).count();
        groups.push(EquivalenceGroup { pods: vec![i] });
        if per_controller < MAX_EQUIVALENCE_GROUPS_PER_CONTROLLER {
            keyed.push((key, groups.len() - 1));
        }
    }
    groups
}

/// The result for one node group: NodeCount and the pods placed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Estimate {
    pub node_count: i32,
    /// Indices of the placed pods (into the estimator's pod list).
    pub pods: Vec<usize>,
    /// The estimator stopped because its limiter refused a node.
    pub limited: bool,
}

/// First-fit-decreasing binpacking of `groups` onto new copies of `template`, on top of the
/// loop's cluster (rolled back afterwards). `max_nodes` is the limiter's permission: at most
/// that many new nodes (0: none).
pub fn estimate(
    cluster: &mut Packing,
    template: &NodeSchedulingSpec,
    pods: &[Arc<PodSchedulingSpec>],
    groups: &[EquivalenceGroup],
    max_nodes: i32,
) -> Estimate {
    let mark = cluster.checkpoint();
    let first_new = cluster.len();
    let mut ordered: Vec<&EquivalenceGroup> = groups.iter().collect();
    // Stable sort keeps input order among equal scores, as CA's sort.SliceStable.
    ordered.sort_by(|a, b| {
        let sa = pod_score(&pods[a.pods[0]], template);
        let sb = pod_score(&pods[b.pods[0]], template);
        sb.total_cmp(&sa)
    });
    let mut out = Estimate::default();
    'groups: for group in ordered {
        // Nodes only fill up, so a node that rejected one pod of the group rejects the next
        // too, unless a topology spread's skew can improve elsewhere: scan from the last fit.
        let monotone = pods[group.pods[0]].topology_spread.is_empty();
        let mut from = first_new;
        for &p in &group.pods {
            let pod = &pods[p];
            // Only nodes this estimation added are tried, first fit.
            let start = if monotone { from } else { first_new };
            if let Some(slot) = cluster.place_first_fit(pod, start..cluster.len()) {
                from = slot;
                out.pods.push(p);
                continue;
            }
            // The last added node was tried above; if it is still empty, this pod fits on
            // no fresh node and the rest of its equivalence group will not either.
            let added = cluster.len() - first_new;
            if added > 0 && !cluster.has_pods(cluster.len() - 1) {
                continue 'groups;
            }
            if added as i32 >= max_nodes {
                out.limited = true;
                break 'groups;
            }
            let mut node = template.clone();
            node.name = format!("template-node-for-{}-{added}", template.name);
            // Each copy is its own host, as CA's sanitized template copies are.
            node.labels
                .insert(well_known::HOSTNAME.into(), node.name.clone());
            let slot = cluster.add_node(node);
            if !cluster.fits(pod, slot) {
                continue 'groups;
            }
            cluster.place(pod.clone(), slot);
            from = slot;
            out.pods.push(p);
        }
    }
    out.node_count = (first_new..cluster.len())
        .filter(|&s| cluster.has_pods(s))
        .count() as i32;
    cluster.rollback(mark);
    out
}

/// CA's decreasing-order score: CPU share plus memory share of the template's allocatable.
fn pod_score(pod: &PodSchedulingSpec, template: &NodeSchedulingSpec) -> f64 {
    let share = |req: i64, cap: i64| {
        if cap > 0 {
            req as f64 / cap as f64
        } else {
            0.0
        }
    };
    share(pod.requests.cpu_m, template.allocatable.cpu_m)
        + share(pod.requests.memory_bytes, template.allocatable.memory_bytes)
}
