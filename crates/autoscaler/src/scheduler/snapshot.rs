//! `ClusterSnapshot`: kube-scheduler's NodeInfo cache. Nodes with their requested and
//! non-zero requested resources and bound pods, the bound pods themselves, nominations, and
//! the incremental indexes (pod classes, selector match counts, topology domains) that keep
//! topology spread and inter-pod affinity O(nodes) per pod instead of O(pods).

use std::cell::{Ref, RefCell};
use std::collections::BTreeMap;
use std::sync::Arc;

use super::filters::{taint_reason, Reason};
use super::matching::label_selector_matches;
use super::spread::DefaultSpread;
use crate::fast_hash::FxHashMap;

mod static_fit;
mod undo;

use crate::model::{
    LabelSelector, Labels, NodeSchedulingSpec, PodSchedulingSpec, Resources, Taint,
};
pub(crate) use static_fit::StaticFit;
pub use undo::Fork;

/// A node's id: its slot in the snapshot. Ids are handed out in increasing order and never
/// reused, so iteration in id order is deterministic and survives node removals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NodeId(pub u32);

/// A pod's id, chosen by the caller (the simulator's pod id).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PodId(pub u64);

/// kube-scheduler's default requests for pods that set none, used only by scoring
/// (`schedutil.DefaultMilliCPURequest`, `DefaultMemoryRequest`).
pub const DEFAULT_MILLI_CPU_REQUEST: i64 = 100;
pub const DEFAULT_MEMORY_REQUEST_BYTES: i64 = 200 * 1024 * 1024;

/// The non-zero request of a pod for scoring: 100m CPU / 200 MiB where it requests none.
/// Applied to the pod's total rather than per container (the model keeps pod totals).
pub fn non_zero_request(r: &Resources) -> Resources {
    Resources {
        cpu_m: if r.cpu_m == 0 {
            DEFAULT_MILLI_CPU_REQUEST
        } else {
            r.cpu_m
        },
        memory_bytes: if r.memory_bytes == 0 {
            DEFAULT_MEMORY_REQUEST_BYTES
        } else {
            r.memory_bytes
        },
        gpu: r.gpu,
        pods: 1,
    }
}

/// A pod's requests as the fit filter counts them: one pod slot, whatever the spec says.
pub fn pod_request(spec: &PodSchedulingSpec) -> Resources {
    Resources {
        pods: 1,
        ..spec.requests
    }
}

/// One node of the snapshot.
#[derive(Debug, Clone)]
pub struct NodeInfo {
    pub spec: Arc<NodeSchedulingSpec>,
    /// Sum of the bound pods' requests (`pods` is the pod count).
    pub requested: Resources,
    /// The same with the non-zero rule, for NodeResourcesFit scoring.
    pub non_zero_requested: Resources,
    /// Bound pods, in bind order.
    pub pods: Vec<PodId>,
    /// The bound pods' requests summed per priority, ascending by priority: what preemption
    /// could free on this node without looking at its pods one by one.
    pub requested_by_priority: Vec<(i32, Resources)>,
    /// TaintToleration's reason for each of the spec's taints, made on first use, so
    /// rejecting the node over and over copies no strings.
    taint_reasons: TaintReasons,
}

/// A cache, not content: `Debug` leaves it out.
#[derive(Clone, Default)]
struct TaintReasons(std::cell::OnceCell<Arc<[Reason]>>);

impl std::fmt::Debug for TaintReasons {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TaintReasons")
    }
}

impl NodeInfo {
    /// A node with no pods.
    pub fn empty(spec: Arc<NodeSchedulingSpec>) -> NodeInfo {
        NodeInfo {
            spec,
            requested: Resources::ZERO,
            non_zero_requested: Resources::ZERO,
            pods: Vec::new(),
            requested_by_priority: Vec::new(),
            taint_reasons: TaintReasons::default(),
        }
    }

