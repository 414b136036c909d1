//! The engine's state and its event handlers: nodes, pods, the scheduling queue, the
//! Deployment and Job controllers, and accounting.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use autoscaler::model::{well_known, NodeSchedulingSpec, PodSchedulingSpec, Resources};
use autoscaler::scheduler::{Pdb, SchedulerConfig};

use super::accounting::{Books, ReadyRates};
use super::hpa::{HpaBuffers, HpaRuntime, UsagePoint};
use super::jobs::{CronState, JobState};
use super::placement::{Attempt, NodeId, Placement, PodId};
use super::queue::EventQueue;
use super::sched_queue::{PriorityFifo, UnschedulablePods};
use super::timeline::{NodeRow, PendingRow, TimelineSink, WorkloadRow};
use super::{load, SimError};
use crate::rng::{Seed, Stream};
use crate::scenario::model::{CapacityType, IntOrPercent, PodTemplate, Scenario};
use crate::time::{SimDuration, SimTime};

/// A pod slot and the generation of its current occupant: events for an earlier occupant
/// of a reused slot are recognised and dropped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct PodRef {
    pub id: PodId,
    pub gen: u32,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Owner {
    Deployment(u32),
    Job(u32),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    Pending,
    Starting,
    Running,
    Ready,
    Terminating,
    /// Finished (a Job pod that succeeded or failed) or removed: the slot is free.
    Gone,
}

pub(super) struct Pod {
    pub gen: u32,
    pub owner: Owner,
    pub tier: u16,
    pub phase: Phase,
    pub node: Option<NodeId>,
    pub created: SimTime,
    pub bound: SimTime,
    pub started: SimTime,
    pub ready_at: SimTime,
    /// When deletion was asked for (its `deletionTimestamp`), once Terminating.
    pub deleted: SimTime,
    pub attempts: u32,
    pub spec: Arc<PodSchedulingSpec>,
    /// Its entry's sequence number in the activeQ, while it is there.
    pub queued: Option<u64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum NodeState {
    Provisioning,
    Ready,
    /// Cordoned and being drained; terminated at a set time.
    Draining,
    Terminated,
}

pub(super) struct Node {
    pub pool: u16,
    /// Index into the pool's zones.
    pub zone: u16,
    /// Index into the pool's instance types (0 but under Karpenter).
    pub instance_type: u16,
    pub capacity: CapacityType,
    pub state: NodeState,
    pub created: SimTime,
    pub ready_at: Option<SimTime>,
    /// USD per millisecond of the node's life, at a fixed price (on-demand, or spot without
    /// a replayed history).
    pub price_per_ms: f64,
    /// The replayed spot price series this node pays instead (an index into the scenario's
    /// `SpotPrices`).
    pub price_series: Option<u32>,
    pub on_demand_price_per_ms: f64,
    /// Share of the node's cost per millicore, and per byte, of a pod's claim (OpenCost split).
    pub cpu_share_per_m: f64,
    pub mem_share_per_byte: f64,
    /// `price_per_ms` times the shares: USD per millisecond per millicore, and per byte.
    pub cpu_rate: f64,
    pub mem_rate: f64,
    pub overhead: Resources,
}

pub(super) struct DeploymentState {
    pub desired: i32,
    /// Pods not being deleted, oldest first.
    pub live: Vec<PodId>,
    pub ready: i32,
    /// Σ over ready pods of their node's cpu/mem rates: prices usage above request.
    pub ready_rates: ReadyRates,
    pub noise: Stream,
    pub tier: u16,
    /// The last two metrics steps' usage, newest first: what metrics-server can serve.
    pub usage: [UsagePoint; 2],
    /// Backlog of a queue-driven worker, in requests.
    pub queue: f64,
    /// Bumped whenever a live pod is added, removed, bound, started or becomes ready: the
    /// HPA's observation of the pods is unchanged while it is.
    pub version: u64,
    /// The latest bind or container start among its pods (never lowered).
    pub newest_start: SimTime,
}

impl DeploymentState {
    /// The newest usage point at or before `t` (the oldest kept, if none is).
    pub fn usage_at(&self, t: SimTime) -> UsagePoint {
        if self.usage[0].at <= t {
            self.usage[0]
        } else {
            self.usage[1]
        }
    }
}

/// Every kind of event. Subjects are indices into the engine's tables.
#[derive(Debug, Clone, Copy)]
pub(super) enum Event {
    Step,
    ScheduleCycle,
    BackoffDone(PodRef),
    FlushUnschedulable,
    PodStarted(PodRef),
    PodReady(PodRef),
    PodFinished(PodRef, bool),
    PodGone(PodRef),
    NodeReady(NodeId),
    NodeTerminate(NodeId),
    JobCreate(u32),
    JobRetry(u32, u32),
    JobDeadline(u32, u32),
    JobTtl(u32, u32),
    CronTick(u32),
    HpaSync(u32),
    /// A cluster-autoscaler loop (stale ones are dropped, see `engine/nodes.rs`).
    CaLoop,
    /// Another eviction round on a node the cluster-autoscaler is deleting.
    DrainTick(NodeId),
    /// An auto-scaling group tries again to reach its desired capacity.
    AsgRetry(u32),
    /// A spot interruption notice for one node.
    SpotNotice(NodeId),
    /// A scheduled wave of spot interruption notices.
    SpotWave(u32),
    /// Karpenter's pending-pod batch window may have closed (`engine/karpenter.rs`).
    KarpenterBatch,
    /// Karpenter's disruption controller polls.
    KarpenterDisrupt,
    /// Another eviction round on a node Karpenter is deleting.
    KarpenterDrain(NodeId),
    /// Karpenter validates the disruption command it decided 15 s ago.
    KarpenterValidate,
}

impl Event {
    pub const KINDS: [&'static str; 25] = [
        "Step",
        "ScheduleCycle",
        "BackoffDone",
        "FlushUnschedulable",
        "PodStarted",
        "PodReady",
        "PodFinished",
        "PodGone",
        "NodeReady",
        "JobCreate",
        "JobRetry",
        "JobDeadline",
        "JobTtl",
        "CronTick",
        "NodeTerminate",
        "HpaSync",
        "CaLoop",
        "DrainTick",
        "AsgRetry",
        "SpotNotice",
        "SpotWave",
        "KarpenterBatch",
        "KarpenterDisrupt",
        "KarpenterDrain",
        "KarpenterValidate",
    ];

