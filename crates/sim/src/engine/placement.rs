//! The engine's view of kube-scheduler: node and pod bookkeeping plus `schedule_one` and
//! `preempt`. The engine talks to the scheduler only through this adapter.
//!
//! Interim implementation (resource fit and NoSchedule taints, first fit) until the
//! scheduler in `autoscaler::scheduler` is wired in.

use std::sync::Arc;

use autoscaler::model::{
    NodeSchedulingSpec, PodSchedulingSpec, Resources, TaintEffect, TolerationOperator,
};

pub type NodeId = u32;
pub type PodId = u32;

pub struct Preemption {
    pub node: NodeId,
    pub victims: Vec<PodId>,
}

pub struct PdbView {
    pub namespace: String,
    pub selector: autoscaler::model::LabelSelector,
    pub disruptions_allowed: i32,
}

struct NodeEntry {
    spec: NodeSchedulingSpec,
    requested: Resources,
    alive: bool,
    pods: Vec<PodId>,
}

#[derive(Default)]
pub struct Placement {
    nodes: Vec<NodeEntry>,
}

impl Placement {
    pub fn add_node(&mut self, spec: NodeSchedulingSpec) -> NodeId {
        self.nodes.push(NodeEntry {
            spec,
            requested: Resources::ZERO,
            alive: true,
            pods: vec![],
        });
        (self.nodes.len() - 1) as NodeId
    }

    pub fn remove_node(&mut self, id: NodeId) {
        self.nodes[id as usize].alive = false;
    }

    pub fn set_unschedulable(&mut self, id: NodeId, v: bool) {
        self.nodes[id as usize].spec.unschedulable = v;
    }

    pub fn bind(
        &mut self,
        pod: PodId,
        spec: &Arc<PodSchedulingSpec>,
        node: NodeId,
        _start_ms: i64,
    ) {
        let n = &mut self.nodes[node as usize];
        n.requested = n.requested.add(&spec.requests);
        n.pods.push(pod);
    }

    pub fn unbind(&mut self, pod: PodId, spec: &Arc<PodSchedulingSpec>, node: NodeId) {
        let n = &mut self.nodes[node as usize];
        n.requested = n.requested.sub(&spec.requests);
        n.pods.retain(|p| *p != pod);
    }

    /// The pods bound to `node`, in binding order.
    pub fn pods_on(&self, node: NodeId) -> Vec<PodId> {
        self.nodes[node as usize].pods.clone()
    }

    pub fn schedule_one(
        &mut self,
        pod: &PodSchedulingSpec,
        _rng: &mut crate::rng::Stream,
    ) -> Result<NodeId, String> {
        let mut insufficient = 0;
        let mut tainted = 0;
        for (i, n) in self.nodes.iter().enumerate() {
            if !n.alive || n.spec.unschedulable {
                continue;
            }
            let untolerated = n.spec.taints.iter().any(|t| {
                t.effect != TaintEffect::PreferNoSchedule
                    && !pod.tolerations.iter().any(|tol| {
                        (tol.key.is_empty() || tol.key == t.key)
                            && (tol.operator == TolerationOperator::Exists || tol.value == t.value)
                            && tol.effect.is_none_or(|e| e == t.effect)
                    })
            });
            if untolerated {
                tainted += 1;
                continue;
            }
            if !pod.requests.add(&n.requested).fits_in(&n.spec.allocatable) {
                insufficient += 1;
                continue;
            }
            return Ok(i as NodeId);
        }
        let total = self.nodes.iter().filter(|n| n.alive).count();
        Err(format!(
            "0/{total} nodes are available: {insufficient} Insufficient resources, {tainted} node(s) had untolerated taint."
        ))
    }

    pub fn preempt(
        &mut self,
        _pod: &PodSchedulingSpec,
        _pdbs: &[PdbView],
        _rng: &mut crate::rng::Stream,
    ) -> Option<Preemption> {
        None
    }
}
