//! Selector, node-affinity and toleration matching, with the API machinery's semantics
//! (`labels.Selector`, `nodeaffinity.RequiredNodeAffinity`, `ToleratesTaint`).

use crate::model::{
    LabelSelector, Labels, NodeSchedulingSpec, NodeSelectorTerm, PodSchedulingSpec,
    SelectorOperator, SelectorRequirement, Taint, TaintEffect, Toleration, TolerationOperator,
};

/// The taint kube-scheduler treats `spec.unschedulable` as (NodeUnschedulable filter).
pub const TAINT_NODE_UNSCHEDULABLE: &str = "node.kubernetes.io/unschedulable";
/// The only field `matchFields` may name.
const FIELD_METADATA_NAME: &str = "metadata.name";

/// metav1.LabelSelector semantics: `matchLabels` and `matchExpressions` ANDed; an empty
/// selector matches every label set. `Gt`/`Lt` are not label-selector operators and match
/// nothing (the API server rejects them; we stay total).
pub fn label_selector_matches(sel: &LabelSelector, labels: &Labels) -> bool {
    sel.match_labels
        .iter()
        .all(|(k, v)| labels.get(k) == Some(v))
        && sel
            .match_expressions
            .iter()
            .all(|r| requirement_matches(r, labels.get(&r.key), false))
}

/// One selector requirement against the value of its key (`None` when the key is absent).
/// `numeric` enables `Gt`/`Lt` (node selectors only).
fn requirement_matches(req: &SelectorRequirement, value: Option<&String>, numeric: bool) -> bool {
    match req.operator {
        SelectorOperator::In => value.is_some_and(|v| req.values.contains(v)),
        SelectorOperator::NotIn => value.is_none_or(|v| !req.values.contains(v)),
        SelectorOperator::Exists => value.is_some(),
        SelectorOperator::DoesNotExist => value.is_none(),
        SelectorOperator::Gt | SelectorOperator::Lt if numeric => {
            // Kubernetes requires exactly one value and integer label values on both sides.
            let (Some(v), [bound]) = (value, req.values.as_slice()) else {
                return false;
            };
            let (Ok(v), Ok(bound)) = (v.parse::<i64>(), bound.parse::<i64>()) else {
                return false;
            };
            if req.operator == SelectorOperator::Gt {
                v > bound
            } else {
                v < bound
            }
        }
        SelectorOperator::Gt | SelectorOperator::Lt => false,
    }
}

/// One `nodeSelectorTerms` entry: its expressions and fields ANDed. An empty term matches
/// no node, as in `component-helpers/scheduling/corev1/nodeaffinity`.
pub fn node_selector_term_matches(term: &NodeSelectorTerm, node: &NodeSchedulingSpec) -> bool {
    if term.match_expressions.is_empty() && term.match_fields.is_empty() {
        return false;
    }
    term.match_expressions
        .iter()
        .all(|r| requirement_matches(r, node.labels.get(&r.key), true))
        && term.match_fields.iter().all(|r| {
            r.key == FIELD_METADATA_NAME && requirement_matches(r, Some(&node.name), false)
        })
}

/// The pod's `nodeSelector` and required node affinity (terms ORed) both hold on the node:
/// kube-scheduler's `GetRequiredNodeAffinity(pod).Match(node)`.
pub fn required_node_affinity_matches(pod: &PodSchedulingSpec, node: &NodeSchedulingSpec) -> bool {
    // The common case, on the hot path of every filter and spread count.
    if pod.node_selector.is_empty() && pod.node_affinity.required.is_empty() {
        return true;
    }
    pod.node_selector
        .iter()
        .all(|(k, v)| node.labels.get(k) == Some(v))
        && (pod.node_affinity.required.is_empty()
            || pod
                .node_affinity
                .required
                .iter()
                .any(|t| node_selector_term_matches(t, node)))
}

/// `Toleration.ToleratesTaint`: an empty effect matches every effect, an empty key (with
/// `Exists`) every key.
pub fn toleration_tolerates(tol: &Toleration, taint: &Taint) -> bool {
    if tol.effect.is_some_and(|e| e != taint.effect) {
        return false;
    }
    if !tol.key.is_empty() && tol.key != taint.key {
        return false;
    }
    match tol.operator {
        TolerationOperator::Exists => true,
        TolerationOperator::Equal => tol.value == taint.value,
    }
}

pub fn tolerations_tolerate(tols: &[Toleration], taint: &Taint) -> bool {
    tols.iter().any(|t| toleration_tolerates(t, taint))
}

/// The first NoSchedule or NoExecute taint the pod does not tolerate
/// (`FindMatchingUntoleratedTaint` with `DoNotScheduleTaintsFilterFunc`).
pub fn first_untolerated_hard_taint<'a>(
    taints: &'a [Taint],
    tols: &[Toleration],
) -> Option<&'a Taint> {
    taints.iter().find(|t| {
        matches!(t.effect, TaintEffect::NoSchedule | TaintEffect::NoExecute)
            && !tolerations_tolerate(tols, t)
    })
}

/// NodeUnschedulable: a cordoned node admits only pods tolerating
/// `node.kubernetes.io/unschedulable:NoSchedule`.
pub fn tolerates_unschedulable(tols: &[Toleration]) -> bool {
    let taint = Taint {
        key: TAINT_NODE_UNSCHEDULABLE.to_string(),
        value: String::new(),
        effect: TaintEffect::NoSchedule,
    };
    tolerations_tolerate(tols, &taint)
}

/// Namespaces a pod (anti-)affinity term applies to: its own list, or else the namespace
/// of the pod that carries the term.
pub fn term_namespaces<'a>(term_namespaces: &'a [String], owner_ns: &'a str) -> TermNamespaces<'a> {
    TermNamespaces {
        list: term_namespaces,
        owner_ns,
    }
}

#[derive(Clone, Copy)]
pub struct TermNamespaces<'a> {
    list: &'a [String],
    owner_ns: &'a str,
}

impl<'a> TermNamespaces<'a> {
    pub fn contains(&self, ns: &str) -> bool {
        if self.list.is_empty() {
            self.owner_ns == ns
        } else {
            self.list.iter().any(|n| n == ns)
        }
    }

    /// Each namespace once, in a fixed order.
    pub fn iter(&self) -> impl Iterator<Item = &'a str> + '_ {
        let own = self.list.is_empty().then_some(self.owner_ns);
        own.into_iter().chain(self.list.iter().map(String::as_str))
    }
}
