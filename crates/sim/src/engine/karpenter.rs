//! Karpenter in the engine: the provisioner and the disruption controller driving
//! `autoscaler::karpenter`'s pure functions, and carrying out what they decide.
//!
//! - Provisioning: a pod that fails to schedule opens a batch window (1 s idle, 10 s max);
//!   when it closes, the pending pods are packed onto the nodes (in-flight NodeClaims count
//!   as capacity) and onto new NodeClaims, each launched as the offering `choose_launch`
//!   picks. A launch the spot market refuses (`engine/spot.rs`) marks the offering unavailable
//!   for 3 minutes and the claim asks again at once, so it falls to the next offering and, when
//!   no spot offering is left, to on-demand, as Karpenter's next provisioning loop does.
//! - Disruption every 10 s: `disrupt` on the Karpenter nodes. A graceful command is computed
//!   again 15 s later and carried out only if the same command comes out (expiration acts at
//!   once); meanwhile the controller decides nothing else. Candidates are cordoned; a
//!   replacement is launched first and the candidates are drained (evictions as PDBs allow,
//!   cause `consolidation` or `expiration`) once it is Ready; a failed replacement launch
//!   cancels the command. A pass is skipped while the cluster's fingerprint (Karpenter nodes,
//!   their pods, pending pods, PDB allowances) is unchanged and no node has reached its
//!   `consolidateAfter` or `expireAfter` deadline: the pass would decide nothing new. (With a
//!   replayed spot price history, prices move under an unchanged cluster: a pass then runs at
//!   least every 5 minutes, as Karpenter's consolidated state lapses.)
//!
//! Not modelled: drift (nothing drifts in a run), nominations of pending pods to in-flight
//! NodeClaims.

use std::hash::{Hash, Hasher};
use std::sync::Arc;

use autoscaler::karpenter::disruption::{self as kd, Command, KNode, KPod, Method};
use autoscaler::karpenter::nodepool::{self as kp, Budget};
use autoscaler::karpenter::provisioning::{
    self as kprov, candidate_table, choose_launch, schedule, CandidateTable, Catalog,
    LaunchSettings, PoolUsage, UnavailableOfferings,
};
use autoscaler::model::{PodSchedulingSpec, Resources};
use autoscaler::node_fit::Packing;

use super::placement::{NodeId, PodId};
use super::state::{pdb_status, Engine, Event, NodeState, Phase};
use crate::scenario::cron::CronSchedule;
use crate::scenario::model::{CapacityType, KarpenterSettings, NodeAutoscaler, Scenario};
use crate::time::{SimDuration, SimTime};

/// How often the disruption controller polls.
pub const DISRUPTION_POLL: SimDuration = SimDuration::from_secs(10);
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

/// Karpenter's state in a run.
pub(super) struct KarpenterRuntime {
    /// The validated NodePools, indexed like `KarpenterSettings::pools`.
    pools: Vec<kp::NodePool>,
    /// The scenario node pool of each NodePool.
    pool_index: Vec<usize>,
    overhead: Vec<Resources>,
    /// `KarpenterSettings::instance_types` with their offerings.
    types: Vec<kprov::InstanceType>,
    unavailable: UnavailableOfferings,
    /// The candidate table, valid until an offering is marked or one's mark expires.
    table: Option<Arc<CandidateTable>>,
    launch: LaunchSettings,
    /// The open batch window: (first pod, latest new pod).
    batch: Option<(SimTime, SimTime)>,
    /// Nodes Karpenter is deleting: the eviction cause, and when the drain began.
    disrupting: std::collections::BTreeMap<NodeId, (&'static str, Option<SimTime>)>,
    /// Commands waiting for their replacements to turn Ready.
    waiting: Vec<Waiting>,
    /// The command waiting for its validation: (method, candidates). The controller decides
    /// nothing else meanwhile.
    validating: Option<(Method, Vec<NodeId>)>,
    /// Per engine node: its last pod bind or removal (or its initialization), ms.
    last_pod_event_ms: Vec<i64>,
    fingerprint: u64,
    next_deadline_ms: Option<i64>,
    /// When the last full disruption pass ran.
    last_pass: SimTime,
}

struct Waiting {
    candidates: Vec<NodeId>,
    replacements: Vec<NodeId>,
    since: SimTime,
}

impl KarpenterRuntime {
    pub fn new(sc: &Scenario) -> Option<KarpenterRuntime> {
        let NodeAutoscaler::Karpenter(k) = &sc.settings.node_autoscaler else {
            return None;
        };
        Some(KarpenterRuntime {
            pools: k.pools.iter().map(|p| p.spec.clone()).collect(),
            pool_index: k.pools.iter().map(|p| p.pool).collect(),
            overhead: k
                .pools
                .iter()
                .map(|p| sc.node_pools[p.pool].daemonset_overhead)
                .collect(),
            types: k
                .instance_types
                .iter()
                .map(|t| t.to_karpenter(&k.zones, &sc.settings.spot.hazard))
                .collect(),
            unavailable: UnavailableOfferings::default(),
            table: None,
            launch: k.disruption.launch,
            batch: None,
            disrupting: Default::default(),
            waiting: Vec::new(),
            validating: None,
            last_pod_event_ms: Vec::new(),
            fingerprint: 0,
            next_deadline_ms: None,
            last_pass: SimTime::ZERO,
        })
    }

