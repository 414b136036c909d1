//! kube-scheduler semantics: filters, scores, preemption, over a [`ClusterSnapshot`].
//!
//! # Overview
//! - [`ClusterSnapshot`] is kube-scheduler's NodeInfo cache: nodes (their spec, requested
//!   and non-zero requested resources, bound pods), bound pods (spec, node, start time,
//!   terminating or not) and nominations. The simulator mutates it as the cluster changes
//!   (`add_node`, `remove_node`, `set_unschedulable`, `set_taints`, `bind`, `unbind`,
//!   `set_terminating`, `nominate`). The cluster-autoscaler runs its what-if simulations
//!   (binpacking, drain) on it with [`ClusterSnapshot::fork`] / `revert` / `commit`
//!   (O(changes)) or on a `clone()`, and calls [`ClusterSnapshot::fits`] (or one
//!   [`PreFilter`] per pod and its `filter` per node), which runs exactly the filters below
//!   and nothing else. Nodes need a unique `kubernetes.io/hostname` label for hostname
//!   topology terms, template nodes included.
//! - [`filters`] holds the Filter plugins, each giving `Ok(())` or a [`Rejection`] with
//!   kube-scheduler's reason strings (the node-static ones as one cached predicate set);
//!   [`PreFilter`] is the per-pod state they share.
//! - [`scores`] holds the Score plugins with the default weights (TaintToleration 3,
//!   NodeAffinity 2, PodTopologySpread 2, InterPodAffinity 2, NodeResourcesFit 1,
//!   NodeResourcesBalancedAllocation 1) and their normalization.
//! - [`Scheduler`] runs one scheduling cycle ([`Scheduler::schedule_one`]) and, on failure,
//!   DefaultPreemption; [`Scheduler::schedule`] does both, and [`Scheduler::schedule_with`]
//!   answers retries of a failed attempt from memory while nothing it read changed.
//!
//! # Lifecycle (what the simulator does)
//! 1. Pop the highest-priority pending pod (PrioritySort), call [`Scheduler::schedule`].
//! 2. `Scheduled(node)`: `snapshot.bind(pod, spec, node, now_ms)`.
//! 3. `Nominated { preemption, .. }`: delete the victims gracefully (mark them with
//!    `set_terminating(.., Termination::Preempted)`, `unbind` when gone),
//!    `snapshot.nominate(pod, spec, node)`, clear `clear_nominations`, and retry the pod
//!    after its back-off; it may land elsewhere.
//! 4. `Unschedulable(err)`: the pod stays Pending with `err.to_string()` as its
//!    PodScheduled=False message, and is retried after its back-off (1 s doubling to 10 s).
//!
//! # Complexity
//! Per attempt, PreFilter is O(nodes × constraints) for topology spread (per-node match counts
//! of each selector are kept incrementally as pods bind and unbind, keyed by interned pod
//! classes) and O(pods matching a term) for inter-pod affinity. Filtering stops after
//! `numFeasibleNodesToFind` feasible nodes (percentageOfNodesToScore, adaptive by default);
//! scoring is O(feasible nodes). Preemption dry-runs at most every potential node, re-running
//! the filters once per victim. The node-static filters (NodeUnschedulable, NodeName,
//! TaintToleration, NodeAffinity) are cached per pod filter class (node selector, required
//! node affinity, tolerations, node name) and node, recomputed only for nodes added or whose
//! spec changed, along with the list of nodes that pass them; the feasibility search looks
//! at those only, and builds no rejection unless every node fails.
//!
//! # Determinism
//! Nodes are visited in id order from a rotating start index kept in the [`Scheduler`]; ties
//! between equally scored nodes and the preemption offset are drawn from the RNG passed in.
//! No clock, no global RNG, no iteration over hash maps: the same snapshot, calls and RNG
//! stream give the same placements.
//!
//! # Reason strings
//! Filter reasons are kube-scheduler's, aggregated as its FitError prints them (counts
//! sorted as strings, then the PostFilter message). TaintToleration names the taint
//! (`node(s) had untolerated taint {key: value}`) as Kubernetes did up to 1.34; later
//! releases print `node(s) had untolerated taint(s)`.
//!
//! # Deviations from kube-scheduler
//! - Pods carry pod-level requests, so the non-zero request rule (100m / 200 MiB) applies to
//!   the pod's total rather than per container.
//! - Nominated pods reserve their requests in the resource fit of pods of equal or lower
//!   priority; they are not added to topology spread or inter-pod affinity counts.
//! - Host ports, volumes, images and namespace selectors of affinity terms are not modeled.
//! - Among equally scored nodes the winner is drawn uniformly by reservoir sampling in node
//!   order (kube-scheduler samples in heap order); the distribution is the same.
//! - An empty snapshot gives a FitError printed as `no nodes available to schedule pods`
//!   (kube-scheduler's ErrNoNodesAvailable).

