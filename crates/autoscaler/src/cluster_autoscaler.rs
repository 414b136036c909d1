//! The cluster-autoscaler's decision logic as one pure `RunOnce`: settings, the loop's
//! observation, the carried state and `now` in; actions, events and the new state out.
//!
//! - [`settings`]: the flags and their Kubernetes defaults.
//! - [`observation`]: node groups, nodes, pods, PDBs as one loop lists them.
//! - [`scale_up`]: pending pods → expansion options → expander → limits → balancing.
//! - [`estimator`]: equivalence groups and first-fit-decreasing binpacking.
//! - [`expander`]: random, most-pods, least-waste, least-nodes, price, priority.
//! - [`scale_down`]: utilization, drain rules, unneeded timers, deletion budgets.
//! - [`backoff`]: per-group exponential backoff.
//!
//! **Boundary:** nothing here performs an action. The caller resizes groups, taints,
//! evicts and deletes, and reports back (instance errors, nodes gone) in the next
//! observation. Time is `now_ms`, milliseconds of the caller's clock.

pub mod backoff;
pub mod estimator;
pub mod expander;
pub mod observation;
pub mod scale_down;
pub mod scale_up;
pub mod settings;

#[cfg(test)]
mod tests;
#[cfg(test)]
mod tests_scale_down;

use std::collections::BTreeMap;

use rand::Rng;

use crate::model::{NodeSchedulingSpec, Resources};
use crate::node_fit::Packing;
use crate::scheduler::{ClusterSnapshot, NodeId, PodId};

use backoff::Backoff;
use observation::{NodeInfo, Observation};
pub use settings::{CaSettings, ConfigError, ExpanderKind};

/// What CA remembers between loops.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaState {
    pub backoff: Backoff,
    /// Open scale-up requests per group (CA's `ScaleUpRequest`).
    pub scale_up_requests: BTreeMap<String, ScaleUpRequest>,
    /// Node → first loop that found it removable.
    pub unneeded_since_ms: BTreeMap<String, i64>,
    /// Node → time until which it is not rechecked, after being found unremovable.
    pub unremovable_until_ms: BTreeMap<String, i64>,
    pub last_scale_up_ms: Option<i64>,
    pub last_scale_down_delete_ms: Option<i64>,
    pub last_scale_down_failure_ms: Option<i64>,
    /// The same three instants per node group, for `scale-down-delay-type-local`.
    pub group_last_scale_up_ms: BTreeMap<String, i64>,
    pub group_last_delete_ms: BTreeMap<String, i64>,
    pub group_last_failure_ms: BTreeMap<String, i64>,
    /// Nodes whose deletion CA started and that still exist: node → drained (not empty).
    pub deleting: BTreeMap<String, bool>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScaleUpRequest {
    pub increase: i32,
    pub start_ms: i64,
    pub expected_add_ms: i64,
}

/// One thing the caller must do.
#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    /// Raise the group's target size by `delta` (to `new_size`).
    ScaleUp {
        group: String,
        delta: i32,
        new_size: i32,
    },
    /// Lower the target size (requested nodes that never came).
    DecreaseTargetSize { group: String, delta: i32 },
    /// Delete the instances that failed to be created (shrinks the target).
    DeleteFailedInstances { group: String, count: i32 },
    /// Taint `ToBeDeletedByClusterAutoscaler`, cordon, wait `node-delete-delay-after-taint`,
    /// evict (if `drain`) respecting PDBs, then delete.
    DeleteNodes { nodes: Vec<String>, drain: bool },
    /// `DeletionCandidateOfClusterAutoscaler:PreferNoSchedule` on these unneeded nodes.
    SoftTaint { nodes: Vec<String> },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EventType {
    Normal,
    Warning,
}

/// A Kubernetes event as CA would record it.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub kind: EventType,
    pub reason: &'static str,
    /// `pod/ns/name`, `node/name`, `nodegroup/id` or `configmap/cluster-autoscaler-status`.
    pub object: String,
    pub message: String,
}

