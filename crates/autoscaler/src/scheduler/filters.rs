//! The Filter plugins in kube-scheduler's default order, their reasons (the exact strings
//! kube-scheduler prints) and `PreFilter`, the per-pod state every filter reads (kube-
//! scheduler's CycleState after PreFilter). The node-static plugins (NodeUnschedulable,
//! NodeName, TaintToleration, NodeAffinity) are one predicate set, `StaticFit::of`, whose
//! cached verdicts `PreFilter` turns into the plugins' rejections.

use std::collections::BTreeMap;
use std::fmt;
use std::sync::Arc;

use super::interpod::{self, InterPodFilter};
use super::matching::first_untolerated_hard_taint;
use super::snapshot::{pod_request, ClusterSnapshot, NodeId, NodeInfo, PodId, StaticFit};
use super::spread::{self, HardSpread};
use crate::model::{PodSchedulingSpec, Resources};

/// How a node failed, as kube-scheduler's status codes: preemption only considers nodes
/// whose failure removing pods could resolve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Code {
    Unschedulable,
    UnschedulableAndUnresolvable,
}

/// One filter failure reason. `Display` gives kube-scheduler's exact text.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Reason {
    /// NodeUnschedulable.
    NodeUnschedulable,
    /// NodeName.
    NodeNameMismatch,
    /// TaintToleration (NoSchedule / NoExecute).
    UntoleratedTaint {
        key: Arc<str>,
        value: Arc<str>,
    },
    /// NodeAffinity (nodeSelector and required node affinity).
    NodeAffinityMismatch,
    /// NodeResourcesFit.
    TooManyPods,
    InsufficientCpu,
    InsufficientMemory,
    InsufficientGpu,
    /// PodTopologySpread: the node lacks a constraint's topology key.
    SpreadMissingLabel,
    /// PodTopologySpread: placing the pod here would exceed maxSkew.
    SpreadConstraintsNotMatch,
    /// InterPodAffinity.
    AffinityRulesNotMatch,
    AntiAffinityRulesNotMatch,
    ExistingAntiAffinityRulesNotMatch,
    /// Preemption (PostFilter) outcomes, per node.
    NoPreemptionVictims,
    PreemptionNotHelpful,
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            Reason::NodeUnschedulable => "node(s) were unschedulable",
            Reason::NodeNameMismatch => "node(s) didn't match the requested node name",
            // Kubernetes up to 1.34 names the taint; later releases print
            // "node(s) had untolerated taint(s)". The named form is the one users paste.
            Reason::UntoleratedTaint { key, value } => {
                return write!(f, "node(s) had untolerated taint {{{key}: {value}}}");
            }
            Reason::NodeAffinityMismatch => "node(s) didn't match Pod's node affinity/selector",
            Reason::TooManyPods => "Too many pods",
            Reason::InsufficientCpu => "Insufficient cpu",
            Reason::InsufficientMemory => "Insufficient memory",
            Reason::InsufficientGpu => "Insufficient nvidia.com/gpu",
            Reason::SpreadMissingLabel => {
                "node(s) didn't match pod topology spread constraints (missing required label)"
            }
            Reason::SpreadConstraintsNotMatch => {
                "node(s) didn't match pod topology spread constraints"
            }
            Reason::AffinityRulesNotMatch => "node(s) didn't match pod affinity rules",
            Reason::AntiAffinityRulesNotMatch => "node(s) didn't match pod anti-affinity rules",
            Reason::ExistingAntiAffinityRulesNotMatch => {
                "node(s) didn't satisfy existing pods anti-affinity rules"
            }
            Reason::NoPreemptionVictims => "No preemption victims found for incoming pod",
            Reason::PreemptionNotHelpful => "Preemption is not helpful for scheduling",
        };
        f.write_str(s)
    }
}

/// A node's filter failure: the first failing plugin's code and reasons (NodeResourcesFit
/// may give several). The first reason is held inline so that rejecting a node, which the
/// feasibility search does for most nodes of a tight cluster, does not allocate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejection {
    pub code: Code,
    reason: Reason,
    more: Vec<Reason>,
}

