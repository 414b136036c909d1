//! The nodes each pod fits in a disruption pass's base cluster, so that a consolidation
//! simulation's first-fit scans only those (and the candidates) instead of every node.
//!
//! Why this is exact: a simulation cordons and empties its candidates and then only binds
//! pods, so every other node only gets fuller and keeps its spec. For a pod whose verdict on
//! a node reads that node alone ([`Packing::reads_own_node_only`]), a non-candidate node that
//! fails the pod in the base state fails it in every simulation of the pass, and one that
//! passed needs only its resources checked again. Candidates changed both ways (cordoned,
//! emptied) and are checked in full. A pod that reads other nodes (hard topology spread, pod
//! (anti-)affinity anywhere) takes the full scan.

use std::sync::Arc;

use super::lite::tolerates_cordon;
use crate::fast_hash::FxHashMap;
use crate::model::PodSchedulingSpec;
use crate::node_fit::Packing;
use crate::scheduler::snapshot::has_affinity_terms;
use crate::scheduler::snapshot::pod_request;

/// Per pod spec (by address), its base-fit slots, or `None` for the full scan.
pub(super) struct BaseFits {
    /// Off for the whole pass when a pending pod has pod (anti-)affinity terms: once bound
    /// in a simulation it would make other pods' verdicts read other nodes.
    enabled: bool,
    /// Lookup only, never iterated. The `Arc` keeps the address from being reused.
    lists: FxHashMap<usize, (Arc<PodSchedulingSpec>, Option<SpecFit>)>,
}

/// What a simulation's first-fit needs to know about one pod spec.
struct SpecFit {
    /// The slots whose node passes every filter for the spec in the base state, ascending.
    slots: Vec<usize>,
    /// Whether the spec tolerates a cordon: if not, no candidate (each one cordoned) fits it.
    tolerates_cordon: bool,
}

impl BaseFits {
    pub(super) fn new(pending: &[Arc<PodSchedulingSpec>], enabled: bool) -> BaseFits {
        BaseFits {
            enabled: enabled && !pending.iter().any(|p| has_affinity_terms(p)),
            lists: FxHashMap::default(),
        }
    }

    /// Records the base-fit slots of the specs not seen yet. `packing` must be in the pass's
    /// base state.
    pub(super) fn prepare(&mut self, packing: &Packing, pods: &[Arc<PodSchedulingSpec>]) {
        if !self.enabled {
            return;
        }
        for pod in pods {
            let addr = Arc::as_ptr(pod) as usize;
            if self.lists.contains_key(&addr) {
                continue;
            }
            let list = packing.reads_own_node_only(pod).then(|| SpecFit {
                slots: packing.fitting_slots(pod),
                tolerates_cordon: tolerates_cordon(pod),
            });
            self.lists.insert(addr, (pod.clone(), list));
        }
    }

    /// The first slot whose node passes every filter for `pod` now, as
    /// `packing.first_fit(pod, 0..packing.len())` would find it, during a simulation whose
    /// cordoned and emptied candidates are `set` (ascending).
    pub(super) fn first_fit(
        &self,
        packing: &Packing,
        pod: &Arc<PodSchedulingSpec>,
        set: &[usize],
    ) -> Option<usize> {
        let fit = self
            .lists
            .get(&(Arc::as_ptr(pod) as usize))
            .and_then(|(_, l)| l.as_ref());
        let Some(fit) = fit.filter(|_| self.enabled) else {
            return packing.first_fit(pod, 0..packing.len());
        };
        let list = &fit.slots;
        let request = pod_request(pod);
        union_in_order(list, set)
            .find(|&(slot, candidate)| {
                // A cordoned candidate fails a pod that does not tolerate it, whatever else.
                let skip = candidate && !fit.tolerates_cordon;
                !skip && packing.fits_own_node(pod, &request, slot, !candidate)
            })
            .map(|(slot, _)| slot)
    }
}

/// The union of two ascending slot lists, in slot order, each slot once, with whether it is
/// in `set` (the simulation's candidates).
pub(super) fn union_in_order<'a>(
    list: &'a [usize],
    set: &'a [usize],
) -> impl Iterator<Item = (usize, bool)> + 'a {
    let (mut i, mut j) = (0, 0);
    std::iter::from_fn(move || {
        let next = match (list.get(i), set.get(j)) {
            (None, None) => return None,
            (Some(&a), Some(&b)) if b <= a => {
                j += 1;
                i += usize::from(a == b);
                (b, true)
            }
            (Some(&a), _) => {
                i += 1;
                (a, false)
            }
            (None, Some(&b)) => {
                j += 1;
                (b, true)
            }
        };
        Some(next)
    })
}
