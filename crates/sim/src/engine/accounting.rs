//! The books a run keeps: node and pod lifetimes priced exactly at their ends, usage and
//! demand sampled every metrics step, pending times per priority tier. Cost follows OpenCost's
//! conventions: a pod's cost is max(request, usage) priced at its node's per-CPU and
//! per-memory rates; idle cost is node cost minus workload cost.

use std::collections::BTreeMap;

use autoscaler::model::Resources;

use super::report::{
    quantile_sorted, round, CostReport, NodeHours, Objective, Report, ResourceReport, SloReport,
    TierReport, HOURS_PER_MONTH,
};
use super::state::Node;
use crate::scenario::model::{CapacityType, Scenario};
use crate::time::{SimDuration, SimTime};

const GIB: f64 = 1024.0 * 1024.0 * 1024.0;

#[derive(Debug, Clone, Copy, Default)]
pub struct PoolCounts {
    pub ready: i64,
    pub provisioning: i64,
    pub draining: i64,
}

#[derive(Debug, Clone, Default)]
pub struct TierBooks {
    pub pods_created: u64,
    pub pods_scheduled: u64,
    pub pending_samples_s: Vec<f64>,
    pub pending_pod_s: f64,
    pub pending_now: i64,
    pub pending_at_end: u64,
    pub preemptions: u64,
    pub evictions: BTreeMap<String, u64>,
    pub pending_reasons: BTreeMap<String, u64>,
    pub workload_usd: f64,
    pub pod_s: f64,
    pub demand: f64,
    pub served: f64,
}

/// What node `n` costs from `from` to `to`: its fixed price, or its replayed spot price
/// integrated exactly over the changes in between.
pub fn node_cost_usd(sc: &Scenario, n: &Node, from: SimTime, to: SimTime) -> f64 {
    match n.price_series {
        Some(i) => sc
            .settings
            .spot
            .prices
            .get(i as usize)
            .cost_usd(SimDuration(from.0), SimDuration(to.0)),
        None => n.price_per_ms * to.since(from).as_millis() as f64,
    }
}

/// How a live node is priced: a replayed series, or a fixed price (its `f64` bits, so equal
/// prices share a key and counts stay exact integers).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum PriceKey {
    Series(u32),
    FixedPerMs(u64),
}

impl PriceKey {
    fn of(n: &Node) -> PriceKey {
        match n.price_series {
            Some(i) => PriceKey::Series(i),
            None => PriceKey::FixedPerMs(n.price_per_ms.to_bits()),
        }
    }
}

/// Σ over a workload's ready pods of their nodes' rates per millicore and per byte (USD per
/// ms): what its usage above requests is priced at each metrics step. Nodes on a replayed
/// spot price keep their shares per series, priced at the step's instant.
#[derive(Debug, Clone, Default)]
pub struct ReadyRates {
    fixed: (f64, f64),
    /// (series, Σ cpu share per millicore, Σ memory share per byte, pods): a handful at most.
    by_series: Vec<(u32, f64, f64, u32)>,
}

impl ReadyRates {
    pub fn add(&mut self, n: &Node) {
        match n.price_series {
            None => {
                self.fixed.0 += n.cpu_rate;
                self.fixed.1 += n.mem_rate;
            }
            Some(i) => {
                let at = match self.by_series.iter().position(|e| e.0 == i) {
                    Some(at) => at,
                    None => {
                        self.by_series.push((i, 0.0, 0.0, 0));
                        self.by_series.len() - 1
                    }
                };
                let e = &mut self.by_series[at];
                e.1 += n.cpu_share_per_m;
                e.2 += n.mem_share_per_byte;
                e.3 += 1;
            }
        }
    }

    pub fn remove(&mut self, n: &Node) {
        match n.price_series {
            None => {
                self.fixed.0 -= n.cpu_rate;
                self.fixed.1 -= n.mem_rate;
            }
            Some(i) => {
                let at = self
                    .by_series
                    .iter()
                    .position(|e| e.0 == i)
                    .expect("a ready pod's series was added");
                let e = &mut self.by_series[at];
                e.1 -= n.cpu_share_per_m;
                e.2 -= n.mem_share_per_byte;
                e.3 -= 1;
                if e.3 == 0 {
                    // Drops the float residue of the sums with the last pod.
                    self.by_series.swap_remove(at);
                }
            }
        }
    }

