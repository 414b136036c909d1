//! Karpenter-style provisioning: pods packed largest-first onto existing nodes, then onto
//! NodeClaims (sets of instance types) from the highest-weight NodePool that accepts them,
//! then the launch choice per claim: capacity type spot before on-demand, a
//! price-capacity-optimized spot pick, unavailable offerings skipped for 3 minutes (KC:
//! `provisioning/scheduling/*`, KA: `pkg/providers/instance/*`, `pkg/cache/cache.go`).

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::fast_hash::FxHashMap;
use crate::model::NodeSelectorTerm;
use crate::model::{well_known, NodeSchedulingSpec, PodSchedulingSpec, Resources};
use crate::node_fit::Packing;
use crate::scheduler::filters::resource_shortfalls;
use crate::scheduler::matching::node_selector_term_matches;
use crate::scheduler::snapshot::{pod_request, StaticFit};

use super::nodepool::{CapacityType, NodePool};

/// How long an offering that failed with insufficient capacity is skipped.
pub const UNAVAILABLE_OFFERINGS_TTL_MS: i64 = 180_000;
/// The AWS provider passes at most this many instance types to CreateFleet.
pub const MAX_INSTANCE_TYPES: usize = 60;
/// The pending-pod batch window: closes after this long without new pods...
pub const BATCH_IDLE_DURATION_MS: i64 = 1_000;
/// ...or after this long in total (`BATCH_IDLE_DURATION`, `BATCH_MAX_DURATION`).
pub const BATCH_MAX_DURATION_MS: i64 = 10_000;

/// One purchasable (zone, capacity type) of an instance type.
#[derive(Debug, Clone, PartialEq)]
pub struct Offering {
    pub zone: String,
    pub capacity_type: CapacityType,
    pub price_usd_per_hour: f64,
    /// Spot interruption hazard (see [`crate::spot`]); 0 for on-demand.
    pub interruption_per_hour: f64,
}

/// An instance type of the catalog.
#[derive(Debug, Clone, PartialEq)]
pub struct InstanceType {
    pub name: String,
    pub family: String,
    pub size: String,
    /// Extra node labels (`kubernetes.io/arch`, ...).
    pub labels: crate::model::Labels,
    pub capacity: Resources,
    /// Allocatable after kubelet and system reservations, before DaemonSets.
    pub allocatable: Resources,
    pub offerings: Vec<Offering>,
}

/// The (instance type, zone, capacity type) offerings that recently failed with
/// insufficient capacity, and when each may be tried again.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UnavailableOfferings {
    pub until_ms: BTreeMap<(String, String, CapacityType), i64>,
}

impl UnavailableOfferings {
    pub fn mark(&mut self, instance_type: &str, zone: &str, ct: CapacityType, now_ms: i64) {
        let key = (instance_type.to_string(), zone.to_string(), ct);
        self.until_ms
            .insert(key, now_ms + UNAVAILABLE_OFFERINGS_TTL_MS);
    }

    pub fn is_unavailable(
        &self,
        instance_type: &str,
        zone: &str,
        ct: CapacityType,
        now_ms: i64,
    ) -> bool {
        let key = (instance_type.to_string(), zone.to_string(), ct);
        self.until_ms.get(&key).is_some_and(|t| *t > now_ms)
    }
}

/// Summed capacity of a pool's existing nodes, for `limits`.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct PoolUsage {
    pub resources: Resources,
    pub nodes: i64,
}

/// What provisioning reads besides the pods and nodes.
pub struct Catalog<'a> {
    pub pools: &'a [NodePool],
    pub types: &'a [InstanceType],
    /// DaemonSet requests a new node of each pool carries.
    pub daemonset_overhead: &'a [Resources],
    pub usage: &'a [PoolUsage],
    pub unavailable: &'a UnavailableOfferings,
    pub now_ms: i64,
}

/// One (pool, instance type, zone, capacity type) a pod could land on, as a node spec.
#[derive(Debug, Clone)]
pub struct Candidate {
    pub pool: usize,
    pub type_idx: usize,
    pub offering: usize,
}

