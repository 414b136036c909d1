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
use crate::scheduler::filters::{
    filter_node_affinity, filter_node_name, filter_node_unschedulable, filter_resources_fit,
    filter_taint_toleration, PreFilter,
};
use crate::scheduler::{ClusterSnapshot, NodeId, NodeInfo, PodId};

/// Pod ids the packing hands out start here, far above any id a caller gives real pods.
const FIRST_SIMULATED_POD_ID: u64 = 1 << 62;

#[derive(Debug, Clone)]
enum Change {
    Bound(PodId),
    Unbound {
        pod: PodId,
        spec: Arc<PodSchedulingSpec>,
        node: NodeId,
    },
    AddedNode,
    Unschedulable {
        slot: usize,
        previous: bool,
    },
}

/// A what-if cluster: a [`ClusterSnapshot`] plus the order nodes are tried in ("slots") and
/// an undo log.
#[derive(Debug, Clone)]
pub struct Packing {
    pub snap: ClusterSnapshot,
    slots: Vec<NodeId>,
    next_pod: u64,
    log: Vec<Change>,
}

impl Default for Packing {
    fn default() -> Self {
        Packing {
            snap: ClusterSnapshot::new(),
            slots: Vec::new(),
            next_pod: FIRST_SIMULATED_POD_ID,
            log: Vec::new(),
        }
    }
}

impl Packing {
    pub fn new() -> Packing {
        Packing::default()
    }

    pub fn len(&self) -> usize {
        self.slots.len()
    }

    pub fn is_empty(&self) -> bool {
        self.slots.is_empty()
    }

    pub fn add_node(&mut self, spec: NodeSchedulingSpec) -> usize {
        let id = self.snap.add_node(Arc::new(spec));
        self.slots.push(id);
        self.log.push(Change::AddedNode);
        self.slots.len() - 1
    }

    pub fn info(&self, slot: usize) -> &NodeInfo {
        self.snap
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
        self.snap.fits(pod, self.slots[slot]).is_ok()
    }

    /// The first slot in `order` whose node passes every filter for `pod` (one PreFilter
    /// for the whole scan).
    pub fn first_fit(
        &self,
        pod: &PodSchedulingSpec,
        order: impl IntoIterator<Item = usize>,
    ) -> Option<usize> {
        let pre = PreFilter::new(&self.snap, pod, None);
        order
            .into_iter()
            .find(|&s| pre.filter(self.slots[s]).is_ok())
    }

    /// Binds `pod` to the node in `slot` (no filter check).
    pub fn place(&mut self, pod: Arc<PodSchedulingSpec>, slot: usize) -> PodId {
        let id = PodId(self.next_pod);
        self.next_pod += 1;
        self.snap.bind(id, pod, self.slots[slot], 0);
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
        self.snap.set_unschedulable(self.slots[slot], unschedulable);
        self.log.push(Change::Unschedulable { slot, previous });
    }

    /// Unbinds every pod of the node in `slot` (the node stays, as CA's ghost node).
    pub fn clear_node(&mut self, slot: usize) {
        let node = self.slots[slot];
        for pod in self.info(slot).pods.clone() {
            if let Some(bound) = self.snap.unbind(pod) {
                self.log.push(Change::Unbound {
                    pod,
                    spec: bound.spec,
                    node,
                });
            }
        }
    }

    pub fn checkpoint(&self) -> usize {
        self.log.len()
    }

    /// Undoes every change since `mark`, newest first.
    pub fn rollback(&mut self, mark: usize) {
        while self.log.len() > mark {
            match self.log.pop().expect("log is longer than mark") {
                Change::Bound(pod) => {
                    self.snap.unbind(pod);
                }
                Change::Unbound { pod, spec, node } => self.snap.bind(pod, spec, node, 0),
                Change::AddedNode => {
                    let id = self.slots.pop().expect("an added node has a slot");
                    self.snap.remove_node(id);
                }
                Change::Unschedulable { slot, previous } => {
                    self.snap.set_unschedulable(self.slots[slot], previous)
                }
            }
        }
    }

    /// Forgets the undo log (the changes stay); keeps long-lived packings small.
    pub fn commit(&mut self) {
        self.log.clear();
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
    let info = NodeInfo {
        spec: spec.clone(),
        requested,
        non_zero_requested: requested,
        pods: Vec::new(),
    };
    filter_node_unschedulable(pod, spec).is_ok()
        && filter_node_name(pod, spec).is_ok()
        && filter_taint_toleration(pod, spec).is_ok()
        && filter_node_affinity(pod, spec).is_ok()
        && filter_resources_fit(
            &crate::scheduler::snapshot::pod_request(pod),
            &info,
            &Resources::ZERO,
        )
        .is_ok()
}