pub mod filters;
mod interpod;
pub mod matching;
mod preemption;
pub mod scores;
pub mod snapshot;
mod spread;

use std::fmt;
use std::sync::Arc;

use rand::Rng;

pub use filters::{Code, FilterResult, PreFilter, Reason, Rejection};
pub use preemption::{Pdb, Preemption};
pub use snapshot::{
    BoundPod, ClusterSnapshot, Fork, NodeId, NodeInfo, Nomination, PodId, Termination,
};
pub use spread::SYSTEM_DEFAULT_CONSTRAINTS;

use crate::fast_hash::FxHashMap;
use crate::model::{PodSchedulingSpec, WhenUnsatisfiable};

/// NodeResourcesFit's scoring strategy.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub enum ScoringStrategy {
    /// Spread pods over nodes (kube-scheduler's default).
    #[default]
    LeastAllocated,
    /// Bin-pack.
    MostAllocated,
}

/// kube-scheduler settings the engine honours. Defaults are kube-scheduler's.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SchedulerConfig {
    pub scoring: ScoringStrategy,
    /// `percentageOfNodesToScore`; `None` (or 0) is the adaptive rule.
    pub percentage_of_nodes_to_score: Option<u32>,
    /// DefaultPreemption's `minCandidateNodesPercentage` (10).
    pub min_candidate_nodes_percentage: u32,
    /// DefaultPreemption's `minCandidateNodesAbsolute` (100).
    pub min_candidate_nodes_absolute: u32,
}

impl Default for SchedulerConfig {
    fn default() -> Self {
        SchedulerConfig {
            scoring: ScoringStrategy::LeastAllocated,
            percentage_of_nodes_to_score: None,
            min_candidate_nodes_percentage: 10,
            min_candidate_nodes_absolute: 100,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    #[error("percentageOfNodesToScore must be between 0 and 100, got {0}")]
    PercentageOfNodesToScore(u32),
    #[error("minCandidateNodesPercentage must be between 0 and 100, got {0}")]
    MinCandidateNodesPercentage(u32),
    #[error("minCandidateNodesPercentage and minCandidateNodesAbsolute cannot both be zero")]
    NoPreemptionCandidates,
}

impl SchedulerConfig {
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Some(p) = self.percentage_of_nodes_to_score.filter(|&p| p > 100) {
            return Err(ConfigError::PercentageOfNodesToScore(p));
        }
        if self.min_candidate_nodes_percentage > 100 {
            return Err(ConfigError::MinCandidateNodesPercentage(
                self.min_candidate_nodes_percentage,
            ));
        }
        if self.min_candidate_nodes_percentage == 0 && self.min_candidate_nodes_absolute == 0 {
            return Err(ConfigError::NoPreemptionCandidates);
        }
        Ok(())
    }
}

/// Why a pod fits no node, aggregated as kube-scheduler's FitError prints it:
/// `0/5 nodes are available: 2 Insufficient cpu, 3 node(s) had untolerated taint {k: v}.`
/// followed by the preemption message, if preemption ran and failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FitError {
    pub num_all_nodes: usize,
    /// Each node's rejection, in node id order.
    pub statuses: Vec<(NodeId, Rejection)>,
    /// PostFilter's message (`preemption: ...`), empty when preemption did not run or
    /// succeeded.
    pub post_filter_msg: String,
}