    fn kind_and_subject(&self) -> (usize, u32) {
        match *self {
            Event::Step => (0, 0),
            Event::ScheduleCycle => (1, 0),
            Event::BackoffDone(p) => (2, p.id),
            Event::FlushUnschedulable => (3, 0),
            Event::PodStarted(p) => (4, p.id),
            Event::PodReady(p) => (5, p.id),
            Event::PodFinished(p, _) => (6, p.id),
            Event::PodGone(p) => (7, p.id),
            Event::NodeReady(n) => (8, n),
            Event::JobCreate(j) => (9, j),
            Event::JobRetry(j, _) => (10, j),
            Event::JobDeadline(j, _) => (11, j),
            Event::JobTtl(j, _) => (12, j),
            Event::CronTick(c) => (13, c),
            Event::NodeTerminate(n) => (14, n),
            Event::HpaSync(g) => (15, g),
            Event::CaLoop => (16, 0),
            Event::DrainTick(n) => (17, n),
            Event::AsgRetry(g) => (18, g),
            Event::SpotNotice(n) => (19, n),
            Event::SpotWave(w) => (20, w),
            Event::KarpenterBatch => (21, 0),
            Event::KarpenterDisrupt => (22, 0),
            Event::KarpenterDrain(n) => (23, n),
            Event::KarpenterValidate => (24, 0),
        }
    }
}

/// Pods exit within this long of SIGTERM, or within their grace period if that is shorter.
const SHUTDOWN: SimDuration = SimDuration::from_secs(5);
/// kube-scheduler's podMaxInUnschedulablePodsDuration, and how often it flushes.
const UNSCHEDULABLE_MAX: SimDuration = SimDuration::from_secs(300);
const FLUSH_PERIOD: SimDuration = SimDuration::from_secs(30);

/// The simulator. Build with [`Engine::new`], then [`Engine::run`], then [`Engine::report`].
pub struct Engine<'a> {
    pub(super) sc: &'a Scenario,
    pub(super) q: EventQueue<Event>,
    pub(super) end: SimTime,
    pub(super) nodes: Vec<Node>,
    /// Bumped whenever a node's `state` changes (what the snapshot's stamps do not say).
    pub(super) node_state_changes: u64,
    pub(super) pods: Vec<Pod>,
    free_pods: Vec<PodId>,
    pub(super) placement: Placement,
    pub(super) deployments: Vec<DeploymentState>,
    pub(super) jobs: Vec<JobState>,
    pub(super) free_jobs: Vec<u32>,
    pub(super) crons: Vec<CronState>,
    pub(super) tiers: Vec<String>,
    tier_of_class: BTreeMap<String, u16>,
    /// kube-scheduler's activeQ, (enqueue sequence, pod): higher priority first, then first
    /// in. Entries of pods that left it (deleted while queued) stay until popped and are
    /// told apart by `Pod::queued`.
    active: PriorityFifo<(u64, PodId)>,
    enqueue_seq: u64,
    unschedulable: UnschedulablePods,
    cycle_pending: bool,
    flush_pending: bool,
    /// Bumped by every event that may let an unschedulable pod fit.
    cluster_epoch: u64,
    failed_epoch: Vec<u64>,
    pub(super) rng_startup: Stream,
    pub(super) rng_jobs: Stream,
    rng_scheduler: Stream,
    pub(super) books: Books,
    pub(super) hpas: Vec<HpaRuntime>,
    pub(super) hpa_settings: autoscaler::hpa::ControllerSettings,
    pub(super) hpa_groups: Vec<(SimDuration, Vec<u32>)>,
    pub(super) hpa_buffers: HpaBuffers,
    pub(super) hpa_time_horizon_ms: i64,
    /// Per HPA: until when its syncs repeat its last reconcile (see `engine/hpa.rs`), kept
    /// apart from the HPA's state so that a skipped sync touches nothing else.
    pub(super) hpa_quiet: Vec<super::hpa::Quiet>,
    /// Reuse unchanged metrics computations and pass identical pods as one entry. Off only
    /// in tests, which check that both give the same run.
    pub(super) hpa_shortcuts: bool,
    /// Tests: check every CA loop that the kept observation equals a fresh one.
    pub(super) check_ca_view: bool,
    /// Tests: when set, each kept HPA pod listing is checked against a fresh one, and counted.
    pub(super) hpa_rows_checked: Option<u64>,
    /// Pods in phase Pending, by id.
    pub(super) pending: BTreeSet<PodId>,
    pub(super) scaling: super::nodes::NodeScaling,
    /// The HPA targeting each Deployment, if any.
    pub(super) hpa_of: Vec<Option<u32>>,
    event_counts: [u64; Event::KINDS.len()],
    log_hash: [u64; 2],
}

