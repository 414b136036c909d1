//! Karpenter's disruption controller, one pass: expiration (forceful), then emptiness,
//! drift, multi-node and single-node consolidation; the first method that yields a command
//! wins (KC: `pkg/controllers/disruption/*`, reference §6.2–6.5).

use std::sync::Arc;

use crate::model::NodeSchedulingSpec;
use crate::model::{PodSchedulingSpec, Resources};
use crate::node_fit::Packing;

use super::base_fit::BaseFits;
use super::lite::Lite;
use super::nodepool::{Budget, CapacityType, ConsolidationPolicy, DisruptionReason};
use super::provisioning::{
    candidate_table, choose_launch, schedule_with, CandidateTable, Catalog, Launch, LaunchSettings,
    NodeClaim, Schedule, StaticMemo,
};

/// `karpenter.sh/do-not-disrupt`.
pub const DO_NOT_DISRUPT: &str = "karpenter.sh/do-not-disrupt";
/// Multi-node consolidation looks at no more than this many candidates.
pub const MULTI_NODE_MAX_CANDIDATES: usize = 100;
/// Single-node spot-to-spot replacement needs this many cheaper instance types.
pub const SPOT_TO_SPOT_MIN_CHEAPER_TYPES: usize = 15;

/// A pod on a Karpenter node.
#[derive(Debug, Clone)]
pub struct KPod {
    pub spec: Arc<PodSchedulingSpec>,
    /// `controller.kubernetes.io/pod-deletion-cost`.
    pub deletion_cost: i32,
    /// An active `karpenter.sh/do-not-disrupt` annotation.
    pub do_not_disrupt: bool,
    /// DaemonSet and terminal pods are not rescheduled.
    pub reschedulable: bool,
    /// A PDB matching this pod allows no disruption now.
    pub pdb_blocked: bool,
}

/// A node Karpenter manages.
#[derive(Debug, Clone)]
pub struct KNode {
    /// Shared with the caller's snapshot where it has one, so a pass copies no node spec.
    pub spec: Arc<NodeSchedulingSpec>,
    pub pool: usize,
    pub instance_type: String,
    pub capacity_type: CapacityType,
    pub zone: String,
    pub price_usd_per_hour: f64,
    pub pods: Vec<KPod>,
    pub initialized: bool,
    pub ready: bool,
    pub marked_for_deletion: bool,
    /// A pending pod is nominated to it.
    pub nominated: bool,
    pub do_not_disrupt: bool,
    pub drifted: bool,
    pub created_ms: i64,
    /// Last pod bound to or removed from the node (or initialization).
    pub last_pod_event_ms: i64,
}

/// Disruption options (feature gates).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DisruptionSettings {
    pub spot_to_spot_consolidation: bool,
    pub drift_enabled: bool,
    pub launch: LaunchSettings,
    /// Single-node consolidation tries at most this many candidates per pass.
    pub single_node_max_candidates: usize,
}