    /// The summed (CPU, memory) rates at `t`, USD per ms per millicore and per byte.
    #[inline]
    pub fn usd_per_ms(&self, sc: &Scenario, t: SimTime) -> (f64, f64) {
        let (mut cpu, mut mem) = self.fixed;
        for &(i, cpu_share, mem_share, _) in &self.by_series {
            let per_ms = sc
                .settings
                .spot
                .prices
                .get(i as usize)
                .price_usd_per_hour(SimDuration(t.0))
                / 3_600_000.0;
            cpu += cpu_share * per_ms;
            mem += mem_share * per_ms;
        }
        (cpu, mem)
    }
}

/// The share of node `n`'s cost a claim of `req` carries (OpenCost's CPU/memory split).
fn claim_share(n: &Node, req: &Resources) -> f64 {
    req.cpu_m as f64 * n.cpu_share_per_m + req.memory_bytes as f64 * n.mem_share_per_byte
}

pub struct Books {
    pub pool_counts: Vec<PoolCounts>,
    pub tiers: Vec<TierBooks>,
    pool_usd: Vec<f64>,
    pool_on_demand_usd: Vec<f64>,
    pool_node_s: Vec<f64>,
    /// The share of each pool's cost and node time on the capacity type other than the
    /// pool's own (Karpenter pools mix both).
    pool_other_usd: Vec<f64>,
    pool_other_on_demand_usd: Vec<f64>,
    pool_other_node_s: Vec<f64>,
    daemonset_usd: f64,
    cpu_req_core_s: f64,
    cpu_used_core_s: f64,
    cpu_alloc_core_s: f64,
    mem_req_gib_s: f64,
    mem_used_gib_s: f64,
    mem_alloc_gib_s: f64,
    alive_nodes: i64,
    /// Live nodes per (pool, price), for the hourly cost the timeline shows.
    alive_by_price: BTreeMap<(u16, PriceKey), i64>,
    peak_nodes: i64,
    pub jobs: BTreeMap<String, u64>,
    pub hpa: BTreeMap<String, u64>,
    pub node_autoscaler: BTreeMap<String, u64>,
}

impl Books {
    pub fn new(sc: &Scenario, tiers: usize) -> Books {
        let pools = sc.node_pools.len();
        Books {
            pool_counts: vec![PoolCounts::default(); pools],
            tiers: vec![TierBooks::default(); tiers],
            pool_usd: vec![0.0; pools],
            pool_on_demand_usd: vec![0.0; pools],
            pool_node_s: vec![0.0; pools],
            pool_other_usd: vec![0.0; pools],
            pool_other_on_demand_usd: vec![0.0; pools],
            pool_other_node_s: vec![0.0; pools],
            daemonset_usd: 0.0,
            cpu_req_core_s: 0.0,
            cpu_used_core_s: 0.0,
            cpu_alloc_core_s: 0.0,
            mem_req_gib_s: 0.0,
            mem_used_gib_s: 0.0,
            mem_alloc_gib_s: 0.0,
            alive_nodes: 0,
            alive_by_price: BTreeMap::new(),
            peak_nodes: 0,
            jobs: BTreeMap::new(),
            hpa: BTreeMap::new(),
            node_autoscaler: BTreeMap::new(),
        }
    }

    pub fn node_added(&mut self, n: &Node) {
        self.pool_counts[n.pool as usize].provisioning += 1;
        self.alive_nodes += 1;
        self.peak_nodes = self.peak_nodes.max(self.alive_nodes);
        *self
            .alive_by_price
            .entry((n.pool, PriceKey::of(n)))
            .or_default() += 1;
    }

    /// An HPA rescaled its target; `reason` is the ScalingLimited reason if the limits
    /// shaped the new size.
    pub fn hpa_rescaled(&mut self, reason: &str) {
        *self.hpa.entry("rescales".to_string()).or_default() += 1;
        if reason != "SucceededRescale" {
            *self
                .hpa
                .entry(format!("rescales limited: {reason}"))
                .or_default() += 1;
        }
    }

    /// Adds `n` to a node-autoscaling counter (`scale-ups <group>`, `spot interruptions`, ...).
    pub fn count(&mut self, counter: &str, n: u64) {
        *self.node_autoscaler.entry(counter.to_string()).or_default() += n;
    }