impl<'a> Engine<'a> {
    pub fn new(sc: &'a Scenario) -> Engine<'a> {
        let seed = Seed(sc.seed);
        let mut tiers = vec![];
        let mut tier_of_class = BTreeMap::new();
        for pc in &sc.priority_classes {
            tier_of_class.insert(pc.name.clone(), tiers.len() as u16);
            tiers.push(pc.name.clone());
        }
        tier_of_class.insert(String::new(), tiers.len() as u16);
        tiers.push("(no priority class)".to_string());
        let mut e = Engine {
            sc,
            q: EventQueue::new(sc.settings.event_budget),
            end: SimTime(sc.duration.as_millis()),
            nodes: vec![],
            node_state_changes: 0,
            pods: vec![],
            free_pods: vec![],
            placement: Placement::new(SchedulerConfig {
                scoring: match sc.settings.scheduler.scoring {
                    crate::scenario::model::ScoringStrategy::LeastAllocated => {
                        autoscaler::scheduler::ScoringStrategy::LeastAllocated
                    }
                    crate::scenario::model::ScoringStrategy::MostAllocated => {
                        autoscaler::scheduler::ScoringStrategy::MostAllocated
                    }
                },
                ..SchedulerConfig::default()
            }),
            deployments: vec![],
            jobs: vec![],
            free_jobs: vec![],
            crons: sc.cron_jobs.iter().map(|_| CronState::default()).collect(),
            books: Books::new(sc, tiers.len()),
            hpas: sc.hpas.iter().map(|h| HpaRuntime::new(sc, h)).collect(),
            hpa_settings: super::hpa::controller_settings(sc),
            hpa_groups: super::hpa::sync_groups(sc),
            hpa_buffers: HpaBuffers::default(),
            hpa_time_horizon_ms: super::hpa::time_horizon_ms(sc),
            hpa_quiet: vec![super::hpa::Quiet::default(); sc.hpas.len()],
            hpa_shortcuts: true,
            hpa_rows_checked: None,
            check_ca_view: false,
            pending: BTreeSet::new(),
            scaling: super::nodes::NodeScaling::new(sc, seed),
            hpa_of: (0..sc.deployments.len())
                .map(|d| {
                    sc.hpas
                        .iter()
                        .position(|h| h.deployment == d)
                        .map(|h| h as u32)
                })
                .collect(),
            tiers,
            tier_of_class,
            active: PriorityFifo::default(),
            enqueue_seq: 0,
            unschedulable: UnschedulablePods::default(),
            cycle_pending: false,
            flush_pending: false,
            cluster_epoch: 0,
            failed_epoch: vec![],
            rng_startup: seed.fork("startup"),
            rng_jobs: seed.fork("jobs"),
            rng_scheduler: seed.fork("scheduler"),
            event_counts: [0; Event::KINDS.len()],
            log_hash: [0x6a09_e667_f3bc_c908, 0xbb67_ae85_84ca_a73b],
        };
        e.deployments = sc
            .deployments
            .iter()
            .map(|d| DeploymentState {
                desired: d.replicas,
                live: vec![],
                ready: 0,
                ready_rates: ReadyRates::default(),
                noise: seed.fork(&format!("load/{}/{}", d.namespace, d.name)),
                tier: e.tier_of(&d.template.scheduling.priority_class_name),
                usage: [UsagePoint::default(); 2],
                queue: 0.0,
                version: 0,
                newest_start: SimTime::ZERO,
            })
            .collect();
        e
    }

    pub(super) fn tier_of(&self, class: &str) -> u16 {
        self.tier_of_class
            .get(class)
            .copied()
            .unwrap_or((self.tiers.len() - 1) as u16)
    }

    pub(super) fn now(&self) -> SimTime {
        self.q.now()
    }

    pub(super) fn at(&mut self, t: SimTime, e: Event) {
        // Events past the end are never delivered; dropping them keeps the queue small.
        if t <= self.end {
            self.q
                .schedule(t, e)
                .expect("the engine never schedules into the past");
        }
    }

    pub fn run(&mut self, sink: &mut dyn TimelineSink) -> Result<(), SimError> {
        self.start();
        while let Some((t, ev)) = self.q.pop_until(self.end)? {
            self.log(t, &ev);
            match ev {
                Event::Step => self.step(sink)?,
                Event::ScheduleCycle => self.schedule_cycle(),
                Event::BackoffDone(p) => self.backoff_done(p),
                Event::FlushUnschedulable => self.flush_unschedulable(),
                Event::PodStarted(p) => self.pod_started(p),
                Event::PodReady(p) => self.pod_ready(p),
                Event::PodFinished(p, ok) => self.pod_finished(p, ok),
                Event::PodGone(p) => self.pod_gone(p),
                Event::NodeReady(n) => self.node_ready(n),
                Event::NodeTerminate(n) => self.node_terminated(n),
                Event::HpaSync(g) => self.hpa_sync(g),
                Event::JobCreate(j) => self.job_create(j),
                Event::JobRetry(j, g) => self.job_retry(j, g),
                Event::JobDeadline(j, g) => self.job_deadline(j, g),
                Event::JobTtl(j, g) => self.job_ttl(j, g),
                Event::CronTick(c) => self.cron_tick(c),
                Event::CaLoop => self.ca_loop(),
                Event::DrainTick(n) => self.drain_tick(n),
                Event::AsgRetry(g) => self.asg_retry(g),
                Event::SpotNotice(n) => self.spot_notice(n),
                Event::SpotWave(w) => self.spot_wave(w),
                Event::KarpenterBatch => self.karpenter_batch(),
                Event::KarpenterDisrupt => self.karpenter_disrupt(),
                Event::KarpenterDrain(n) => self.karpenter_drain(n),
                Event::KarpenterValidate => self.karpenter_validate(),
            }
        }
        Ok(())
    }

    fn log(&mut self, t: SimTime, ev: &Event) {
        let (kind, subject) = ev.kind_and_subject();
        self.event_counts[kind] += 1;
        if !matches!(
            ev,
            Event::Step | Event::HpaSync(_) | Event::CaLoop | Event::KarpenterDisrupt
        ) {
            // Anything else may change what the node autoscaler observes.
            self.scaling.changed = true;
        }
        // A fast, portable 128-bit mix over (time, kind, subject); not cryptographic, but any
        // change in the order or content of the event log changes it.
        let word = (t.0 as u64) ^ ((kind as u64) << 56) ^ (u64::from(subject) << 24);
        for (i, h) in self.log_hash.iter_mut().enumerate() {
            let mut x = (*h ^ word)
                .wrapping_mul(0x9e37_79b9_7f4a_7c15 ^ (i as u64 * 0x632b_e59b_d9b4_e019));
            x ^= x >> 29;
            *h = x.rotate_left(23).wrapping_add(0xbf58_476d_1ce4_e5b9);
        }
    }

    fn start(&mut self) {
        let sc = self.sc;
        for (pi, pool) in sc.node_pools.iter().enumerate() {
            for k in 0..pool.initial_nodes {
                let zone = (k as usize) % pool.zones.len().max(1);
                let n = self.add_node(pi, zone);
                self.node_ready(n);
            }
        }
        for d in 0..self.deployments.len() {
            self.reconcile_deployment(d as u32);
        }
        for (j, job) in sc.jobs.iter().enumerate() {
            self.at(SimTime(job.start.as_millis()), Event::JobCreate(j as u32));
        }
        for c in 0..sc.cron_jobs.len() {
            self.schedule_next_cron(c as u32, self.now());
        }
        self.at(SimTime::ZERO, Event::Step);
        self.start_node_scaling();
        for (g, (offset, _)) in self.hpa_groups.iter().enumerate() {
            let t = SimTime(offset.as_millis());
            self.q
                .schedule(t, Event::HpaSync(g as u32))
                .expect("time 0");
        }
    }

    // ----- nodes -----

    /// Creates a node of `pool` in its `zone`-th zone, Provisioning.
    pub(super) fn add_node(&mut self, pool_index: usize, zone_index: usize) -> NodeId {
        let pool = &self.sc.node_pools[pool_index];
        let spec = node_spec(pool, zone_index, String::new());
        self.add_node_as(pool_index, zone_index, 0, pool.capacity_type, spec)
    }

    /// Creates a node of `pool` with the pool's `type_index`-th instance type, `capacity` and
    /// `spec` (named here), Provisioning.
    pub(super) fn add_node_as(
        &mut self,
        pool_index: usize,
        zone_index: usize,
        type_index: usize,
        capacity: CapacityType,
        mut spec: NodeSchedulingSpec,
    ) -> NodeId {
        let pool = &self.sc.node_pools[pool_index];
        let it = &pool.instance_types[type_index];
        spec.name = format!("{}-{}", pool.name, self.nodes.len());
        spec.labels
            .insert(well_known::HOSTNAME.to_string(), spec.name.clone());
        let id = self.placement.add_node(spec);
        assert_eq!(
            id as usize,
            self.nodes.len(),
            "placement and engine node ids agree"
        );
        let zone = pool.zones.get(zone_index).map_or("", String::as_str);
        let price_series = match capacity {
            CapacityType::Spot => self.sc.settings.spot.prices.find(&it.name, zone),
            CapacityType::OnDemand => None,
        };
        let launch = SimDuration(self.now().0);
        let price_per_ms = self.sc.price_usd_per_hour(it, capacity, zone, launch) / 3_600_000.0;
        // OpenCost splits a node's price between CPU and memory by the relative list
        // prices of a vCPU-hour and a GiB-hour (its defaults: 0.031611 and 0.004237 USD).
        let cpu_weight = it.vcpu as f64 * 0.031611;
        let mem_weight = it.memory_mib as f64 / 1024.0 * 0.004237;
        let cpu_share = if cpu_weight + mem_weight > 0.0 {
            cpu_weight / (cpu_weight + mem_weight)
        } else {
            0.5
        };
        let cap_cpu_m = (it.vcpu * 1000).max(1) as f64;
        let cap_mem = (it.memory_mib * 1024 * 1024).max(1) as f64;
        self.nodes.push(Node {
            pool: pool_index as u16,
            zone: zone_index as u16,
            instance_type: type_index as u16,
            capacity,
            state: NodeState::Provisioning,
            created: self.now(),
            ready_at: None,
            price_per_ms,
            price_series: price_series.map(|i| i as u32),
            on_demand_price_per_ms: it.on_demand_usd_per_hour / 3_600_000.0,
            cpu_share_per_m: cpu_share / cap_cpu_m,
            mem_share_per_byte: (1.0 - cpu_share) / cap_mem,
            cpu_rate: price_per_ms * cpu_share / cap_cpu_m,
            mem_rate: price_per_ms * (1.0 - cpu_share) / cap_mem,
            overhead: pool.daemonset_overhead,
        });
        self.books
            .node_added(self.nodes.last().expect("just pushed"));
        id
    }

    pub(super) fn node_ready(&mut self, n: NodeId) {
        let node = &mut self.nodes[n as usize];
        if node.state != NodeState::Provisioning {
            return;
        }
        node.state = NodeState::Ready;
        self.node_state_changes += 1;
        node.ready_at = Some(self.q.now());
        self.books
            .node_became_ready(node.pool as usize, node.capacity);
        self.node_ready_hook(n);
        self.cluster_changed();
    }

    /// A Ready node starts draining (`true`: cordoned, counted as draining), or a draining
    /// one returns to service (`false`).
    pub(super) fn set_draining(&mut self, n: NodeId, draining: bool) {
        let node = &mut self.nodes[n as usize];
        node.state = if draining {
            NodeState::Draining
        } else {
            NodeState::Ready
        };
        self.node_state_changes += 1;
        let counts = &mut self.books.pool_counts[node.pool as usize];
        if draining {
            counts.ready -= 1;
            counts.draining += 1;
        } else {
            counts.ready += 1;
            counts.draining -= 1;
        }
        self.placement.set_unschedulable(n, draining);
    }

    /// Cordons node `n` and evicts its pods for `cause`; the node terminates after `after`
    /// (Provisioning nodes terminate at once).
    pub(super) fn drain_node(&mut self, n: NodeId, cause: &str, after: SimDuration) {
        let node = &mut self.nodes[n as usize];
        match node.state {
            NodeState::Terminated | NodeState::Draining => return,
            NodeState::Provisioning => {
                self.node_terminated(n);
                return;
            }
            NodeState::Ready => {}
        }
        self.set_draining(n, true);
        for id in self.placement.pods_on(n) {
            self.delete_pod(id, cause);
        }
        self.at(self.now() + after, Event::NodeTerminate(n));
    }

    /// The node is gone: pods still on it are gone with it, its life is priced.
    pub(super) fn node_terminated(&mut self, n: NodeId) {
        let now = self.now();
        let state = self.nodes[n as usize].state;
        if state == NodeState::Terminated {
            return;
        }
        for id in self.placement.pods_on(n) {
            if self.pods[id as usize].phase != Phase::Terminating {
                self.delete_pod(id, "node-removed");
            }
            self.release(id);
        }
        let node = &mut self.nodes[n as usize];
        node.state = NodeState::Terminated;
        self.node_state_changes += 1;
        let pool = node.pool as usize;
        let c = &mut self.books.pool_counts[pool];
        match state {
            NodeState::Provisioning => c.provisioning -= 1,
            NodeState::Ready => c.ready -= 1,
            NodeState::Draining => c.draining -= 1,
            NodeState::Terminated => unreachable!(),
        }
        self.books.node_removed(&self.nodes[n as usize]);
        self.books.node_life(self.sc, &self.nodes[n as usize], now);
        self.placement.remove_node(n);
        self.node_lost_hook(n);
    }

    // ----- pods -----

    pub(super) fn template(&self, owner: Owner) -> &'a PodTemplate {
        match owner {
            Owner::Deployment(d) => &self.sc.deployments[d as usize].template,
            Owner::Job(j) => &self.jobs[j as usize].spec(self.sc).template,
        }
    }