/// A new node to create: the instance types (with offerings) still compatible with every
/// pod placed on it.
#[derive(Debug, Clone)]
pub struct NodeClaim {
    pub pool: usize,
    /// Indices into the candidate table.
    pub candidates: Vec<usize>,
    pub pods: Vec<usize>,
    pub requested: Resources,
}

/// The result of one scheduling pass.
#[derive(Debug, Clone, Default)]
pub struct Schedule {
    pub claims: Vec<NodeClaim>,
    /// (pod, existing node index) placements.
    pub on_existing: Vec<(usize, usize)>,
    pub unschedulable: Vec<usize>,
    /// The candidate table the claims index into.
    pub table: Arc<CandidateTable>,
}

/// Every (pool, type, offering) a pod could land on, with the node it would be.
#[derive(Debug, Clone, Default)]
pub struct CandidateTable {
    pub candidates: Vec<Candidate>,
    pub specs: Vec<Arc<NodeSchedulingSpec>>,
}

/// Builds every (pool, type, offering) compatible with the pool's requirements, as nodes
/// whose allocatable is the type's minus the pool's DaemonSet overhead.
pub fn candidate_table(cat: &Catalog) -> Arc<CandidateTable> {
    let mut cands = Vec::new();
    let mut nodes = Vec::new();
    for (p, pool) in cat.pools.iter().enumerate() {
        // The pool's requirements read as one node selector term over the node's labels.
        let term = NodeSelectorTerm {
            match_expressions: pool.requirements.iter().map(|r| r.req.clone()).collect(),
            match_fields: Vec::new(),
        };
        for (t, it) in cat.types.iter().enumerate() {
            for (o, off) in it.offerings.iter().enumerate() {
                if cat.unavailable.is_unavailable(
                    &it.name,
                    &off.zone,
                    off.capacity_type,
                    cat.now_ms,
                ) {
                    continue;
                }
                let spec = node_spec(
                    pool,
                    it,
                    off,
                    cat.daemonset_overhead.get(p).copied().unwrap_or_default(),
                );
                // An empty node selector term matches nothing in Kubernetes; no requirements
                // here means no restriction.
                if !term.match_expressions.is_empty() && !node_selector_term_matches(&term, &spec) {
                    continue;
                }
                if spec.allocatable.cpu_m <= 0 || spec.allocatable.memory_bytes <= 0 {
                    continue;
                }
                cands.push(Candidate {
                    pool: p,
                    type_idx: t,
                    offering: o,
                });
                nodes.push(Arc::new(spec));
            }
        }
    }
    Arc::new(CandidateTable {
        candidates: cands,
        specs: nodes,
    })
}