    /// TaintToleration's reason naming each of the node's taints, in order.
    pub(crate) fn taint_reasons(&self) -> &[Reason] {
        self.taint_reasons
            .0
            .get_or_init(|| self.spec.taints.iter().map(taint_reason).collect())
    }

    /// Replaces the spec (and forgets what was derived from it).
    fn set_spec(&mut self, spec: Arc<NodeSchedulingSpec>) {
        self.spec = spec;
        self.taint_reasons = TaintReasons::default();
    }

    /// The summed requests of the bound pods with priority below `priority` (`pods` is
    /// their count).
    pub fn requested_below(&self, priority: i32) -> Resources {
        self.requested_by_priority
            .iter()
            .take_while(|(p, _)| *p < priority)
            .fold(Resources::ZERO, |acc, (_, r)| acc.add(r))
    }

    fn count_priority(&mut self, priority: i32, req: &Resources, add: bool) {
        let at = self
            .requested_by_priority
            .partition_point(|(p, _)| *p < priority);
        match self.requested_by_priority.get_mut(at) {
            Some((p, r)) if *p == priority => {
                *r = if add { r.add(req) } else { r.sub(req) };
                if r.pods == 0 {
                    self.requested_by_priority.remove(at);
                }
            }
            _ => {
                assert!(add, "unbind of a priority with no pods on the node");
                self.requested_by_priority.insert(at, (priority, *req));
            }
        }
    }
}

/// Why a bound pod is terminating, if it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Termination {
    /// Deleted by scheduler preemption (the DisruptionTarget condition with reason
    /// PreemptionByScheduler).
    Preempted,
    /// Any other deletion (scale-down, eviction, completion).
    Other,
}

#[derive(Debug, Clone)]
pub struct BoundPod {
    pub spec: Arc<PodSchedulingSpec>,
    pub node: NodeId,
    /// When the pod started (ms of virtual time); preemption prefers victims that started late.
    pub start_ms: i64,
    pub terminating: Option<Termination>,
    pub(crate) class: u32,
}

/// A pod nominated to a node by preemption; its requests are reserved there for pods of
/// equal or lower priority.
#[derive(Debug, Clone)]
pub struct Nomination {
    pub node: NodeId,
    pub priority: i32,
    pub request: Resources,
}

/// Pods that share namespace, labels and pod (anti-)affinity: one per workload template.
#[derive(Debug, Clone)]
pub(crate) struct PodClass {
    pub spec: Arc<PodSchedulingSpec>,
    /// Bound pods of the class per node (terminating ones included, as inter-pod affinity
    /// counts them).
    pub nodes: BTreeMap<NodeId, u32>,
    /// Selector index entries this class matches.
    pub selectors: Vec<u32>,
}

/// Pods matching one (namespace, selector): per node counts of non-terminating pods (as
/// PodTopologySpread counts them) and the matching classes.
#[derive(Debug, Clone)]
pub(crate) struct SelectorEntry {
    pub namespace: String,
    pub selector: LabelSelector,
    pub per_node: Vec<u32>,
    pub classes: Vec<u32>,
}

/// Interned values of one topology key: each node's domain id.
#[derive(Debug, Clone)]
pub(crate) struct TopologyKey {
    pub key: String,
    /// Indexed by node slot; `NO_DOMAIN` where the node lacks the label.
    pub node_domain: Vec<u32>,
    pub domains: Vec<String>,
    lookup: FxHashMap<String, u32>,
}

pub(crate) const NO_DOMAIN: u32 = u32::MAX;

/// A cache, not content: `Debug` leaves it out (its order is the hasher's).
#[derive(Clone, Default)]
struct SpecClasses(FxHashMap<usize, SpecEntry>);

/// What the index remembers of a bound spec allocation: its pod class and, once a
/// scheduling attempt asked for them, what the attempt resolves against the indexes from
/// the spec alone. Ids in the indexes are never reused for other content, so they stay
/// right for as long as the entry lives.
#[derive(Clone)]
struct SpecEntry {
    /// Keeps the address the entry is found by from being reused.
    spec: Arc<PodSchedulingSpec>,
    class: u32,
    /// Its filter class in the static filter cache.
    static_class: Option<u32>,
    /// Its system default spread constraints, resolved (`Some(None)`: it gets none).
    default_spread: Option<Option<DefaultSpread>>,
}