    /// Creates a Pending pod and queues it for scheduling.
    pub(super) fn create_pod(&mut self, owner: Owner) -> PodId {
        let spec = self.template(owner).scheduling.clone();
        let tier = self.tier_of(&spec.priority_class_name);
        let now = self.now();
        let pod = Pod {
            gen: 0,
            owner,
            tier,
            phase: Phase::Pending,
            node: None,
            created: now,
            bound: now,
            started: now,
            ready_at: now,
            deleted: now,
            attempts: 0,
            spec,
            queued: None,
        };
        let id = match self.free_pods.pop() {
            Some(id) => {
                let gen = self.pods[id as usize].gen.wrapping_add(1);
                self.pods[id as usize] = Pod { gen, ..pod };
                id
            }
            None => {
                self.pods.push(pod);
                self.failed_epoch.push(0);
                (self.pods.len() - 1) as PodId
            }
        };
        self.pending.insert(id);
        self.books.pod_created(tier as usize);
        self.touch(owner, false);
        self.enqueue(id);
        id
    }

    /// A pod of `owner` changed in a way its HPA would see; `started`: it was just bound or
    /// its containers started.
    fn touch(&mut self, owner: Owner, started: bool) {
        if let Owner::Deployment(d) = owner {
            let now = self.now();
            let dep = &mut self.deployments[d as usize];
            dep.version += 1;
            if started {
                dep.newest_start = dep.newest_start.max(now);
            }
            self.wake_hpa_of(d as usize);
        }
    }