/// The node a launched offering would register as.
pub fn node_spec(
    pool: &NodePool,
    it: &InstanceType,
    off: &Offering,
    overhead: Resources,
) -> NodeSchedulingSpec {
    let mut labels = it.labels.clone();
    labels.extend(pool.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
    labels.insert(well_known::INSTANCE_TYPE.into(), it.name.clone());
    labels.insert(well_known::INSTANCE_FAMILY.into(), it.family.clone());
    labels.insert(well_known::INSTANCE_SIZE.into(), it.size.clone());
    labels.insert(well_known::ZONE.into(), off.zone.clone());
    labels.insert(
        well_known::KARPENTER_CAPACITY_TYPE.into(),
        off.capacity_type.label().into(),
    );
    labels.insert(well_known::KARPENTER_NODEPOOL.into(), pool.name.clone());
    NodeSchedulingSpec {
        name: format!("{}-{}-{}", pool.name, it.name, off.zone),
        labels,
        taints: pool.taints.clone(),
        allocatable: it.allocatable.sub(&overhead),
        unschedulable: false,
    }
}

/// Karpenter's scheduling pass: pods sorted by CPU then memory, descending; each goes to the
/// first existing node that fits, else the open claim with the fewest pods that can take it,
/// else a new claim from the highest-weight pool whose remaining limits allow it.
pub fn schedule(
    cat: &Catalog,
    table: &Arc<CandidateTable>,
    existing: &mut Packing,
    pods: &[Arc<PodSchedulingSpec>],
) -> Schedule {
    let first_fit = |p: &Packing, pod: &Arc<PodSchedulingSpec>| p.first_fit(pod, 0..p.len());
    schedule_with(
        cat,
        table,
        existing,
        pods,
        &first_fit,
        &mut StaticMemo::default(),
    )
}

/// The node-static filter verdicts (NodeUnschedulable, NodeName, TaintToleration,
/// NodeAffinity) of pod specs on one candidate table's nodes, by spec address: they depend
/// on nothing else, so scheduling passes over the same table may share them.
#[derive(Default)]
pub struct StaticMemo {
    /// Lookup only, never iterated; the `Arc` keeps the address from being reused. Per
    /// candidate: 0 not known yet, 1 passes, 2 fails.
    by_spec: FxHashMap<usize, (Arc<PodSchedulingSpec>, Vec<u8>)>,
}

impl StaticMemo {
    /// `pod`'s entry, to judge it on many candidates.
    fn of<'m>(
        &'m mut self,
        pod: &Arc<PodSchedulingSpec>,
        cand_nodes: &'m [Arc<NodeSchedulingSpec>],
    ) -> FreshFit<'m> {
        let (_, verdicts) = self
            .by_spec
            .entry(Arc::as_ptr(pod) as usize)
            .or_insert_with(|| (pod.clone(), vec![0; cand_nodes.len()]));
        FreshFit {
            pod: pod.clone(),
            request: pod_request(pod),
            cand_nodes,
            verdicts,
        }
    }
}

/// One pod's [`StaticMemo`] entry.
struct FreshFit<'m> {
    pod: Arc<PodSchedulingSpec>,
    request: Resources,
    cand_nodes: &'m [Arc<NodeSchedulingSpec>],
    verdicts: &'m mut Vec<u8>,
}

impl FreshFit<'_> {
    /// Whether the pod fits candidate `c` already carrying `requested`, as
    /// [`crate::node_fit::fits_fresh_node`] judges it.
    fn fits(&mut self, c: usize, requested: Resources) -> bool {
        let node = &self.cand_nodes[c];
        if self.verdicts[c] == 0 {
            let passes = StaticFit::of(&self.pod, node).passes();
            self.verdicts[c] = if passes { 1 } else { 2 };
        }
        self.verdicts[c] == 1
            && !resource_shortfalls(&self.request, &node.allocatable, &requested).contains(&true)
    }
}

/// The existing nodes a scheduling pass binds pods to.
pub trait Existing {
    fn bind(&mut self, pod: &Arc<PodSchedulingSpec>, slot: usize);
}

impl Existing for Packing<'_> {
    fn bind(&mut self, pod: &Arc<PodSchedulingSpec>, slot: usize) {
        self.place(pod.clone(), slot);
    }
}

/// The first existing node a pod fits, as `Packing::first_fit` over every slot finds it.
pub type FirstFit<'f, E> = dyn Fn(&E, &Arc<PodSchedulingSpec>) -> Option<usize> + 'f;