impl std::fmt::Debug for SpecClasses {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SpecClasses")
    }
}

/// Spec allocations whose class is remembered by address, at most.
const MAX_SPECS_REMEMBERED: usize = 4096;

type ClassKey = (
    String,
    Labels,
    crate::model::PodAffinity,
    crate::model::PodAffinity,
);

/// The incremental indexes. Behind a `RefCell` because read paths (filters) create
/// selector and topology entries on first use; the `HashMap`s are only ever looked up,
/// never iterated, so they cannot leak nondeterminism.
#[derive(Debug, Clone, Default)]
pub(crate) struct Index {
    pub classes: Vec<PodClass>,
    class_lookup: FxHashMap<ClassKey, u32>,
    /// The class of a spec allocation, by its address (the entry's `Arc` keeps the address
    /// from being reused): binds of replicas sharing a spec skip building the class key.
    class_by_spec: SpecClasses,
    pub selectors: Vec<SelectorEntry>,
    /// Namespace, then selector: two levels so a lookup needs no owned key.
    selector_lookup: FxHashMap<String, FxHashMap<LabelSelector, u32>>,
    pub topology: Vec<TopologyKey>,
    topology_lookup: FxHashMap<String, u32>,
    /// Classes with any pod (anti-)affinity term, in class order.
    pub affinity_classes: Vec<u32>,
    /// The node-static filters' verdicts per filter class and node slot.
    pub static_fit: static_fit::StaticFitCache,
}

/// kube-scheduler's view of the cluster. Two ways to run what-if simulations on it (the
/// cluster-autoscaler's binpacking and drain checks): `clone()` it (node and pod specs are
/// shared `Arc`s; the rest is O(nodes × selectors + pods)), or [`fork`](Self::fork) it,
/// mutate, and [`revert`](Self::revert) (O(changes)), as CA's own snapshot does.
#[derive(Debug, Clone, Default)]
pub struct ClusterSnapshot {
    nodes: Vec<Option<NodeInfo>>,
    live: Vec<NodeId>,
    pods: BTreeMap<PodId, BoundPod>,
    nominated: BTreeMap<PodId, Nomination>,
    index: RefCell<Index>,
    /// Inverse operations recorded while a fork is open, newest last.
    undo: Vec<undo::Undo>,
    /// Open forks.
    forks: usize,
    versions: Versions,
}

/// Change counters, for callers that remember a result until the snapshot changes. They are
/// bookkeeping, not content: `Debug` leaves them out, so equal content prints equal.
#[derive(Clone, Default)]
struct Versions {
    /// Bumped by every change, so equal versions mean an unchanged snapshot.
    now: u64,
    /// Per node slot, the version of the last change to the node or its pods.
    nodes: Vec<u64>,
    /// The version of the last change to the set of nodes, a node's spec or a nomination.
    layout: u64,
    /// `(version, node)` of every node stamp, in version order, back to `touches_floor`:
    /// which nodes changed since a version, without reading every node's stamp. A revert
    /// drops the fork's entries with the stamps it restores.
    touches: Vec<(u64, NodeId)>,
    /// Stamps at or before this version have been dropped from `touches`.
    touches_floor: u64,
}

/// `touches` keeps between this many and twice as many entries.
const TOUCHES_KEPT: usize = 1 << 15;

impl std::fmt::Debug for Versions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Versions")
    }
}

impl ClusterSnapshot {
    pub fn new() -> ClusterSnapshot {
        ClusterSnapshot::default()
    }

