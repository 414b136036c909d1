//! The engine's view of kube-scheduler: it keeps `autoscaler::scheduler`'s
//! [`ClusterSnapshot`] in step with the engine's nodes and pods and runs scheduling
//! attempts. Engine pod indices are the snapshot's pod ids; engine node indices are mapped to
//! the snapshot's node ids, which what-if passes (the cluster-autoscaler's template nodes)
//! consume too.

use std::sync::Arc;

use autoscaler::model::{NodeSchedulingSpec, PodSchedulingSpec};
use autoscaler::scheduler::{
    self, ClusterSnapshot, Pdb, ScheduleOutcome, Scheduler, SchedulerConfig, Termination,
};

use crate::rng::Stream;

pub type NodeId = u32;
pub type PodId = u32;

/// What one scheduling attempt decided, in engine ids.
pub enum Attempt {
    Scheduled(NodeId),
    /// Preemption made room on `node`: delete `victims`, the pod is nominated there.
    Nominated {
        node: NodeId,
        victims: Vec<PodId>,
    },
    /// The pod stays Pending with kube-scheduler's FitError message.
    /// (kube-scheduler's FitError message is built only when asked for: see
    /// [`Placement::why_unschedulable`].)
    Unschedulable,
}

pub struct Placement {
    snapshot: ClusterSnapshot,
    scheduler: Scheduler,
    /// Engine node id -> snapshot node id.
    to_snap: Vec<scheduler::NodeId>,
    /// Snapshot node id -> engine node id (`None` once removed).
    from_snap: Vec<Option<NodeId>>,
}

fn pid(p: PodId) -> scheduler::PodId {
    scheduler::PodId(u64::from(p))
}

impl Placement {
    pub fn new(cfg: SchedulerConfig) -> Placement {
        let mut scheduler =
            Scheduler::new(cfg).expect("the loader validated the scheduler settings");
        // The engine reads an attempt's decision only; a message is made when the report
        // asks for one (`why_unschedulable`).
        scheduler.set_explain_failures(false);
        Placement {
            snapshot: ClusterSnapshot::new(),
            scheduler,
            to_snap: Vec::new(),
            from_snap: Vec::new(),
        }
    }

    /// The snapshot's id of an engine node.
    pub fn snapshot_id(&self, n: NodeId) -> scheduler::NodeId {
        self.sid(n)
    }

    fn sid(&self, n: NodeId) -> scheduler::NodeId {
        self.to_snap[n as usize]
    }

    /// The engine id of a snapshot node the engine added, if it is still there.
    pub fn engine_id(&self, n: scheduler::NodeId) -> Option<NodeId> {
        self.from_snap.get(n.0 as usize).copied().flatten()
    }

    fn eid(&self, n: scheduler::NodeId) -> NodeId {
        self.from_snap[n.0 as usize].expect("a node the engine added")
    }

    /// The engine id of the node named `name`.
    pub fn node_by_name(&self, name: &str) -> Option<NodeId> {
        self.snapshot.node_by_name(name).map(|n| self.eid(n))
    }

    /// The node's spec as the scheduler sees it (cordon included); `None` once removed.
    pub fn node_spec(&self, n: NodeId) -> Option<&NodeSchedulingSpec> {
        self.snapshot.node(self.sid(n)).map(|info| &*info.spec)
    }

    /// Nodes in the snapshot (Provisioning ones included), ascending.
    pub fn live_nodes(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.snapshot.node_ids().iter().map(|&n| self.eid(n))
    }

    /// Changes whenever the node or its pods change in the snapshot.
    pub fn node_stamp(&self, n: NodeId) -> u64 {
        self.snapshot.node_version(self.sid(n))
    }

    /// [`node_spec`](Self::node_spec), shared rather than borrowed.
    pub fn node_spec_shared(&self, n: NodeId) -> Option<Arc<NodeSchedulingSpec>> {
        self.snapshot
            .node(self.sid(n))
            .map(|info| info.spec.clone())
    }