/// The output of one loop.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Decision {
    pub actions: Vec<Action>,
    pub events: Vec<Event>,
    /// Nodes found removable this loop (timers running).
    pub unneeded_nodes: Vec<String>,
    /// Why no deletion could happen this loop, if it was blocked.
    pub scale_down_blocked: Option<String>,
    /// Nodes found unremovable this loop (index into the observation's `nodes`), with CA's
    /// status reason: see [`Decision::unremovable_nodes`] for names. (A loop finds most
    /// nodes of a busy cluster unremovable; copying every name each loop was a fifth of it.)
    pub unremovable: Vec<(usize, scale_down::Unremovable)>,
    /// CA starts the next loop at once after a scale-up or a deletion.
    pub rerun_immediately: bool,
}

impl Decision {
    /// [`unremovable`](Self::unremovable) by node name, for the observation the loop ran on.
    pub fn unremovable_nodes<'a>(
        &'a self,
        obs: &'a Observation,
    ) -> impl Iterator<Item = (&'a str, &'a scale_down::Unremovable)> + 'a {
        let name = |i: usize| obs.nodes[i].spec.name.as_str();
        self.unremovable.iter().map(move |(i, r)| (name(*i), r))
    }

    fn event(&mut self, kind: EventType, reason: &'static str, object: String, message: String) {
        self.events.push(Event {
            kind,
            reason,
            object,
            message,
        });
    }
}

/// One cluster-autoscaler loop. Pure: everything it needs is an argument.
pub fn run_once(
    settings: &CaSettings,
    state: &CaState,
    obs: &Observation,
    now_ms: i64,
    rng: &mut impl Rng,
) -> (Decision, CaState) {
    run_with(settings, state, obs, now_ms, rng, |st| {
        Cluster::build(settings, st, obs, now_ms)
    })
}

/// [`run_once`] on top of the caller's scheduler snapshot, which holds the observation's
/// nodes and their bound pods: the loop's what-if changes are applied to it and undone before
/// returning, so a large cluster is not rebuilt every loop.
pub fn run_once_on_snapshot(
    settings: &CaSettings,
    state: &CaState,
    obs: &Observation,
    snapshot: &mut ClusterSnapshot,
    now_ms: i64,
    rng: &mut impl Rng,
) -> (Decision, CaState) {
    run_with(settings, state, obs, now_ms, rng, |st| {
        Cluster::build_on(snapshot, settings, st, obs, now_ms)
    })
}

fn run_with<'a>(
    settings: &CaSettings,
    state: &CaState,
    obs: &Observation,
    now_ms: i64,
    rng: &mut impl Rng,
    build: impl FnOnce(&CaState) -> Cluster<'a>,
) -> (Decision, CaState) {
    let mut state = state.clone();
    let mut decision = Decision::default();
    refresh_state(settings, &mut state, obs, now_ms, &mut decision);
    if let Some(msg) = cluster_unhealthy(settings, obs, now_ms) {
        state.unneeded_since_ms.clear();
        decision.scale_down_blocked = Some(msg.clone());
        let object = "configmap/cluster-autoscaler-status".to_string();
        decision.event(EventType::Warning, "ClusterUnhealthy", object, msg);
        return (decision, state);
    }
    if handle_timeouts(settings, &mut state, obs, now_ms, &mut decision) {
        return (decision, state);
    }
    let mut cluster = build(&state);
    let up = scale_up::run(
        settings,
        &mut state,
        obs,
        &mut cluster,
        now_ms,
        rng,
        &mut decision,
    );
    scale_down::run(
        settings,
        &mut state,
        obs,
        &mut cluster,
        now_ms,
        up.scale_down_disabled,
        &mut decision,
    );
    drop(cluster);
    if settings.enforce_node_group_min_size {
        enforce_min_size(obs, &mut state, settings, now_ms, &mut decision);
    }
    decision.rerun_immediately = decision
        .actions
        .iter()
        .any(|a| matches!(a, Action::ScaleUp { .. } | Action::DeleteNodes { .. }));
    (decision, state)
}

