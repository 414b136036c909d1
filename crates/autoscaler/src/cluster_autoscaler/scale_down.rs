//! Scale-down: candidates, utilization from requests, the drain simulation with its blocking
//! rules in CA's order, unneeded timers, cooldowns and deletion budgets (reference §3; CA:
//! `core/scaledown/*`, `simulator/drainability/rules/*`, `simulator/utilization/info.go`).

use crate::fast_hash::FxHashMap;
use crate::model::Resources;

use super::observation::{annotations, NodeGroupInfo, NodeInfo, Observation, PdbInfo, PodInfo};
use super::settings::CaSettings;
use super::{is_expendable, is_unready, Action, CaState, Cluster, Decision, EventType};

/// Pods past their deletion grace period by this much are ignored (CA's drain rules).
const POD_LONG_TERMINATING_EXTRA_MS: i64 = 30_000;

/// Why a pod blocks the removal of its node (CA's `drain.BlockingPodReason`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockingPodReason {
    ControllerNotFound,
    MinReplicasReached,
    NotReplicated,
    LocalStorageRequested,
    NotSafeToEvictAnnotation,
    UnmovableKubeSystemPod,
    NotEnoughPdb,
}

/// Why a node is not removable (CA's `simulator.UnremovableReason`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unremovable {
    ScaleDownDisabledAnnotation,
    NotAutoscaled,
    NotUnderutilized,
    NodeGroupMinSizeReached,
    MinimalResourceLimitExceeded,
    CurrentlyBeingDeleted,
    RecentlyUnremovable,
    NotReady,
    NoPlaceToMovePods,
    BlockedByPod {
        pod: String,
        reason: BlockingPodReason,
    },
}

/// The outcome of the drain rules for one pod.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DrainOutcome {
    /// Ignored (mirror pods, long-terminating pods).
    Skip,
    /// Goes away with the node without being moved (DaemonSet, terminal pods).
    Drop,
    /// Must be rescheduled elsewhere.
    Move,
    Block(BlockingPodReason),
}

/// CA's drainability rules, checked in order; the first rule with an answer wins.
pub fn drain_rule(
    settings: &CaSettings,
    pod: &PodInfo,
    pdbs: &[PdbInfo],
    now_ms: i64,
) -> DrainOutcome {
    use BlockingPodReason::*;
    if pod.mirror {
        return DrainOutcome::Skip;
    }
    if pod.deletion_ms.is_some_and(|t| {
        now_ms - t > pod.termination_grace_s * 1000 + POD_LONG_TERMINATING_EXTRA_MS
    }) {
        return DrainOutcome::Skip;
    }
    if settings.skip_nodes_with_custom_controller_pods {
        if let Some(c) = &pod.controller {
            if !c.exists {
                return DrainOutcome::Block(ControllerNotFound);
            }
            let replicated_set = matches!(c.kind.as_str(), "ReplicaSet" | "ReplicationController");
            if replicated_set && c.replicas.is_some_and(|r| r < settings.min_replica_count) {
                return DrainOutcome::Block(MinReplicasReached);
            }
        }
    }
    if pod.is_daemonset() {
        return DrainOutcome::Drop;
    }
    let safe = pod.safe_to_evict();
    if safe == Some("true") {
        return DrainOutcome::Move;
    }
    if pod.terminal {
        return DrainOutcome::Drop;
    }
    if safe == Some("on-completion") {
        return DrainOutcome::Block(NotSafeToEvictAnnotation);
    }
    let replicated = match &pod.controller {
        None => false,
        Some(c) => !settings.skip_nodes_with_custom_controller_pods || c.is_builtin(),
    };
    if !replicated {
        return DrainOutcome::Block(NotReplicated);
    }
    let has_pdb = pdbs.iter().any(|p| p.matches(&pod.spec));
    let young = now_ms - pod.created_ms < settings.blocking_system_pod_disruption_timeout_ms;
    if settings.skip_nodes_with_system_pods
        && pod.spec.namespace == "kube-system"
        && !has_pdb
        && young
    {
        return DrainOutcome::Block(UnmovableKubeSystemPod);
    }
    if safe == Some("false") {
        return DrainOutcome::Block(NotSafeToEvictAnnotation);
    }
    if settings.skip_nodes_with_local_storage && !local_volumes_safe(pod) {
        return DrainOutcome::Block(LocalStorageRequested);
    }
    if pdbs
        .iter()
        .any(|p| p.matches(&pod.spec) && p.disruptions_allowed < 1)
    {
        return DrainOutcome::Block(NotEnoughPdb);
    }
    DrainOutcome::Move
}