    pub fn snapshot(&self) -> &ClusterSnapshot {
        &self.snapshot
    }

    /// The snapshot for a what-if pass (the cluster-autoscaler's), which must leave it as it
    /// found it.
    pub fn snapshot_mut(&mut self) -> &mut ClusterSnapshot {
        &mut self.snapshot
    }

    pub fn add_node(&mut self, spec: NodeSchedulingSpec) -> NodeId {
        let snap = self.snapshot.add_node(Arc::new(spec));
        let id = self.to_snap.len() as NodeId;
        self.to_snap.push(snap);
        let slot = snap.0 as usize;
        if self.from_snap.len() <= slot {
            self.from_snap.resize(slot + 1, None);
        }
        self.from_snap[slot] = Some(id);
        id
    }

    pub fn remove_node(&mut self, id: NodeId) {
        let snap = self.sid(id);
        self.snapshot.remove_node(snap);
        self.from_snap[snap.0 as usize] = None;
    }

    pub fn set_unschedulable(&mut self, id: NodeId, v: bool) {
        self.snapshot.set_unschedulable(self.sid(id), v);
    }

    pub fn bind(&mut self, pod: PodId, spec: &Arc<PodSchedulingSpec>, node: NodeId, start_ms: i64) {
        self.snapshot.clear_nomination(pid(pod));
        self.snapshot
            .bind(pid(pod), spec.clone(), self.sid(node), start_ms);
    }

    pub fn unbind(&mut self, pod: PodId) {
        self.snapshot.unbind(pid(pod));
    }

    /// A bound pod starts terminating (it keeps its resources until unbound).
    pub fn set_terminating(&mut self, pod: PodId, preempted: bool) {
        let why = if preempted {
            Termination::Preempted
        } else {
            Termination::Other
        };
        self.snapshot.set_terminating(pid(pod), why);
    }

    /// A pending pod is deleted: its nomination, if any, goes with it.
    pub fn forget(&mut self, pod: PodId) {
        self.snapshot.clear_nomination(pid(pod));
    }

    /// The pods bound to `node`, in binding order.
    pub fn pods_on(&self, node: NodeId) -> Vec<PodId> {
        self.snapshot
            .node(self.sid(node))
            .map(|n| n.pods.iter().map(|p| p.0 as PodId).collect())
            .unwrap_or_default()
    }

    /// One attempt: filters and scores, then, if the pod fits nowhere and may preempt,
    /// DefaultPreemption with the PDBs `pdbs()` gives (computed only when needed).
    pub fn attempt(
        &mut self,
        pod: PodId,
        spec: &Arc<PodSchedulingSpec>,
        pdbs: impl FnOnce() -> Vec<Pdb>,
        rng: &mut Stream,
    ) -> Attempt {
        match self
            .scheduler
            .schedule_with(&mut self.snapshot, pid(pod), spec, pdbs, rng)
        {
            ScheduleOutcome::Scheduled(node) => Attempt::Scheduled(self.eid(node)),
            ScheduleOutcome::Nominated { preemption: p, .. } => {
                for other in &p.clear_nominations {
                    self.snapshot.clear_nomination(*other);
                }
                self.snapshot.nominate(pid(pod), spec, p.node);
                Attempt::Nominated {
                    node: self.eid(p.node),
                    victims: p.victims.iter().map(|v| v.0 as PodId).collect(),
                }
            }
            ScheduleOutcome::Unschedulable(_) => Attempt::Unschedulable,
        }
    }

    /// kube-scheduler's message for a pod that fits nowhere now (`0/N nodes are available:
    /// ...`), or `None` if it would fit.
    pub fn why_unschedulable(
        &mut self,
        pod: PodId,
        spec: &PodSchedulingSpec,
        rng: &mut Stream,
    ) -> Option<String> {
        self.scheduler
            .schedule_one(&self.snapshot, pid(pod), spec, rng)
            .err()
            .map(|e| e.to_string())
    }
}