    /// Adds a node; its id is one past the largest ever handed out.
    pub fn add_node(&mut self, spec: Arc<NodeSchedulingSpec>) -> NodeId {
        let id = NodeId(self.nodes.len() as u32);
        let index = self.index.get_mut();
        for topo in &mut index.topology {
            let d = topo.domain_of(&spec.labels);
            topo.node_domain.push(d);
        }
        for sel in &mut index.selectors {
            sel.per_node.push(0);
        }
        index.static_fit.push_slot();
        self.nodes.push(Some(NodeInfo::empty(spec)));
        self.versions.nodes.push(self.versions.now + 1);
        self.live.push(id);
        self.log(undo::Undo::AddNode);
        id
    }

    /// Removes a node and every pod bound to it; returns those pods' ids (bind order).
    /// Nominations to the node are dropped.
    pub fn remove_node(&mut self, node: NodeId) -> Vec<PodId> {
        self.touch_layout();
        let pods = self.node(node).map(|n| n.pods.clone()).unwrap_or_default();
        for &p in &pods {
            self.unbind(p);
        }
        let dropped: Vec<(PodId, Nomination)> = self
            .nominated
            .iter()
            .filter(|(_, n)| n.node == node)
            .map(|(&p, n)| (p, n.clone()))
            .collect();
        for (p, _) in &dropped {
            self.nominated.remove(p);
        }
        let info = self.nodes.get_mut(node.0 as usize).and_then(Option::take);
        if let Some(info) = info {
            self.live.retain(|&n| n != node);
            self.log(undo::Undo::RemoveNode {
                node,
                info,
                nominations: dropped,
            });
        }
        pods
    }

    /// Cordons or uncordons a node. Panics if the node is not in the snapshot.
    pub fn set_unschedulable(&mut self, node: NodeId, unschedulable: bool) {
        self.update_spec(node, |s| s.unschedulable = unschedulable);
    }

    /// Replaces a node's taints. Panics if the node is not in the snapshot.
    pub fn set_taints(&mut self, node: NodeId, taints: Vec<Taint>) {
        self.update_spec(node, |s| s.taints = taints);
    }

    fn update_spec(&mut self, node: NodeId, f: impl FnOnce(&mut NodeSchedulingSpec)) {
        // Keep the old spec only for a fork: holding it otherwise would make `make_mut` copy.
        let forked = self.forks > 0;
        let info = self.node_mut(node);
        let old = forked.then(|| info.spec.clone());
        f(Arc::make_mut(&mut info.spec));
        info.taint_reasons = TaintReasons::default();
        self.touch_layout();
        self.index.get_mut().static_fit.forget(node);
        if let Some(old) = old {
            self.log(undo::Undo::Spec(node, old));
        }
    }

    /// Binds a pod to a node (the scheduler's assume + bind), clearing its nomination.
    ///
    /// # Panics
    /// If the pod is already bound or the node is not in the snapshot: caller bugs.
    pub fn bind(&mut self, pod: PodId, spec: Arc<PodSchedulingSpec>, node: NodeId, start_ms: i64) {
        assert!(
            !self.pods.contains_key(&pod),
            "pod {pod:?} is already bound"
        );
        let class = self.class_of(&spec);
        let req = pod_request(&spec);
        let nz = non_zero_request(&spec.requests);
        let info = self.node_mut(node);
        info.requested = info.requested.add(&req);
        info.non_zero_requested = info.non_zero_requested.add(&nz);
        info.count_priority(spec.priority, &req, true);
        info.pods.push(pod);
        if let Some(old) = self.nominated.remove(&pod) {
            self.log(undo::Undo::Nomination(pod, Some(old)));
        }
        self.count_class(class, node, 1, true);
        self.log(undo::Undo::Bind(pod));
        self.pods.insert(
            pod,
            BoundPod {
                spec,
                node,
                start_ms,
                terminating: None,
                class,
            },
        );
    }