/// Every local volume is listed in `safe-to-evict-local-volumes`.
fn local_volumes_safe(pod: &PodInfo) -> bool {
    let listed: Vec<&str> = pod
        .annotations
        .get(annotations::SAFE_TO_EVICT_LOCAL_VOLUMES)
        .map(|s| s.split(',').map(str::trim).collect())
        .unwrap_or_default();
    pod.local_volumes
        .iter()
        .all(|v| listed.contains(&v.as_str()))
}

/// Node utilization from requests: max(cpu, memory) share of allocatable, or the GPU share
/// on GPU nodes. Expendable and terminal pods do not count; DaemonSet (and mirror) pods are
/// taken out of both sides when the flags say so.
pub fn utilization(settings: &CaSettings, node: &NodeInfo, ignore_ds: bool) -> f64 {
    let mut alloc = node.spec.allocatable;
    let mut used = Resources::ZERO;
    for p in node
        .pods
        .iter()
        .filter(|p| !p.terminal && !is_expendable(settings, p.spec.priority))
    {
        let ignored = (ignore_ds && p.is_daemonset())
            || (settings.ignore_mirror_pods_utilization && p.mirror);
        if ignored {
            alloc = alloc.sub(&p.spec.requests);
        } else {
            used = used.add(&p.spec.requests);
        }
    }
    let share = |u: i64, a: i64| if a > 0 { u as f64 / a as f64 } else { 0.0 };
    if node.has_gpu {
        return share(used.gpu, alloc.gpu);
    }
    share(used.cpu_m, alloc.cpu_m).max(share(used.memory_bytes, alloc.memory_bytes))
}

/// Planning and deletion for one loop.
#[allow(clippy::too_many_arguments)]
pub fn run(
    settings: &CaSettings,
    state: &mut CaState,
    obs: &Observation,
    cluster: &mut Cluster,
    now_ms: i64,
    disabled_this_loop: bool,
    d: &mut Decision,
) {
    let removable = plan(settings, state, obs, cluster, now_ms, d);
    let previous = std::mem::take(&mut state.unneeded_since_ms);
    for r in &removable {
        let since = previous.get(&r.node).copied().unwrap_or(now_ms);
        state.unneeded_since_ms.insert(r.node.clone(), since);
        d.unneeded_nodes.push(r.node.clone());
    }
    let fresh: Vec<String> = removable
        .iter()
        .filter(|r| !previous.contains_key(&r.node))
        .take(settings.max_bulk_soft_taint_count.max(0) as usize)
        .map(|r| r.node.clone())
        .collect();
    let blocked = if disabled_this_loop {
        Some("scale-down disabled this loop: all unschedulable pods are new".to_string())
    } else if !settings.scale_down_enabled {
        Some("scale-down is disabled".to_string())
    } else if settings.scale_down_delay_type_local {
        None
    } else {
        global_cooldown(settings, state, now_ms)
    };
    if let Some(why) = blocked {
        d.scale_down_blocked = Some(why);
    } else {
        delete(settings, state, obs, cluster, &removable, now_ms, d);
    }
    let deleted: Vec<&String> = d
        .actions
        .iter()
        .flat_map(|a| match a {
            Action::DeleteNodes { nodes, .. } => nodes.iter().collect(),
            _ => Vec::new(),
        })
        .collect();
    let soft: Vec<String> = fresh
        .into_iter()
        .filter(|n| !deleted.contains(&n))
        .collect();
    if !soft.is_empty() {
        d.actions.push(Action::SoftTaint { nodes: soft });
    }
}

/// CA's `isScaleDownInCooldown` reasons, global form.
fn global_cooldown(settings: &CaSettings, state: &CaState, now_ms: i64) -> Option<String> {
    let within = |t: Option<i64>, delay: i64| t.is_some_and(|t| now_ms < t + delay);
    if within(
        state.last_scale_up_ms,
        settings.scale_down_delay_after_add_ms,
    ) {
        return Some("in cooldown: scale-down-delay-after-add".into());
    }
    if within(
        state.last_scale_down_failure_ms,
        settings.scale_down_delay_after_failure_ms,
    ) {
        return Some("in cooldown: scale-down-delay-after-failure".into());
    }
    if within(
        state.last_scale_down_delete_ms,
        settings.scale_down_delay_after_delete_ms,
    ) {
        return Some("in cooldown: scale-down-delay-after-delete".into());
    }
    None
}

