//! The seam where node autoscalers ask kube-scheduler's Filter question: "could this pod be
//! placed on this node?". The cluster-autoscaler's estimator and drain simulation and
//! Karpenter's provisioning and consolidation all pack pods onto [`SimNode`]s through one
//! [`PodFits`] implementation, so a richer filter (the scheduler module's snapshot) replaces
//! [`BasicFilter`] in one place.
//!
//! Neither CA nor Karpenter scores nodes: both place pods first-fit with filters only
//! (reference §3.4, §9), which is why this trait has no score.

use std::sync::Arc;

use crate::model::{
    LabelSelector, Labels, NodeSchedulingSpec, PodSchedulingSpec, Resources, SelectorOperator,
    SelectorRequirement, TaintEffect, Toleration, TolerationOperator,
};

/// A node in a packing simulation: its scheduling view and the pods placed on it so far.
#[derive(Debug, Clone)]
pub struct SimNode {
    pub spec: NodeSchedulingSpec,
    /// Sum of the requests of `pods` (with `pods` counting pod slots).
    pub requested: Resources,
    pub pods: Vec<Arc<PodSchedulingSpec>>,
}

impl SimNode {
    pub fn new(spec: NodeSchedulingSpec) -> SimNode {
        SimNode {
            spec,
            requested: Resources::ZERO,
            pods: Vec::new(),
        }
    }

    pub fn free(&self) -> Resources {
        self.spec.allocatable.sub(&self.requested)
    }

    pub fn place(&mut self, pod: Arc<PodSchedulingSpec>) {
        self.requested = self.requested.add(&pod.requests);
        self.pods.push(pod);
    }

    /// Undoes the latest [`SimNode::place`].
    pub fn unplace_last(&mut self) {
        if let Some(pod) = self.pods.pop() {
            self.requested = self.requested.sub(&pod.requests);
        }
    }

    pub fn is_empty(&self) -> bool {
        self.pods.is_empty()
    }
}

/// kube-scheduler's Filter stage, as the node autoscalers run it: filter-only, no scores.
/// `nodes` is the whole simulated cluster so constraints that count pods across nodes
/// (topology spread, inter-pod anti-affinity) can be evaluated.
pub trait PodFits {
    fn fits(&self, pod: &PodSchedulingSpec, nodes: &[SimNode], idx: usize) -> bool;
}

/// The filters that depend only on the pod and the one node: cordon, `nodeName`, requests,
/// taints (NoSchedule and NoExecute), `nodeSelector` and required node affinity.
#[derive(Debug, Clone, Copy, Default)]
pub struct BasicFilter;

impl PodFits for BasicFilter {
    fn fits(&self, pod: &PodSchedulingSpec, nodes: &[SimNode], idx: usize) -> bool {
        let node = &nodes[idx];
        if node.spec.unschedulable {
            return false;
        }
        if let Some(name) = &pod.node_name {
            if name != &node.spec.name {
                return false;
            }
        }
        if !node
            .requested
            .add(&pod.requests)
            .fits_in(&node.spec.allocatable)
        {
            return false;
        }
        let untolerated = node.spec.taints.iter().any(|t| {
            t.effect != TaintEffect::PreferNoSchedule
                && !pod
                    .tolerations
                    .iter()
                    .any(|tol| tolerates(tol, &t.key, &t.value, t.effect))
        });
        if untolerated {
            return false;
        }
        if !pod
            .node_selector
            .iter()
            .all(|(k, v)| node.spec.labels.get(k) == Some(v))
        {
            return false;
        }
        let required = &pod.node_affinity.required;
        required.is_empty()
            || required.iter().any(|term| {
                term.match_expressions
                    .iter()
                    .all(|r| requirement_matches(r, &node.spec.labels))
            })
    }
}

fn tolerates(tol: &Toleration, key: &str, value: &str, effect: TaintEffect) -> bool {
    if tol.effect.is_some_and(|e| e != effect) {
        return false;
    }
    match tol.operator {
        TolerationOperator::Exists => tol.key.is_empty() || tol.key == key,
        TolerationOperator::Equal => tol.key == key && tol.value == value,
    }
}

/// One selector requirement against a label set, with Kubernetes' semantics (NotIn and
/// DoesNotExist match a missing key; Gt and Lt compare integers).
pub fn requirement_matches(r: &SelectorRequirement, labels: &Labels) -> bool {
    let value = labels.get(&r.key);
    match r.operator {
        SelectorOperator::In => value.is_some_and(|v| r.values.contains(v)),
        SelectorOperator::NotIn => value.is_none_or(|v| !r.values.contains(v)),
        SelectorOperator::Exists => value.is_some(),
        SelectorOperator::DoesNotExist => value.is_none(),
        SelectorOperator::Gt | SelectorOperator::Lt => {
            let (Some(v), Some(bound)) = (value, r.values.first()) else {
                return false;
            };
            match (v.parse::<i64>(), bound.parse::<i64>()) {
                (Ok(v), Ok(b)) if r.operator == SelectorOperator::Gt => v > b,
                (Ok(v), Ok(b)) => v < b,
                _ => false,
            }
        }
    }
}

/// metav1.LabelSelector semantics: all of `matchLabels` and `matchExpressions`.
pub fn selector_matches(sel: &LabelSelector, labels: &Labels) -> bool {
    sel.match_labels
        .iter()
        .all(|(k, v)| labels.get(k) == Some(v))
        && sel
            .match_expressions
            .iter()
            .all(|r| requirement_matches(r, labels))
}

/// First-fit placement of `pod` onto `nodes`, trying indices in `order`; returns the index
/// it was placed on.
pub fn place_first_fit(
    filter: &dyn PodFits,
    nodes: &mut [SimNode],
    order: impl IntoIterator<Item = usize>,
    pod: &Arc<PodSchedulingSpec>,
) -> Option<usize> {
    let idx = order.into_iter().find(|&i| filter.fits(pod, nodes, i))?;
    nodes[idx].place(pod.clone());
    Some(idx)
}