impl Default for DisruptionSettings {
    fn default() -> Self {
        DisruptionSettings {
            spot_to_spot_consolidation: false,
            drift_enabled: false,
            launch: LaunchSettings::default(),
            single_node_max_candidates: 100,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Expiration,
    Emptiness,
    Drift,
    MultiNodeConsolidation,
    SingleNodeConsolidation,
}

/// What the controller decided. The caller taints the candidates, pre-spins the
/// replacements (not for expiration or deletes), re-validates after 15 s, then drains.
#[derive(Debug, Clone, PartialEq)]
pub struct Command {
    pub method: Method,
    /// Indices into the node list.
    pub candidates: Vec<usize>,
    pub replacements: Vec<Launch>,
    /// Savings per hour (candidate prices minus replacement prices).
    pub savings_usd_per_hour: f64,
    pub reason: String,
}

/// One disruption pass.
pub fn disrupt(
    cat: &Catalog,
    nodes: &[KNode],
    pending: &[Arc<PodSchedulingSpec>],
    settings: &DisruptionSettings,
    budget_active: &dyn Fn(&Budget) -> bool,
) -> Vec<Command> {
    disrupt_scanning(cat, None, nodes, pending, settings, budget_active, true)
}

/// [`disrupt`] with the caller's candidate table, which must be `candidate_table(cat)` (a
/// caller that keeps one until an offering's availability changes saves building it).
pub fn disrupt_with_table(
    cat: &Catalog,
    table: &Arc<CandidateTable>,
    nodes: &[KNode],
    pending: &[Arc<PodSchedulingSpec>],
    settings: &DisruptionSettings,
    budget_active: &dyn Fn(&Budget) -> bool,
) -> Vec<Command> {
    disrupt_scanning(
        cat,
        Some(table),
        nodes,
        pending,
        settings,
        budget_active,
        true,
    )
}

/// [`disrupt`], its simulations' first-fit narrowed to the base-fit nodes
/// ([`super::base_fit`]) or, without `narrow`, scanning every node (for tests that compare).
pub(crate) fn disrupt_scanning(
    cat: &Catalog,
    table: Option<&Arc<CandidateTable>>,
    nodes: &[KNode],
    pending: &[Arc<PodSchedulingSpec>],
    settings: &DisruptionSettings,
    budget_active: &dyn Fn(&Budget) -> bool,
    narrow: bool,
) -> Vec<Command> {
    let mut out = expiration(cat, nodes);
    let budget_for = |reason| budgets(cat, nodes, reason, budget_active);
    let cands = candidates(cat, nodes);
    let empty: Vec<usize> = cands
        .iter()
        .copied()
        .filter(|&n| is_empty(&nodes[n]) && consolidatable(cat, &nodes[n]))
        .collect();
    if let Some(c) = take_within_budget(nodes, &empty, &mut budget_for(DisruptionReason::Empty)) {
        out.push(Command {
            method: Method::Emptiness,
            savings_usd_per_hour: price(nodes, &c),
            candidates: c,
            replacements: vec![],
            reason: "empty".into(),
        });
        return out;
    }
    let mut sim = Sim::new(cat, table, nodes, pending, settings, narrow);
    if settings.drift_enabled {
        if let Some(cmd) = sim.drift(&cands, &mut budget_for(DisruptionReason::Drifted)) {
            out.push(cmd);
            return out;
        }
    }
    let mut under: Vec<usize> = cands
        .into_iter()
        .filter(|&n| {
            consolidatable(cat, &nodes[n])
                && cat.pools[nodes[n].pool].consolidation_policy != ConsolidationPolicy::WhenEmpty
        })
        .collect();
    // Most savings per unit of disruption first (v1.14 ordering).
    under.sort_by(|&a, &b| {
        savings_ratio(&nodes[b])
            .total_cmp(&savings_ratio(&nodes[a]))
            .then(a.cmp(&b))
    });
    let mut budget = budget_for(DisruptionReason::Underutilized);
    let allowed: Vec<usize> = {
        let mut left = budget.clone();
        under
            .iter()
            .copied()
            .filter(|&n| spend(&mut left, nodes[n].pool))
            .take(MULTI_NODE_MAX_CANDIDATES)
            .collect()
    };
    if let Some(cmd) = sim.multi_node(&allowed) {
        out.push(cmd);
        return out;
    }
    // Karpenter stops single-node consolidation at a 3-minute timeout; a candidate cap
    // stands in for it so a pass costs the same on every machine.
    for &n in under.iter().take(settings.single_node_max_candidates) {
        if budget[nodes[n].pool] < 1 {
            continue;
        }
        if let Some(cmd) = sim.consolidate(&[n], Method::SingleNodeConsolidation) {
            spend(&mut budget, nodes[n].pool);
            out.push(cmd);
            return out;
        }
    }
    out
}

/// The earliest time after `now` at which the same nodes could give a different pass: a node
/// becoming Consolidatable (`consolidateAfter` since its last pod event) or expiring. A caller
/// whose cluster has not changed may skip passes until then (scheduled budgets aside).
pub fn next_deadline_ms(cat: &Catalog, nodes: &[KNode]) -> Option<i64> {
    nodes
        .iter()
        .flat_map(|n| {
            let pool = &cat.pools[n.pool];
            let consolidatable = pool.consolidate_after_ms.map(|a| n.last_pod_event_ms + a);
            let expiry = pool.expire_after_ms.map(|e| n.created_ms + e);
            [consolidatable, expiry]
        })
        .flatten()
        .filter(|&t| t > cat.now_ms)
        .min()
}

/// Nodes past `expireAfter`: forceful, not limited by budgets, no pre-spun replacement.
fn expiration(cat: &Catalog, nodes: &[KNode]) -> Vec<Command> {
    let expired: Vec<usize> = (0..nodes.len())
        .filter(|&n| {
            let node = &nodes[n];
            let expire = cat.pools[node.pool].expire_after_ms;
            !node.marked_for_deletion && expire.is_some_and(|e| cat.now_ms - node.created_ms >= e)
        })
        .collect();
    if expired.is_empty() {
        return Vec::new();
    }
    vec![Command {
        method: Method::Expiration,
        candidates: expired,
        replacements: vec![],
        savings_usd_per_hour: 0.0,
        reason: "expired".into(),
    }]
}

/// Remaining disruptions per pool for `reason`.
fn budgets(
    cat: &Catalog,
    nodes: &[KNode],
    reason: DisruptionReason,
    active: &dyn Fn(&Budget) -> bool,
) -> Vec<i32> {
    (0..cat.pools.len())
        .map(|p| {
            let of_pool = || nodes.iter().filter(move |n| n.pool == p);
            let total = of_pool()
                .filter(|n| n.initialized && !n.marked_for_deletion)
                .count() as i32;
            let disrupting = of_pool()
                .filter(|n| !n.ready || n.marked_for_deletion)
                .count() as i32;
            cat.pools[p].available_disruptions(reason, total, disrupting, active)
        })
        .collect()
}

fn spend(budget: &mut [i32], pool: usize) -> bool {
    if budget[pool] < 1 {
        return false;
    }
    budget[pool] -= 1;
    true
}

fn take_within_budget(nodes: &[KNode], list: &[usize], budget: &mut [i32]) -> Option<Vec<usize>> {
    let taken: Vec<usize> = list
        .iter()
        .copied()
        .filter(|&n| spend(budget, nodes[n].pool))
        .collect();
    (!taken.is_empty()).then_some(taken)
}

/// Nodes any graceful method may touch.
fn candidates(cat: &Catalog, nodes: &[KNode]) -> Vec<usize> {
    (0..nodes.len())
        .filter(|&n| {
            let node = &nodes[n];
            node.initialized
                && !node.marked_for_deletion
                && !node.nominated
                && !node.do_not_disrupt
                && !node.pods.iter().any(|p| p.do_not_disrupt || p.pdb_blocked)
                && node.pool < cat.pools.len()
        })
        .collect()
}

/// `Consolidatable`: `consolidateAfter` has passed since the last pod event.
fn consolidatable(cat: &Catalog, node: &KNode) -> bool {
    cat.pools[node.pool]
        .consolidate_after_ms
        .is_some_and(|after| cat.now_ms >= node.last_pod_event_ms + after)
}

/// Eviction cost of one pod (KC: `EvictionCost`), clamped to [-10, 10].
pub fn eviction_cost(pod: &KPod) -> f64 {
    let cost =
        1.0 + pod.deletion_cost as f64 / 2f64.powi(27) + pod.spec.priority as f64 / 2f64.powi(25);
    cost.clamp(-10.0, 10.0)
}

/// 1 plus the positive eviction costs of the reschedulable pods.
pub fn reschedule_cost(node: &KNode) -> f64 {
    1.0 + node
        .pods
        .iter()
        .filter(|p| p.reschedulable)
        .map(|p| eviction_cost(p).max(0.0))
        .sum::<f64>()
}

pub fn is_empty(node: &KNode) -> bool {
    reschedule_cost(node) <= 1.0
}

fn savings_ratio(node: &KNode) -> f64 {
    node.price_usd_per_hour / reschedule_cost(node)
}

fn price(nodes: &[KNode], set: &[usize]) -> f64 {
    set.iter().map(|&n| nodes[n].price_usd_per_hour).sum()
}

/// One pass's what-if machinery: the candidate table and the cluster as a packing, built
/// once; each simulation marks its candidates unschedulable, moves their pods and rolls back.
struct Sim<'a> {
    cat: &'a Catalog<'a>,
    nodes: &'a [KNode],
    pending: &'a [Arc<PodSchedulingSpec>],
    settings: &'a DisruptionSettings,
    table: Arc<CandidateTable>,
    existing: Existing,
    /// Static verdicts on the table's nodes, shared by the pass's simulations.
    memo: StaticMemo,
}

/// The pass's existing nodes: reduced to specs and requests when no pod's verdict reads
/// other nodes ([`Lite`]), else the full packing with the base-fit shortcut where it holds.
enum Existing {
    Lite(Lite),
    Full(Packing<'static>, BaseFits),
}

impl<'a> Sim<'a> {
    fn new(
        cat: &'a Catalog<'a>,
        table: Option<&Arc<CandidateTable>>,
        nodes: &'a [KNode],
        pending: &'a [Arc<PodSchedulingSpec>],
        settings: &'a DisruptionSettings,
        narrow: bool,
    ) -> Sim<'a> {
        let existing = match Lite::new(nodes, pending).filter(|_| narrow) {
            Some(lite) => Existing::Lite(lite),
            None => Existing::Full(Sim::packing_of(nodes), BaseFits::new(pending, narrow)),
        };
        Sim {
            cat,
            nodes,
            pending,
            settings,
            table: table.cloned().unwrap_or_else(|| candidate_table(cat)),
            existing,
            memo: StaticMemo::default(),
        }
    }