/// The earliest time at which the same observation could give a different decision: an
/// unneeded timer running out, a cooldown, backoff or recheck ending, a scale-up request
/// timing out. A caller whose observation has not changed may skip loops until then.
pub fn next_deadline_ms(settings: &CaSettings, state: &CaState) -> Option<i64> {
    next_deadline_after_ms(settings, state, i64::MIN)
}

/// [`next_deadline_ms`] among the deadlines later than `after_ms`: a caller that ran a loop
/// at `after_ms` needs no other before this (cooldowns long over stay in the state and would
/// otherwise always be the minimum).
pub fn next_deadline_after_ms(
    settings: &CaSettings,
    state: &CaState,
    after_ms: i64,
) -> Option<i64> {
    // Timers compare `now > since + wait`, so the decision changes one millisecond after.
    let wait = settings
        .scale_down_unneeded_time_ms
        .min(settings.scale_down_unready_time_ms);
    let timers = state.unneeded_since_ms.values().map(|s| s + wait + 1);
    let cooldowns = [
        state
            .last_scale_up_ms
            .map(|t| t + settings.scale_down_delay_after_add_ms),
        state
            .last_scale_down_failure_ms
            .map(|t| t + settings.scale_down_delay_after_failure_ms),
        state
            .last_scale_down_delete_ms
            .map(|t| t + settings.scale_down_delay_after_delete_ms),
    ];
    let backoffs = state.backoff.entries.values().map(|e| e.until_ms);
    let requests = state.scale_up_requests.values().map(|r| r.expected_add_ms);
    let rechecks = state.unremovable_until_ms.values().copied();
    timers
        .chain(cooldowns.into_iter().flatten())
        .chain(backoffs)
        .chain(requests)
        .chain(rechecks)
        .filter(|&t| t > after_ms)
        .min()
}

/// A node is Unready (not merely NotStarted) once it has been registered longer than
/// `max-node-startup-time` without becoming Ready.
pub fn is_unready(settings: &CaSettings, node: &NodeInfo, now_ms: i64) -> bool {
    !node.ready && now_ms - node.created_ms > settings.max_node_startup_time_ms
}

/// Nodes requested for `group` and not yet Ready (NotStarted ones included), counted only
/// while the group has an open scale-up request and is not backed off.
pub fn upcoming_nodes(
    settings: &CaSettings,
    state: &CaState,
    obs: &Observation,
    group: &str,
    now_ms: i64,
) -> i32 {
    if !state.scale_up_requests.contains_key(group) || state.backoff.is_backed_off(group, now_ms) {
        return 0;
    }
    raw_upcoming(settings, obs, group, now_ms)
}

fn raw_upcoming(settings: &CaSettings, obs: &Observation, group: &str, now_ms: i64) -> i32 {
    let Some(ng) = obs.node_groups.iter().find(|g| g.id == group) else {
        return 0;
    };
    let registered = obs
        .nodes
        .iter()
        .filter(|n| {
            n.group.as_deref() == Some(group) && (n.ready || is_unready(settings, n, now_ms))
        })
        .count() as i32;
    (ng.target_size - registered).max(0)
}

