//! The cluster-autoscaler's observation, kept between loops instead of listed afresh.
//!
//! CA lists the cluster at the start of every loop; building that list from scratch is
//! O(pods) per loop and was most of a long run's cost. The view keeps the last observation
//! and, per loop, rebuilds only the nodes whose scheduler-snapshot stamp moved (a pod bound,
//! unbound or terminating, a cordon or taint) plus the few cheap parts (group sizes and
//! prices, pending pods, PDBs). A view synced from scratch and one synced incrementally are
//! the same observation; a test checks this loop by loop.

use autoscaler::cluster_autoscaler::observation::{
    annotations, Controller, InstanceErrors, NodeGroupInfo, NodeInfo, Observation, PdbInfo,
    PendingPod, PodInfo,
};
use std::sync::Arc;

use autoscaler::model::{NodeSchedulingSpec, Resources};

use super::placement::NodeId;
use super::state::{node_spec, pdb_status, Engine, NodeState, Owner, Phase};
use crate::time::SimDuration;

/// The observation and what it was built from.
#[derive(Default)]
pub(super) struct CaView {
    pub obs: Observation,
    /// Engine node id of each `obs.nodes` entry (ascending, as `obs.nodes` is).
    node_ids: Vec<NodeId>,
    /// The snapshot stamp each `obs.nodes` entry was built at.
    stamps: Vec<u64>,
    /// What each entry's pods were built from.
    pod_ids: Vec<Vec<PodKey>>,
    /// The snapshot's spec each entry's spec was copied from: the same allocation means the
    /// same spec (it is never changed in place), which spares comparing them.
    specs: Vec<Arc<NodeSchedulingSpec>>,
    /// The snapshot version, layout version and engine node-state count the node entries
    /// were last synced at: with the same layout and node states, only nodes stamped since
    /// need a look.
    synced: Option<(u64, u64, u64)>,
}

/// A pod slot, its generation, and whether it was terminating: a pod whose key is unchanged
/// needs no new `PodInfo` (but for its controller's replicas).
#[derive(Clone, Copy, PartialEq, Eq)]
struct PodKey {
    id: u32,
    gen: u32,
    terminating: bool,
}

