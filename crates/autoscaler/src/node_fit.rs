//! Packing simulations for the node autoscalers, on the scheduler's [`ClusterSnapshot`].
//!
//! The cluster-autoscaler's filter-out-schedulable step, binpacking estimator and drain
//! simulation, and Karpenter's scheduling onto existing nodes, all ask kube-scheduler's Filter
//! question through [`Packing`]: the very filters of [`crate::scheduler`], no scores (neither
//! CA nor Karpenter scores nodes, reference §3.4 and §9). A packing is forked and rolled back
//! with [`Packing::checkpoint`] / [`Packing::rollback`].
//!
//! Karpenter's NodeClaims are not nodes yet: [`fits_fresh_node`] runs the filters that depend
//! only on the pod and one prospective node (the same functions), with the claim's requests.

use std::sync::Arc;

use crate::model::{NodeSchedulingSpec, PodSchedulingSpec, Resources};
use crate::scheduler::filters::{resource_shortfalls, resources_fit, PreFilter};
use crate::scheduler::snapshot::{pod_request, StaticFit};
use crate::scheduler::{ClusterSnapshot, Fork, NodeId, NodeInfo, PodId, Termination};

/// Pod ids the packing hands out start here, far above any id a caller gives real pods.
const FIRST_SIMULATED_POD_ID: u64 = 1 << 62;

#[derive(Debug)]
enum Change {
    Bound(PodId),
    Unbound {
        pod: PodId,
        spec: Arc<PodSchedulingSpec>,
        node: NodeId,
        start_ms: i64,
        terminating: Option<Termination>,
    },
    AddedNode,
    /// An existing node was given a slot.
    Slot,
    Unschedulable {
        slot: usize,
        previous: bool,
    },
}

/// The snapshot a packing works on: its own, or the caller's (restored on drop).
#[derive(Debug)]
enum Snap<'a> {
    Owned(Box<ClusterSnapshot>),
    Borrowed(&'a mut ClusterSnapshot),
}

/// A what-if cluster: a [`ClusterSnapshot`] plus the order nodes are tried in ("slots") and
/// an undo log. A packing over a borrowed snapshot undoes all its changes when dropped, so
/// the caller's snapshot serves as the base without being copied.
#[derive(Debug)]
pub struct Packing<'a> {
    snap: Snap<'a>,
    slots: Vec<NodeId>,
    next_pod: u64,
    log: Vec<Change>,
    /// Over a borrowed snapshot: the fork opened on it, reverted on drop. Reverting (rather
    /// than replaying `log` backwards) also gives the snapshot back its change stamps, so
    /// what the caller derived from them (the scheduler's remembered failures, the kept
    /// cluster-autoscaler view) stays valid across a what-if.
    fork: Option<Fork>,
}

impl Default for Packing<'static> {
    fn default() -> Self {
        Packing::with(Snap::Owned(Box::default()))
    }
}

impl Packing<'static> {
    pub fn new() -> Packing<'static> {
        Packing::default()
    }
}

impl Drop for Packing<'_> {
    fn drop(&mut self) {
        if let (Some(fork), Snap::Borrowed(snap)) = (self.fork.take(), &mut self.snap) {
            snap.revert(fork);
        }
    }
}