impl fmt::Display for FitError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.num_all_nodes == 0 {
            return f.write_str("no nodes available to schedule pods");
        }
        write!(f, "0/{} nodes are available:", self.num_all_nodes)?;
        let hist = reasons_histogram(self.statuses.iter().map(|(_, r)| r), None, 0);
        if !hist.is_empty() {
            write!(f, " {hist}.")?;
        }
        if !self.post_filter_msg.is_empty() {
            write!(f, " {}", self.post_filter_msg)?;
        }
        Ok(())
    }
}

impl std::error::Error for FitError {}

/// "count reason" entries sorted as strings and joined, as `sortReasonsHistogram` does;
/// `absent` nodes (of `absent_count`) get the given reason.
fn reasons_histogram<'a>(
    statuses: impl Iterator<Item = &'a Rejection>,
    absent: Option<Reason>,
    absent_count: usize,
) -> String {
    let mut counts: std::collections::BTreeMap<String, usize> = Default::default();
    for r in statuses {
        for reason in r.reasons() {
            *counts.entry(reason.to_string()).or_insert(0) += 1;
        }
    }
    if let Some(reason) = absent.filter(|_| absent_count > 0) {
        *counts.entry(reason.to_string()).or_insert(0) += absent_count;
    }
    let mut entries: Vec<String> = counts.iter().map(|(k, v)| format!("{v} {k}")).collect();
    entries.sort();
    entries.join(", ")
}

/// `0/N nodes are available: ...` over some nodes' statuses, the others counted with
/// `absent`.
pub(crate) fn availability_message<'a>(
    num_all: usize,
    statuses: impl Iterator<Item = &'a Rejection> + Clone,
    absent: Reason,
) -> String {
    let present = statuses.clone().count();
    let hist = reasons_histogram(statuses, Some(absent), num_all.saturating_sub(present));
    format!("0/{num_all} nodes are available: {hist}.")
}

/// What one scheduling attempt decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ScheduleOutcome {
    /// Bind the pod to this node.
    Scheduled(NodeId),
    /// The pod fits nowhere, but preempting victims makes room: see [`Preemption`].
    /// `error` is why it fits nowhere, if the scheduler explains failures
    /// ([`Scheduler::set_explain_failures`]).
    Nominated {
        preemption: Preemption,
        error: Option<Arc<FitError>>,
    },
    /// The pod stays Pending with this error (preemption included in its message), if the
    /// scheduler explains failures.
    Unschedulable(Option<Arc<FitError>>),
}

/// The scheduling profile plus the little state kube-scheduler keeps between cycles: the
/// index of the node where the next feasibility search starts.
#[derive(Debug, Clone)]
pub struct Scheduler {
    cfg: SchedulerConfig,
    next_start_node_index: usize,
    /// The feasible nodes of the current attempt and their scores, kept to reuse the
    /// allocations.
    feasible: Vec<NodeId>,
    scores: Vec<scores::NodeScore>,
    /// Recent full attempts that ended unschedulable, see [`Scheduler::schedule_with`].
    /// Keyed by the address of the spec's allocation, which the entry's own `Arc` keeps
    /// alive, so an address cannot be reused while its entry exists. Only looked up, never
    /// iterated: its order cannot leak into results.
    failed: FxHashMap<usize, FailedAttempt>,
    /// Off only in tests, to prove the memo changes nothing.
    remember_failures: bool,
    /// See [`Scheduler::set_explain_failures`].
    explain_failures: bool,
    /// Attempts answered from `failed`.
    pub(crate) failures_reused: u64,
}

/// At most this many failed attempts are remembered (one per pod spec).
const MAX_FAILED_ATTEMPTS: usize = 1024;

/// A full attempt (filters, then preemption) that found no place for a pod without a
/// nomination, on the snapshot at `version`.
#[derive(Debug, Clone)]
struct FailedAttempt {
    spec: Arc<PodSchedulingSpec>,
    version: u64,
    /// The nodes whose changes may change the outcome, or `None` for any change at all.
    watched: Option<Watched>,
    /// `None` when the scheduler does not explain failures.
    error: Option<Arc<FitError>>,
    /// The range preemption drew its candidate offset from, if it drew.
    drawn_from: Option<usize>,
}