/// The same delays applied to one group (`scale-down-delay-type-local`).
fn group_in_cooldown(settings: &CaSettings, state: &CaState, group: &str, now_ms: i64) -> bool {
    let within = |m: &std::collections::BTreeMap<String, i64>, delay: i64| {
        m.get(group).is_some_and(|t| now_ms < t + delay)
    };
    within(
        &state.group_last_scale_up_ms,
        settings.scale_down_delay_after_add_ms,
    ) || within(
        &state.group_last_failure_ms,
        settings.scale_down_delay_after_failure_ms,
    ) || within(
        &state.group_last_delete_ms,
        settings.scale_down_delay_after_delete_ms,
    )
}

/// A node found removable this loop.
#[derive(Debug, Clone)]
pub struct Removable {
    pub node: String,
    /// Index into `Observation::nodes`.
    pub obs_idx: usize,
    /// Index into the loop's cluster snapshot.
    pub sim_idx: usize,
    /// No pod needs to move.
    pub empty: bool,
    pub utilization: f64,
}

/// Finds removable nodes: eligible, under the threshold, every pod drainable and placeable
/// elsewhere (filter-only, first-fit), committing each success to the snapshot.
fn plan(
    settings: &CaSettings,
    state: &mut CaState,
    obs: &Observation,
    cluster: &mut Cluster,
    now_ms: i64,
    d: &mut Decision,
) -> Vec<Removable> {
    let mut candidates = candidates(settings, state, obs, cluster, now_ms, d);
    // Empty nodes first, then those unneeded in the previous loop (pre_filtering_processor).
    // (Keys computed once per node: each reads a map keyed by node name.)
    candidates.sort_by_cached_key(|(_, sim, _)| {
        let empty = !cluster.packing.has_pods(*sim);
        let was_unneeded = state
            .unneeded_since_ms
            .contains_key(&cluster.packing.spec(*sim).name);
        (!empty, !was_unneeded)
    });
    let n = settings.max_scale_down_parallelism as i64;
    let loops_per_unneeded =
        settings.scale_down_unneeded_time_ms / settings.scan_interval_ms.max(1);
    let cap = (state.unneeded_since_ms.len() as i64 + 2 * n)
        .min(n * loops_per_unneeded + n)
        .max(n);
    let mut pdbs = obs.pdbs.clone();
    let mut out = Vec::new();
    let mut cursor = 0usize;
    for (obs_idx, sim_idx, util) in candidates {
        if out.len() as i64 >= cap {
            break;
        }
        let node = &obs.nodes[obs_idx];
        match simulate_removal(
            settings,
            node,
            sim_idx,
            cluster,
            &mut pdbs,
            &mut cursor,
            now_ms,
        ) {
            Ok(empty) => out.push(Removable {
                node: node.spec.name.clone(),
                obs_idx,
                sim_idx,
                empty,
                utilization: util,
            }),
            Err(reason) => {
                state.unremovable_until_ms.insert(
                    node.spec.name.clone(),
                    now_ms + settings.unremovable_node_recheck_timeout_ms,
                );
                d.unremovable.push((obs_idx, reason));
            }
        }
    }
    out
}