impl Engine<'_> {
    /// Brings `view` up to date with the cluster; returns the earliest time a pending pod
    /// becomes old enough for CA to consider it (no event marks that moment).
    pub(super) fn sync_ca_view(
        &mut self,
        view: &mut CaView,
        new_pod_scale_up_delay_ms: i64,
        min_replica_count: i32,
    ) -> Option<i64> {
        // Reported once each, by the loop itself.
        view.obs.instance_errors.clear();
        view.obs.scale_down_failures.clear();
        self.sync_groups(view);
        self.sync_nodes(view);
        if min_replica_count > 0 {
            // Only this setting reads a controller's replicas, which change without a
            // snapshot change (an HPA rescale).
            for (node, keys) in view.obs.nodes.iter_mut().zip(&view.pod_ids) {
                for (pod, key) in node.pods.iter_mut().zip(keys) {
                    self.refresh_replicas(pod, key.id);
                }
            }
        }
        view.obs.pdbs = pdb_status(self.sc, &self.deployments, &self.sc.pdbs)
            .into_iter()
            .map(|p| PdbInfo {
                namespace: p.namespace,
                selector: p.selector,
                disruptions_allowed: p.disruptions_allowed,
            })
            .collect();
        self.sync_pending(view, new_pod_scale_up_delay_ms)
    }

    /// Tests: panics, showing where, if `view` differs from a view synced from scratch.
    pub(super) fn assert_ca_view_fresh(&mut self, view: &CaView, delay_ms: i64, min_replicas: i32) {
        let mut fresh = CaView::default();
        self.sync_ca_view(&mut fresh, delay_ms, min_replicas);
        // Without min-replica-count nothing reads a controller's replicas, and they are kept
        // current only on nodes that changed.
        let shown = |obs: &Observation| {
            let mut obs = obs.clone();
            for pod in obs.nodes.iter_mut().flat_map(|n| &mut n.pods) {
                if let (0, Some(c)) = (min_replicas, &mut pod.controller) {
                    c.replicas = None;
                }
            }
            format!("{obs:?}")
        };
        let (kept, fresh) = (shown(&view.obs), shown(&fresh.obs));
        let at = kept
            .bytes()
            .zip(fresh.bytes())
            .take_while(|(a, b)| a == b)
            .count();
        let near = |s: &str| {
            s.get(at.saturating_sub(300)..(at + 300).min(s.len()))
                .map(str::to_string)
        };
        assert!(
            kept == fresh,
            "the kept CA view drifted from a fresh one:\nkept  {:?}\nfresh {:?}",
            near(&kept),
            near(&fresh)
        );
    }

    /// Node groups: templates once, then sizes and prices (spot prices move).
    fn sync_groups(&self, view: &mut CaView) {
        let now = SimDuration(self.now().0);
        if view.obs.node_groups.is_empty() {
            for g in &self.scaling.groups {
                let pool = &self.sc.node_pools[g.pool];
                let it = &pool.instance_types[0];
                view.obs.node_groups.push(NodeGroupInfo {
                    id: g.id.clone(),
                    min_size: pool.min_nodes,
                    max_size: pool.max_nodes,
                    target_size: g.target,
                    template_has_gpu: it.gpu_count > 0,
                    template_capacity: capacity_of(it),
                    template: node_spec(pool, g.zone, format!("template-{}", g.id)),
                    price_usd_per_hour: None,
                    options: Default::default(),
                });
            }
        }
        for (g, info) in self.scaling.groups.iter().zip(&mut view.obs.node_groups) {
            let pool = &self.sc.node_pools[g.pool];
            let zone = pool.zones.get(g.zone).map_or("", String::as_str);
            let it = &pool.instance_types[0];
            info.target_size = g.target;
            info.price_usd_per_hour =
                Some(
                    self.sc
                        .price_usd_per_hour(it, pool.capacity_type, zone, now),
                );
        }
    }

    /// Creation errors since the last loop, each reported once.
    pub(super) fn take_instance_errors(&mut self) -> Vec<InstanceErrors> {
        let mut errors = Vec::new();
        for g in &mut self.scaling.groups {
            if g.unreported_errors > 0 {
                errors.push(InstanceErrors {
                    group: g.id.clone(),
                    count: g.unreported_errors,
                    class: "OutOfResources".into(),
                    code: "InsufficientInstanceCapacity".into(),
                });
                g.unreported_errors = 0;
            }
        }
        errors
    }

    /// Registered nodes (Ready or being deleted), rebuilt where their stamp moved.
    fn sync_nodes(&self, view: &mut CaView) {
        let snap = self.placement.snapshot();
        let now = (
            snap.version(),
            snap.layout_version(),
            self.node_state_changes,
        );
        let last = view.synced.replace(now);
        // No node came, went, was respecified or changed state: the nodes stamped since the
        // last sync are the only ones that can differ.
        let changed = last
            .filter(|l| (l.1, l.2) == (now.1, now.2))
            .and_then(|l| snap.nodes_changed_since(l.0));
        let Some(changed) = changed else {
            return self.sync_all_nodes(view);
        };
        for sid in changed {
            let Some(n) = self.placement.engine_id(sid) else {
                continue;
            };
            let Ok(at) = view.node_ids.binary_search(&n) else {
                continue;
            };
            let stamp = self.placement.node_stamp(n);
            if view.stamps[at] != stamp {
                let (info, keys) = (&mut view.obs.nodes[at], &mut view.pod_ids[at]);
                self.refresh_node(n, info, keys, &mut view.specs[at]);
                view.stamps[at] = stamp;
            }
        }
    }

    /// [`sync_nodes`](Self::sync_nodes) by a walk over every node.
    fn sync_all_nodes(&self, view: &mut CaView) {
        let mut at = 0;
        for n in self.placement.live_nodes() {
            let node = &self.nodes[n as usize];
            if !matches!(node.state, NodeState::Ready | NodeState::Draining) {
                continue;
            }
            while view.node_ids.get(at).is_some_and(|&old| old < n) {
                view.remove_node(at);
            }
            let stamp = self.placement.node_stamp(n);
            let deleting = node.state == NodeState::Draining;
            if view.node_ids.get(at) == Some(&n) {
                if view.stamps[at] != stamp || view.obs.nodes[at].being_deleted != deleting {
                    let (info, keys) = (&mut view.obs.nodes[at], &mut view.pod_ids[at]);
                    self.refresh_node(n, info, keys, &mut view.specs[at]);
                    view.stamps[at] = stamp;
                }
            } else {
                let (mut info, mut keys) = (self.ca_node_info(n), Vec::new());
                let mut spec = self.placement.node_spec_shared(n).expect("a live node");
                self.refresh_node(n, &mut info, &mut keys, &mut spec);
                view.obs.nodes.insert(at, info);
                let sid = self.placement.snapshot_id(n);
                view.obs.snapshot_nodes.insert(at, sid);
                view.pod_ids.insert(at, keys);
                view.specs.insert(at, spec);
                view.node_ids.insert(at, n);
                view.stamps.insert(at, stamp);
            }
            at += 1;
        }
        while view.node_ids.len() > at {
            view.remove_node(at);
        }
    }

    /// A node's entry without its pods (see [`refresh_node`](Self::refresh_node)).
    fn ca_node_info(&self, n: NodeId) -> NodeInfo {
        let node = &self.nodes[n as usize];
        let pool = &self.sc.node_pools[node.pool as usize];
        let spec = self.placement.node_spec(n).expect("a live node");
        let group = self.scaling.group_of(node.pool, node.zone);
        NodeInfo {
            spec: spec.clone(),
            capacity: capacity_of(&pool.instance_types[0]),
            group: Some(self.scaling.groups[group].id.clone()),
            ready: true,
            created_ms: node.created.0,
            annotations: Default::default(),
            being_deleted: node.state == NodeState::Draining,
            has_gpu: pool.instance_types[0].gpu_count > 0,
            pods: Vec::new(),
        }
    }

    /// Brings a node's entry up to date: its spec, whether it is being deleted, and its pods,
    /// reusing the entries of pods that did not change. A node lists its pods in bind order
    /// (unbinds keep the order), so one pass over the old list finds them.
    fn refresh_node(
        &self,
        n: NodeId,
        info: &mut NodeInfo,
        keys: &mut Vec<PodKey>,
        copied_from: &mut Arc<NodeSchedulingSpec>,
    ) {
        let spec = self.placement.node_spec_shared(n).expect("a live node");
        if !Arc::ptr_eq(&spec, copied_from) {
            if info.spec != *spec {
                info.spec = (*spec).clone();
            }
            *copied_from = spec;
        }
        info.being_deleted = self.nodes[n as usize].state == NodeState::Draining;
        let on = self.placement.pods_on(n);
        let pods = std::mem::replace(&mut info.pods, Vec::with_capacity(on.len()));
        let mut old = pods
            .into_iter()
            .zip(std::mem::replace(keys, Vec::with_capacity(on.len())));
        for id in on {
            let pod = &self.pods[id as usize];
            let key = PodKey {
                id,
                gen: pod.gen,
                terminating: pod.phase == Phase::Terminating,
            };
            let reused = old.by_ref().find(|(_, k)| *k == key).map(|(p, _)| p);
            let mut built = reused.unwrap_or_else(|| self.pod_info(id));
            self.refresh_replicas(&mut built, id);
            info.pods.push(built);
            keys.push(key);
        }
    }

    /// Pods that failed a scheduling attempt and are still Pending, in pod id order.
    fn sync_pending(&self, view: &mut CaView, delay_ms: i64) -> Option<i64> {
        let now = self.now();
        let mut wake: Option<i64> = None;
        view.obs.unschedulable.clear();
        for id in self.unschedulable_pods() {
            let pod = &self.pods[id as usize];
            let info = self.pod_info(id);
            // CA leaves pods younger than their scale-up delay for later, and waits while
            // the oldest pending pod is under 2 s old (30 s for GPU pods).
            let own_delay_ms = info
                .annotations
                .get(annotations::POD_SCALE_UP_DELAY)
                .and_then(|raw| autoscaler::go_duration::parse_ms(raw))
                .map_or(delay_ms, |d| d.max(delay_ms));
            let gpu_ms = if info.requests_gpu() { 30_000 } else { 2_000 };
            for t in [pod.created.0 + own_delay_ms, pod.created.0 + gpu_ms] {
                if t > now.0 {
                    wake = Some(wake.map_or(t, |w| w.min(t)));
                }
            }
            view.obs.unschedulable.push(PendingPod {
                pod: info,
                nominated_node: None,
            });
        }
        wake
    }

    fn refresh_replicas(&self, pod: &mut PodInfo, id: u32) {
        if let (Owner::Deployment(d), Some(c)) = (self.pods[id as usize].owner, &mut pod.controller)
        {
            c.replicas = Some(self.deployments[d as usize].desired);
        }
    }

    fn pod_info(&self, id: u32) -> PodInfo {
        let pod = &self.pods[id as usize];
        let template = self.template(pod.owner);
        let mut controller = match pod.owner {
            Owner::Deployment(d) => Controller {
                kind: "ReplicaSet".into(),
                name: self.sc.deployments[d as usize].name.clone(),
                exists: true,
                replicas: None,
            },
            Owner::Job(j) => Controller {
                kind: "Job".into(),
                name: format!("job-{j}"),
                exists: true,
                replicas: None,
            },
        };
        let id_str = format!("{}/{}-{id}", pod.spec.namespace, controller.name);
        if let Owner::Deployment(d) = pod.owner {
            controller.replicas = Some(self.deployments[d as usize].desired);
        }
        PodInfo {
            id: id_str,
            spec: pod.spec.clone(),
            created_ms: pod.created.0,
            controller: Some(controller),
            annotations: template.annotations.clone(),
            mirror: false,
            terminal: false,
            deletion_ms: (pod.phase == Phase::Terminating).then_some(pod.deleted.0),
            termination_grace_s: template.termination_grace.as_millis() / 1000,
            local_volumes: Vec::new(),
        }
    }
}

impl CaView {
    fn remove_node(&mut self, at: usize) {
        self.obs.nodes.remove(at);
        self.obs.snapshot_nodes.remove(at);
        self.pod_ids.remove(at);
        self.specs.remove(at);
        self.node_ids.remove(at);
        self.stamps.remove(at);
    }
}

/// A node's capacity (CA's quotas and least-waste read capacity, not allocatable).
pub(super) fn capacity_of(it: &crate::scenario::model::InstanceType) -> Resources {
    Resources {
        cpu_m: it.vcpu * 1000,
        memory_bytes: it.memory_mib * 1024 * 1024,
        gpu: it.gpu_count,
        pods: it.allocatable.pods,
    }
}