impl FailedAttempt {
    /// Whether the snapshot is, for this attempt, as it was.
    fn holds(&self, snap: &ClusterSnapshot) -> bool {
        match &self.watched {
            None => snap.version() <= self.version,
            Some(watched) => {
                reads_own_node_only(snap, &self.spec)
                    && snap.layout_version() <= self.version
                    && watched.unchanged_since(snap, self.version)
            }
        }
    }
}

/// The nodes a remembered failure depends on: in node order, and as a set.
#[derive(Debug, Clone)]
struct Watched {
    nodes: Vec<NodeId>,
    bits: Vec<u64>,
}

impl Watched {
    fn new(nodes: Vec<NodeId>) -> Watched {
        let words = nodes.last().map_or(0, |n| n.0 as usize / 64 + 1);
        let mut bits = vec![0u64; words];
        for n in &nodes {
            bits[n.0 as usize / 64] |= 1 << (n.0 % 64);
        }
        Watched { nodes, bits }
    }

    fn contains(&self, n: NodeId) -> bool {
        let word = self.bits.get(n.0 as usize / 64).copied().unwrap_or(0);
        word & (1 << (n.0 % 64)) != 0
    }

    /// Whether none of the nodes changed since `version`: from the few nodes changed since,
    /// when the snapshot still remembers them, rather than from every watched node's stamp.
    fn unchanged_since(&self, snap: &ClusterSnapshot, version: u64) -> bool {
        let by_stamps = || self.nodes.iter().all(|&n| snap.node_version(n) <= version);
        let unchanged = match snap.nodes_changed_since(version) {
            Some(mut changed) if changed.len() < self.nodes.len() => {
                changed.all(|n| !self.contains(n))
            }
            _ => by_stamps(),
        };
        debug_assert_eq!(unchanged, by_stamps());
        unchanged
    }
}

/// `minFeasibleNodesToFind` and `minFeasibleNodesPercentageToFind`.
const MIN_FEASIBLE_NODES_TO_FIND: usize = 100;
const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND: usize = 5;

impl Scheduler {
    pub fn new(cfg: SchedulerConfig) -> Result<Scheduler, ConfigError> {
        cfg.validate()?;
        Ok(Scheduler {
            cfg,
            next_start_node_index: 0,
            feasible: Vec::new(),
            scores: Vec::new(),
            failed: FxHashMap::default(),
            remember_failures: true,
            explain_failures: true,
            failures_reused: 0,
        })
    }

    /// Turns the failed-attempt memo of [`schedule_with`](Self::schedule_with) off (it is
    /// on by default); for tests proving it changes nothing.
    pub fn set_remember_failures(&mut self, on: bool) {
        self.remember_failures = on;
        self.failed.clear();
    }

    pub fn config(&self) -> &SchedulerConfig {
        &self.cfg
    }

    /// How many feasible nodes to find before scoring: all below 100 nodes, otherwise
    /// max(100, nodes × pct %), with pct = max(5, 50 − nodes/125) unless configured.
    pub fn num_feasible_nodes_to_find(&self, num_all_nodes: usize) -> usize {
        if num_all_nodes < MIN_FEASIBLE_NODES_TO_FIND {
            return num_all_nodes;
        }
        let pct = match self.cfg.percentage_of_nodes_to_score {
            Some(p) if p > 0 => p as usize,
            _ => (50usize.saturating_sub(num_all_nodes / 125))
                .max(MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND),
        };
        (num_all_nodes * pct / 100).max(MIN_FEASIBLE_NODES_TO_FIND)
    }

    /// Whether full attempts ([`schedule_with`](Self::schedule_with)) describe their
    /// failures: every node's rejection and preemption's message, in the outcome's
    /// [`FitError`]. On by default. A caller that never reads them (the simulator, which
    /// asks [`schedule_one`](Self::schedule_one) for a message only when it reports one) turns
    /// it off and the scheduler then only works out what it acts on: which nodes failed with
    /// a resolvable status. Decisions and RNG draws are the same either way.
    pub fn set_explain_failures(&mut self, on: bool) {
        self.explain_failures = on;
        self.failed.clear();
    }