/// Eligible candidates as (observation index, snapshot index, utilization); ineligible ones
/// are reported in `d.unremovable`.
fn candidates(
    settings: &CaSettings,
    state: &CaState,
    obs: &Observation,
    cluster: &Cluster,
    now_ms: i64,
    d: &mut Decision,
) -> Vec<(usize, usize, f64)> {
    let mut out = Vec::new();
    // Every node's group is looked up: by hash, not by comparing it with each group's id.
    let mut by_id: FxHashMap<&str, &NodeGroupInfo> = FxHashMap::default();
    for ng in &obs.node_groups {
        by_id.entry(ng.id.as_str()).or_insert(ng);
    }
    for (sim_idx, origin) in cluster.origin.iter().enumerate() {
        let Some(obs_idx) = *origin else { continue };
        let node = &obs.nodes[obs_idx];
        let name = &node.spec.name;
        let Some(&group) = node.group.as_deref().and_then(|g| by_id.get(g)) else {
            continue;
        };
        // NotStarted nodes are upcoming capacity, not candidates.
        if !node.ready && !is_unready(settings, node, now_ms) {
            continue;
        }
        let reject = if node.being_deleted || state.deleting.contains_key(name) {
            Some(Unremovable::CurrentlyBeingDeleted)
        } else if node
            .annotations
            .get(annotations::SCALE_DOWN_DISABLED)
            .is_some_and(|v| v == "true")
        {
            Some(Unremovable::ScaleDownDisabledAnnotation)
        } else if !node.ready && !settings.scale_down_unready_enabled {
            Some(Unremovable::NotReady)
        } else if group.target_size <= group.min_size {
            Some(Unremovable::NodeGroupMinSizeReached)
        } else if state
            .unremovable_until_ms
            .get(name)
            .is_some_and(|t| *t > now_ms)
        {
            Some(Unremovable::RecentlyUnremovable)
        } else if settings.scale_down_delay_type_local
            && group_in_cooldown(settings, state, &group.id, now_ms)
        {
            continue;
        } else {
            None
        };
        if let Some(r) = reject {
            d.unremovable.push((obs_idx, r));
            continue;
        }
        let opts = &group.options;
        let ignore_ds = opts
            .ignore_daemonsets_utilization
            .unwrap_or(settings.ignore_daemonsets_utilization);
        let util = utilization(settings, node, ignore_ds);
        let threshold = if node.has_gpu {
            opts.scale_down_gpu_utilization_threshold
                .unwrap_or(settings.scale_down_gpu_utilization_threshold)
        } else {
            opts.scale_down_utilization_threshold
                .unwrap_or(settings.scale_down_utilization_threshold)
        };
        // CA 1.36 compares `util > threshold`, so a 0 threshold still removes empty nodes.
        if util > threshold {
            d.unremovable.push((obs_idx, Unremovable::NotUnderutilized));
            continue;
        }
        out.push((obs_idx, sim_idx, util));
    }
    out
}

/// Drain rules for every pod, then first-fit placement of the pods that must move onto the
/// other real nodes, round-robin from where the last placement succeeded. On success the
/// move is committed: pods land on their new nodes, the node stops being a destination and
/// PDB budgets shrink. Returns whether the node was empty.
#[allow(clippy::too_many_arguments)]
fn simulate_removal(
    settings: &CaSettings,
    node: &NodeInfo,
    sim_idx: usize,
    cluster: &mut Cluster,
    pdbs: &mut [PdbInfo],
    cursor: &mut usize,
    now_ms: i64,
) -> Result<bool, Unremovable> {
    let mut to_move = Vec::new();
    for pod in node
        .pods
        .iter()
        .filter(|p| !is_expendable(settings, p.spec.priority))
    {
        match drain_rule(settings, pod, pdbs, now_ms) {
            DrainOutcome::Block(reason) => {
                return Err(Unremovable::BlockedByPod {
                    pod: pod.id.clone(),
                    reason,
                })
            }
            DrainOutcome::Move => to_move.push(pod),
            DrainOutcome::Skip | DrainOutcome::Drop => {}
        }
    }
    let packing = &mut cluster.packing;
    let mark = packing.checkpoint();
    // The ghost keeps its place (zone counts for spreads) but takes no pods.
    packing.set_unschedulable(sim_idx, true);
    packing.clear_node(sim_idx);
    let total = cluster.origin.len();
    for pod in &to_move {
        let order = (0..total)
            .map(|k| (*cursor + k) % total)
            .filter(|&i| i != sim_idx && cluster.origin[i].is_some());
        match packing.place_first_fit(&pod.spec, order) {
            Some(i) => *cursor = (i + 1) % total,
            None => {
                packing.rollback(mark);
                return Err(Unremovable::NoPlaceToMovePods);
            }
        }
    }
    for pod in &to_move {
        for pdb in pdbs.iter_mut().filter(|p| p.matches(&pod.spec)) {
            pdb.disruptions_allowed -= 1;
        }
    }
    Ok(to_move.is_empty())
}

