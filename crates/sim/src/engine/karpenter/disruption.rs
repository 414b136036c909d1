//! Karpenter's disruption controller in the engine: the 10 s poll and its skip rule, the
//! 15 s validation, carrying a command out (replacements, cordon, drain), and the timeouts.

use std::hash::{Hash, Hasher};

use autoscaler::karpenter::disruption::{self as kd, Command, KNode, KPod, Method};
use autoscaler::karpenter::nodepool::Budget;

use super::{karpenter_capacity, model_capacity, KarpenterRuntime, Waiting, DISRUPTION_POLL};
use crate::engine::placement::NodeId;
use crate::engine::state::{pdb_status, Engine, Event, NodeState, Phase};
use crate::scenario::cron::CronSchedule;
use crate::scenario::model::KarpenterSettings;
use crate::time::SimDuration;

/// How long a graceful disruption command waits before it is validated again and carried
/// out (KC: the disruption queue's validation TTL).
pub const COMMAND_VALIDATION: SimDuration = SimDuration::from_secs(15);
/// How long the disruption controller trusts that an unchanged cluster stays consolidated.
const CONSOLIDATED_STATE_TTL: SimDuration = SimDuration::from_secs(300);
/// How long a command waits for its replacements to initialize before it fails and its
/// candidates are untainted (clamp(80 ms × queued commands, 10 m, 1 h): 10 m here, with one
/// command at a time).
const REPLACEMENT_TIMEOUT: SimDuration = SimDuration::from_secs(600);
/// How often a node being deleted is retried for evictions that a PDB refused.
const EVICTION_RETRY: SimDuration = SimDuration::from_secs(5);
/// `controller.kubernetes.io/pod-deletion-cost`.
const POD_DELETION_COST: &str = "controller.kubernetes.io/pod-deletion-cost";

/// Whether a budget is active at `unix_s`: one without a schedule always is; one with a
/// schedule from each firing `f` for `[f, f + duration)`.
pub(in crate::engine) fn budget_active(b: &Budget, unix_s: i64) -> bool {
    let (Some(text), Some(duration_ms)) = (&b.schedule, b.duration_ms) else {
        return true;
    };
    let Ok(cron) = CronSchedule::parse(text) else {
        return false; // the loader rejected invalid schedules
    };
    cron.next_after(unix_s - duration_ms / 1000)
        .is_some_and(|t| t <= unix_s)
}