    /// One scheduling cycle (filters, then scores) for a pending pod. Does not bind: the
    /// caller binds on `Ok`.
    pub fn schedule_one(
        &mut self,
        snap: &ClusterSnapshot,
        pod_id: PodId,
        pod: &PodSchedulingSpec,
        rng: &mut impl Rng,
    ) -> Result<NodeId, FitError> {
        self.search(snap, pod_id, pod, rng, true)
            .map_err(|f| f.into_error(String::new()))
    }

    /// Filters and scores; on failure, every node's rejection (`explain`) or only the nodes
    /// rejected with a resolvable status.
    fn search(
        &mut self,
        snap: &ClusterSnapshot,
        pod_id: PodId,
        pod: &PodSchedulingSpec,
        rng: &mut impl Rng,
        explain: bool,
    ) -> Result<NodeId, Failure> {
        let nodes = snap.node_ids();
        if nodes.is_empty() {
            return Err(Failure::default());
        }
        let pre = PreFilter::new(snap, pod, Some(pod_id));
        // A nominated pod tries its nominated node first, alone.
        if let Some(nom) = snap.nomination(pod_id) {
            if snap.node(nom.node).is_some() && pre.fits(nom.node) {
                return Ok(nom.node);
            }
        }
        let to_find = self.num_feasible_nodes_to_find(nodes.len());
        let start = self.next_start_node_index % nodes.len();
        let mut feasible = std::mem::take(&mut self.feasible);
        feasible.clear();
        let mut resolvable = Vec::new();
        let processed = pre.find_feasible(start, to_find, &mut feasible, &mut resolvable);
        self.next_start_node_index = (start + processed) % nodes.len();
        let result = match feasible.len() {
            // Every node was searched and rejected. The rejections themselves are built only
            // now, if wanted (in node id order, as FitError keeps them), so the search copies
            // no reason strings.
            0 => Err(Failure::of(&pre, nodes, resolvable, explain)),
            1 => Ok(feasible[0]),
            _ => {
                let scores = &mut self.scores;
                scores::score_nodes_into(snap, pod, &feasible, self.cfg.scoring, scores);
                Ok(feasible[scores::select_host(scores, rng)])
            }
        };
        self.feasible = feasible;
        result
    }

    /// A full attempt: schedule, and preempt if the pod fits nowhere. `snap` is only
    /// borrowed mutably for preemption's dry runs and is left unchanged.
    pub fn schedule(
        &mut self,
        snap: &mut ClusterSnapshot,
        pod_id: PodId,
        pod: &PodSchedulingSpec,
        pdbs: &[Pdb],
        rng: &mut impl Rng,
    ) -> ScheduleOutcome {
        let pod = Arc::new(pod.clone());
        self.schedule_with(snap, pod_id, &pod, || pdbs.to_vec(), rng)
    }

