//! Karpenter in the engine: the provisioner and the disruption controller driving
//! `autoscaler::karpenter`'s pure functions, and carrying out what they decide.
//!
//! - Provisioning: a pod that fails to schedule opens a batch window (1 s idle, 10 s max);
//!   when it closes, the pending pods are packed onto the nodes (in-flight NodeClaims count
//!   as capacity) and onto new NodeClaims, each launched as the offering `choose_launch`
//!   picks. A launch the spot market refuses (`engine/spot.rs`) marks the offering unavailable
//!   for 3 minutes and the claim asks again at once, so it falls to the next offering and, when
//!   no spot offering is left, to on-demand, as Karpenter's next provisioning loop does.
//! - Disruption every 10 s (`disruption`): `disrupt` on the Karpenter nodes. A graceful
//!   command is simulated again 15 s later, on its candidates alone, and carried out only if
//!   the same command comes out (expiration acts at once); meanwhile the controller decides
//!   nothing else. Candidates are cordoned; a replacement is launched first and the
//!   candidates are drained (evictions as PDBs allow until the NodePool's
//!   terminationGracePeriod, cause `consolidation` or `expiration`) once it is Ready; a
//!   replacement that fails to launch or is not Ready within 10 minutes cancels the command.
//!   A spot interruption marks its offering unavailable. A pass is skipped while the cluster's fingerprint (Karpenter nodes,
//!   their pods, pending pods, PDB allowances) is unchanged and no node has reached its
//!   `consolidateAfter` or `expireAfter` deadline: the pass would decide nothing new. (With a
//!   replayed spot price history, prices move under an unchanged cluster: a pass then runs at
//!   least every 5 minutes, as Karpenter's consolidated state lapses.)
//!
//! Not modelled: drift (nothing drifts in a run), nominations of pending pods to in-flight
//! NodeClaims.

use std::sync::Arc;

use autoscaler::karpenter::disruption::Method;
use autoscaler::karpenter::nodepool as kp;
use autoscaler::karpenter::provisioning::{
    self as kprov, candidate_table, choose_launch, schedule, CandidateTable, Catalog,
    LaunchSettings, PoolUsage, UnavailableOfferings,
};
use autoscaler::model::{PodSchedulingSpec, Resources};
use autoscaler::node_fit::Packing;

use super::placement::{NodeId, PodId};
use super::state::{Engine, Event, NodeState, Phase};
use crate::scenario::model::{CapacityType, KarpenterSettings, NodeAutoscaler, Scenario};
use crate::time::{SimDuration, SimTime};

mod disruption;

#[cfg(test)]
pub(super) use disruption::budget_active;

/// How often the disruption controller polls.
pub const DISRUPTION_POLL: SimDuration = SimDuration::from_secs(10);

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
        self.unschedulable_pods()
            .map(|id| self.pods[id as usize].spec.clone())
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
}
