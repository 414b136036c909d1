//! The engine's view of kube-scheduler: it keeps `autoscaler::scheduler`'s
//! [`ClusterSnapshot`] in step with the engine's nodes and pods and runs scheduling
//! attempts. Engine node and pod indices are the snapshot's ids.

use std::sync::Arc;

use autoscaler::model::{NodeSchedulingSpec, PodSchedulingSpec};
use autoscaler::scheduler::{self, ClusterSnapshot, Pdb, Scheduler, SchedulerConfig, Termination};

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
    Unschedulable(String),
}

pub struct Placement {
    snapshot: ClusterSnapshot,
    scheduler: Scheduler,
}

fn sid(n: NodeId) -> scheduler::NodeId {
    scheduler::NodeId(n)
}

fn pid(p: PodId) -> scheduler::PodId {
    scheduler::PodId(u64::from(p))
}

impl Placement {
    pub fn new(cfg: SchedulerConfig) -> Placement {
        Placement {
            snapshot: ClusterSnapshot::new(),
            scheduler: Scheduler::new(cfg).expect("the loader validated the scheduler settings"),
        }
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
        self.snapshot.add_node(Arc::new(spec)).0
    }

    pub fn remove_node(&mut self, id: NodeId) {
        self.snapshot.remove_node(sid(id));
    }

    pub fn set_unschedulable(&mut self, id: NodeId, v: bool) {
        self.snapshot.set_unschedulable(sid(id), v);
    }

    pub fn bind(&mut self, pod: PodId, spec: &Arc<PodSchedulingSpec>, node: NodeId, start_ms: i64) {
        self.snapshot.clear_nomination(pid(pod));
        self.snapshot
            .bind(pid(pod), spec.clone(), sid(node), start_ms);
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
            .node(sid(node))
            .map(|n| n.pods.iter().map(|p| p.0 as PodId).collect())
            .unwrap_or_default()
    }

    /// One attempt: filters and scores, then, if the pod fits nowhere and may preempt,
    /// DefaultPreemption with the PDBs `pdbs()` gives (computed only when needed).
    pub fn attempt(
        &mut self,
        pod: PodId,
        spec: &PodSchedulingSpec,
        pdbs: impl FnOnce() -> Vec<Pdb>,
        rng: &mut Stream,
    ) -> Attempt {
        let err = match self
            .scheduler
            .schedule_one(&self.snapshot, pid(pod), spec, rng)
        {
            Ok(node) => return Attempt::Scheduled(node.0),
            Err(e) => e,
        };
        if err.num_all_nodes == 0 {
            return Attempt::Unschedulable(err.to_string());
        }
        let pdbs = pdbs();
        match self
            .scheduler
            .preempt(&mut self.snapshot, pid(pod), spec, &err, &pdbs, rng)
        {
            Ok(p) => {
                for other in &p.clear_nominations {
                    self.snapshot.clear_nomination(*other);
                }
                self.snapshot.nominate(pid(pod), spec, p.node);
                Attempt::Nominated {
                    node: p.node.0,
                    victims: p.victims.iter().map(|v| v.0 as PodId).collect(),
                }
            }
            Err(msg) => {
                let mut err = err;
                err.post_filter_msg = msg;
                Attempt::Unschedulable(err.to_string())
            }
        }
    }
}