/// [`schedule`] with the caller's existing nodes and search for the first one that fits,
/// which must answer exactly as a packing's full scan would (disruption narrows it to the
/// nodes that can fit).
pub fn schedule_with<E: Existing>(
    cat: &Catalog,
    table: &Arc<CandidateTable>,
    existing: &mut E,
    pods: &[Arc<PodSchedulingSpec>],
    first_fit: &FirstFit<E>,
    memo: &mut StaticMemo,
) -> Schedule {
    let (candidates, cand_nodes) = (&table.candidates, &table.specs);
    let mut order: Vec<usize> = (0..pods.len()).collect();
    order.sort_by_key(|&i| {
        std::cmp::Reverse((pods[i].requests.cpu_m, pods[i].requests.memory_bytes))
    });
    let mut pool_order: Vec<usize> = (0..cat.pools.len()).collect();
    pool_order.sort_by_key(|&p| std::cmp::Reverse(cat.pools[p].weight));
    let mut remaining: Vec<PoolUsage> = cat.usage.to_vec();
    remaining.resize(cat.pools.len(), PoolUsage::default());
    let mut out = Schedule::default();
    for i in order {
        let pod = &pods[i];
        if let Some(n) = first_fit(existing, pod) {
            existing.bind(pod, n);
            out.on_existing.push((i, n));
            continue;
        }
        if add_to_open_claim(&mut out.claims, cand_nodes, pod, i, memo) {
            continue;
        }
        match open_claim(
            cat,
            candidates,
            cand_nodes,
            &pool_order,
            &remaining,
            pod,
            i,
            memo,
        ) {
            Some(claim) => {
                reserve_limits(cat, candidates, &claim, &mut remaining[claim.pool]);
                out.claims.push(claim);
            }
            None => out.unschedulable.push(i),
        }
    }
    out.table = table.clone();
    out
}

/// The candidates of `claim` on which `pod` still fits next to the claim's pods.
fn narrow(
    claim: &NodeClaim,
    cand_nodes: &[Arc<NodeSchedulingSpec>],
    pod: &Arc<PodSchedulingSpec>,
    memo: &mut StaticMemo,
) -> Vec<usize> {
    let mut fit = memo.of(pod, cand_nodes);
    claim
        .candidates
        .iter()
        .copied()
        .filter(|&c| fit.fits(c, claim.requested))
        .collect()
}

fn add_to_open_claim(
    claims: &mut [NodeClaim],
    cand_nodes: &[Arc<NodeSchedulingSpec>],
    pod: &Arc<PodSchedulingSpec>,
    i: usize,
    memo: &mut StaticMemo,
) -> bool {
    let mut order: Vec<usize> = (0..claims.len()).collect();
    order.sort_by_key(|&c| claims[c].pods.len());
    for c in order {
        let keep = narrow(&claims[c], cand_nodes, pod, memo);
        if !keep.is_empty() {
            let claim = &mut claims[c];
            claim.candidates = keep;
            claim.pods.push(i);
            claim.requested = claim.requested.add(&pod.requests);
            return true;
        }
    }
    false
}

#[allow(clippy::too_many_arguments)]
fn open_claim(
    cat: &Catalog,
    candidates: &[Candidate],
    cand_nodes: &[Arc<NodeSchedulingSpec>],
    pool_order: &[usize],
    remaining: &[PoolUsage],
    pod: &Arc<PodSchedulingSpec>,
    i: usize,
    memo: &mut StaticMemo,
) -> Option<NodeClaim> {
    let mut fit = memo.of(pod, cand_nodes);
    for &p in pool_order {
        // The pool's candidates within its limits, narrowed to those the pod fits on.
        let keep: Vec<usize> = (0..candidates.len())
            .filter(|&c| {
                candidates[c].pool == p
                    && within_limits(
                        &cat.pools[p],
                        &remaining[p],
                        &cat.types[candidates[c].type_idx],
                    )
                    && fit.fits(c, Resources::ZERO)
            })
            .collect();
        if !keep.is_empty() {
            return Some(NodeClaim {
                pool: p,
                candidates: keep,
                pods: vec![i],
                requested: pod.requests,
            });
        }
    }
    None
}

fn within_limits(pool: &NodePool, used: &PoolUsage, it: &InstanceType) -> bool {
    let l = &pool.limits;
    let after = used.resources.add(&it.capacity);
    l.cpu_m.is_none_or(|m| after.cpu_m <= m)
        && l.memory_bytes.is_none_or(|m| after.memory_bytes <= m)
        && l.gpu.is_none_or(|m| after.gpu <= m)
        && l.nodes.is_none_or(|m| used.nodes < m)
}

/// Limits are charged with the largest instance type the claim could still become.
fn reserve_limits(
    cat: &Catalog,
    candidates: &[Candidate],
    claim: &NodeClaim,
    used: &mut PoolUsage,
) {
    let largest = claim
        .candidates
        .iter()
        .map(|&c| cat.types[candidates[c].type_idx].capacity)
        .max_by_key(|r| (r.cpu_m, r.memory_bytes))
        .unwrap_or_default();
    used.resources = used.resources.add(&largest);
    used.nodes += 1;
}