impl Rejection {
    pub fn new(code: Code, reason: Reason) -> Rejection {
        Rejection {
            code,
            reason,
            more: Vec::new(),
        }
    }

    pub fn unresolvable(reason: Reason) -> Rejection {
        Rejection::new(Code::UnschedulableAndUnresolvable, reason)
    }

    pub fn unschedulable(reason: Reason) -> Rejection {
        Rejection::new(Code::Unschedulable, reason)
    }

    pub fn with(mut self, reason: Reason) -> Rejection {
        self.more.push(reason);
        self
    }

    /// Every reason, in the plugin's order.
    pub fn reasons(&self) -> impl Iterator<Item = &Reason> + '_ {
        std::iter::once(&self.reason).chain(&self.more)
    }
}

impl fmt::Display for Rejection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, r) in self.reasons().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{r}")?;
        }
        Ok(())
    }
}

pub type FilterResult = Result<(), Rejection>;

/// The TaintToleration reason naming `t`.
pub(crate) fn taint_reason(t: &crate::model::Taint) -> Reason {
    Reason::UntoleratedTaint {
        key: t.key.as_str().into(),
        value: t.value.as_str().into(),
    }
}

/// NodeResourcesFit: pod slots, then cpu, memory and nvidia.com/gpu against allocatable
/// minus requested minus `reserved` (nominated pods of equal or higher priority). Every
/// insufficient resource is reported, as kube-scheduler does.
pub fn filter_resources_fit(
    request: &Resources,
    node: &NodeInfo,
    reserved: &Resources,
) -> FilterResult {
    resources_fit(
        request,
        &node.spec.allocatable,
        &node.requested.add(reserved),
    )
}

/// NodeResourcesFit on bare figures: `request` onto a node with `alloc` of which `used`
/// is taken.
pub fn resources_fit(request: &Resources, alloc: &Resources, used: &Resources) -> FilterResult {
    let short = resource_shortfalls(request, alloc, used);
    if !short.contains(&true) {
        return Ok(());
    }
    Err(shortfall_rejection(short))
}

/// NodeResourcesFit's rejection for the [`resource_shortfalls`] found (at least one).
pub(crate) fn shortfall_rejection(short: [bool; 4]) -> Rejection {
    let reasons = [
        Reason::TooManyPods,
        Reason::InsufficientCpu,
        Reason::InsufficientMemory,
        Reason::InsufficientGpu,
    ];
    let mut found = reasons
        .into_iter()
        .zip(short)
        .filter(|&(_, s)| s)
        .map(|(r, _)| r);
    let first = Rejection::unschedulable(found.next().expect("one resource is short"));
    found.fold(first, Rejection::with)
}

/// Which of pod slots, cpu, memory and GPUs are short, in NodeResourcesFit's order.
pub(crate) fn resource_shortfalls(
    request: &Resources,
    alloc: &Resources,
    used: &Resources,
) -> [bool; 4] {
    [
        used.pods + 1 > alloc.pods,
        request.cpu_m > 0 && request.cpu_m > alloc.cpu_m - used.cpu_m,
        request.memory_bytes > 0 && request.memory_bytes > alloc.memory_bytes - used.memory_bytes,
        request.gpu > 0 && request.gpu > alloc.gpu - used.gpu,
    ]
}

/// A pod's PreFilter state against one snapshot: everything the filters need that does
/// not depend on the node, computed once per scheduling attempt. Build it again after the
/// snapshot changes.
pub struct PreFilter<'a> {
    pub(crate) snap: &'a ClusterSnapshot,
    pub(crate) pod: &'a PodSchedulingSpec,
    pub(crate) request: Resources,
    /// Requests reserved per node by pods nominated there with priority at least the pod's
    /// own (the nominator's reservation, `RunFilterPluginsWithNominatedPods`).
    reserved: BTreeMap<NodeId, Resources>,
    /// The pod's class in the snapshot's static filter cache.
    static_class: u32,
    spread: HardSpread,
    interpod: InterPodFilter,
    /// Whether the spread or inter-pod affinity filter has anything to check; when not,
    /// resources decide the dynamic verdict alone.
    reads_other_pods: bool,
}