    /// Removes a bound pod from its node; returns what it was, or `None` if not bound.
    pub fn unbind(&mut self, pod: PodId) -> Option<BoundPod> {
        let bound = self.pods.remove(&pod)?;
        let req = pod_request(&bound.spec);
        let nz = non_zero_request(&bound.spec.requests);
        let info = self.node_mut(bound.node);
        info.requested = info.requested.sub(&req);
        info.non_zero_requested = info.non_zero_requested.sub(&nz);
        info.count_priority(bound.spec.priority, &req, false);
        let at = info
            .pods
            .iter()
            .position(|&p| p == pod)
            .expect("bound pod is on its node");
        info.pods.remove(at);
        self.count_class(bound.class, bound.node, -1, bound.terminating.is_none());
        if self.forks > 0 {
            self.undo.push(undo::Undo::Unbind(pod, bound.clone(), at));
        }
        Some(bound)
    }

    /// Marks a bound pod as terminating: it keeps its resources until unbound, but no longer
    /// counts for topology spread (kube-scheduler skips pods with a deletion timestamp).
    pub fn set_terminating(&mut self, pod: PodId, why: Termination) {
        self.set_termination_state(pod, Some(why));
    }

    fn set_termination_state(&mut self, pod: PodId, state: Option<Termination>) {
        let Some(bound) = self.pods.get_mut(&pod) else {
            return;
        };
        let old = std::mem::replace(&mut bound.terminating, state);
        let (class, node) = (bound.class, bound.node);
        self.touch_node(node);
        // Only the change between counted (not terminating) and not counted matters.
        let delta: i64 = match (old.is_none(), state.is_none()) {
            (true, false) => -1,
            (false, true) => 1,
            _ => 0,
        };
        if delta != 0 {
            let index = self.index.get_mut();
            for &s in &index.classes[class as usize].selectors {
                let c = &mut index.selectors[s as usize].per_node[node.0 as usize];
                *c = (i64::from(*c) + delta) as u32;
            }
        }
        self.log(undo::Undo::Terminating(pod, old));
    }

    /// Records that `pod` is nominated to `node` (after preemption); its requests are
    /// reserved there for pods of equal or lower priority until it binds or is cleared.
    pub fn nominate(&mut self, pod: PodId, spec: &PodSchedulingSpec, node: NodeId) {
        let n = Nomination {
            node,
            priority: spec.priority,
            request: pod_request(spec),
        };
        let old = self.nominated.insert(pod, n);
        self.log(undo::Undo::Nomination(pod, old));
    }

    pub fn clear_nomination(&mut self, pod: PodId) {
        if let Some(old) = self.nominated.remove(&pod) {
            self.log(undo::Undo::Nomination(pod, Some(old)));
        }
    }