/// Drops state about nodes that are gone, records instance-creation errors (immediate
/// backoff), and closes scale-up requests with no nodes left to come.
fn refresh_state(
    settings: &CaSettings,
    state: &mut CaState,
    obs: &Observation,
    now_ms: i64,
    d: &mut Decision,
) {
    for name in &obs.scale_down_failures {
        let group = obs
            .nodes
            .iter()
            .find(|n| &n.spec.name == name)
            .and_then(|n| n.group.as_deref());
        scale_down::record_failure(state, name, group, now_ms);
        let msg = format!(
            "failed to delete node {name}; scale-down held for scale-down-delay-after-failure"
        );
        d.event(
            EventType::Warning,
            "ScaleDownFailed",
            format!("node/{name}"),
            msg,
        );
    }
    let exists = |name: &str| obs.nodes.iter().any(|n| n.spec.name == name);
    state.deleting.retain(|n, _| exists(n));
    state.unneeded_since_ms.retain(|n, _| exists(n));
    state
        .unremovable_until_ms
        .retain(|n, until| exists(n) && *until > now_ms);
    state.backoff.forget_stale(settings, now_ms);
    for err in &obs.instance_errors {
        let until_ms = state.backoff.fail(settings, &err.group, now_ms);
        if let Some(req) = state.scale_up_requests.get_mut(&err.group) {
            req.increase -= err.count;
        }
        d.actions.push(Action::DeleteFailedInstances {
            group: err.group.clone(),
            count: err.count,
        });
        let msg = format!(
            "Failed adding {} nodes to group {} due to {}; source errors: {}; backed off until {} ms",
            err.count, err.group, err.class, err.code, until_ms
        );
        d.event(
            EventType::Warning,
            "ScaleUpFailed",
            format!("nodegroup/{}", err.group),
            msg,
        );
    }
    let groups: Vec<String> = state.scale_up_requests.keys().cloned().collect();
    for g in groups {
        let done = raw_upcoming(settings, obs, &g, now_ms) == 0;
        if done || state.scale_up_requests[&g].increase <= 0 {
            state.scale_up_requests.remove(&g);
        }
    }
}

/// Requests still open past `max-node-provision-time`: back off, lower the target by the
/// nodes that never came (CA 1.36), and skip the rest of the loop.
fn handle_timeouts(
    settings: &CaSettings,
    state: &mut CaState,
    obs: &Observation,
    now_ms: i64,
    d: &mut Decision,
) -> bool {
    let mut timed_out = false;
    let groups: Vec<(String, ScaleUpRequest)> = state
        .scale_up_requests
        .iter()
        .map(|(g, r)| (g.clone(), *r))
        .collect();
    for (group, req) in groups {
        if now_ms < req.expected_add_ms {
            continue;
        }
        timed_out = true;
        state.backoff.fail(settings, &group, now_ms);
        state.scale_up_requests.remove(&group);
        let missing = raw_upcoming(settings, obs, &group, now_ms);
        if missing > 0 {
            d.actions.push(Action::DecreaseTargetSize {
                group: group.clone(),
                delta: missing,
            });
        }
        let wait_s = (req.expected_add_ms - req.start_ms) / 1000;
        let msg = format!("Nodes added to group {group} failed to register within {wait_s}s");
        d.event(
            EventType::Warning,
            "ScaleUpTimedOut",
            format!("nodegroup/{group}"),
            msg,
        );
    }
    timed_out
}

/// CA's `IsClusterHealthy`: unhealthy when unready nodes exceed both the absolute and the
/// percentage allowance.
fn cluster_unhealthy(settings: &CaSettings, obs: &Observation, now_ms: i64) -> Option<String> {
    let unready = obs
        .nodes
        .iter()
        .filter(|n| is_unready(settings, n, now_ms))
        .count();
    let total = obs.nodes.len();
    let pct_limit = settings.max_total_unready_percentage / 100.0 * total as f64;
    let unhealthy = unready as i32 > settings.ok_total_unready_count && unready as f64 > pct_limit;
    unhealthy.then(|| format!("Cluster is unhealthy: {unready} of {total} nodes unready"))
}

