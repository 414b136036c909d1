//! A disruption pass's existing nodes reduced to what decides a fit when no pod's verdict
//! reads another node: each node's spec and summed requests. It stands in for the pass's
//! [`crate::node_fit::Packing`] (which binds every pod into a scheduler snapshot) when every
//! pod of the pass, bound or pending, has no hard topology spread and no pod (anti-)affinity
//! term. Then kube-scheduler's filters for a pod on a node are the node-static ones
//! (NodeUnschedulable, NodeName, TaintToleration, NodeAffinity) and NodeResourcesFit, nothing
//! is nominated, and [`Lite::first_fit`] answers as `Packing::first_fit` over every slot.
//!
//! A simulation cordons and empties its candidates and then only adds pods, so a
//! non-candidate node that fails a pod in the base state fails it throughout the pass: the
//! first-fit scans each spec's base-fit slots (and the candidates, for a pod that tolerates
//! the cordon), checking resources only where the static filters are known to pass.

use std::sync::Arc;

use super::disruption::KNode;
use super::provisioning::Existing;
use crate::fast_hash::FxHashMap;
use crate::model::{NodeSchedulingSpec, PodSchedulingSpec, Resources, WhenUnsatisfiable};
use crate::scheduler::filters::resource_shortfalls;
use crate::scheduler::snapshot::{has_affinity_terms, pod_request, StaticFit};

/// Whether a pod's filter verdict on a node reads that node alone, in a cluster where no pod
/// has pod (anti-)affinity terms.
fn reads_own_node(pod: &PodSchedulingSpec) -> bool {
    !has_affinity_terms(pod)
        && pod
            .topology_spread
            .iter()
            .all(|c| c.when_unsatisfiable != WhenUnsatisfiable::DoNotSchedule)
}

/// What a simulation's first-fit needs to know about one pod spec.
struct SpecFit {
    /// Its static filter class (an index into `Lite::statics`).
    class: usize,
    /// The slots whose node passes every filter for the spec in the base state, ascending:
    /// an index into `Lite::lists`.
    slots: usize,
    /// Whether the spec tolerates a cordon: if not, no candidate (each one cordoned) fits it.
    tolerates_cordon: bool,
}

/// The pass's existing nodes: specs, requests, and an undo log.
pub(super) struct Lite {
    /// Per slot; nodes being deleted are cordoned, as the packing has them.
    specs: Vec<Arc<NodeSchedulingSpec>>,
    requested: Vec<Resources>,
    /// (slot, requests before) of every change since the simulation began.
    log: Vec<(usize, Resources)>,
    /// Pods with equal static filter inputs share the per-slot static verdicts.
    statics: Vec<(Arc<PodSchedulingSpec>, Vec<bool>)>,
    /// Per pod spec (by address; the `Arc` keeps it from being reused). Lookup only.
    fits: FxHashMap<usize, (Arc<PodSchedulingSpec>, SpecFit)>,
    /// Base-fit slot lists, one per (static class, request): specs alike in both share one.
    lists: Vec<Vec<usize>>,
    /// Lookup only.
    list_of: FxHashMap<(usize, Resources), usize>,
}

impl Lite {
    /// The reduced cluster, or `None` when some pod's verdict may read other nodes.
    pub(super) fn new(nodes: &[KNode], pending: &[Arc<PodSchedulingSpec>]) -> Option<Lite> {
        let bound = nodes.iter().flat_map(|n| n.pods.iter().map(|p| &p.spec));
        if !bound.chain(pending).all(|p| reads_own_node(p)) {
            return None;
        }
        let specs = nodes
            .iter()
            .map(|n| {
                if n.marked_for_deletion && !n.spec.unschedulable {
                    let mut spec = (*n.spec).clone();
                    spec.unschedulable = true;
                    Arc::new(spec)
                } else {
                    n.spec.clone()
                }
            })
            .collect();
        let requested = nodes
            .iter()
            .map(|n| {
                n.pods
                    .iter()
                    .fold(Resources::ZERO, |acc, p| acc.add(&pod_request(&p.spec)))
            })
            .collect();
        Some(Lite {
            specs,
            requested,
            log: Vec::new(),
            statics: Vec::new(),
            fits: FxHashMap::default(),
            lists: Vec::new(),
            list_of: FxHashMap::default(),
        })
    }