    pub fn node_removed(&mut self, n: &Node) {
        self.alive_nodes -= 1;
        let key = (n.pool, PriceKey::of(n));
        let count = self
            .alive_by_price
            .get_mut(&key)
            .expect("a live node was counted");
        *count -= 1;
        if *count == 0 {
            self.alive_by_price.remove(&key);
        }
    }

    /// What each pool's live nodes cost per hour at `t`, spot nodes at the price in force
    /// (a timeline column): one term per distinct price, not per node.
    pub fn pool_cost_usd_per_hour(&self, sc: &Scenario, t: SimTime) -> Vec<f64> {
        let mut cost = vec![0.0; self.pool_counts.len()];
        for (&(pool, key), &count) in &self.alive_by_price {
            let usd_per_hour = match key {
                PriceKey::Series(i) => sc
                    .settings
                    .spot
                    .prices
                    .get(i as usize)
                    .price_usd_per_hour(SimDuration(t.0)),
                PriceKey::FixedPerMs(bits) => f64::from_bits(bits) * 3_600_000.0,
            };
            cost[pool as usize] += count as f64 * usd_per_hour;
        }
        cost
    }

    pub fn node_became_ready(&mut self, pool: usize, _capacity: CapacityType) {
        self.pool_counts[pool].provisioning -= 1;
        self.pool_counts[pool].ready += 1;
    }

    /// A node's whole life, priced: from creation (the cloud bills from launch) to `end`.
    pub fn node_life(&mut self, sc: &Scenario, n: &Node, end: SimTime) {
        let ms = end.since(n.created).as_millis() as f64;
        let p = n.pool as usize;
        let cost = node_cost_usd(sc, n, n.created, end);
        self.pool_usd[p] += cost;
        self.pool_on_demand_usd[p] += n.on_demand_price_per_ms * ms;
        self.pool_node_s[p] += ms / 1000.0;
        if n.capacity != sc.node_pools[p].capacity_type {
            self.pool_other_usd[p] += cost;
            self.pool_other_on_demand_usd[p] += n.on_demand_price_per_ms * ms;
            self.pool_other_node_s[p] += ms / 1000.0;
        }
        if let Some(ready) = n.ready_at {
            let usable_ms = end.since(ready).as_millis().max(0) as f64;
            let alloc = sc.node_pools[p].instance_types[usize::from(n.instance_type)]
                .allocatable
                .sub(&n.overhead);
            self.cpu_alloc_core_s += alloc.cpu_m as f64 / 1000.0 * usable_ms / 1000.0;
            self.mem_alloc_gib_s += alloc.memory_bytes as f64 / GIB * usable_ms / 1000.0;
            if end > ready {
                self.daemonset_usd +=
                    claim_share(n, &n.overhead) * node_cost_usd(sc, n, ready, end);
            }
        }
    }

    pub fn pod_created(&mut self, tier: usize) {
        self.tiers[tier].pods_created += 1;
        self.tiers[tier].pending_now += 1;
    }

    pub fn pod_bound(&mut self, tier: usize, waited: SimDuration) {
        let t = &mut self.tiers[tier];
        t.pods_scheduled += 1;
        t.pending_now -= 1;
        t.pending_samples_s.push(waited.as_secs_f64());
        t.pending_pod_s += waited.as_secs_f64();
    }

    /// A pending pod deleted before it was ever scheduled.
    pub fn pod_abandoned(&mut self, tier: usize, waited: SimDuration) {
        let t = &mut self.tiers[tier];
        t.pending_now -= 1;
        t.pending_pod_s += waited.as_secs_f64();
    }

    pub fn pending_at_end(&mut self, tier: usize, waited: SimDuration) {
        let t = &mut self.tiers[tier];
        t.pending_at_end += 1;
        t.pending_samples_s.push(waited.as_secs_f64());
        t.pending_pod_s += waited.as_secs_f64();
    }

    /// A pod's time on node `n` from `bound` to `end`, priced at its requests.
    pub fn pod_unbound(
        &mut self,
        sc: &Scenario,
        tier: usize,
        req: &Resources,
        n: &Node,
        bound: SimTime,
        end: SimTime,
    ) {
        let ms = end.since(bound).as_millis() as f64;
        let t = &mut self.tiers[tier];
        t.pod_s += ms / 1000.0;
        t.workload_usd += claim_share(n, req) * node_cost_usd(sc, n, bound, end);
        self.cpu_req_core_s += req.cpu_m as f64 / 1000.0 * ms / 1000.0;
        self.mem_req_gib_s += req.memory_bytes as f64 / GIB * ms / 1000.0;
    }