fn enforce_min_size(
    obs: &Observation,
    state: &mut CaState,
    settings: &CaSettings,
    now_ms: i64,
    d: &mut Decision,
) {
    for ng in &obs.node_groups {
        let pending = d
            .actions
            .iter()
            .any(|a| matches!(a, Action::ScaleUp { group, .. } if *group == ng.id));
        if ng.target_size >= ng.min_size || pending || state.backoff.is_backed_off(&ng.id, now_ms) {
            continue;
        }
        let delta = ng.min_size - ng.target_size;
        scale_up::register_scale_up(settings, state, &ng.id, delta, now_ms);
        d.actions.push(Action::ScaleUp {
            group: ng.id.clone(),
            delta,
            new_size: ng.min_size,
        });
        let msg = format!(
            "Scale-up: group {} size set to {} (min size enforced)",
            ng.id, ng.min_size
        );
        d.event(
            EventType::Normal,
            "ScaledUpGroup",
            format!("nodegroup/{}", ng.id),
            msg,
        );
    }
}

/// The loop's cluster snapshot: real nodes with their non-expendable pods, nominated pods on
/// their nominated nodes, then the upcoming fake nodes. Slot `i` of the packing is node `i`.
pub struct Cluster<'a> {
    pub packing: Packing<'a>,
    /// Index into `Observation::nodes` for real nodes, `None` for upcoming fakes.
    pub origin: Vec<Option<usize>>,
    /// Whether each node belongs to a node group (quotas count only those).
    pub in_group: Vec<bool>,
    /// Capacity per node (quotas are computed on capacity, not allocatable).
    pub capacity: Vec<Resources>,
}

impl Cluster<'static> {
    /// Builds the loop's snapshot from the observation alone.
    pub fn build(
        settings: &CaSettings,
        state: &CaState,
        obs: &Observation,
        now_ms: i64,
    ) -> Cluster<'static> {
        Cluster::fill(Packing::new(), None, settings, state, obs, now_ms)
    }
}

