//! Node capacity in the engine: auto-scaling groups (one per pool and zone) that hold their
//! desired capacity, and the cluster-autoscaler that resizes them. (Karpenter, which manages
//! its NodePools' nodes without groups, is `engine/karpenter.rs`.)
//!
//! Each (pool, zone) is a group `<pool>-<zone>` with a target size, like an ASG per zone.
//! The group launches nodes until its live plus failed instances reach the target; a launch
//! may fail for insufficient capacity (`engine/spot.rs`). Without a node autoscaler the
//! targets never change, so a lost node is replaced in its zone and a failed launch is
//! retried after [`ASG_RETRY`]. Under the cluster-autoscaler a failed instance stays until CA,
//! told of it in its next observation, backs the group off and deletes it.
//!
//! The CA loop runs every scan-interval on the scheduler's snapshot; a loop is skipped when no
//! event that could change its observation happened since the last one and neither
//! `next_deadline_ms` nor a young pending pod's scale-up delay has come. A skipped loop gives
//! the same decision as a run one would (nothing to do), which is what keeps long runs fast.

use std::collections::BTreeMap;

use autoscaler::cluster_autoscaler::{self as ca, Action, CaSettings, CaState};

use super::ca_view::CaView;
use super::placement::NodeId;
use super::state::{pdb_status, Engine, Event, NodeState, Phase};
use crate::rng::{Seed, Stream};
use crate::scenario::model::{NodeAutoscaler, Scenario};
use crate::time::{SimDuration, SimTime};

/// How long a fixed-size group waits before launching again after a failed launch.
pub const ASG_RETRY: SimDuration = SimDuration::from_secs(120);
/// How often a node being deleted is retried for evictions that a PDB refused.
const EVICTION_RETRY: SimDuration = SimDuration::from_secs(5);

/// One auto-scaling group.
pub(super) struct Group {
    pub id: String,
    pub pool: usize,
    pub zone: usize,
    pub target: i32,
    /// Nodes launched and not terminated, minus those CA is deleting.
    pub live: i32,
    /// Instances whose launch failed and that CA has not deleted yet.
    pub failed: i32,
    /// Failed launches not yet reported to CA.
    pub unreported_errors: i32,
    retry_pending: bool,
}

struct CaRuntime {
    settings: CaSettings,
    state: CaState,
    rng: Stream,
    /// The time of the loop event that is current; other CaLoop events are stale.
    next_loop: SimTime,
    scale_down_failures: Vec<String>,
    /// Earliest time a pending pod becomes old enough for CA to consider it.
    young_pod_wake_ms: Option<i64>,
    /// What CA observes, kept between loops.
    view: CaView,
    /// When the last loop ran; only deadlines after it call for another.
    last_run_ms: i64,
    /// The current loop is an immediate re-run (which does not ask for another).
    rerunning: bool,
}

/// A node the cluster-autoscaler is deleting.
struct Deletion {
    since: SimTime,
    name: String,
}

pub(super) struct NodeScaling {
    pub groups: Vec<Group>,
    /// The first group of each pool; a pool's zones follow in order.
    group_base: Vec<usize>,
    ca: Option<CaRuntime>,
    pub(super) karpenter: Option<super::karpenter::KarpenterRuntime>,
    deleting: BTreeMap<NodeId, Deletion>,
    /// Set by every event that may change what CA observes.
    pub changed: bool,
    pub(super) rng_launch: Stream,
    pub(super) rng_capacity: Stream,
    pub(super) rng_spot: Stream,
}

impl NodeScaling {
    pub fn new(sc: &Scenario, seed: Seed) -> NodeScaling {
        let mut groups = Vec::new();
        let mut group_base = Vec::new();
        for (pi, pool) in sc.node_pools.iter().enumerate() {
            group_base.push(groups.len());
            for (zi, zone) in pool.zones.iter().enumerate() {
                groups.push(Group {
                    id: format!("{}-{}", pool.name, zone),
                    pool: pi,
                    zone: zi,
                    target: 0,
                    live: 0,
                    failed: 0,
                    unreported_errors: 0,
                    retry_pending: false,
                });
            }
        }
        let ca = match &sc.settings.node_autoscaler {
            NodeAutoscaler::None | NodeAutoscaler::Karpenter(_) => None,
            NodeAutoscaler::ClusterAutoscaler(s) => Some(CaRuntime {
                settings: (**s).clone(),
                state: CaState::default(),
                rng: seed.fork("cluster-autoscaler"),
                next_loop: SimTime::ZERO,
                scale_down_failures: Vec::new(),
                young_pod_wake_ms: None,
                rerunning: false,
                last_run_ms: i64::MIN,
                view: CaView::default(),
            }),
        };
        NodeScaling {
            groups,
            group_base,
            ca,
            karpenter: super::karpenter::KarpenterRuntime::new(sc),
            deleting: BTreeMap::new(),
            changed: true,
            rng_launch: seed.fork("node-launch"),
            rng_capacity: seed.fork("capacity"),
            rng_spot: seed.fork("spot"),
        }
    }