/// What to launch for a claim.
#[derive(Debug, Clone, PartialEq)]
pub struct Launch {
    pub pool: usize,
    pub instance_type: String,
    pub zone: String,
    pub capacity_type: CapacityType,
    pub price_usd_per_hour: f64,
}

/// Knobs of the launch choice.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LaunchSettings {
    /// Instance types handed to CreateFleet, cheapest first.
    pub max_instance_types: usize,
    /// price-capacity-optimized: among spot offerings priced within this fraction of the
    /// cheapest, the one with the lowest interruption hazard wins. EC2 weighs spare capacity
    /// we cannot see; the Spot Advisor bucket stands in for it.
    pub pco_price_band: f64,
}

impl Default for LaunchSettings {
    fn default() -> Self {
        LaunchSettings {
            max_instance_types: MAX_INSTANCE_TYPES,
            pco_price_band: 0.10,
        }
    }
}

/// Picks the offering for a claim: reserved, then spot, then on-demand (the first capacity
/// type with any offering); spot offerings pricier than the cheapest on-demand one are
/// dropped when both are allowed; types are truncated to the cheapest `max_instance_types`.
pub fn choose_launch(
    schedule: &Schedule,
    claim: &NodeClaim,
    cat: &Catalog,
    settings: &LaunchSettings,
) -> Option<Launch> {
    let offers: Vec<(&InstanceType, &Offering)> = claim
        .candidates
        .iter()
        .map(|&c| {
            let cand = &schedule.table.candidates[c];
            let it = &cat.types[cand.type_idx];
            (it, &it.offerings[cand.offering])
        })
        .filter(|(it, o)| {
            !cat.unavailable
                .is_unavailable(&it.name, &o.zone, o.capacity_type, cat.now_ms)
        })
        .collect();
    let cheapest_od = offers
        .iter()
        .filter(|(_, o)| o.capacity_type == CapacityType::OnDemand)
        .map(|(_, o)| o.price_usd_per_hour)
        .fold(f64::INFINITY, f64::min);
    let offers: Vec<_> = offers
        .into_iter()
        .filter(|(_, o)| {
            o.capacity_type != CapacityType::Spot || o.price_usd_per_hour <= cheapest_od
        })
        .collect();
    let ct = [
        CapacityType::Reserved,
        CapacityType::Spot,
        CapacityType::OnDemand,
    ]
    .into_iter()
    .find(|ct| offers.iter().any(|(_, o)| o.capacity_type == *ct))?;
    let mut of_ct: Vec<_> = offers
        .into_iter()
        .filter(|(_, o)| o.capacity_type == ct)
        .collect();
    of_ct.sort_by(|a, b| {
        a.1.price_usd_per_hour
            .total_cmp(&b.1.price_usd_per_hour)
            .then(a.0.name.cmp(&b.0.name))
    });
    let mut types_seen: Vec<&str> = Vec::new();
    of_ct.retain(|(it, _)| {
        if types_seen.contains(&it.name.as_str()) {
            return true;
        }
        if types_seen.len() >= settings.max_instance_types {
            return false;
        }
        types_seen.push(&it.name);
        true
    });
    let (it, off) = if ct == CapacityType::Spot {
        let floor = of_ct.first()?.1.price_usd_per_hour;
        of_ct
            .iter()
            .filter(|(_, o)| o.price_usd_per_hour <= floor * (1.0 + settings.pco_price_band))
            .min_by(|a, b| {
                a.1.interruption_per_hour
                    .total_cmp(&b.1.interruption_per_hour)
            })
            .copied()?
    } else {
        *of_ct.first()?
    };
    Some(Launch {
        pool: claim.pool,
        instance_type: it.name.clone(),
        zone: off.zone.clone(),
        capacity_type: ct,
        price_usd_per_hour: off.price_usd_per_hour,
    })
}