    pub(super) fn pod_ref(&self, id: PodId) -> PodRef {
        PodRef {
            id,
            gen: self.pods[id as usize].gen,
        }
    }

    fn current(&self, p: PodRef) -> Option<&Pod> {
        let pod = &self.pods[p.id as usize];
        (pod.gen == p.gen && pod.phase != Phase::Gone).then_some(pod)
    }

    /// Pending pods that failed a scheduling attempt (what node autoscalers act on), by id.
    pub(super) fn unschedulable_pods(&self) -> impl Iterator<Item = PodId> + '_ {
        self.pending
            .iter()
            .copied()
            .filter(|&id| self.pods[id as usize].attempts > 0)
    }

    fn enqueue(&mut self, id: PodId) {
        let pod = &mut self.pods[id as usize];
        debug_assert!(pod.queued.is_none(), "a pod is in the activeQ once");
        pod.queued = Some(self.enqueue_seq);
        self.active.push(pod.spec.priority, (self.enqueue_seq, id));
        self.enqueue_seq += 1;
        if !self.cycle_pending {
            self.cycle_pending = true;
            self.at(self.now(), Event::ScheduleCycle);
        }
    }

    /// Something changed that may let unschedulable pods fit: move them back to the activeQ.
    pub(super) fn cluster_changed(&mut self) {
        self.cluster_epoch += 1;
        for id in self.unschedulable.take(|_| true) {
            self.enqueue(id);
        }
    }

    fn schedule_cycle(&mut self) {
        self.cycle_pending = false;
        while let Some((seq, id)) = self.active.pop() {
            if self.pods[id as usize].queued != Some(seq) {
                continue;
            }
            self.pods[id as usize].queued = None;
            if self.pods[id as usize].phase != Phase::Pending {
                continue;
            }
            let spec = &self.pods[id as usize].spec;
            let sc = self.sc;
            let (deployments, sim_pdbs) = (&self.deployments, &sc.pdbs);
            let pdbs = || pdb_status(sc, deployments, sim_pdbs);
            match self
                .placement
                .attempt(id, spec, pdbs, &mut self.rng_scheduler)
            {
                Attempt::Scheduled(node) => self.bind(id, node),
                Attempt::Nominated { node: _, victims } => {
                    let tier = self.pods[id as usize].tier as usize;
                    self.books.tiers[tier].preemptions += 1;
                    for v in victims {
                        self.delete_pod(v, "preemption");
                    }
                    self.unschedulable_pod(id);
                }
                Attempt::Unschedulable => self.unschedulable_pod(id),
            }
        }
    }

    /// The pod failed an attempt: it backs off (1 s doubling to 10 s) and then waits for a
    /// cluster change, or the periodic flush, to be tried again.
    fn unschedulable_pod(&mut self, id: PodId) {
        let pod = &mut self.pods[id as usize];
        pod.attempts += 1;
        let backoff = {
            let s = &self.sc.settings.scheduler;
            let exp = (pod.attempts - 1).min(16);
            SimDuration(
                s.pod_initial_backoff
                    .0
                    .saturating_mul(1 << exp)
                    .min(s.pod_max_backoff.0),
            )
        };
        self.failed_epoch[id as usize] = self.cluster_epoch;
        self.pod_unschedulable_hook(id);
        let pr = self.pod_ref(id);
        self.at(self.now() + backoff, Event::BackoffDone(pr));
    }

    fn backoff_done(&mut self, p: PodRef) {
        if self
            .current(p)
            .is_none_or(|pod| pod.phase != Phase::Pending)
        {
            return;
        }
        if self.failed_epoch[p.id as usize] != self.cluster_epoch {
            self.enqueue(p.id);
        } else {
            self.unschedulable.insert(p.id, self.now());
            if !self.flush_pending {
                self.flush_pending = true;
                self.at(self.now() + FLUSH_PERIOD, Event::FlushUnschedulable);
            }
        }
    }

    fn flush_unschedulable(&mut self) {
        self.flush_pending = false;
        let now = self.now();
        let due = self
            .unschedulable
            .take(|since| now.since(since) >= UNSCHEDULABLE_MAX);
        for id in due {
            self.enqueue(id);
        }
        if !self.unschedulable.is_empty() {
            self.flush_pending = true;
            self.at(now + FLUSH_PERIOD, Event::FlushUnschedulable);
        }
    }

    fn bind(&mut self, id: PodId, node: NodeId) {
        let now = self.now();
        let startup = &self.template(self.pods[id as usize].owner).startup;
        let delay = startup.image_pull.sample(&mut self.rng_startup)
            + startup.container_start.sample(&mut self.rng_startup);
        self.pending.remove(&id);
        let pod = &mut self.pods[id as usize];
        pod.phase = Phase::Starting;
        pod.node = Some(node);
        pod.bound = now;
        let (tier, created, spec) = (pod.tier as usize, pod.created, pod.spec.clone());
        self.placement.bind(id, &spec, node, now.0);
        self.pod_bound_hook(node);
        self.touch(self.pods[id as usize].owner, true);
        self.books.pod_bound(tier, now.since(created));
        let pr = self.pod_ref(id);
        self.at(now + delay, Event::PodStarted(pr));
    }

    fn pod_started(&mut self, p: PodRef) {
        if self
            .current(p)
            .is_none_or(|pod| pod.phase != Phase::Starting)
        {
            return;
        }
        let now = self.now();
        let pod = &mut self.pods[p.id as usize];
        pod.phase = Phase::Running;
        pod.started = now;
        let owner = pod.owner;
        self.touch(owner, true);
        match owner {
            Owner::Deployment(_) => {
                let d = self
                    .template(owner)
                    .startup
                    .readiness_delay
                    .sample(&mut self.rng_startup);
                self.at(now + d, Event::PodReady(p));
            }
            Owner::Job(j) => self.job_pod_started(j, p),
        }
    }

    fn pod_ready(&mut self, p: PodRef) {
        if self
            .current(p)
            .is_none_or(|pod| pod.phase != Phase::Running)
        {
            return;
        }
        let now = self.now();
        let pod = &mut self.pods[p.id as usize];
        pod.phase = Phase::Ready;
        pod.ready_at = now;
        let owner = pod.owner;
        self.touch(owner, false);
        let pod = &self.pods[p.id as usize];
        if let (Owner::Deployment(d), Some(n)) = (pod.owner, pod.node) {
            let node = &self.nodes[n as usize];
            let dep = &mut self.deployments[d as usize];
            dep.ready += 1;
            dep.ready_rates.add(node);
        }
    }

    /// Starts the deletion of a pod: a pending pod is gone at once, a bound one terminates
    /// gracefully. Its owner stops counting it at once. `cause` is recorded for pods removed
    /// against their will.
    pub(super) fn delete_pod(&mut self, id: PodId, cause: &str) {
        let now = self.now();
        let pod = &self.pods[id as usize];
        if matches!(pod.phase, Phase::Terminating | Phase::Gone) {
            return;
        }
        let (owner, phase, tier, created) = (pod.owner, pod.phase, pod.tier as usize, pod.created);
        if !cause.is_empty() {
            *self.books.tiers[tier]
                .evictions
                .entry(cause.to_string())
                .or_default() += 1;
        }
        self.unready(id);
        self.touch(owner, false);
        if let Owner::Deployment(d) = owner {
            self.deployments[d as usize].live.retain(|x| *x != id);
        }
        if phase == Phase::Pending {
            self.books.pod_abandoned(tier, now.since(created));
            self.placement.forget(id);
            self.release(id);
        } else {
            self.placement.set_terminating(id, cause == "preemption");
            let grace = self.template(owner).termination_grace.min(SHUTDOWN);
            self.pods[id as usize].phase = Phase::Terminating;
            self.pods[id as usize].deleted = now;
            let pr = self.pod_ref(id);
            self.at(now + grace, Event::PodGone(pr));
        }
        match owner {
            Owner::Deployment(d) => self.reconcile_deployment(d),
            Owner::Job(j) => self.job_pod_lost(j, id, !cause.is_empty()),
        }
    }

    /// Takes a Ready pod out of its Deployment's ready set.
    fn unready(&mut self, id: PodId) {
        let pod = &self.pods[id as usize];
        if let (Phase::Ready, Owner::Deployment(d), Some(n)) = (pod.phase, pod.owner, pod.node) {
            let node = &self.nodes[n as usize];
            let dep = &mut self.deployments[d as usize];
            dep.ready -= 1;
            dep.ready_rates.remove(node);
        }
    }

    fn pod_gone(&mut self, p: PodRef) {
        if self
            .current(p)
            .is_some_and(|pod| pod.phase == Phase::Terminating)
        {
            self.release(p.id);
        }
    }

    /// The pod's slot is freed: unbound from its node, its books closed.
    pub(super) fn release(&mut self, id: PodId) {
        let now = self.now();
        self.pending.remove(&id);
        let pod = &mut self.pods[id as usize];
        let was_bound = pod.phase != Phase::Pending;
        pod.phase = Phase::Gone;
        let (node, tier, bound, spec) = (
            pod.node.take(),
            pod.tier as usize,
            pod.bound,
            pod.spec.clone(),
        );
        if let (true, Some(n)) = (was_bound, node) {
            self.placement.unbind(id);
            self.pod_left_node_hook(n);
            let node = &self.nodes[n as usize];
            self.books
                .pod_unbound(self.sc, tier, &spec.requests, node, bound, now);
            self.cluster_changed();
        }
        // Its activeQ entry, if any, is now stale.
        self.pods[id as usize].queued = None;
        self.unschedulable.remove(id);
        self.free_pods.push(id);
    }

    // ----- Deployments -----

    /// The ReplicaSet controller: create or delete pods until the live count is the desired one.
    /// Deletion order: unscheduled first, then not ready, then the newest.
    pub(super) fn reconcile_deployment(&mut self, d: u32) {
        loop {
            let dep = &self.deployments[d as usize];
            let live = dep.live.len() as i32;
            if live < dep.desired {
                let id = self.create_pod(Owner::Deployment(d));
                self.deployments[d as usize].live.push(id);
            } else if live > dep.desired {
                let victim = *dep
                    .live
                    .iter()
                    .max_by_key(|id| {
                        let p = &self.pods[**id as usize];
                        let rank = match p.phase {
                            Phase::Pending => 2,
                            Phase::Starting | Phase::Running => 1,
                            _ => 0,
                        };
                        (rank, p.created, **id)
                    })
                    .expect("live is not empty");
                self.delete_pod(victim, "");
                return; // delete_pod reconciles again
            } else {
                return;
            }
        }
    }

    /// Sets a Deployment's desired replicas (the HPA's scale subresource write).
    pub fn set_replicas(&mut self, d: u32, replicas: i32) {
        self.deployments[d as usize].desired = replicas.max(0);
        self.wake_hpa_of(d as usize);
        self.reconcile_deployment(d);
    }

    // ----- the metrics step -----

    fn step(&mut self, sink: &mut dyn TimelineSink) -> Result<(), SimError> {
        let now = self.now();
        let step = self.sc.step;
        let step_s = step.as_secs_f64().min(self.end.since(now).as_secs_f64());
        let rows = sink.wants_rows();
        let t_s = now.0 / 1000;
        let mut instant = load::Instant::new(now, self.sc.start_unix_s);
        let visible_ms = super::hpa::first_sync_seeing(now.0, &self.sc.settings.hpa);
        for (d, spec) in self.sc.deployments.iter().enumerate() {
            let dep = &mut self.deployments[d];
            let demand = spec
                .load
                .as_ref()
                .map_or(0.0, |l| load::demand_rps(l, &mut instant, &mut dep.noise));
            let capacity = f64::from(dep.ready) * spec.capacity.max_rps_per_pod;
            let served = if spec.capacity.queue && step_s > 0.0 {
                // Work beyond capacity waits in the queue and is served later.
                let processed = (capacity * step_s).min(dep.queue + demand * step_s);
                dep.queue += demand * step_s - processed;
                processed / step_s
            } else {
                demand.min(capacity)
            };
            let per_pod = if dep.ready > 0 {
                served / f64::from(dep.ready)
            } else {
                0.0
            };
            let cpu_use = spec.capacity.cpu_m_baseline + spec.capacity.cpu_m_per_rps * per_pod;
            let mem_use =
                spec.capacity.memory_bytes_baseline + spec.capacity.memory_bytes_per_rps * per_pod;
            let req = &spec.template.scheduling.requests;
            dep.usage[1] = dep.usage[0];
            dep.usage[0] = UsagePoint {
                at: now,
                cpu_m: cpu_use,
                mem_bytes: mem_use,
                rps_per_pod: per_pod,
                demand_rps: demand,
                queue: dep.queue,
            };
            if let Some(h) = self.hpa_of[d] {
                // A new usage point: the HPA's metrics change once its syncs see it.
                self.hpa_quiet[h as usize].point_added(visible_ms);
            }
            self.books.usage(
                dep.tier as usize,
                step_s,
                demand,
                served,
                f64::from(dep.ready),
                (cpu_use, mem_use),
                (req.cpu_m as f64, req.memory_bytes as f64),
                dep.ready_rates.usd_per_ms(self.sc, now),
            );
            if rows {
                let hpa = self.hpa_of[d].map(|h| &self.hpas[h as usize]);
                let reason =
                    |c: Option<autoscaler::hpa::Condition>| c.map_or("", |c| c.reason.as_str());
                sink.workload_row(&WorkloadRow {
                    t_s,
                    namespace: &spec.namespace,
                    workload: &spec.name,
                    desired_replicas: i64::from(dep.desired),
                    pods: dep.live.len() as i64,
                    ready: i64::from(dep.ready),
                    demand_rps: super::report::round(demand, 3),
                    served_rps: super::report::round(served, 3),
                    cpu_utilization_pct: if req.cpu_m > 0 && dep.ready > 0 {
                        super::report::round(cpu_use * 100.0 / req.cpu_m as f64, 2)
                    } else {
                        0.0
                    },
                    queue: super::report::round(dep.queue, 3),
                    hpa_desired_replicas: hpa.map(|h| i64::from(h.last_desired)),
                    hpa_able_to_scale: reason(hpa.and_then(|h| h.decision.able_to_scale)),
                    hpa_scaling_active: reason(hpa.and_then(|h| h.decision.scaling_active)),
                    hpa_scaling_limited: reason(hpa.and_then(|h| h.decision.scaling_limited)),
                })?;
            }
        }
        if rows {
            let cost = self.books.pool_cost_usd_per_hour(self.sc, now);
            for (pi, pool) in self.sc.node_pools.iter().enumerate() {
                let c = self.books.pool_counts[pi];
                sink.node_row(&NodeRow {
                    t_s,
                    pool: &pool.name,
                    capacity_type: pool.capacity_type.label(),
                    ready: c.ready,
                    provisioning: c.provisioning,
                    draining: c.draining,
                    cost_usd_per_hour: super::report::round(cost[pi], 6),
                })?;
            }
            for (ti, tier) in self.tiers.iter().enumerate() {
                sink.pending_row(&PendingRow {
                    t_s,
                    tier,
                    pending: self.books.tiers[ti].pending_now,
                })?;
            }
        }
        self.at(now + step, Event::Step);
        Ok(())
    }

    /// Closes the books at the end of the run and builds the report.
    pub fn report(&mut self) -> super::report::Report {
        let end = self.end;
        // Why each pod still pending fits nowhere, as kube-scheduler would word it now.
        let mut rng = Seed(self.sc.seed).fork("report/pending");
        for id in 0..self.pods.len() {
            if self.pods[id].phase == Phase::Pending {
                let spec = self.pods[id].spec.clone();
                if let Some(why) = self
                    .placement
                    .why_unschedulable(id as PodId, &spec, &mut rng)
                {
                    let tier = self.pods[id].tier as usize;
                    *self.books.tiers[tier]
                        .pending_reasons
                        .entry(why)
                        .or_default() += 1;
                }
            }
        }
        for pod in &self.pods {
            match pod.phase {
                Phase::Gone => {}
                Phase::Pending => self
                    .books
                    .pending_at_end(pod.tier as usize, end.since(pod.created)),
                _ => {
                    let n = &self.nodes[pod.node.expect("bound pods have a node") as usize];
                    self.books.pod_unbound(
                        self.sc,
                        pod.tier as usize,
                        &pod.spec.requests,
                        n,
                        pod.bound,
                        end,
                    );
                }
            }
        }
        for n in &self.nodes {
            if n.state != NodeState::Terminated {
                self.books.node_life(self.sc, n, end);
            }
        }
        let mut events = BTreeMap::new();
        for (i, k) in Event::KINDS.iter().enumerate() {
            if self.event_counts[i] > 0 {
                events.insert(k.to_string(), self.event_counts[i]);
            }
        }
        let hash = format!("{:016x}{:016x}", self.log_hash[0], self.log_hash[1]);
        self.books.report(self.sc, &self.tiers, events, hash)
    }
}