impl<'a> Cluster<'a> {
    /// Builds the loop's snapshot on top of the caller's: nodes it holds (matched by name)
    /// keep their bound pods and are not rebuilt; the rest come from the observation. Every
    /// change is undone when the cluster is dropped.
    pub fn build_on(
        snap: &'a mut ClusterSnapshot,
        settings: &CaSettings,
        state: &CaState,
        obs: &Observation,
        now_ms: i64,
    ) -> Cluster<'a> {
        let ids = snap.node_ids().to_vec();
        Cluster::fill(Packing::over(snap), Some(ids), settings, state, obs, now_ms)
    }

    fn fill(
        packing: Packing<'a>,
        existing: Option<Vec<NodeId>>,
        settings: &CaSettings,
        state: &CaState,
        obs: &Observation,
        now_ms: i64,
    ) -> Cluster<'a> {
        let n = obs.nodes.len();
        let mut packing = packing;
        packing.reserve(n);
        let mut c = Cluster {
            packing,
            origin: Vec::with_capacity(n),
            in_group: Vec::with_capacity(n),
            capacity: Vec::with_capacity(n),
        };
        let mut next_existing = 0;
        for (i, n) in obs.nodes.iter().enumerate() {
            // Not-ready and deleting nodes take no pods (the node.kubernetes.io/not-ready and
            // ToBeDeletedByClusterAutoscaler taints).
            let closed = !n.ready || n.being_deleted || state.deleting.contains_key(&n.spec.name);
            let held = existing.as_deref().and_then(|ids| {
                // The caller's hint, if it names a live node (a stale one would leave the
                // loop a slot without a node); otherwise the node is matched by name.
                let hint = obs.snapshot_nodes.get(i).copied();
                let live = hint.filter(|&id| c.packing.snapshot().node(id).is_some());
                if let Some(id) = live {
                    let named = c.packing.snapshot().node(id).map(|n| &n.spec.name);
                    debug_assert_eq!(named, Some(&n.spec.name), "snapshot_nodes[{i}]");
                    return Some(id);
                }
                c.held_node(ids, &mut next_existing, &n.spec.name)
            });
            if let Some(id) = held {
                c.push_existing(id, settings, closed, i, n);
                continue;
            }
            let mut spec = n.spec.clone();
            spec.unschedulable |= closed;
            let slot = c.push(spec, Some(i), n.group.is_some(), n.capacity);
            for p in n
                .pods
                .iter()
                .filter(|p| !p.terminal && !is_expendable(settings, p.spec.priority))
            {
                c.packing.place(p.spec.clone(), slot);
            }
        }
        for pending in &obs.unschedulable {
            let Some(nominated) = &pending.nominated_node else {
                continue;
            };
            if let Some(slot) = obs.nodes.iter().position(|n| &n.spec.name == nominated) {
                c.packing.place(pending.pod.spec.clone(), slot);
            }
        }
        for ng in &obs.node_groups {
            for k in 0..upcoming_nodes(settings, state, obs, &ng.id, now_ms) {
                let mut spec = ng.template.clone();
                spec.name = format!("upcoming-{}-{k}", ng.id);
                spec.labels
                    .insert(crate::model::well_known::HOSTNAME.into(), spec.name.clone());
                c.push(spec, None, true, ng.template_capacity);
            }
        }
        c
    }

    /// A node of the caller's snapshot: closed if need be, its expendable pods taken off
    /// (they do not exist for CA's simulations).
    /// The caller's node named `name`, if it holds one. Observations usually list nodes in
    /// the snapshot's order, so the search starts after the last match.
    fn held_node(&self, ids: &[NodeId], next: &mut usize, name: &str) -> Option<NodeId> {
        let snap = self.packing.snapshot();
        let named = |id: &NodeId| snap.node(*id).is_some_and(|n| n.spec.name == name);
        let found = ids[(*next).min(ids.len())..]
            .iter()
            .position(named)
            .map(|k| k + *next)
            .or_else(|| ids.iter().position(named))?;
        *next = found + 1;
        Some(ids[found])
    }

    fn push_existing(
        &mut self,
        id: NodeId,
        settings: &CaSettings,
        closed: bool,
        origin: usize,
        n: &NodeInfo,
    ) {
        let slot = self.packing.add_existing(id);
        self.capacity.push(n.capacity);
        self.origin.push(Some(origin));
        self.in_group.push(n.group.is_some());
        if closed && !self.packing.spec(slot).unschedulable {
            self.packing.set_unschedulable(slot, true);
        }
        // The observation lists the same pods; most nodes have no expendable one to look up,
        // which the node's requests by priority (lowest first) tell at once.
        let lowest = self.packing.info(slot).requested_by_priority.first();
        if !lowest.is_some_and(|(p, _)| is_expendable(settings, *p)) {
            return;
        }
        let expendable: Vec<PodId> = self
            .packing
            .info(slot)
            .pods
            .iter()
            .copied()
            .filter(|&p| {
                self.packing
                    .snapshot()
                    .pod(p)
                    .is_some_and(|b| is_expendable(settings, b.spec.priority))
            })
            .collect();
        for p in expendable {
            self.packing.unbind(p);
        }
    }

    /// Real and upcoming nodes (the estimator's template nodes come and go above these).
    pub fn len(&self) -> usize {
        self.origin.len()
    }

    pub fn is_empty(&self) -> bool {
        self.origin.is_empty()
    }

    fn push(
        &mut self,
        spec: NodeSchedulingSpec,
        origin: Option<usize>,
        in_group: bool,
        capacity: Resources,
    ) -> usize {
        self.packing.add_node(spec);
        self.capacity.push(capacity);
        self.origin.push(origin);
        self.in_group.push(in_group);
        self.origin.len() - 1
    }
}

/// A pod is expendable when its priority is strictly below the cutoff.
pub fn is_expendable(settings: &CaSettings, priority: i32) -> bool {
    priority < settings.expendable_pods_priority_cutoff
}