impl<'a> PreFilter<'a> {
    /// `pod_id` is the pod's own id if it has one (so its own nomination is not counted
    /// against it).
    pub fn new(
        snap: &'a ClusterSnapshot,
        pod: &'a PodSchedulingSpec,
        pod_id: Option<PodId>,
    ) -> Self {
        let static_class = snap.static_fit_class(pod);
        let spread = spread::prefilter(snap, pod, static_class);
        let interpod = interpod::prefilter(snap, pod);
        PreFilter {
            snap,
            pod,
            request: pod_request(pod),
            reserved: reservations(snap, pod, pod_id),
            static_class,
            reads_other_pods: !spread.is_empty() || !interpod.is_empty(),
            spread,
            interpod,
        }
    }

    /// Runs every filter on one node, in kube-scheduler's order, stopping at the first
    /// failing plugin.
    pub fn filter(&self, node: NodeId) -> FilterResult {
        let info = self.node_info(node);
        let fit = self.static_fit(node);
        if !fit.passes() {
            return Err(self.static_rejection(fit, info));
        }
        self.dynamic_filter(node, info)
    }

    /// Whether every filter passes on `node`: [`filter`](Self::filter)'s verdict without
    /// building a rejection.
    pub fn fits(&self, node: NodeId) -> bool {
        self.verdict(node).is_none()
    }

    /// The code [`filter`](Self::filter) would reject `node` with, or `None` if it passes,
    /// without building the rejection when the static filters or resources decide (every
    /// static rejection is unresolvable).
    pub(crate) fn verdict(&self, node: NodeId) -> Option<Code> {
        if !self.static_fit(node).passes() {
            return Some(Code::UnschedulableAndUnresolvable);
        }
        self.dynamic_verdict(node, self.node_info(node))
    }

    /// The feasibility search: visits the live nodes (ascending) from the `start`-th,
    /// wrapping around, and pushes those passing every filter to `feasible` until it holds
    /// `to_find`; returns how many nodes were visited. Unlike [`filter`](Self::filter) it
    /// builds no rejections (a taint's reason copies strings).
    ///
    /// Only the nodes passing the static filters are looked at (the cache lists them), in
    /// the same order; a node failing them is visited all the same, so the count returned
    /// is the position of the last node looked at in the full visiting order.
    ///
    /// `resolvable` gets the visited nodes rejected with a resolvable status; when the search
    /// finds nothing it has visited every node, and they are in node order: preemption's
    /// potential nodes, without a second pass.
    pub(crate) fn find_feasible(
        &self,
        start: usize,
        to_find: usize,
        feasible: &mut Vec<NodeId>,
        resolvable: &mut Vec<NodeId>,
    ) -> usize {
        resolvable.clear();
        let nodes = self.snap.node_ids();
        let Some(&first) = nodes.get(start) else {
            return nodes.len();
        };
        let index = self.snap.index();
        let passing = index.static_fit.passing(self.static_class);
        let (below, from_first) = passing.split_at(passing.partition_point(|&n| n < first));
        let mut before_wrap = 0;
        for (k, part) in [from_first, below].into_iter().enumerate() {
            if k == 1 {
                before_wrap = resolvable.len();
            }
            for &node in part {
                // A node removed since the static verdicts were listed.
                let Some(info) = self.snap.node(node) else {
                    continue;
                };
                match self.dynamic_verdict(node, info) {
                    None => {
                        feasible.push(node);
                        if feasible.len() >= to_find {
                            let at = nodes.partition_point(|&n| n < node);
                            return (at + nodes.len() - start) % nodes.len() + 1;
                        }
                    }
                    Some(Code::Unschedulable) => resolvable.push(node),
                    Some(Code::UnschedulableAndUnresolvable) => {}
                }
            }
        }
        // Visited from `first` on first: the nodes below it come first in node order.
        resolvable.rotate_left(before_wrap);
        nodes.len()
    }