    /// The cluster as a packing: every node, its pods bound.
    fn packing_of(nodes: &[KNode]) -> Packing<'static> {
        let mut packing = Packing::new();
        for n in nodes {
            // Nodes already being deleted take no pods.
            let slot = if n.marked_for_deletion && !n.spec.unschedulable {
                let mut spec = (*n.spec).clone();
                spec.unschedulable = true;
                packing.add_node(spec)
            } else {
                packing.add_shared_node(n.spec.clone())
            };
            for p in &n.pods {
                packing.place(p.spec.clone(), slot);
            }
        }
        packing
    }

    /// Reschedules the candidates' pods (and the pending pods) onto the other nodes, opening
    /// claims as needed. `None` when some candidate pod cannot be placed.
    fn simulate(&mut self, set: &[usize]) -> Option<(Schedule, usize)> {
        let mut pods: Vec<Arc<PodSchedulingSpec>> = set
            .iter()
            .flat_map(|&n| {
                self.nodes[n]
                    .pods
                    .iter()
                    .filter(|p| p.reschedulable)
                    .map(|p| p.spec.clone())
            })
            .collect();
        let moved = pods.len();
        pods.extend(self.pending.iter().cloned());
        let mut sorted = set.to_vec();
        sorted.sort_unstable();
        let (cat, table, memo) = (self.cat, &self.table, &mut self.memo);
        let sched = match &mut self.existing {
            Existing::Lite(lite) => {
                lite.prepare(&pods);
                lite.begin(&sorted);
                let first_fit = |l: &Lite, pod: &Arc<PodSchedulingSpec>| l.first_fit(pod, &sorted);
                let sched = schedule_with(cat, table, lite, &pods, &first_fit, memo);
                lite.end();
                sched
            }
            Existing::Full(packing, fits) => {
                fits.prepare(packing, &pods);
                let mark = packing.checkpoint();
                for &n in set {
                    packing.set_unschedulable(n, true);
                    packing.clear_node(n);
                }
                let first_fit =
                    |p: &Packing, pod: &Arc<PodSchedulingSpec>| fits.first_fit(p, pod, &sorted);
                let sched = schedule_with(cat, table, packing, &pods, &first_fit, memo);
                packing.rollback(mark);
                sched
            }
        };
        sched
            .unschedulable
            .iter()
            .all(|&i| i >= moved)
            .then_some((sched, moved))
    }