/// The node a pool launches in its `zone_index`-th zone, named `name`: the pool's labels plus
/// the well-known ones, its taints, allocatable after the DaemonSets' requests.
pub(super) fn node_spec(
    pool: &crate::scenario::model::NodePool,
    zone_index: usize,
    name: String,
) -> NodeSchedulingSpec {
    let it = &pool.instance_types[0];
    let zone = pool.zones.get(zone_index).cloned().unwrap_or_default();
    let mut labels = pool.labels.clone();
    labels.insert(well_known::HOSTNAME.to_string(), name.clone());
    if !zone.is_empty() {
        labels.insert(well_known::ZONE.to_string(), zone);
    }
    labels.insert(well_known::INSTANCE_TYPE.to_string(), it.name.clone());
    labels.insert(
        well_known::KARPENTER_CAPACITY_TYPE.to_string(),
        pool.capacity_type.label().to_string(),
    );
    let allocatable = it.allocatable.sub(&Resources {
        pods: 0,
        ..pool.daemonset_overhead
    });
    NodeSchedulingSpec {
        name,
        labels,
        taints: pool.taints.clone(),
        allocatable,
        unschedulable: false,
    }
}

/// Each PDB with its current `disruptionsAllowed`, as the disruption controller computes it:
/// expected pods from the owning Deployments' replicas, healthy pods from their ready ones.
pub(super) fn pdb_status(
    sc: &Scenario,
    deployments: &[DeploymentState],
    pdbs: &[crate::scenario::model::PodDisruptionBudget],
) -> Vec<Pdb> {
    pdbs.iter()
        .map(|pdb| {
            let (mut expected, mut healthy) = (0i32, 0i32);
            for (d, dep) in sc.deployments.iter().enumerate() {
                if dep.namespace == pdb.namespace
                    && pdb.selector.matches(&dep.template.scheduling.labels)
                {
                    expected += deployments[d].desired;
                    healthy += deployments[d].ready;
                }
            }
            // Percentages round up, for minAvailable and maxUnavailable alike.
            let scaled = |p: i32| ((i64::from(p) * i64::from(expected) + 99) / 100) as i32;
            let desired_healthy = match (pdb.min_available, pdb.max_unavailable) {
                (Some(IntOrPercent::Int(n)), _) => n,
                (Some(IntOrPercent::Percent(p)), _) => scaled(p),
                (None, Some(IntOrPercent::Int(n))) => expected - n,
                (None, Some(IntOrPercent::Percent(p))) => expected - scaled(p),
                (None, None) => expected,
            };
            Pdb {
                namespace: pdb.namespace.clone(),
                selector: pdb.selector.clone(),
                disruptions_allowed: (healthy - desired_healthy).max(0),
            }
        })
        .collect()
}
