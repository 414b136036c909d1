//! Spot prices replayed in the engine: node and workload cost integrated exactly over price
//! changes, the catalog fallback for pairs without history, the timeline's hourly cost, and
//! determinism.

use std::path::Path;

use super::accounting::ReadyRates;
use super::report::Report;
use super::state::{Node, NodeState};
use super::{run, NoTimeline, NodeRow, PendingRow, TimelineSink, WorkloadRow};
use crate::scenario::load_str;
use crate::scenario::model::{CapacityType, Scenario};
use crate::scenario::spot_prices::{PricePoint, PriceSeries, SpotPrices};
use crate::time::{SimDuration, SimTime};

const MIB: f64 = 1024.0 * 1024.0;

/// A 3-hour run of one spot m5.large pool with one node per zone in `zones`, and `pods`
/// pods of 500m / 256Mi (no load model, so no usage above requests).
fn scenario(zones: &str, pods: i32) -> Scenario {
    let nodes = zones.split(',').count();
    let yaml = format!(
        "duration: 3h\nseed: 3\n\
         nodePools:\n  - {{name: spot, instanceType: m5.large, capacityType: spot, zones: [{zones}], initialNodes: {nodes}}}\n\
         manifests:\n  - apiVersion: apps/v1\n    kind: Deployment\n    metadata: {{name: web}}\n    spec:\n      \
         replicas: {pods}\n      selector: {{matchLabels: {{app: web}}}}\n      template:\n        \
         metadata: {{labels: {{app: web}}}}\n        spec:\n          containers:\n            \
         - {{name: c, image: x, resources: {{requests: {{cpu: 500m, memory: 256Mi}}}}}}\n"
    );
    load_str(&yaml, Path::new("test.yaml")).unwrap_or_else(|e| panic!("{e}\n{yaml}"))
}

/// m5.large in us-east-1a: 0.05 $/h until 1h30m, then 0.08 $/h.
fn history() -> SpotPrices {
    let p = |at_s: i64, usd_per_hour: f64| PricePoint {
        at: SimDuration::from_secs(at_s),
        usd_per_hour,
    };
    SpotPrices::new(vec![PriceSeries::new(
        "m5.large",
        "us-east-1a",
        vec![p(0, 0.05), p(5400, 0.08)],
    )])
}

/// Runs twice; both reports must be identical.
fn check(sc: &Scenario) -> Report {
    let a = run(sc, &mut NoTimeline).expect("runs");
    let b = run(sc, &mut NoTimeline).expect("runs");
    assert_eq!(format!("{a:?}"), format!("{b:?}"), "determinism");
    a
}

/// A report figure (rounded to 6 decimals) against the exact value.
fn close(report: f64, exact: f64) -> bool {
    (report - super::report::round(exact, 6)).abs() < 1e-12
}

#[test]
fn a_node_across_a_price_change_costs_each_price_for_its_time() {
    let mut sc = scenario("us-east-1a", 0);
    sc.settings.spot.prices = history();
    let r = check(&sc);
    let expected = 0.05 * 1.5 + 0.08 * 1.5;
    assert!(close(r.cost.total_usd, expected), "{}", r.cost.total_usd);
    assert!(close(r.cost.by_capacity_type_usd["spot"], expected));
    assert!(close(r.cost.spot_savings_usd, 0.096 * 3.0 - expected));
    assert!(close(r.cost.idle_usd, expected), "no pods: all idle");
}

#[test]
fn workload_cost_follows_the_price_too() {
    let mut sc = scenario("us-east-1a", 2);
    sc.settings.spot.prices = history();
    let r = check(&sc);
    // OpenCost's split of an m5.large (2 vCPU, 8 GiB) between CPU and memory, by hand.
    let (cpu_w, mem_w) = (2.0 * 0.031611, 8.0 * 0.004237);
    let share = 500.0 / 2000.0 * cpu_w / (cpu_w + mem_w)
        + 256.0 * MIB / (8192.0 * MIB) * mem_w / (cpu_w + mem_w);
    // Both pods bind at time 0 and run to the end, across the change.
    let expected = 2.0 * share * (0.05 * 1.5 + 0.08 * 1.5);
    let tier = r.cost.by_priority_tier_usd["(no priority class)"];
    assert!(close(tier, expected), "{tier} != {expected}");
    assert!(close(r.cost.idle_usd, 0.195 - expected));
}