    fn catalog<'a>(&'a self, usage: &'a [PoolUsage], now: SimTime) -> Catalog<'a> {
        Catalog {
            pools: &self.pools,
            types: &self.types,
            daemonset_overhead: &self.overhead,
            usage,
            unavailable: &self.unavailable,
            now_ms: now.0,
        }
    }

    /// The candidate table, rebuilt when the set of unavailable offerings changed.
    fn table(&mut self, usage: &[PoolUsage], now: SimTime) -> Arc<CandidateTable> {
        let expired = self.unavailable.until_ms.values().any(|&t| t <= now.0);
        if expired {
            self.unavailable.until_ms.retain(|_, t| *t > now.0);
            self.table = None;
        }
        if self.table.is_none() {
            self.table = Some(candidate_table(&self.catalog(usage, now)));
        }
        self.table.clone().expect("just built")
    }

    /// Skips an offering for 3 minutes (an insufficient-capacity error or a spot
    /// interruption).
    fn mark_unavailable(&mut self, l: &kprov::Launch, now: SimTime) {
        self.unavailable
            .mark(&l.instance_type, &l.zone, l.capacity_type, now.0);
        self.table = None;
    }
}

fn model_capacity(ct: kp::CapacityType) -> CapacityType {
    match ct {
        kp::CapacityType::Spot => CapacityType::Spot,
        kp::CapacityType::OnDemand | kp::CapacityType::Reserved => CapacityType::OnDemand,
    }
}

fn karpenter_capacity(ct: CapacityType) -> kp::CapacityType {
    match ct {
        CapacityType::Spot => kp::CapacityType::Spot,
        CapacityType::OnDemand => kp::CapacityType::OnDemand,
    }
}

/// Whether a budget is active at `unix_s`: one without a schedule always is; one with a
/// schedule from each firing `f` for `[f, f + duration)`.
pub(super) fn budget_active(b: &Budget, unix_s: i64) -> bool {
    let (Some(text), Some(duration_ms)) = (&b.schedule, b.duration_ms) else {
        return true;
    };
    let Ok(cron) = CronSchedule::parse(text) else {
        return false; // the loader rejected invalid schedules
    };
    cron.next_after(unix_s - duration_ms / 1000)
        .is_some_and(|t| t <= unix_s)
}

impl<'a> Engine<'a> {
    fn karpenter_settings(&self) -> Option<&'a KarpenterSettings> {
        match &self.sc.settings.node_autoscaler {
            NodeAutoscaler::Karpenter(k) => Some(k),
            _ => None,
        }
    }