    fn drift(&mut self, cands: &[usize], budget: &mut [i32]) -> Option<Command> {
        let nodes = self.nodes;
        for &n in cands.iter().filter(|&&n| nodes[n].drifted) {
            if budget[nodes[n].pool] < 1 {
                continue;
            }
            let Some((sched, _)) = self.simulate(&[n]) else {
                continue;
            };
            let replacements: Vec<Launch> = sched
                .claims
                .iter()
                .filter_map(|c| choose_launch(&sched, c, self.cat, &self.settings.launch))
                .collect();
            if replacements.len() != sched.claims.len() {
                continue;
            }
            spend(budget, nodes[n].pool);
            let new: f64 = replacements.iter().map(|l| l.price_usd_per_hour).sum();
            let savings = nodes[n].price_usd_per_hour - new;
            let reason = "drifted".to_string();
            return Some(Command {
                method: Method::Drift,
                candidates: vec![n],
                replacements,
                savings_usd_per_hour: savings,
                reason,
            });
        }
        None
    }

    /// The consolidation decision for a set of candidates: delete when the pods fit
    /// elsewhere, replace with exactly one strictly cheaper node, otherwise nothing.
    fn consolidate(&mut self, set: &[usize], method: Method) -> Option<Command> {
        let (sched, moved) = self.simulate(set)?;
        let (cat, nodes, settings) = (self.cat, self.nodes, self.settings);
        let current = price(nodes, set);
        // Claims opened only for pending pods do not count against the candidates.
        let claims: Vec<&NodeClaim> = sched
            .claims
            .iter()
            .filter(|c| c.pods.iter().any(|&p| p < moved))
            .collect();
        let cmd = |replacements: Vec<Launch>, reason: String| {
            let new: f64 = replacements.iter().map(|l| l.price_usd_per_hour).sum();
            Command {
                method,
                candidates: set.to_vec(),
                replacements,
                savings_usd_per_hour: current - new,
                reason,
            }
        };
        match claims.len() {
            0 => Some(cmd(vec![], "pods fit on other nodes: delete".into())),
            1 => {
                let claim = cheaper_claim(
                    cat, nodes, set, &sched, claims[0], current, settings, method,
                )?;
                let launch = choose_launch(&sched, &claim, cat, &settings.launch)?;
                (launch.price_usd_per_hour < current)
                    .then(|| cmd(vec![launch], "replace with a cheaper node".into()))
            }
            _ => None,
        }
    }