    /// [`schedule`](Self::schedule) with the PDBs computed only if preemption runs.
    ///
    /// A pending pod is retried again and again on a full cluster, mostly on a snapshot
    /// that, as far as it is concerned, is unchanged since it (or a replica sharing its
    /// spec) last failed. Such an attempt is answered from that failure: the filters would
    /// reject the same nodes, preemption would find the same nothing, and the search start
    /// index does not move when every node is rejected. The one RNG draw preemption made is
    /// made again, so the stream, and everything the caller draws after, stays as if the
    /// attempt had run. "Unchanged" is exact: for a pod whose filters read only its own
    /// node (no hard topology spread, no pod (anti-)affinity in the cluster) it means no
    /// node was added, removed or respecified, no nomination changed and none of the nodes
    /// that passed the static filters changed; otherwise, no change at all.
    pub fn schedule_with(
        &mut self,
        snap: &mut ClusterSnapshot,
        pod_id: PodId,
        pod: &Arc<PodSchedulingSpec>,
        pdbs: impl FnOnce() -> Vec<Pdb>,
        rng: &mut impl Rng,
    ) -> ScheduleOutcome {
        let unnominated = snap.nomination(pod_id).is_none();
        let key = Arc::as_ptr(pod) as usize;
        if let Some(f) = self.failed.get_mut(&key) {
            if unnominated && f.holds(snap) {
                // It holds now as it did then: later checks need only look at what changes
                // from now on (not inside a what-if, whose changes a revert takes back).
                if !snap.is_forked() {
                    f.version = snap.version();
                }
                if let Some(n) = f.drawn_from {
                    rng.random_range(0..n);
                }
                self.failures_reused += 1;
                return ScheduleOutcome::Unschedulable(f.error.clone());
            }
        }
        let explain = self.explain_failures;
        let failure = match self.search(snap, pod_id, pod, rng, explain) {
            Ok(node) => return ScheduleOutcome::Scheduled(node),
            Err(f) => f,
        };
        let (mut post_filter_msg, mut drawn_from) = (String::new(), None);
        if failure.num_all_nodes > 0 {
            let potential = &failure.resolvable;
            match preemption::preempt(
                &self.cfg,
                snap,
                pod_id,
                pod,
                potential,
                &pdbs(),
                rng,
                explain,
            ) {
                Ok(preemption) => {
                    let error = explain.then(|| Arc::new(failure.into_error(String::new())));
                    return ScheduleOutcome::Nominated { preemption, error };
                }
                Err(e) => {
                    if explain {
                        post_filter_msg = format!("preemption: {}", e.message);
                    }
                    drawn_from = e.drawn_from;
                }
            }
        }
        self.failed.remove(&key);
        let watched =
            reads_own_node_only(snap, pod).then(|| Watched::new(failure.resolvable.clone()));
        let error = explain.then(|| Arc::new(failure.into_error(post_filter_msg)));
        // Inside a fork the snapshot is a what-if: its content, and so the failure, is not
        // what the stamps will say once the fork is reverted.
        if unnominated && self.remember_failures && !snap.is_forked() {
            if self.failed.len() >= MAX_FAILED_ATTEMPTS {
                self.failed.clear();
            }
            let f = FailedAttempt {
                spec: pod.clone(),
                version: snap.version(),
                watched,
                error: error.clone(),
                drawn_from,
            };
            self.failed.insert(key, f);
        }
        ScheduleOutcome::Unschedulable(error)
    }
}

/// Why a search found no node: the nodes rejected with a resolvable status (preemption's
/// potential nodes, and what a remembered failure watches), and every node's rejection when
/// the scheduler explains failures. Both in node id order.
#[derive(Default)]
struct Failure {
    num_all_nodes: usize,
    resolvable: Vec<NodeId>,
    statuses: Vec<(NodeId, Rejection)>,
}

impl Failure {
    /// `resolvable` as the search found them; the rejections only if `explain`.
    fn of(
        pre: &PreFilter<'_>,
        nodes: &[NodeId],
        resolvable: Vec<NodeId>,
        explain: bool,
    ) -> Failure {
        let statuses: Vec<(NodeId, Rejection)> = if explain {
            let rejection = |n| pre.filter(n).expect_err("no node passed");
            nodes.iter().map(|&n| (n, rejection(n))).collect()
        } else {
            Vec::new()
        };
        let resolvable_codes = statuses
            .iter()
            .filter(|(_, r)| r.code == Code::Unschedulable);
        debug_assert!(!explain || resolvable_codes.map(|(n, _)| n).eq(&resolvable));
        Failure {
            num_all_nodes: nodes.len(),
            resolvable,
            statuses,
        }
    }

    fn into_error(self, post_filter_msg: String) -> FitError {
        FitError {
            num_all_nodes: self.num_all_nodes,
            statuses: self.statuses,
            post_filter_msg,
        }
    }
}

/// Whether the filters and preemption dry runs for `pod` read nothing but the node they
/// judge: no hard topology spread constraint, and no pod (anti-)affinity anywhere in the
/// cluster. Then a node that passes the static filters can only fail on resources (a
/// resolvable failure), and a node that fails them stays failed until its spec changes.
pub(crate) fn reads_own_node_only(snap: &ClusterSnapshot, pod: &PodSchedulingSpec) -> bool {
    pod.topology_spread
        .iter()
        .all(|c| c.when_unsatisfiable != WhenUnsatisfiable::DoNotSchedule)
        && pod.pod_affinity.required.is_empty()
        && pod.pod_anti_affinity.required.is_empty()
        && snap.index().affinity_classes.is_empty()
}

#[cfg(test)]
mod tests;