    /// Every nomination, in pod id order.
    pub fn nominations(&self) -> impl Iterator<Item = (PodId, &Nomination)> + '_ {
        self.nominated.iter().map(|(&p, n)| (p, n))
    }

    pub fn nomination(&self, pod: PodId) -> Option<&Nomination> {
        self.nominated.get(&pod)
    }

    /// Pods nominated to `node`, in pod id order.
    pub fn nominated_to(&self, node: NodeId) -> impl Iterator<Item = (PodId, &Nomination)> + '_ {
        // Nominations are few; a scan beats keeping a second index in step.
        self.nominated
            .iter()
            .filter(move |(_, n)| n.node == node)
            .map(|(&p, n)| (p, n))
    }

    pub fn node(&self, node: NodeId) -> Option<&NodeInfo> {
        self.nodes.get(node.0 as usize).and_then(Option::as_ref)
    }

    fn node_mut(&mut self, node: NodeId) -> &mut NodeInfo {
        self.touch_node(node);
        self.nodes
            .get_mut(node.0 as usize)
            .and_then(Option::as_mut)
            .unwrap_or_else(|| panic!("node {node:?} is not in the snapshot"))
    }

    /// Live node ids, ascending.
    pub fn node_ids(&self) -> &[NodeId] {
        &self.live
    }

    pub fn num_nodes(&self) -> usize {
        self.live.len()
    }

    pub fn pod(&self, pod: PodId) -> Option<&BoundPod> {
        self.pods.get(&pod)
    }

    /// Bound pods in id order.
    pub fn pods(&self) -> impl Iterator<Item = (PodId, &BoundPod)> + '_ {
        self.pods.iter().map(|(&id, p)| (id, p))
    }

    /// Changes with every mutation (fork reverts included): two reads of the snapshot with
    /// the same version see the same cluster.
    pub fn version(&self) -> u64 {
        self.versions.now
    }

    /// The [`version`](Self::version) of the last change to `node` or its pods; no later
    /// than [`layout_version`](Self::layout_version) for a node added or removed since.
    pub fn node_version(&self, node: NodeId) -> u64 {
        self.versions
            .nodes
            .get(node.0 as usize)
            .copied()
            .unwrap_or(self.versions.layout)
    }

    /// The [`version`](Self::version) of the last node added or removed, node spec
    /// changed, or nomination made or cleared.
    pub fn layout_version(&self) -> u64 {
        self.versions.layout
    }

    /// Whether a fork is open.
    pub fn is_forked(&self) -> bool {
        self.forks > 0
    }

    /// Stamps `node` as changed. Inside a fork the old stamp is logged first, so a revert
    /// gives the node back its stamp with its content: a what-if leaves no trace.
    fn touch_node(&mut self, node: NodeId) {
        let versions = &mut self.versions;
        versions.now += 1;
        if let Some(v) = versions.nodes.get_mut(node.0 as usize) {
            let old = std::mem::replace(v, versions.now);
            if self.forks > 0 {
                self.undo.push(undo::Undo::NodeStamp(node, old));
            }
            versions.touches.push((versions.now, node));
            // (Inside a fork the record must stay whole: a revert cuts it back to a length.)
            if self.forks == 0 && versions.touches.len() >= 2 * TOUCHES_KEPT {
                versions.touches_floor = versions.touches[TOUCHES_KEPT - 1].0;
                versions.touches.drain(..TOUCHES_KEPT);
            }
        }
    }

    /// The nodes whose [`node_version`](Self::node_version) moved past `version` by a change
    /// to them or their pods (oldest first, with repeats), or `None` if that is further back
    /// than the snapshot remembers. Nodes added or removed since are not included: see
    /// [`layout_version`](Self::layout_version).
    pub fn nodes_changed_since(
        &self,
        version: u64,
    ) -> Option<impl ExactSizeIterator<Item = NodeId> + '_> {
        if version < self.versions.touches_floor {
            return None;
        }
        let touches = &self.versions.touches;
        let from = first_newer(touches, version);
        Some(touches[from..].iter().map(|&(_, n)| n))
    }

    pub(super) fn touches_len(&self) -> usize {
        self.versions.touches.len()
    }

    pub(super) fn cut_touches(&mut self, len: usize) {
        self.versions.touches.truncate(len);
    }

    pub(super) fn touch_layout(&mut self) {
        self.versions.now += 1;
        let old = std::mem::replace(&mut self.versions.layout, self.versions.now);
        if self.forks > 0 {
            self.undo.push(undo::Undo::LayoutStamp(old));
        }
    }

    pub fn num_pods(&self) -> usize {
        self.pods.len()
    }

    /// The node a node name belongs to (linear; for `spec.nodeName` and tests).
    pub fn node_by_name(&self, name: &str) -> Option<NodeId> {
        self.live
            .iter()
            .copied()
            .find(|&n| self.node(n).is_some_and(|i| i.spec.name == name))
    }

    pub(crate) fn index(&self) -> Ref<'_, Index> {
        self.index.borrow()
    }

    /// The pod's filter class in the static filter cache, its verdicts computed for every
    /// live node: read them with `index().static_fit.fits(class)`.
    pub(crate) fn static_fit_class(&self, pod: &PodSchedulingSpec) -> u32 {
        let mut index = self.index.borrow_mut();
        let known = index.spec_entry(pod).and_then(|e| e.static_class);
        let class = known.unwrap_or_else(|| {
            let class = index.static_fit.class_of(pod, self.nodes.len());
            if let Some(e) = index.spec_entry(pod) {
                e.static_class = Some(class);
            }
            class
        });
        index.static_fit.fill(class, pod, &self.nodes, &self.live);
        class
    }

    /// The pod's system default spread constraints as `resolve` gives them, remembered for
    /// the spec's allocation if it has been bound here.
    pub(crate) fn default_spread(
        &self,
        pod: &PodSchedulingSpec,
        resolve: impl FnOnce() -> Option<DefaultSpread>,
    ) -> Option<DefaultSpread> {
        let known = self
            .index
            .borrow_mut()
            .spec_entry(pod)
            .map(|e| e.default_spread);
        if let Some(Some(resolved)) = known {
            return resolved;
        }
        let resolved = resolve();
        if let Some(e) = self.index.borrow_mut().spec_entry(pod) {
            e.default_spread = Some(resolved);
        }
        resolved
    }

    /// Turns the static filter cache and the per-spec memo off (every lookup recomputes) or
    /// back on: for tests that compare cached and uncached decisions.
    #[cfg(test)]
    pub(crate) fn set_static_fit_cache(&mut self, on: bool) {
        self.index.get_mut().static_fit.disabled = !on;
    }

    /// The index entry of (namespace, selector), created (and filled from the bound pods)
    /// on first use.
    pub(crate) fn selector_id(&self, namespace: &str, selector: &LabelSelector) -> u32 {
        let mut index = self.index.borrow_mut();
        if let Some(&id) = index
            .selector_lookup
            .get(namespace)
            .and_then(|m| m.get(selector))
        {
            return id;
        }
        let id = index.selectors.len() as u32;
        let mut entry = SelectorEntry {
            namespace: namespace.to_string(),
            selector: selector.clone(),
            per_node: vec![0; self.nodes.len()],
            classes: Vec::new(),
        };
        for (c, class) in index.classes.iter_mut().enumerate() {
            if class.spec.namespace == namespace
                && label_selector_matches(selector, &class.spec.labels)
            {
                entry.classes.push(c as u32);
                class.selectors.push(id);
            }
        }
        for pod in self.pods.values() {
            if pod.terminating.is_none()
                && index.classes[pod.class as usize].selectors.contains(&id)
            {
                entry.per_node[pod.node.0 as usize] += 1;
            }
        }
        index.selectors.push(entry);
        index
            .selector_lookup
            .entry(namespace.to_string())
            .or_default()
            .insert(selector.clone(), id);
        id
    }

    /// The interned topology key, created on first use.
    pub(crate) fn topology_id(&self, key: &str) -> u32 {
        let mut index = self.index.borrow_mut();
        if let Some(&id) = index.topology_lookup.get(key) {
            return id;
        }
        let id = index.topology.len() as u32;
        let mut topo = TopologyKey {
            key: key.to_string(),
            node_domain: Vec::with_capacity(self.nodes.len()),
            domains: Vec::new(),
            lookup: FxHashMap::default(),
        };
        for slot in &self.nodes {
            let d = slot
                .as_ref()
                .map_or(NO_DOMAIN, |n| topo.domain_of(&n.spec.labels));
            topo.node_domain.push(d);
        }
        index.topology.push(topo);
        index.topology_lookup.insert(key.to_string(), id);
        id
    }

    fn class_of(&mut self, spec: &Arc<PodSchedulingSpec>) -> u32 {
        let index = self.index.get_mut();
        let addr = Arc::as_ptr(spec) as usize;
        if let Some(e) = index.class_by_spec.0.get(&addr) {
            return e.class;
        }
        if index.class_by_spec.0.len() >= MAX_SPECS_REMEMBERED {
            index.class_by_spec.0.clear();
        }
        let c = self.class_of_key(spec);
        let entry = SpecEntry {
            spec: spec.clone(),
            class: c,
            static_class: None,
            default_spread: None,
        };
        self.index.get_mut().class_by_spec.0.insert(addr, entry);
        c
    }

    fn class_of_key(&mut self, spec: &Arc<PodSchedulingSpec>) -> u32 {
        let index = self.index.get_mut();
        let key: ClassKey = (
            spec.namespace.clone(),
            spec.labels.clone(),
            spec.pod_affinity.clone(),
            spec.pod_anti_affinity.clone(),
        );
        if let Some(&c) = index.class_lookup.get(&key) {
            return c;
        }
        let c = index.classes.len() as u32;
        let mut selectors = Vec::new();
        for (s, entry) in index.selectors.iter_mut().enumerate() {
            if entry.namespace == spec.namespace
                && label_selector_matches(&entry.selector, &spec.labels)
            {
                selectors.push(s as u32);
                entry.classes.push(c);
            }
        }
        if has_affinity_terms(spec) {
            index.affinity_classes.push(c);
        }
        index.classes.push(PodClass {
            spec: spec.clone(),
            nodes: BTreeMap::new(),
            selectors,
        });
        index.class_lookup.insert(key, c);
        c
    }

    fn count_class(&mut self, class: u32, node: NodeId, delta: i32, in_selectors: bool) {
        let index = self.index.get_mut();
        let pc = &mut index.classes[class as usize];
        let n = pc.nodes.entry(node).or_insert(0);
        *n = n
            .checked_add_signed(delta)
            .expect("class count went negative");
        if *n == 0 {
            pc.nodes.remove(&node);
        }
        if in_selectors {
            for &s in &index.classes[class as usize].selectors {
                let c = &mut index.selectors[s as usize].per_node[node.0 as usize];
                *c = c
                    .checked_add_signed(delta)
                    .expect("selector count went negative");
            }
        }
    }
}