impl Engine<'_> {
    pub(in crate::engine) fn karpenter_disrupt(&mut self) {
        let now = self.now();
        self.at(now + DISRUPTION_POLL, Event::KarpenterDisrupt);
        let Some(k) = self.karpenter_settings() else {
            return;
        };
        self.karpenter_replacement_timeouts();
        let fingerprint = self.karpenter_fingerprint();
        let rt = self.scaling.karpenter.as_ref().expect("Karpenter runs");
        if rt.validating.is_some() {
            return;
        }
        let due = rt.next_deadline_ms.is_some_and(|d| now.0 >= d);
        let scheduled = rt
            .pools
            .iter()
            .any(|p| p.budgets.iter().any(|b| b.schedule.is_some()));
        // Replayed spot prices change under an unchanged cluster: Karpenter's consolidated
        // state lapses after 5 minutes, so look again at least that often.
        let repriced = !self.sc.settings.spot.prices.is_empty()
            && now.since(rt.last_pass) >= CONSOLIDATED_STATE_TTL;
        if fingerprint == rt.fingerprint && !due && !scheduled && !repriced {
            return;
        }
        self.books.count("disruption passes run", 1);
        self.scaling
            .karpenter
            .as_mut()
            .expect("Karpenter runs")
            .last_pass = now;
        let (commands, ids) = self.karpenter_decide(k, fingerprint, None);
        for cmd in &commands {
            if cmd.method == Method::Expiration {
                self.karpenter_execute(cmd, &ids);
            } else {
                let candidates = cmd.candidates.iter().map(|&i| ids[i]).collect();
                let rt = self.scaling.karpenter.as_mut().expect("Karpenter runs");
                rt.validating = Some((cmd.method, candidates));
                self.at(now + COMMAND_VALIDATION, Event::KarpenterValidate);
            }
        }
    }

    /// Commands whose replacements are not Ready after [`REPLACEMENT_TIMEOUT`] fail: their
    /// candidates return to service (the replacements stay, for consolidation to judge).
    fn karpenter_replacement_timeouts(&mut self) {
        let now = self.now();
        let rt = self.scaling.karpenter.as_mut().expect("Karpenter runs");
        let (late, waiting): (Vec<Waiting>, Vec<Waiting>) = std::mem::take(&mut rt.waiting)
            .into_iter()
            .partition(|w| now.since(w.since) >= REPLACEMENT_TIMEOUT);
        rt.waiting = waiting;
        for c in late.into_iter().flat_map(|w| w.candidates) {
            self.karpenter_uncordon(c);
        }
    }

    /// The validation of a waiting command: the command's candidates, simulated afresh (the
    /// other nodes only as destinations), must give the same method on the same candidates;
    /// its (fresh) replacements are then launched.
    pub(in crate::engine) fn karpenter_validate(&mut self) {
        let Some(k) = self.karpenter_settings() else {
            return;
        };
        let rt = self.scaling.karpenter.as_mut().expect("Karpenter runs");
        let Some((method, candidates)) = rt.validating.take() else {
            return;
        };
        // Whatever comes out, the next poll runs a full pass.
        let (commands, ids) = self.karpenter_decide(k, 0, Some(&candidates));
        let same = commands.iter().find(|c| {
            c.method == method
                && c.candidates
                    .iter()
                    .map(|&i| ids[i])
                    .eq(candidates.iter().copied())
        });
        match same {
            Some(cmd) => self.karpenter_execute(cmd, &ids),
            None => self.books.count("disruption commands invalidated", 1),
        }
    }

    /// One `disrupt` pass on the current cluster, over `only` these candidates if given;
    /// `fingerprint` is recorded as the state it saw. Returns the commands and the engine ids
    /// of the node indices they use.
    fn karpenter_decide(
        &mut self,
        k: &KarpenterSettings,
        fingerprint: u64,
        only: Option<&[NodeId]>,
    ) -> (Vec<Command>, Vec<NodeId>) {
        let now = self.now();
        let mut rt = self.scaling.karpenter.take().expect("Karpenter runs");
        rt.fingerprint = fingerprint;
        self.reprice_spot_offerings(&mut rt);
        let (mut knodes, ids) = self.knodes(&rt);
        if let Some(only) = only {
            // The others stay in the simulation as destinations but are no candidates.
            for (node, id) in knodes.iter_mut().zip(&ids) {
                node.do_not_disrupt |= !only.contains(id);
            }
        }
        let pending = self.karpenter_pending();
        let usage = self.karpenter_usage(&rt);
        let unix_s = self.sc.start_unix_s + now.0 / 1000;
        let active = |b: &Budget| budget_active(b, unix_s);
        // The kept table is the one `disrupt` would build: it is rebuilt whenever the set of
        // unavailable offerings changes, and spot prices are not in it.
        let table = rt.table(&usage, now);
        let cat = rt.catalog(&usage, now);
        let commands =
            kd::disrupt_with_table(&cat, &table, &knodes, &pending, &k.disruption, &active);
        let deadline = kd::next_deadline_ms(&cat, &knodes);
        rt.next_deadline_ms = deadline;
        self.scaling.karpenter = Some(rt);
        (commands, ids)
    }

    /// What could change a disruption pass's outcome, hashed.
    fn karpenter_fingerprint(&self) -> u64 {
        let mut h = std::hash::DefaultHasher::new();
        for (n, node) in self.nodes.iter().enumerate() {
            let managed = self.sc.node_pools[node.pool as usize].karpenter.is_some();
            if managed && node.state != NodeState::Terminated {
                (n, node.state as u8).hash(&mut h);
                self.placement.pods_on(n as NodeId).hash(&mut h);
            }
        }
        for id in self.unschedulable_pods() {
            (id as usize).hash(&mut h);
        }
        for pdb in pdb_status(self.sc, &self.deployments, &self.sc.pdbs) {
            (pdb.disruptions_allowed > 0).hash(&mut h);
        }
        h.finish()
    }

    /// The Karpenter nodes as `disrupt` reads them, and their engine ids.
    fn knodes(&self, rt: &KarpenterRuntime) -> (Vec<KNode>, Vec<NodeId>) {
        let pdbs = pdb_status(self.sc, &self.deployments, &self.sc.pdbs);
        let (mut out, mut ids) = (Vec::new(), Vec::new());
        for (n, node) in self.nodes.iter().enumerate() {
            let pool = &self.sc.node_pools[node.pool as usize];
            let (Some(k), true) = (pool.karpenter, node.state != NodeState::Terminated) else {
                continue;
            };
            let Some(spec) = self.placement.node_spec_shared(n as NodeId) else {
                continue;
            };
            let pods = self
                .placement
                .pods_on(n as NodeId)
                .into_iter()
                .map(|id| {
                    let pod = &self.pods[id as usize];
                    let annotations = &self.template(pod.owner).annotations;
                    let blocked = pdbs.iter().any(|p| {
                        p.disruptions_allowed == 0
                            && p.namespace == pod.spec.namespace
                            && autoscaler::scheduler::matching::label_selector_matches(
                                &p.selector,
                                &pod.spec.labels,
                            )
                    });
                    KPod {
                        spec: pod.spec.clone(),
                        deletion_cost: annotations
                            .get(POD_DELETION_COST)
                            .and_then(|v| v.parse().ok())
                            .unwrap_or(0),
                        do_not_disrupt: annotations
                            .get(kd::DO_NOT_DISRUPT)
                            .is_some_and(|v| v == "true"),
                        reschedulable: pod.phase != Phase::Terminating,
                        pdb_blocked: blocked,
                    }
                })
                .collect();
            let up = matches!(node.state, NodeState::Ready | NodeState::Draining);
            out.push(KNode {
                spec,
                pool: k,
                instance_type: rt.types[usize::from(node.instance_type)].name.clone(),
                capacity_type: karpenter_capacity(node.capacity),
                zone: pool
                    .zones
                    .get(usize::from(node.zone))
                    .cloned()
                    .unwrap_or_default(),
                price_usd_per_hour: self.sc.price_usd_per_hour(
                    &pool.instance_types[usize::from(node.instance_type)],
                    node.capacity,
                    pool.zones
                        .get(usize::from(node.zone))
                        .map_or("", String::as_str),
                    SimDuration(self.now().0),
                ),
                pods,
                initialized: up,
                ready: up,
                marked_for_deletion: node.state == NodeState::Draining
                    || rt.disrupting.contains_key(&(n as NodeId)),
                nominated: false,
                do_not_disrupt: false,
                drifted: false,
                created_ms: node.created.0,
                last_pod_event_ms: rt.last_pod_event_ms.get(n).copied().unwrap_or(0),
            });
            ids.push(n as NodeId);
        }
        (out, ids)
    }

    /// Carries out one command: replacements first (a refused launch cancels it), then the
    /// candidates are cordoned and drained, at once or when the replacements are Ready.
    fn karpenter_execute(&mut self, cmd: &Command, ids: &[NodeId]) {
        let now = self.now();
        let cause = match cmd.method {
            Method::Expiration => "expiration",
            Method::Drift => "drift",
            _ => "consolidation",
        };
        let mut launches = Vec::new();
        for l in &cmd.replacements {
            if self.launch_fails_for(&l.instance_type, &l.zone, model_capacity(l.capacity_type)) {
                self.books
                    .count("launches failed (insufficient capacity)", 1);
                let rt = self.scaling.karpenter.as_mut().expect("Karpenter runs");
                rt.mark_unavailable(l, now);
                return;
            }
            let rt = self.scaling.karpenter.as_ref().expect("Karpenter runs");
            let t = rt
                .types
                .iter()
                .position(|t| t.name == l.instance_type)
                .expect("a catalog type");
            launches.push((t, l));
        }
        let candidates: Vec<NodeId> = cmd
            .candidates
            .iter()
            .map(|&i| ids[i])
            .filter(|&n| self.karpenter_cordon(n, cause))
            .collect();
        if candidates.is_empty() {
            return;
        }
        self.books
            .count(&format!("disruption commands {:?}", cmd.method), 1);
        if launches.is_empty() {
            for n in candidates {
                self.at(now, Event::KarpenterDrain(n));
            }
            return;
        }
        self.books
            .count("consolidation replacements", launches.len() as u64);
        let replacements = launches
            .into_iter()
            .map(|(t, l)| self.launch_karpenter_node(l.pool, t, &l.zone, l.capacity_type, false))
            .collect();
        let rt = self.scaling.karpenter.as_mut().expect("Karpenter runs");
        rt.waiting.push(Waiting {
            candidates,
            replacements,
            since: now,
        });
    }

    /// Taints a Ready node `karpenter.sh/disrupted:NoSchedule` (a cordon here).
    fn karpenter_cordon(&mut self, n: NodeId, cause: &'static str) -> bool {
        if self.nodes[n as usize].state != NodeState::Ready {
            return false;
        }
        self.set_draining(n, true);
        let rt = self.scaling.karpenter.as_mut().expect("Karpenter runs");
        rt.disrupting.insert(n, (cause, None));
        true
    }

    /// Returns a cordoned candidate to service (its command was cancelled).
    pub(super) fn karpenter_uncordon(&mut self, n: NodeId) {
        let rt = self.scaling.karpenter.as_mut().expect("Karpenter runs");
        if rt.disrupting.remove(&n).is_none() || self.nodes[n as usize].state != NodeState::Draining
        {
            return;
        }
        self.set_draining(n, false);
        self.books.count("disruptions cancelled", 1);
        self.cluster_changed();
    }

    /// One eviction round on a node Karpenter deletes; the node goes when no pod is left.
    /// Evictions respect PDBs until the NodePool's `terminationGracePeriod` has passed since
    /// the drain began; then the pods left are deleted.
    pub(in crate::engine) fn karpenter_drain(&mut self, n: NodeId) {
        let now = self.now();
        if self.nodes[n as usize].state != NodeState::Draining {
            return;
        }
        let Some(rt) = self.scaling.karpenter.as_mut() else {
            return;
        };
        let Some((cause, began)) = rt.disrupting.get_mut(&n) else {
            return;
        };
        let (cause, began) = (*cause, *began.get_or_insert(now));
        let k = self.sc.node_pools[self.nodes[n as usize].pool as usize]
            .karpenter
            .expect("a Karpenter node");
        let forced = rt.pools[k]
            .termination_grace_ms
            .is_some_and(|g| now.since(began).0 >= g);
        for id in self.placement.pods_on(n) {
            if self.pods[id as usize].phase != Phase::Terminating
                && (forced || self.eviction_allowed(id))
            {
                self.delete_pod(id, cause);
            }
        }
        if self.placement.pods_on(n).is_empty() {
            let counter = match cause {
                "expiration" => "nodes expired",
                "drift" => "nodes drifted",
                _ => "nodes consolidated",
            };
            self.books.count(counter, 1);
            self.node_terminated(n);
        } else {
            self.at(self.now() + EVICTION_RETRY, Event::KarpenterDrain(n));
        }
    }
}