/// Deletes the unneeded nodes whose timers ran out, within the group minimums, the
/// cluster's resource minimums and the parallelism budgets.
fn delete(
    settings: &CaSettings,
    state: &mut CaState,
    obs: &Observation,
    cluster: &Cluster,
    removable: &[Removable],
    now_ms: i64,
    d: &mut Decision,
) {
    let mut in_flight = state.deleting.len() as i32;
    let mut drains = state.deleting.values().filter(|drain| **drain).count() as i32;
    let (mut cores, mut gib) = super::scale_up::cluster_totals(cluster);
    let mut empty_nodes = Vec::new();
    let mut drain_nodes = Vec::new();
    let mut ordered: Vec<&Removable> = removable.iter().collect();
    ordered.sort_by_key(|r| !r.empty);
    for r in ordered {
        let node = &obs.nodes[r.obs_idx];
        let group = node
            .group
            .as_deref()
            .and_then(|g| obs.node_groups.iter().find(|ng| ng.id == g));
        let Some(group) = group else { continue };
        let opts = &group.options;
        let wait_ms = if node.ready {
            opts.scale_down_unneeded_time_ms
                .unwrap_or(settings.scale_down_unneeded_time_ms)
        } else {
            opts.scale_down_unready_time_ms
                .unwrap_or(settings.scale_down_unready_time_ms)
        };
        if now_ms <= state.unneeded_since_ms[&r.node] + wait_ms {
            continue;
        }
        let deleting_in_group = state
            .deleting
            .keys()
            .chain(empty_nodes.iter())
            .chain(drain_nodes.iter())
            .filter(|n| {
                obs.nodes
                    .iter()
                    .any(|o| &o.spec.name == *n && o.group.as_deref() == Some(group.id.as_str()))
            })
            .count() as i32;
        if group.target_size - deleting_in_group <= group.min_size {
            d.unremovable
                .push((r.obs_idx, Unremovable::NodeGroupMinSizeReached));
            continue;
        }
        let node_cores = node.capacity.cpu_m as f64 / 1000.0;
        let node_gib = node.capacity.memory_bytes as f64 / (1u64 << 30) as f64;
        if cores - node_cores < settings.cores_total_min as f64
            || gib - node_gib < settings.memory_total_gib_min as f64
        {
            d.unremovable
                .push((r.obs_idx, Unremovable::MinimalResourceLimitExceeded));
            continue;
        }
        if in_flight >= settings.max_scale_down_parallelism
            || (!r.empty && drains >= settings.max_drain_parallelism)
        {
            continue;
        }
        in_flight += 1;
        cores -= node_cores;
        gib -= node_gib;
        if r.empty {
            empty_nodes.push(r.node.clone());
        } else {
            drains += 1;
            drain_nodes.push(r.node.clone());
        }
    }
    record_deletions(state, obs, &empty_nodes, false, now_ms, d);
    record_deletions(state, obs, &drain_nodes, true, now_ms, d);
}

fn record_deletions(
    state: &mut CaState,
    obs: &Observation,
    nodes: &[String],
    drain: bool,
    now_ms: i64,
    d: &mut Decision,
) {
    if nodes.is_empty() {
        return;
    }
    for name in nodes {
        state.deleting.insert(name.clone(), drain);
        state.unneeded_since_ms.remove(name);
        if let Some(g) = obs
            .nodes
            .iter()
            .find(|n| &n.spec.name == name)
            .and_then(|n| n.group.clone())
        {
            state.group_last_delete_ms.insert(g, now_ms);
        }
        let (reason, msg) = if drain {
            (
                "ScaleDown",
                format!("Scale-down: removing node {name}, pods will be evicted"),
            )
        } else {
            (
                "ScaleDownEmpty",
                format!("Scale-down: removing empty node {name:?}"),
            )
        };
        d.event(EventType::Normal, reason, format!("node/{name}"), msg);
    }
    state.last_scale_down_delete_ms = Some(now_ms);
    d.actions.push(Action::DeleteNodes {
        nodes: nodes.to_vec(),
        drain,
    });
}

/// The caller reports a deletion that failed synchronously (tainting, cloud API): CA
/// un-taints the node and holds scale-down for `scale-down-delay-after-failure`.
pub fn record_failure(state: &mut CaState, node: &str, group: Option<&str>, now_ms: i64) {
    state.deleting.remove(node);
    state.last_scale_down_failure_ms = Some(now_ms);
    if let Some(g) = group {
        state.group_last_failure_ms.insert(g.to_string(), now_ms);
    }
}