/// The index of the first stamp newer than `version` in `touches` (ascending), as a
/// bisection of the whole record finds it. Callers mostly ask about the last few changes
/// (a remembered failure is re-dated each time it holds), so the search gallops back from
/// the newest stamp and bisects only the last stride: O(log changes since), not O(log record).
pub(super) fn first_newer(touches: &[(u64, NodeId)], version: u64) -> usize {
    // Every stamp from `hi` on is newer than `version`.
    let (mut hi, mut stride) = (touches.len(), 1);
    while hi > 0 {
        let lo = hi.saturating_sub(stride);
        if touches[lo].0 <= version {
            return lo + touches[lo..hi].partition_point(|&(v, _)| v <= version);
        }
        (hi, stride) = (lo, stride * 2);
    }
    0
}

impl Index {
    /// The entry of the spec `pod` is, if it is a bound spec allocation; not while the
    /// static filter cache is off (tests then compare results made without any memo).
    fn spec_entry(&mut self, pod: &PodSchedulingSpec) -> Option<&mut SpecEntry> {
        if self.static_fit.disabled {
            return None;
        }
        // Sound by address alone: the entry's `Arc` holds a live spec at this address, so
        // a live `&PodSchedulingSpec` there is that very spec.
        let entry = self.class_by_spec.0.get_mut(&(pod as *const _ as usize));
        debug_assert!(entry.as_ref().is_none_or(|e| std::ptr::eq(&*e.spec, pod)));
        entry
    }

    pub fn domain(&self, topo: u32, node: NodeId) -> u32 {
        self.topology[topo as usize]
            .node_domain
            .get(node.0 as usize)
            .copied()
            .unwrap_or(NO_DOMAIN)
    }
}

impl TopologyKey {
    fn domain_of(&mut self, labels: &Labels) -> u32 {
        let Some(v) = labels.get(&self.key) else {
            return NO_DOMAIN;
        };
        if let Some(&d) = self.lookup.get(v) {
            return d;
        }
        let d = self.domains.len() as u32;
        self.domains.push(v.clone());
        self.lookup.insert(v.clone(), d);
        d
    }
}

pub(crate) fn has_affinity_terms(spec: &PodSchedulingSpec) -> bool {
    let (a, n) = (&spec.pod_affinity, &spec.pod_anti_affinity);
    !(a.required.is_empty()
        && a.preferred.is_empty()
        && n.required.is_empty()
        && n.preferred.is_empty())
}