    fn node_info(&self, node: NodeId) -> &'a NodeInfo {
        self.snap
            .node(node)
            .unwrap_or_else(|| panic!("node {node:?} is not in the snapshot"))
    }

    /// The cached verdict of the node-static filters (filled for every live node when this
    /// PreFilter was built; the snapshot cannot change while it is borrowed).
    fn static_fit(&self, node: NodeId) -> StaticFit {
        self.snap.index().static_fit.fits(self.static_class)[node.0 as usize]
    }

    /// The first failing static filter's rejection, read off the cached verdict (only a
    /// taint's rejection needs the filter itself, for the taint it names).
    fn static_rejection(&self, fit: StaticFit, info: &NodeInfo) -> Rejection {
        let spec = &info.spec;
        if !fit.tolerates_unschedulable() {
            Rejection::unresolvable(Reason::NodeUnschedulable)
        } else if !fit.matches_name() {
            Rejection::unresolvable(Reason::NodeNameMismatch)
        } else if !fit.tolerates_taints() {
            let (taints, tols) = (&spec.taints, &self.pod.tolerations);
            let t = first_untolerated_hard_taint(taints, tols).expect("the cache saw one");
            let at = taints
                .iter()
                .position(|x| std::ptr::eq(x, t))
                .expect("one of them");
            Rejection::unresolvable(info.taint_reasons()[at].clone())
        } else {
            debug_assert!(!fit.matches_affinity());
            Rejection::unresolvable(Reason::NodeAffinityMismatch)
        }
    }

    /// [`dynamic_filter`](Self::dynamic_filter)'s verdict, without building a rejection when
    /// resources decide.
    // Always inlined: it runs once per node the feasibility search looks at, and the call
    // itself cost a fifth of it.
    #[inline(always)]
    fn dynamic_verdict(&self, node: NodeId, info: &NodeInfo) -> Option<Code> {
        let used = match self.reserved.get(&node) {
            Some(reserved) => info.requested.add(reserved),
            None => info.requested,
        };
        if resource_shortfalls(&self.request, &info.spec.allocatable, &used).contains(&true) {
            return Some(Code::Unschedulable);
        }
        if !self.reads_other_pods {
            return None;
        }
        let rest = self.spread.filter(self.snap, node);
        rest.and_then(|()| self.interpod.filter(self.snap, node))
            .err()
            .map(|r| r.code)
    }

    /// The filters whose verdict changes as pods bind: resources, spread, inter-pod affinity.
    fn dynamic_filter(&self, node: NodeId, info: &NodeInfo) -> FilterResult {
        let reserved = self.reserved.get(&node).unwrap_or(&Resources::ZERO);
        filter_resources_fit(&self.request, info, reserved)?;
        self.spread.filter(self.snap, node)?;
        self.interpod.filter(self.snap, node)
    }
}

/// Per node, the requests of the other pods nominated there whose priority is at least
/// `pod`'s.
pub(crate) fn reservations(
    snap: &ClusterSnapshot,
    pod: &PodSchedulingSpec,
    pod_id: Option<PodId>,
) -> BTreeMap<NodeId, Resources> {
    let mut reserved: BTreeMap<NodeId, Resources> = BTreeMap::new();
    for (id, n) in snap.nominations() {
        if Some(id) != pod_id && n.priority >= pod.priority {
            let r = reserved.entry(n.node).or_insert(Resources::ZERO);
            *r = r.add(&n.request);
        }
    }
    reserved
}

impl ClusterSnapshot {
    /// Runs every filter (no scores) for `pod` on `node`: the cluster-autoscaler's
    /// `CheckPredicates`. For many nodes, build one [`PreFilter`] and call its `filter`.
    pub fn fits(&self, pod: &PodSchedulingSpec, node: NodeId) -> FilterResult {
        PreFilter::new(self, pod, None).filter(node)
    }
}