impl<'a> Packing<'a> {
    fn with(snap: Snap<'a>) -> Packing<'a> {
        Packing {
            snap,
            slots: Vec::new(),
            next_pod: FIRST_SIMULATED_POD_ID,
            log: Vec::new(),
            fork: None,
        }
    }

    /// A packing over the caller's snapshot, with no slots yet ([`Packing::add_existing`]).
    pub fn over(snap: &'a mut ClusterSnapshot) -> Packing<'a> {
        let fork = snap.fork();
        let mut packing = Packing::with(Snap::Borrowed(snap));
        packing.fork = Some(fork);
        packing
    }

    pub fn snapshot(&self) -> &ClusterSnapshot {
        match &self.snap {
            Snap::Owned(s) => s,
            Snap::Borrowed(s) => s,
        }
    }

    fn snap_mut(&mut self) -> &mut ClusterSnapshot {
        match &mut self.snap {
            Snap::Owned(s) => s,
            Snap::Borrowed(s) => s,
        }
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    pub fn add_node(&mut self, spec: NodeSchedulingSpec) -> usize {
        self.add_shared_node(Arc::new(spec))
    }

    /// [`add_node`](Self::add_node) with a spec the caller shares.
    pub fn add_shared_node(&mut self, spec: Arc<NodeSchedulingSpec>) -> usize {
        let id = self.snap_mut().add_node(spec);
        self.slots.push(id);
        self.log.push(Change::AddedNode);
        self.slots.len() - 1
    }

    /// Room for `nodes` more slots (and their log entries) without growing as they come.
    pub fn reserve(&mut self, nodes: usize) {
        self.slots.reserve(nodes);
        self.log.reserve(nodes);
    }

    /// Gives a node already in the snapshot a slot.
    pub fn add_existing(&mut self, node: NodeId) -> usize {
        self.slots.push(node);
        self.log.push(Change::Slot);
        self.slots.len() - 1
    }

    pub fn node_id(&self, slot: usize) -> NodeId {
        self.slots[slot]
    }

    pub fn info(&self, slot: usize) -> &NodeInfo {
        self.snapshot()
            .node(self.slots[slot])
            .expect("slots hold live nodes")
    }

    pub fn spec(&self, slot: usize) -> &NodeSchedulingSpec {
        &self.info(slot).spec
    }

    pub fn requested(&self, slot: usize) -> Resources {
        self.info(slot).requested
    }

    pub fn has_pods(&self, slot: usize) -> bool {
        !self.info(slot).pods.is_empty()
    }

    /// Every filter for `pod` on one node.
    pub fn fits(&self, pod: &PodSchedulingSpec, slot: usize) -> bool {
        PreFilter::new(self.snapshot(), pod, None).fits(self.slots[slot])
    }

    /// The first slot in `order` whose node passes every filter for `pod` (one PreFilter
    /// for the whole scan).
    pub fn first_fit(
        &self,
        pod: &PodSchedulingSpec,
        order: impl IntoIterator<Item = usize>,
    ) -> Option<usize> {
        let pre = PreFilter::new(self.snapshot(), pod, None);
        order.into_iter().find(|&s| pre.fits(self.slots[s]))
    }

    /// Whether `pod`'s verdict on a node reads that node alone: its filters read no other
    /// node (no hard topology spread, no pod (anti-)affinity in the cluster) and no
    /// nomination reserves anything. Then [`fits_own_node`](Self::fits_own_node) answers
    /// [`fits`](Self::fits) without a PreFilter.
    pub fn reads_own_node_only(&self, pod: &PodSchedulingSpec) -> bool {
        let snap = self.snapshot();
        snap.nominations().next().is_none() && crate::scheduler::reads_own_node_only(snap, pod)
    }

    /// The slots whose node passes every filter for `pod` now, ascending.
    pub fn fitting_slots(&self, pod: &PodSchedulingSpec) -> Vec<usize> {
        let pre = PreFilter::new(self.snapshot(), pod, None);
        (0..self.slots.len())
            .filter(|&s| pre.fits(self.slots[s]))
            .collect()
    }

    /// [`fits`](Self::fits) for a pod that [reads its own node only](Self::reads_own_node_only),
    /// `request` being its [`pod_request`]. With `static_known` the caller vouches that the
    /// node-static filters pass (its spec is one the pod passed on), so resources decide.
    pub fn fits_own_node(
        &self,
        pod: &PodSchedulingSpec,
        request: &Resources,
        slot: usize,
        static_known: bool,
    ) -> bool {
        let info = self.info(slot);
        (static_known || StaticFit::of(pod, &info.spec).passes())
            && !resource_shortfalls(request, &info.spec.allocatable, &info.requested)
                .contains(&true)
    }

    /// Binds `pod` to the node in `slot` (no filter check).
    pub fn place(&mut self, pod: Arc<PodSchedulingSpec>, slot: usize) -> PodId {
        let id = PodId(self.next_pod);
        self.next_pod += 1;
        let node = self.slots[slot];
        self.snap_mut().bind(id, pod, node, 0);
        self.log.push(Change::Bound(id));
        id
    }

    /// First-fit placement; returns the slot.
    pub fn place_first_fit(
        &mut self,
        pod: &Arc<PodSchedulingSpec>,
        order: impl IntoIterator<Item = usize>,
    ) -> Option<usize> {
        let slot = self.first_fit(pod, order)?;
        self.place(pod.clone(), slot);
        Some(slot)
    }

    pub fn set_unschedulable(&mut self, slot: usize, unschedulable: bool) {
        let previous = self.spec(slot).unschedulable;
        let node = self.slots[slot];
        self.snap_mut().set_unschedulable(node, unschedulable);
        self.log.push(Change::Unschedulable { slot, previous });
    }

    /// Unbinds one pod (logged).
    pub fn unbind(&mut self, pod: PodId) {
        if let Some(bound) = self.snap_mut().unbind(pod) {
            let (spec, node, start_ms, terminating) =
                (bound.spec, bound.node, bound.start_ms, bound.terminating);
            self.log.push(Change::Unbound {
                pod,
                spec,
                node,
                start_ms,
                terminating,
            });
        }
    }

    /// Unbinds every pod of the node in `slot` (the node stays, as CA's ghost node).
    pub fn clear_node(&mut self, slot: usize) {
        for pod in self.info(slot).pods.clone() {
            self.unbind(pod);
        }
    }

    pub fn checkpoint(&self) -> usize {
        self.log.len()
    }

    /// Undoes every change since `mark`, newest first.
    pub fn rollback(&mut self, mark: usize) {
        while self.log.len() > mark {
            let change = self.log.pop().expect("log is longer than mark");
            match change {
                Change::Bound(pod) => {
                    self.snap_mut().unbind(pod);
                }
                Change::Unbound {
                    pod,
                    spec,
                    node,
                    start_ms,
                    terminating,
                } => {
                    self.snap_mut().bind(pod, spec, node, start_ms);
                    if let Some(why) = terminating {
                        self.snap_mut().set_terminating(pod, why);
                    }
                }
                Change::AddedNode => {
                    let id = self.slots.pop().expect("an added node has a slot");
                    self.snap_mut().remove_node(id);
                }
                Change::Slot => {
                    self.slots.pop();
                }
                Change::Unschedulable { slot, previous } => {
                    let node = self.slots[slot];
                    self.snap_mut().set_unschedulable(node, previous);
                }
            }
        }
    }
}

/// The per-node filters (NodeUnschedulable, NodeName, TaintToleration, NodeAffinity,
/// NodeResourcesFit) for `pod` on a node that does not exist yet and would already carry
/// `requested`. Topology spread and inter-pod affinity need the node in a snapshot.
pub fn fits_fresh_node(
    pod: &PodSchedulingSpec,
    spec: &Arc<NodeSchedulingSpec>,
    requested: Resources,
) -> bool {
    StaticFit::of(pod, spec).passes()
        && resources_fit(&pod_request(pod), &spec.allocatable, &requested).is_ok()
}