    /// Creates the NodePools' initial nodes (Ready at once) and starts the disruption loop.
    pub(super) fn start_karpenter(&mut self) {
        let Some(k) = self.karpenter_settings() else {
            return;
        };
        for (kpool, pool) in k.pools.iter().enumerate() {
            let zones = &self.sc.node_pools[pool.pool].zones;
            let mut z = 0;
            for &(t, ct, count) in &pool.initial {
                for _ in 0..count {
                    let zone = zones[z % zones.len()].clone();
                    z += 1;
                    let n =
                        self.launch_karpenter_node(kpool, t, &zone, karpenter_capacity(ct), true);
                    self.node_ready(n);
                }
            }
        }
        self.at(SimTime::ZERO + DISRUPTION_POLL, Event::KarpenterDisrupt);
    }

    /// Creates a node of NodePool `kpool`; `initial` ones skip the provisioning delay.
    fn launch_karpenter_node(
        &mut self,
        kpool: usize,
        type_index: usize,
        zone: &str,
        ct: kp::CapacityType,
        initial: bool,
    ) -> NodeId {
        let rt = self.scaling.karpenter.as_ref().expect("Karpenter runs");
        let it = &rt.types[type_index];
        let offering = it
            .offerings
            .iter()
            .find(|o| o.zone == zone && o.capacity_type == ct)
            .expect("launches pick an offering of the type");
        let spec = kprov::node_spec(&rt.pools[kpool], it, offering, rt.overhead[kpool]);
        let pool = rt.pool_index[kpool];
        let zone_index = self.sc.node_pools[pool]
            .zones
            .iter()
            .position(|z| z == zone)
            .unwrap_or(0);
        let n = self.add_node_as(pool, zone_index, type_index, model_capacity(ct), spec);
        // A node takes no pods before it is Ready.
        self.placement.set_unschedulable(n, true);
        if !initial {
            self.books.count("nodes launched", 1);
            let delay = self.sc.node_pools[pool]
                .provisioning_delay
                .sample(&mut self.scaling.rng_launch);
            self.at(self.now() + delay, Event::NodeReady(n));
        }
        n
    }

    // ----- hooks called by the engine -----

    /// A pod failed to schedule: open the batch window, or extend it for a pod new to it.
    pub(super) fn pod_unschedulable_hook(&mut self, id: PodId) {
        let now = self.now();
        let first_failure = self.pods[id as usize].attempts == 1;
        let Some(k) = self.karpenter_settings() else {
            return;
        };
        let rt = self.scaling.karpenter.as_mut().expect("Karpenter runs");
        match &mut rt.batch {
            None => {
                rt.batch = Some((now, now));
                self.at(now + k.batch_idle, Event::KarpenterBatch);
            }
            Some((_, last)) if first_failure => *last = now,
            Some(_) => {}
        }
    }

    pub(super) fn pod_bound_hook(&mut self, n: NodeId) {
        self.touch_karpenter_node(n);
    }

    pub(super) fn pod_left_node_hook(&mut self, n: NodeId) {
        self.touch_karpenter_node(n);
    }

    fn touch_karpenter_node(&mut self, n: NodeId) {
        let now = self.now().0;
        if let Some(rt) = self.scaling.karpenter.as_mut() {
            let i = n as usize;
            if rt.last_pod_event_ms.len() <= i {
                rt.last_pod_event_ms.resize(i + 1, 0);
            }
            rt.last_pod_event_ms[i] = now;
        }
    }

    /// A Karpenter node turned Ready: commands whose replacements are all Ready drain their
    /// candidates now.
    pub(super) fn karpenter_node_ready(&mut self, n: NodeId) {
        if self.scaling.karpenter.is_none() {
            return;
        }
        self.touch_karpenter_node(n);
        let rt = self.scaling.karpenter.as_mut().expect("checked");
        let nodes = &self.nodes;
        let (done, waiting): (Vec<Waiting>, Vec<Waiting>) =
            std::mem::take(&mut rt.waiting).into_iter().partition(|w| {
                w.replacements
                    .iter()
                    .all(|&r| nodes[r as usize].state == NodeState::Ready)
            });
        rt.waiting = waiting;
        for w in done {
            for c in w.candidates {
                self.at(self.now(), Event::KarpenterDrain(c));
            }
        }
    }