#[test]
fn a_pair_without_history_pays_the_catalog_discount() {
    let mut sc = scenario("us-east-1a, us-east-1b", 0);
    sc.settings.spot.prices = history();
    let r = check(&sc);
    let fallback = sc.node_pools[0].instance_types[0].price_usd_per_hour(CapacityType::Spot);
    let expected = 0.195 + 3.0 * fallback;
    assert!(close(r.cost.total_usd, expected), "{}", r.cost.total_usd);
    // Without any history both nodes pay the discount.
    let plain = check(&scenario("us-east-1a, us-east-1b", 0));
    assert!(close(plain.cost.total_usd, 6.0 * fallback));
}

/// Keeps the node rows.
#[derive(Default)]
struct Rows(Vec<(i64, f64)>);

impl TimelineSink for Rows {
    fn node_row(&mut self, row: &NodeRow<'_>) -> std::io::Result<()> {
        self.0.push((row.t_s, row.cost_usd_per_hour));
        Ok(())
    }
    fn workload_row(&mut self, _: &WorkloadRow<'_>) -> std::io::Result<()> {
        Ok(())
    }
    fn pending_row(&mut self, _: &PendingRow<'_>) -> std::io::Result<()> {
        Ok(())
    }
}

#[test]
fn the_timeline_shows_the_price_in_force() {
    let mut sc = scenario("us-east-1a, us-east-1b", 0);
    sc.settings.spot.prices = history();
    let fallback = sc.node_pools[0].instance_types[0].price_usd_per_hour(CapacityType::Spot);
    let mut rows = Rows::default();
    run(&sc, &mut rows).expect("runs");
    let at = |t_s: i64| rows.0.iter().find(|r| r.0 == t_s).expect("a row").1;
    let round = |x: f64| super::report::round(x, 6);
    assert_eq!(at(0), round(0.05 + fallback));
    assert_eq!(at(5340), round(0.05 + fallback));
    assert_eq!(at(5400), round(0.08 + fallback));
    assert_eq!(at(10_740), round(0.08 + fallback));
}

/// A Ready node for the rate sums: on `series`, or at a fixed price with the given rates.
fn node(series: Option<u32>, cpu_share_per_m: f64, cpu_rate: f64) -> Node {
    Node {
        pool: 0,
        zone: 0,
        instance_type: 0,
        capacity: CapacityType::Spot,
        state: NodeState::Ready,
        created: SimTime::ZERO,
        ready_at: Some(SimTime::ZERO),
        price_per_ms: 0.0,
        price_series: series,
        on_demand_price_per_ms: 0.0,
        cpu_share_per_m,
        mem_share_per_byte: 0.0,
        cpu_rate,
        mem_rate: 0.0,
        overhead: autoscaler::model::Resources::ZERO,
    }
}

#[test]
fn usage_above_requests_is_priced_at_the_step_s_price() {
    let mut sc = scenario("us-east-1a", 0);
    sc.settings.spot.prices = history();
    let (spot, fixed) = (node(Some(0), 1e-3, 0.0), node(None, 0.0, 2e-9));
    let mut rates = ReadyRates::default();
    rates.add(&spot);
    rates.add(&spot);
    rates.add(&fixed);
    let cpu_at = |rates: &ReadyRates, t_s: i64| rates.usd_per_ms(&sc, SimTime(t_s * 1000)).0;
    let per_ms = |usd_per_hour: f64| usd_per_hour / 3_600_000.0;
    assert!((cpu_at(&rates, 0) - (2e-3 * per_ms(0.05) + 2e-9)).abs() < 1e-18);
    assert!((cpu_at(&rates, 5400) - (2e-3 * per_ms(0.08) + 2e-9)).abs() < 1e-18);
    rates.remove(&spot);
    rates.remove(&spot);
    assert_eq!(
        cpu_at(&rates, 5400),
        2e-9,
        "no spot pods left: the fixed rate alone"
    );
}