    pub fn group_of(&self, pool: u16, zone: u16) -> usize {
        self.group_base[pool as usize] + zone as usize
    }

    fn group_by_id(&self, id: &str) -> Option<usize> {
        self.groups.iter().position(|g| g.id == id)
    }
}

impl Engine<'_> {
    /// Counts the initial nodes into their groups and starts the CA loop (or Karpenter) and
    /// the spot market.
    pub(super) fn start_node_scaling(&mut self) {
        for n in 0..self.nodes.len() {
            let node = &self.nodes[n];
            if self.sc.node_pools[node.pool as usize].karpenter.is_some() {
                continue; // Karpenter's nodes belong to no group
            }
            let g = self.scaling.group_of(node.pool, node.zone);
            self.scaling.groups[g].target += 1;
            self.scaling.groups[g].live += 1;
        }
        if self.scaling.ca.is_some() {
            self.at(SimTime::ZERO, Event::CaLoop);
        }
        self.start_karpenter();
        self.start_spot_market();
    }

    /// Launches nodes until the group's live and failed instances reach its target.
    fn reconcile_group(&mut self, g: usize) {
        while self.scaling.groups[g].live + self.scaling.groups[g].failed
            < self.scaling.groups[g].target
        {
            let (pool, zone) = (self.scaling.groups[g].pool, self.scaling.groups[g].zone);
            if self.launch_fails(pool, zone) {
                self.books
                    .count("launches failed (insufficient capacity)", 1);
                let group = &mut self.scaling.groups[g];
                if self.scaling.ca.is_some() {
                    group.failed += 1;
                    group.unreported_errors += 1;
                } else {
                    // A fixed-size group tries again later; nothing else will.
                    if !group.retry_pending {
                        group.retry_pending = true;
                        self.at(self.now() + ASG_RETRY, Event::AsgRetry(g as u32));
                    }
                    return;
                }
                continue;
            }
            let n = self.add_node(pool, zone);
            // A node takes no pods before it is Ready.
            self.placement.set_unschedulable(n, true);
            self.scaling.groups[g].live += 1;
            let delay = self.sc.node_pools[pool]
                .provisioning_delay
                .sample(&mut self.scaling.rng_launch);
            self.at(self.now() + delay, Event::NodeReady(n));
        }
    }

    pub(super) fn asg_retry(&mut self, g: u32) {
        self.scaling.groups[g as usize].retry_pending = false;
        self.reconcile_group(g as usize);
    }

    /// Called when a node turns Ready: it opens for pods and, on spot, meets its fate.
    pub(super) fn node_ready_hook(&mut self, n: NodeId) {
        self.placement.set_unschedulable(n, false);
        self.schedule_spot_interruption(n);
        self.karpenter_node_ready(n);
    }

    /// Called when a node is gone. A node CA deleted was already taken off its group; any
    /// other loss (a spot interruption) is replaced by the group.
    pub(super) fn node_lost_hook(&mut self, n: NodeId) {
        if self.scaling.deleting.remove(&n).is_some() {
            return;
        }
        let node = &self.nodes[n as usize];
        if self.sc.node_pools[node.pool as usize].karpenter.is_some() {
            // Karpenter replaces nothing itself: the pods' pending state drives provisioning.
            self.karpenter_node_lost(n);
            return;
        }
        let g = self.scaling.group_of(node.pool, node.zone);
        self.scaling.groups[g].live -= 1;
        self.reconcile_group(g);
    }

    // ----- the cluster-autoscaler -----

    pub(super) fn ca_loop(&mut self) {
        let now = self.now();
        let Some(rt) = self.scaling.ca.as_ref() else {
            return;
        };
        if now != rt.next_loop {
            return; // superseded by an immediate re-run
        }
        let deadline = ca::next_deadline_after_ms(&rt.settings, &rt.state, rt.last_run_ms)
            .into_iter()
            .chain(rt.young_pod_wake_ms)
            .min();
        let skip = !self.scaling.changed
            && !rt.rerunning
            && rt.scale_down_failures.is_empty()
            && deadline.is_none_or(|d| now.0 < d);
        let was_rerun = rt.rerunning;
        let mut rerun = false;
        if !skip {
            self.scaling.changed = false;
            rerun = self.run_ca_once() && !was_rerun;
        }
        let rt = self.scaling.ca.as_mut().expect("checked above");
        // The re-run sees the new target sizes, so it runs even if no event came between;
        // one re-run per scan bounds the loop.
        rt.rerunning = rerun;
        let next = if rerun {
            now
        } else {
            now + SimDuration(rt.settings.scan_interval_ms)
        };
        rt.next_loop = next;
        self.at(next, Event::CaLoop);
    }

    /// One RunOnce: observe, decide, act. Returns whether CA asks for an immediate re-run.
    fn run_ca_once(&mut self) -> bool {
        let now_ms = self.now().0;
        self.books.count("cluster-autoscaler loops run", 1);
        let mut rt = self.scaling.ca.take().expect("CA is configured");
        rt.last_run_ms = now_ms;
        let (delay_ms, min_replicas) = (
            rt.settings.new_pod_scale_up_delay_ms,
            rt.settings.min_replica_count,
        );
        rt.young_pod_wake_ms = self.sync_ca_view(&mut rt.view, delay_ms, min_replicas);
        if self.check_ca_view {
            self.assert_ca_view_fresh(&rt.view, delay_ms, min_replicas);
        }
        let obs = &mut rt.view.obs;
        obs.instance_errors = self.take_instance_errors();
        obs.scale_down_failures = std::mem::take(&mut rt.scale_down_failures);
        let (decision, state) = ca::run_once_on_snapshot(
            &rt.settings,
            &rt.state,
            &rt.view.obs,
            self.placement.snapshot_mut(),
            now_ms,
            &mut rt.rng,
        );
        rt.state = state;
        let backoffs = decision
            .events
            .iter()
            .filter(|e| matches!(e.reason, "ScaleUpFailed" | "ScaleUpTimedOut"))
            .count();
        self.books.count("backoffs", backoffs as u64);
        let settings = rt.settings.clone();
        let waiting = !rt.view.obs.unschedulable.is_empty();
        self.scaling.ca = Some(rt);
        for action in &decision.actions {
            self.apply_ca_action(&settings, action);
        }
        // CA re-runs at once after a scale action while pods still wait.
        decision.rerun_immediately && waiting
    }

    fn apply_ca_action(&mut self, settings: &CaSettings, action: &Action) {
        match action {
            Action::ScaleUp {
                group,
                delta,
                new_size,
            } => {
                let Some(g) = self.scaling.group_by_id(group) else {
                    return;
                };
                self.books.count(&format!("scale-ups {group}"), 1);
                self.books.count("nodes added", *delta as u64);
                self.scaling.groups[g].target = *new_size;
                self.reconcile_group(g);
            }
            Action::DecreaseTargetSize { group, delta } => {
                if let Some(g) = self.scaling.group_by_id(group) {
                    self.shrink_unregistered(g, *delta);
                }
            }
            Action::DeleteFailedInstances { group, count } => {
                if let Some(g) = self.scaling.group_by_id(group) {
                    let grp = &mut self.scaling.groups[g];
                    let k = (*count).min(grp.failed);
                    grp.failed -= k;
                    grp.target -= k;
                }
            }
            Action::DeleteNodes { nodes, drain } => {
                for name in nodes {
                    if let Some(n) = self.placement.node_by_name(name) {
                        self.start_deletion(settings, n, name, *drain);
                    }
                }
            }
            // PreferNoSchedule only nudges the scheduler's scores; not modelled.
            Action::SoftTaint { .. } => {}
        }
    }

    /// Lowers a group's target by `delta`: failed instances go first, then the newest
    /// nodes that have not registered (Provisioning).
    fn shrink_unregistered(&mut self, g: usize, delta: i32) {
        let from_failed = delta.min(self.scaling.groups[g].failed);
        self.scaling.groups[g].failed -= from_failed;
        self.scaling.groups[g].target -= delta;
        let mut left = delta - from_failed;
        let (pool, zone) = (self.scaling.groups[g].pool, self.scaling.groups[g].zone);
        for n in (0..self.nodes.len()).rev() {
            if left == 0 {
                break;
            }
            let node = &self.nodes[n];
            if node.state == NodeState::Provisioning
                && usize::from(node.pool) == pool
                && usize::from(node.zone) == zone
            {
                self.scaling.groups[g].live -= 1;
                self.scaling.deleting.insert(
                    n as NodeId,
                    Deletion {
                        since: self.now(),
                        name: String::new(),
                    },
                );
                self.node_terminated(n as NodeId);
                left -= 1;
            }
        }
    }

    /// CA deletes a node: it leaves its group at once, is cordoned (the
    /// ToBeDeletedByClusterAutoscaler taint), and after node-delete-delay-after-taint its pods
    /// are evicted as PDBs allow.
    fn start_deletion(&mut self, settings: &CaSettings, n: NodeId, name: &str, drain: bool) {
        if self.nodes[n as usize].state != NodeState::Ready {
            return;
        }
        self.set_draining(n, true);
        let (pool, zone) = (self.nodes[n as usize].pool, self.nodes[n as usize].zone);
        let g = self.scaling.group_of(pool, zone);
        self.scaling.groups[g].target -= 1;
        self.scaling.groups[g].live -= 1;
        self.scaling.deleting.insert(
            n,
            Deletion {
                since: self.now(),
                name: name.to_string(),
            },
        );
        self.books.count("scale-downs", 1);
        if !drain {
            self.books.count("scale-downs empty", 1);
        }
        let delay = SimDuration(settings.node_delete_delay_after_taint_ms);
        self.at(self.now() + delay, Event::DrainTick(n));
    }

    /// One eviction round: every pod whose PDBs allow it is evicted; when none is left the
    /// node is deleted; when a PDB still blocks after max-pod-eviction-time the deletion
    /// fails and the node returns to service.
    pub(super) fn drain_tick(&mut self, n: NodeId) {
        let Some(del) = self.scaling.deleting.get(&n) else {
            return;
        };
        if self.nodes[n as usize].state != NodeState::Draining {
            return;
        }
        let (since, name) = (del.since, del.name.clone());
        let mut blocked = false;
        for id in self.placement.pods_on(n) {
            if self.pods[id as usize].phase == Phase::Terminating {
                continue;
            }
            if self.eviction_allowed(id) {
                self.delete_pod(id, "scale-down");
            } else {
                blocked = true;
            }
        }
        let max_eviction = self.scaling.ca.as_ref().map_or(SimDuration::ZERO, |rt| {
            SimDuration(rt.settings.max_pod_eviction_time_ms)
        });
        if self.placement.pods_on(n).is_empty() {
            self.node_terminated(n);
        } else if blocked && self.now().since(since) > max_eviction {
            self.abort_deletion(n, name);
        } else {
            self.at(self.now() + EVICTION_RETRY, Event::DrainTick(n));
        }
    }

    /// The Eviction API: refused when a PDB covering the pod allows no disruption.
    pub(super) fn eviction_allowed(&self, id: super::placement::PodId) -> bool {
        let spec = &self.pods[id as usize].spec;
        pdb_status(self.sc, &self.deployments, &self.sc.pdbs)
            .iter()
            .filter(|p| {
                p.namespace == spec.namespace
                    && autoscaler::scheduler::matching::label_selector_matches(
                        &p.selector,
                        &spec.labels,
                    )
            })
            .all(|p| p.disruptions_allowed > 0)
    }

    fn abort_deletion(&mut self, n: NodeId, name: String) {
        self.scaling.deleting.remove(&n);
        self.set_draining(n, false);
        let (pool, zone) = (self.nodes[n as usize].pool, self.nodes[n as usize].zone);
        let g = self.scaling.group_of(pool, zone);
        self.scaling.groups[g].target += 1;
        self.scaling.groups[g].live += 1;
        self.books.count("scale-downs failed", 1);
        if let Some(rt) = self.scaling.ca.as_mut() {
            rt.scale_down_failures.push(name);
        }
        self.cluster_changed();
    }
}