    /// A Karpenter node is gone. A replacement lost before it was Ready cancels its command.
    pub(super) fn karpenter_node_lost(&mut self, n: NodeId) {
        let Some(rt) = self.scaling.karpenter.as_mut() else {
            return;
        };
        rt.disrupting.remove(&n);
        let mut cancelled = Vec::new();
        rt.waiting.retain_mut(|w| {
            w.candidates.retain(|&c| c != n);
            if w.replacements.contains(&n) {
                cancelled.append(&mut w.candidates);
            }
            !w.candidates.is_empty()
        });
        for c in cancelled {
            self.karpenter_uncordon(c);
        }
    }

    /// A Karpenter node got its spot interruption notice: its (type, zone, spot) offering
    /// goes into the unavailable-offerings cache, so the replacement is launched elsewhere.
    pub(super) fn karpenter_spot_notice(&mut self, n: NodeId) {
        let node = &self.nodes[n as usize];
        let pool = &self.sc.node_pools[node.pool as usize];
        if pool.karpenter.is_none() {
            return;
        }
        let now = self.now();
        let Some(rt) = self.scaling.karpenter.as_mut() else {
            return;
        };
        let offering = kprov::Launch {
            pool: pool.karpenter.expect("checked"),
            instance_type: rt.types[usize::from(node.instance_type)].name.clone(),
            zone: pool.zones[usize::from(node.zone)].clone(),
            capacity_type: kp::CapacityType::Spot,
            price_usd_per_hour: node.price_per_ms * 3_600_000.0,
        };
        rt.mark_unavailable(&offering, now);
    }

    // ----- provisioning -----

    pub(super) fn karpenter_batch(&mut self) {
        let now = self.now();
        let Some(k) = self.karpenter_settings() else {
            return;
        };
        let rt = self.scaling.karpenter.as_mut().expect("Karpenter runs");
        let Some((start, last)) = rt.batch else {
            return;
        };
        let close = (last + k.batch_idle).min(start + k.batch_max);
        if now < close {
            self.at(close, Event::KarpenterBatch);
            return;
        }
        rt.batch = None;
        self.provision();
    }

    /// One provisioning pass over the pending pods.
    fn provision(&mut self) {
        let pending = self.karpenter_pending();
        if pending.is_empty() {
            return;
        }
        let now = self.now();
        self.books.count("karpenter provisioning passes", 1);
        let mut rt = self.scaling.karpenter.take().expect("Karpenter runs");
        self.reprice_spot_offerings(&mut rt);
        let usage = self.karpenter_usage(&rt);
        let table = rt.table(&usage, now);
        let mut packing = self.karpenter_packing();
        let sched = schedule(&rt.catalog(&usage, now), &table, &mut packing, &pending);
        let mut launches = Vec::new();
        for claim in &sched.claims {
            // Each refused offering is marked and the claim asks again; bounded by its
            // offerings.
            for _ in 0..=claim.candidates.len() {
                let Some(l) = choose_launch(&sched, claim, &rt.catalog(&usage, now), &rt.launch)
                else {
                    self.books
                        .count("nodeclaims without an available offering", 1);
                    break;
                };
                if self.launch_fails_for(&l.instance_type, &l.zone, model_capacity(l.capacity_type))
                {
                    self.books
                        .count("launches failed (insufficient capacity)", 1);
                    rt.mark_unavailable(&l, now);
                    continue;
                }
                launches.push(l);
                break;
            }
        }
        let type_of = |name: &str| rt.types.iter().position(|t| t.name == name);
        let launches: Vec<_> = launches
            .into_iter()
            .map(|l| (type_of(&l.instance_type).expect("a catalog type"), l))
            .collect();
        self.scaling.karpenter = Some(rt);
        for (t, l) in launches {
            self.launch_karpenter_node(l.pool, t, &l.zone, l.capacity_type, false);
        }
    }

    /// Sets the spot offerings' prices to the replayed spot prices now, where the scenario
    /// replays a price history: Karpenter picks and consolidates by the current price.
    fn reprice_spot_offerings(&self, rt: &mut KarpenterRuntime) {
        let spot = &self.sc.settings.spot;
        let Some(k) = self.karpenter_settings() else {
            return;
        };
        if spot.prices.is_empty() {
            return;
        }
        let t = SimDuration(self.now().0);
        for (it, model) in rt.types.iter_mut().zip(&k.instance_types) {
            for o in &mut it.offerings {
                if o.capacity_type == kp::CapacityType::Spot {
                    o.price_usd_per_hour = spot.price_usd_per_hour(model, &o.zone, t);
                }
            }
        }
    }