    /// The largest prefix (at least two nodes) of the ordered candidates that consolidates,
    /// found by binary search.
    fn multi_node(&mut self, allowed: &[usize]) -> Option<Command> {
        if allowed.len() < 2 {
            return None;
        }
        let (mut lo, mut hi) = (2usize, allowed.len());
        let mut best = None;
        while lo <= hi {
            let mid = (lo + hi) / 2;
            match self.consolidate(&allowed[..mid], Method::MultiNodeConsolidation) {
                Some(cmd) => {
                    best = Some(cmd);
                    lo = mid + 1;
                }
                None => hi = mid - 1,
            }
        }
        best
    }
}

/// Narrows the replacement claim to instance types whose most expensive compatible offering
/// is strictly cheaper than the candidates, applying the spot rules.
#[allow(clippy::too_many_arguments)]
fn cheaper_claim(
    cat: &Catalog,
    nodes: &[KNode],
    set: &[usize],
    sched: &Schedule,
    claim: &NodeClaim,
    current: f64,
    settings: &DisruptionSettings,
    method: Method,
) -> Option<NodeClaim> {
    let type_of = |c: usize| sched.table.candidates[c].type_idx;
    let offer = |c: usize| {
        let cand = &sched.table.candidates[c];
        &cat.types[cand.type_idx].offerings[cand.offering]
    };
    let max_price = |t: usize| {
        claim
            .candidates
            .iter()
            .filter(|&&c| type_of(c) == t)
            .map(|&c| offer(c).price_usd_per_hour)
            .fold(0.0, f64::max)
    };
    let all_spot = set
        .iter()
        .all(|&n| nodes[n].capacity_type == CapacityType::Spot);
    let any_spot = claim
        .candidates
        .iter()
        .any(|&c| offer(c).capacity_type == CapacityType::Spot);
    let mut keep: Vec<usize> = claim
        .candidates
        .iter()
        .copied()
        .filter(|&c| max_price(type_of(c)) < current)
        .collect();
    if method == Method::MultiNodeConsolidation {
        // When a candidate's own type is among the options, anything at least as pricey as
        // it is no better than deleting the others (KC: `filterOutSameInstanceType`).
        let in_options = |name: &str| {
            claim
                .candidates
                .iter()
                .any(|&c| cat.types[type_of(c)].name == name)
        };
        let cheapest = set
            .iter()
            .filter(|&&n| in_options(&nodes[n].instance_type))
            .map(|&n| nodes[n].price_usd_per_hour)
            .fold(f64::INFINITY, f64::min);
        keep.retain(|&c| max_price(type_of(c)) < cheapest);
    }
    if any_spot {
        // An on-demand candidate with a spot-capable replacement is forced to spot, so an
        // ICE fallback cannot swap in a pricier on-demand node.
        keep.retain(|&c| offer(c).capacity_type == CapacityType::Spot);
        if all_spot {
            if !settings.spot_to_spot_consolidation {
                return None;
            }
            let mut types: Vec<usize> = keep.iter().map(|&c| type_of(c)).collect();
            types.sort_by(|&a, &b| max_price(a).total_cmp(&max_price(b)));
            types.dedup();
            if method == Method::SingleNodeConsolidation {
                if types.len() < SPOT_TO_SPOT_MIN_CHEAPER_TYPES {
                    return None;
                }
                types.truncate(SPOT_TO_SPOT_MIN_CHEAPER_TYPES);
                keep.retain(|&c| types.contains(&type_of(c)));
            }
        }
    }
    (!keep.is_empty()).then(|| NodeClaim {
        candidates: keep,
        ..claim.clone()
    })
}

/// Requests of the reschedulable pods on a node (for reports).
pub fn reschedulable_requests(node: &KNode) -> Resources {
    node.pods
        .iter()
        .filter(|p| p.reschedulable)
        .fold(Resources::ZERO, |acc, p| acc.add(&p.spec.requests))
}
