//! Cache of the node-static filters (NodeUnschedulable, NodeName, TaintToleration,
//! NodeAffinity) per pod filter class and node slot. Their verdicts depend only on the
//! node's spec and on the pod's node selector, required node affinity, tolerations and node
//! name, which every replica of a workload shares; so they are computed once per (class,
//! node) and recomputed only for nodes that are added or whose spec changes (taints,
//! cordon), instead of once per node per scheduling attempt.

use std::hash::{Hash, Hasher};

use crate::fast_hash::{FxHashMap, FxHasher};

use super::{NodeId, NodeInfo};
use crate::model::{Labels, NodeSchedulingSpec, NodeSelectorTerm, PodSchedulingSpec, Toleration};
use crate::scheduler::matching::{
    first_untolerated_hard_taint, required_node_affinity_matches, tolerates_unschedulable,
};

/// The four static filters' verdicts on one node for one filter class, as bits. Each is
/// computed independently (not stopping at the first failure) because topology spread's
/// inclusion policies read the affinity and taint verdicts on their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct StaticFit(u8);

impl StaticFit {
    const KNOWN: u8 = 1;
    const UNSCHEDULABLE: u8 = 2;
    const NAME_MISMATCH: u8 = 4;
    const UNTOLERATED_TAINT: u8 = 8;
    const AFFINITY_MISMATCH: u8 = 16;
    const REJECTED: u8 = Self::UNSCHEDULABLE
        | Self::NAME_MISMATCH
        | Self::UNTOLERATED_TAINT
        | Self::AFFINITY_MISMATCH;

    /// Runs the four filters' predicates (the same functions the filters call).
    pub fn of(pod: &PodSchedulingSpec, node: &NodeSchedulingSpec) -> StaticFit {
        let mut bits = Self::KNOWN;
        if node.unschedulable && !tolerates_unschedulable(&pod.tolerations) {
            bits |= Self::UNSCHEDULABLE;
        }
        if pod.node_name.as_ref().is_some_and(|n| *n != node.name) {
            bits |= Self::NAME_MISMATCH;
        }
        if first_untolerated_hard_taint(&node.taints, &pod.tolerations).is_some() {
            bits |= Self::UNTOLERATED_TAINT;
        }
        if !required_node_affinity_matches(pod, node) {
            bits |= Self::AFFINITY_MISMATCH;
        }
        StaticFit(bits)
    }

    fn is_known(self) -> bool {
        self.0 & Self::KNOWN != 0
    }

    /// All four filters pass.
    pub fn passes(self) -> bool {
        self.0 & Self::REJECTED == 0
    }

    /// The node is not cordoned, or the pod tolerates that.
    pub fn tolerates_unschedulable(self) -> bool {
        self.0 & Self::UNSCHEDULABLE == 0
    }

    /// The pod names no node, or this one.
    pub fn matches_name(self) -> bool {
        self.0 & Self::NAME_MISMATCH == 0
    }

    /// The pod's nodeSelector and required node affinity match the node.
    pub fn matches_affinity(self) -> bool {
        self.0 & Self::AFFINITY_MISMATCH == 0
    }

    /// The pod tolerates every NoSchedule and NoExecute taint of the node.
    pub fn tolerates_taints(self) -> bool {
        self.0 & Self::UNTOLERATED_TAINT == 0
    }
}

/// The pod fields the static filters read; pods equal in these share verdicts.
#[derive(Debug, Clone)]
struct FilterClass {
    node_selector: Labels,
    required: Vec<NodeSelectorTerm>,
    tolerations: Vec<Toleration>,
    node_name: Option<String>,
    /// Per node slot; not known where the node was added or changed since the last fill.
    fits: Vec<StaticFit>,
    /// The live nodes of the last fill that pass, ascending: the only ones a feasibility
    /// search needs to look at. Nodes removed since may remain; none can be missing, as
    /// adding a node or changing a spec forces a new fill.
    passing: Vec<NodeId>,
    /// The cache generation of the last fill: equal to the cache's when no slot is unknown.
    filled_gen: u64,
}