    /// One workload over one metrics step: demand, and the usage of its ready pods. Usage
    /// above the request is priced on top of the request (OpenCost's max(request, usage)).
    #[allow(clippy::too_many_arguments)]
    pub fn usage(
        &mut self,
        tier: usize,
        step_s: f64,
        demand_rps: f64,
        served_rps: f64,
        ready: f64,
        (cpu_m, mem_b): (f64, f64),
        (req_cpu_m, req_mem_b): (f64, f64),
        (cpu_rates, mem_rates): (f64, f64),
    ) {
        let t = &mut self.tiers[tier];
        t.demand += demand_rps * step_s;
        t.served += served_rps * step_s;
        self.cpu_used_core_s += ready * cpu_m / 1000.0 * step_s;
        self.mem_used_gib_s += ready * mem_b / GIB * step_s;
        let excess =
            (cpu_m - req_cpu_m).max(0.0) * cpu_rates + (mem_b - req_mem_b).max(0.0) * mem_rates;
        t.workload_usd += excess * step_s * 1000.0;
    }

    pub fn report(
        &mut self,
        sc: &Scenario,
        tiers: &[String],
        events: BTreeMap<String, u64>,
        hash: String,
    ) -> Report {
        let hours = sc.duration.as_secs_f64() / 3600.0;
        let total: f64 = self.pool_usd.iter().sum();
        let mut cost = CostReport {
            total_usd: round(total, 6),
            ..Default::default()
        };
        let mut node_hours = NodeHours {
            peak_nodes: self.peak_nodes,
            ..Default::default()
        };
        let mut spot_savings = 0.0;
        for (p, pool) in sc.node_pools.iter().enumerate() {
            cost.by_pool_usd
                .insert(pool.name.clone(), round(self.pool_usd[p], 6));
            node_hours
                .by_pool
                .insert(pool.name.clone(), round(self.pool_node_s[p] / 3600.0, 4));
            node_hours.total += self.pool_node_s[p] / 3600.0;
            // Split the pool by capacity type: its own, and (under Karpenter) the other.
            let other = match pool.capacity_type {
                CapacityType::Spot => CapacityType::OnDemand,
                CapacityType::OnDemand => CapacityType::Spot,
            };
            let own_usd = self.pool_usd[p] - self.pool_other_usd[p];
            let own_od_usd = self.pool_on_demand_usd[p] - self.pool_other_on_demand_usd[p];
            let own_s = self.pool_node_s[p] - self.pool_other_node_s[p];
            let mut split = vec![(pool.capacity_type, own_usd, own_od_usd, own_s)];
            if self.pool_other_node_s[p] > 0.0 {
                split.push((
                    other,
                    self.pool_other_usd[p],
                    self.pool_other_on_demand_usd[p],
                    self.pool_other_node_s[p],
                ));
            }
            for (ct, usd, od_usd, node_s) in split {
                *cost
                    .by_capacity_type_usd
                    .entry(ct.label().to_string())
                    .or_default() += usd;
                *node_hours
                    .by_capacity_type
                    .entry(ct.label().to_string())
                    .or_default() += node_s / 3600.0;
                if ct == CapacityType::Spot {
                    spot_savings += od_usd - usd;
                }
            }
        }
        for v in cost.by_capacity_type_usd.values_mut() {
            *v = round(*v, 6);
        }
        for v in node_hours.by_capacity_type.values_mut() {
            *v = round(*v, 4);
        }
        node_hours.total = round(node_hours.total, 4);
        let mut workload = self.daemonset_usd;
        for (i, name) in tiers.iter().enumerate() {
            let t = &self.tiers[i];
            if t.pods_created > 0 || t.workload_usd > 0.0 {
                cost.by_priority_tier_usd
                    .insert(name.clone(), round(t.workload_usd, 6));
            }
            workload += t.workload_usd;
        }
        cost.daemonset_usd = round(self.daemonset_usd, 6);
        cost.workload_usd = round(workload, 6);
        cost.idle_usd = round(total - workload, 6);
        let per_month = if hours > 0.0 {
            HOURS_PER_MONTH / hours
        } else {
            0.0
        };
        cost.monthly_projection_usd = round(total * per_month, 2);
        cost.spot_savings_usd = round(spot_savings, 6);
        cost.monthly_spot_savings_usd = round(spot_savings * per_month, 2);

        let r = &self;
        let pct = |a: f64, b: f64| {
            if b > 0.0 {
                round(100.0 * a / b, 4)
            } else {
                0.0
            }
        };
        let resources = ResourceReport {
            cpu_requested_core_hours: round(r.cpu_req_core_s / 3600.0, 4),
            cpu_used_core_hours: round(r.cpu_used_core_s / 3600.0, 4),
            cpu_allocatable_core_hours: round(r.cpu_alloc_core_s / 3600.0, 4),
            memory_requested_gib_hours: round(r.mem_req_gib_s / 3600.0, 4),
            memory_used_gib_hours: round(r.mem_used_gib_s / 3600.0, 4),
            memory_allocatable_gib_hours: round(r.mem_alloc_gib_s / 3600.0, 4),
            cpu_request_efficiency_pct: pct(r.cpu_used_core_s, r.cpu_req_core_s),
            memory_request_efficiency_pct: pct(r.mem_used_gib_s, r.mem_req_gib_s),
            cpu_allocation_pct: pct(r.cpu_req_core_s, r.cpu_alloc_core_s),
            memory_allocation_pct: pct(r.mem_req_gib_s, r.mem_alloc_gib_s),
        };

        let mut slo = SloReport::default();
        let mut pod_hours = BTreeMap::new();
        for (i, name) in tiers.iter().enumerate() {
            let t = &mut self.tiers[i];
            slo.demand_requests += t.demand;
            slo.served_requests += t.served;
            if t.pods_created == 0 {
                continue;
            }
            pod_hours.insert(name.clone(), round(t.pod_s / 3600.0, 4));
            t.pending_samples_s.sort_by(f64::total_cmp);
            let s = &t.pending_samples_s;
            slo.by_tier.insert(
                name.clone(),
                TierReport {
                    pods_created: t.pods_created,
                    pods_scheduled: t.pods_scheduled,
                    pending_pod_seconds: round(t.pending_pod_s, 3),
                    pending_p50_s: round(quantile_sorted(s, 0.5), 3),
                    pending_p95_s: round(quantile_sorted(s, 0.95), 3),
                    pending_max_s: round(s.last().copied().unwrap_or(0.0), 3),
                    pending_at_end: t.pending_at_end,
                    preemptions: t.preemptions,
                    evictions: t.evictions.clone(),
                    pending_reasons: t.pending_reasons.clone(),
                    demand_served_pct: (t.demand > 0.0).then(|| pct(t.served, t.demand)),
                },
            );
        }
        slo.unserved_requests = round(slo.demand_requests - slo.served_requests, 3);
        slo.demand_served_pct = if slo.demand_requests > 0.0 {
            pct(slo.served_requests, slo.demand_requests)
        } else {
            100.0
        };
        slo.demand_requests = round(slo.demand_requests, 3);
        slo.served_requests = round(slo.served_requests, 3);
        if let Some(min) = sc.slos.demand_served_min {
            let target = round(min * 100.0, 4);
            slo.objectives.push(Objective {
                name: "demand served %".into(),
                target,
                actual: slo.demand_served_pct,
                met: slo.demand_served_pct >= target,
            });
        }
        for (tier, max) in &sc.slos.max_pending_by_tier {
            let actual = slo.by_tier.get(tier).map_or(0.0, |t| t.pending_max_s);
            let target = max.as_secs_f64();
            slo.objectives.push(Objective {
                name: format!("max pending s ({tier})"),
                target,
                actual,
                met: actual <= target,
            });
        }
        slo.met = slo.objectives.iter().all(|o| o.met);

        Report {
            scenario: sc.name.clone(),
            seed: sc.seed,
            duration_s: sc.duration.as_millis() / 1000,
            cost,
            node_hours,
            pod_hours,
            resources,
            slo,
            jobs: self.jobs.clone(),
            hpa: self.hpa.clone(),
            node_autoscaler: self.node_autoscaler.clone(),
            events,
            event_log_hash: hash,
            warnings: sc.warnings.clone(),
        }
    }
}