    /// Pending pods that have failed to schedule at least once.
    fn karpenter_pending(&self) -> Vec<Arc<PodSchedulingSpec>> {
        self.pods
            .iter()
            .filter(|p| p.phase == Phase::Pending && p.attempts > 0)
            .map(|p| p.spec.clone())
            .collect()
    }

    /// Summed capacity and count of each NodePool's live nodes, for its limits.
    fn karpenter_usage(&self, rt: &KarpenterRuntime) -> Vec<PoolUsage> {
        let mut usage = vec![PoolUsage::default(); rt.pools.len()];
        for node in &self.nodes {
            let Some(k) = self.sc.node_pools[node.pool as usize].karpenter else {
                continue;
            };
            if node.state != NodeState::Terminated {
                let cap = rt.types[usize::from(node.instance_type)].capacity;
                usage[k].resources = usage[k].resources.add(&cap);
                usage[k].nodes += 1;
            }
        }
        usage
    }

    /// The cluster as provisioning sees it: Ready nodes and in-flight ones (which will take
    /// pods), with the pods bound to them; nodes being deleted are left out.
    fn karpenter_packing(&self) -> Packing<'static> {
        let mut packing = Packing::new();
        for (n, node) in self.nodes.iter().enumerate() {
            if !matches!(node.state, NodeState::Ready | NodeState::Provisioning) {
                continue;
            }
            let Some(spec) = self.placement.node_spec(n as NodeId) else {
                continue;
            };
            let mut spec = spec.clone();
            spec.unschedulable = false;
            let slot = packing.add_node(spec);
            for id in self.placement.pods_on(n as NodeId) {
                let pod = &self.pods[id as usize];
                if pod.phase != Phase::Terminating {
                    packing.place(pod.spec.clone(), slot);
                }
            }
        }
        packing
    }

    // ----- disruption -----

    pub(super) fn karpenter_disrupt(&mut self) {
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
    pub(super) fn karpenter_validate(&mut self) {
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
        let cat = rt.catalog(&usage, now);
        let commands = kd::disrupt(&cat, &knodes, &pending, &k.disruption, &active);
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
        for (id, pod) in self.pods.iter().enumerate() {
            if pod.phase == Phase::Pending && pod.attempts > 0 {
                id.hash(&mut h);
            }
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
            let Some(spec) = self.placement.node_spec(n as NodeId) else {
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
                spec: spec.clone(),
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
        let node = &mut self.nodes[n as usize];
        if node.state != NodeState::Ready {
            return false;
        }
        node.state = NodeState::Draining;
        let pool = node.pool as usize;
        self.books.pool_counts[pool].ready -= 1;
        self.books.pool_counts[pool].draining += 1;
        self.placement.set_unschedulable(n, true);
        let rt = self.scaling.karpenter.as_mut().expect("Karpenter runs");
        rt.disrupting.insert(n, (cause, None));
        true
    }

    /// Returns a cordoned candidate to service (its command was cancelled).
    fn karpenter_uncordon(&mut self, n: NodeId) {
        let rt = self.scaling.karpenter.as_mut().expect("Karpenter runs");
        if rt.disrupting.remove(&n).is_none() || self.nodes[n as usize].state != NodeState::Draining
        {
            return;
        }
        let node = &mut self.nodes[n as usize];
        node.state = NodeState::Ready;
        let pool = node.pool as usize;
        self.books.pool_counts[pool].ready += 1;
        self.books.pool_counts[pool].draining -= 1;
        self.placement.set_unschedulable(n, false);
        self.books.count("disruptions cancelled", 1);
        self.cluster_changed();
    }

    /// One eviction round on a node Karpenter deletes; the node goes when no pod is left.
    /// Evictions respect PDBs until the NodePool's `terminationGracePeriod` has passed since
    /// the drain began; then the pods left are deleted.
    pub(super) fn karpenter_drain(&mut self, n: NodeId) {
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