impl FilterClass {
    fn new(pod: &PodSchedulingSpec, slots: usize) -> FilterClass {
        FilterClass {
            node_selector: pod.node_selector.clone(),
            required: pod.node_affinity.required.clone(),
            tolerations: pod.tolerations.clone(),
            node_name: pod.node_name.clone(),
            fits: vec![StaticFit::default(); slots],
            passing: Vec::new(),
            filled_gen: u64::MAX,
        }
    }

    fn is_of(&self, pod: &PodSchedulingSpec) -> bool {
        self.node_selector == pod.node_selector
            && self.required == pod.node_affinity.required
            && self.tolerations == pod.tolerations
            && self.node_name == pod.node_name
    }
}

/// Filter classes and their per-node verdicts. Lives in the snapshot's index and follows
/// its node slots: a slot is pushed per added node, truncated when a fork reverts an
/// addition, and forgotten when its node's spec changes.
#[derive(Clone, Default)]
pub(crate) struct StaticFitCache {
    classes: Vec<FilterClass>,
    /// Hash of a class's fields to the classes with that hash; only looked up, never
    /// iterated.
    lookup: FxHashMap<u64, Vec<u32>>,
    /// Bumped whenever a slot is forgotten or added.
    generation: u64,
    /// Testing aid: forget every verdict before each fill, so results come from the
    /// predicates alone.
    pub disabled: bool,
}

/// Memoized verdicts are not snapshot state: two snapshots with the same nodes and pods
/// print the same whatever was looked up in them (callers compare `Debug` output to check
/// that what-if simulations restored a snapshot).
impl std::fmt::Debug for StaticFitCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StaticFitCache").finish_non_exhaustive()
    }
}

impl StaticFitCache {
    /// The pod's filter class, created on first use.
    pub fn class_of(&mut self, pod: &PodSchedulingSpec, slots: usize) -> u32 {
        let mut h = FxHasher::default();
        pod.node_selector.hash(&mut h);
        pod.node_affinity.required.hash(&mut h);
        pod.tolerations.hash(&mut h);
        pod.node_name.hash(&mut h);
        let ids = self.lookup.entry(h.finish()).or_default();
        if let Some(&c) = ids.iter().find(|&&c| self.classes[c as usize].is_of(pod)) {
            return c;
        }
        let c = self.classes.len() as u32;
        ids.push(c);
        self.classes.push(FilterClass::new(pod, slots));
        c
    }

    /// Computes the unknown verdicts of `class` on the live nodes.
    pub fn fill(
        &mut self,
        class: u32,
        pod: &PodSchedulingSpec,
        nodes: &[Option<NodeInfo>],
        live: &[NodeId],
    ) {
        let generation = self.generation;
        let fc = &mut self.classes[class as usize];
        if self.disabled {
            fc.fits.fill(StaticFit::default());
        } else if fc.filled_gen == generation {
            return;
        }
        fc.passing.clear();
        for &n in live {
            let slot = &mut fc.fits[n.0 as usize];
            if !slot.is_known() {
                let info = nodes[n.0 as usize].as_ref().expect("live node");
                *slot = StaticFit::of(pod, &info.spec);
            }
            if slot.passes() {
                fc.passing.push(n);
            }
        }
        fc.filled_gen = generation;
    }

    /// The verdicts of `class` per node slot, valid for live nodes after [`fill`](Self::fill).
    pub fn fits(&self, class: u32) -> &[StaticFit] {
        &self.classes[class as usize].fits
    }

    /// After [`fill`](Self::fill), the nodes passing for `class`, ascending: every live one
    /// that passes, and perhaps nodes removed since.
    pub fn passing(&self, class: u32) -> &[NodeId] {
        &self.classes[class as usize].passing
    }

    /// A node slot was added.
    pub fn push_slot(&mut self) {
        for fc in &mut self.classes {
            fc.fits.push(StaticFit::default());
        }
        self.generation += 1;
    }

    /// Node slots from `len` on were dropped (a fork reverted their addition).
    pub fn truncate(&mut self, len: usize) {
        for fc in &mut self.classes {
            fc.fits.truncate(len);
        }
    }

    /// A node's spec changed (or the node came back): its verdicts must be recomputed.
    pub fn forget(&mut self, node: NodeId) {
        for fc in &mut self.classes {
            fc.fits[node.0 as usize] = StaticFit::default();
        }
        self.generation += 1;
    }
}