    pub(super) fn len(&self) -> usize {
        self.specs.len()
    }

    /// Records the base-fit slots of the specs not seen yet. Call outside simulations.
    pub(super) fn prepare(&mut self, pods: &[Arc<PodSchedulingSpec>]) {
        debug_assert!(self.log.is_empty(), "the base state");
        for pod in pods {
            let addr = Arc::as_ptr(pod) as usize;
            if self.fits.contains_key(&addr) {
                continue;
            }
            let class = self.static_class(pod);
            let request = pod_request(pod);
            let slots = match self.list_of.get(&(class, request)) {
                Some(&l) => l,
                None => {
                    let list = (0..self.len())
                        .filter(|&s| self.statics[class].1[s] && self.resources_fit(&request, s))
                        .collect();
                    self.lists.push(list);
                    self.list_of.insert((class, request), self.lists.len() - 1);
                    self.lists.len() - 1
                }
            };
            let fit = SpecFit {
                class,
                slots,
                tolerates_cordon: tolerates_cordon(pod),
            };
            self.fits.insert(addr, (pod.clone(), fit));
        }
    }

    /// The class of pods whose static filter inputs equal `pod`'s, its verdicts computed.
    fn static_class(&mut self, pod: &Arc<PodSchedulingSpec>) -> usize {
        let same = |o: &PodSchedulingSpec| {
            o.node_name == pod.node_name
                && o.tolerations == pod.tolerations
                && o.node_selector == pod.node_selector
                && o.node_affinity == pod.node_affinity
        };
        if let Some(c) = self.statics.iter().position(|(o, _)| same(o)) {
            return c;
        }
        let verdicts = self
            .specs
            .iter()
            .map(|n| StaticFit::of(pod, n).passes())
            .collect();
        self.statics.push((pod.clone(), verdicts));
        self.statics.len() - 1
    }

    fn resources_fit(&self, request: &Resources, slot: usize) -> bool {
        let alloc = &self.specs[slot].allocatable;
        !resource_shortfalls(request, alloc, &self.requested[slot]).contains(&true)
    }

    /// Cordons and empties the candidates (ascending) for one simulation.
    pub(super) fn begin(&mut self, set: &[usize]) {
        for &n in set {
            self.log.push((n, self.requested[n]));
            self.requested[n] = Resources::ZERO;
        }
    }

    /// Undoes the simulation.
    pub(super) fn end(&mut self) {
        while let Some((slot, before)) = self.log.pop() {
            self.requested[slot] = before;
        }
    }

    /// The first slot whose node passes every filter for `pod` now, during a simulation
    /// whose cordoned candidates are `set` (ascending). `pod` must have been prepared.
    pub(super) fn first_fit(&self, pod: &Arc<PodSchedulingSpec>, set: &[usize]) -> Option<usize> {
        let (_, fit) = &self.fits[&(Arc::as_ptr(pod) as usize)];
        let (list, statics) = (&self.lists[fit.slots], &self.statics[fit.class].1);
        let request = pod_request(pod);
        super::base_fit::union_in_order(list, set)
            .find(|&(slot, candidate)| {
                // A cordoned candidate passes the static filters iff the pod tolerates the
                // cordon and passed them on the node before (only the cordon changed).
                let static_ok = !candidate || (fit.tolerates_cordon && statics[slot]);
                static_ok && self.resources_fit(&request, slot)
            })
            .map(|(slot, _)| slot)
    }
}

impl Existing for Lite {
    fn bind(&mut self, pod: &Arc<PodSchedulingSpec>, slot: usize) {
        self.log.push((slot, self.requested[slot]));
        self.requested[slot] = self.requested[slot].add(&pod_request(pod));
    }
}

/// Whether `pod` passes NodeUnschedulable on a cordoned node.
pub(super) fn tolerates_cordon(pod: &PodSchedulingSpec) -> bool {
    let cordoned = NodeSchedulingSpec {
        unschedulable: true,
        ..NodeSchedulingSpec::default()
    };
    StaticFit::of(pod, &cordoned).tolerates_unschedulable()
}
