//! Scenario tests of Karpenter in the engine: provisioning within one batch window, the
//! fallback from an ICE'd spot offering to on-demand, consolidation of two underused nodes
//! into one cheaper node within its budget, emptiness after consolidateAfter, expiration
//! (blocked by a PDB until terminationGracePeriod), spot interruptions (and the offering they
//! make unavailable), NodePool weights and limits, scheduled budgets, static pools next to
//! NodePools, replayed spot prices, replacements that do not come up in time. Every run is
//! made twice and must give the identical report.

use std::path::Path;

use super::report::Report;
use super::state::{Engine, NodeState};
use super::timeline::{NodeRow, PendingRow, TimelineSink, WorkloadRow};
use super::{run, NoTimeline};
use crate::scenario::load_str;
use crate::scenario::model::{CapacityType, Scenario};
use crate::scenario::spot_prices::{PricePoint, PriceSeries, SpotPrices};
use crate::time::SimDuration;

/// A NodePool `name` over m5 `sizes` and `capacity` types in us-east-1a, with `initial`
/// nodes (`headroom.io/initial-nodes`) and a `disruption` block (flow YAML).
fn nodepool(name: &str, initial: &str, sizes: &str, capacity: &str, disruption: &str) -> String {
    format!(
        "  - apiVersion: karpenter.sh/v1\n    kind: NodePool\n    metadata:\n      name: {name}\n      \
         annotations: {{headroom.io/initial-nodes: \"{initial}\"}}\n    spec:\n      template:\n        \
         spec:\n          requirements:\n            \
         - {{key: karpenter.k8s.aws/instance-family, operator: In, values: [m5]}}\n            \
         - {{key: karpenter.k8s.aws/instance-size, operator: In, values: [{sizes}]}}\n            \
         - {{key: karpenter.sh/capacity-type, operator: In, values: [{capacity}]}}\n      \
         disruption: {disruption}\n"
    )
}

/// A Deployment `name` of `replicas` pods requesting `cpu`.
fn deployment(name: &str, replicas: i32, cpu: &str) -> String {
    format!(
        "  - apiVersion: apps/v1\n    kind: Deployment\n    metadata: {{name: {name}}}\n    spec:\n      \
         replicas: {replicas}\n      selector: {{matchLabels: {{app: {name}}}}}\n      template:\n        \
         metadata: {{labels: {{app: {name}}}}}\n        spec:\n          containers:\n            \
         - {{name: c, image: x, resources: {{requests: {{cpu: {cpu}, memory: 256Mi}}}}}}\n"
    )
}

/// A one-zone Karpenter scenario with a 60 s provisioning delay; `spot` is the
/// `settings.spot` block (flow YAML) and `manifests` the NodePools and workloads.
fn scenario(duration: &str, step: &str, spot: &str, manifests: &str) -> String {
    format!(
        "duration: {duration}\nstep: {step}\nseed: 11\n\
         settings:\n  spot: {spot}\n  nodeAutoscaler:\n    karpenter:\n      zones: [us-east-1a]\n      \
         provisioningDelay: {{constant: 60s}}\n\
         nodePools: []\nmanifests:\n{manifests}"
    )
}

/// The most nodes Draining at once, per the timeline.
#[derive(Default)]
struct MaxDraining(i64);

impl TimelineSink for MaxDraining {
    fn node_row(&mut self, row: &NodeRow<'_>) -> std::io::Result<()> {
        self.0 = self.0.max(row.draining);
        Ok(())
    }
    fn workload_row(&mut self, _: &WorkloadRow<'_>) -> std::io::Result<()> {
        Ok(())
    }
    fn pending_row(&mut self, _: &PendingRow<'_>) -> std::io::Result<()> {
        Ok(())
    }
}

/// What a run left behind: the report, the live nodes (instance type, capacity type) and
/// the most nodes Draining at once.
struct Outcome {
    report: Report,
    nodes: Vec<(String, CapacityType)>,
    max_draining: i64,
    /// Nodes Draining at the end.
    draining: usize,
}

/// Runs the scenario twice, checks both reports are identical, and returns the outcome.
fn check(yaml: &str) -> Outcome {
    let sc = load_str(yaml, Path::new("test.yaml")).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    check_scenario(&sc)
}

fn check_scenario(sc: &Scenario) -> Outcome {
    let mut engine = Engine::new(sc);
    let mut sink = MaxDraining::default();
    engine.run(&mut sink).expect("runs");
    let nodes = engine
        .nodes
        .iter()
        .filter(|n| matches!(n.state, NodeState::Ready | NodeState::Draining))
        .map(|n| {
            let pool = &sc.node_pools[n.pool as usize];
            (
                pool.instance_types[usize::from(n.instance_type)]
                    .name
                    .clone(),
                n.capacity,
            )
        })
        .collect();
    let draining = engine
        .nodes
        .iter()
        .filter(|n| n.state == NodeState::Draining)
        .count();
    let report = engine.report();
    let again = run(sc, &mut NoTimeline).expect("runs");
    assert_eq!(format!("{report:?}"), format!("{again:?}"), "determinism");
    Outcome {
        report,
        nodes,
        max_draining: sink.0,
        draining,
    }
}

fn counter(r: &Report, key: &str) -> u64 {
    r.node_autoscaler.get(key).copied().unwrap_or(0)
}

fn pending_at_end(r: &Report) -> u64 {
    r.slo.by_tier.values().map(|t| t.pending_at_end).sum()
}

fn evictions(r: &Report, cause: &str) -> u64 {
    r.slo
        .by_tier
        .values()
        .map(|t| t.evictions.get(cause).copied().unwrap_or(0))
        .sum()
}

#[test]
fn pending_pods_cause_a_launch_within_one_batch_window() {
    // Three 1.5-CPU pods fail to schedule at 0 s: the batch closes 1 s later (idle) and one
    // NodeClaim takes all three (m5.2xlarge, the cheapest type they fit on together).
    let pool = nodepool("general", "", "large, xlarge, 2xlarge", "on-demand", "{}");
    let manifests = format!("{pool}{}", deployment("web", 3, "1500m"));
    for (duration, launched) in [("900ms", 0), ("1s", 1), ("5s", 1)] {
        let o = check(&scenario(duration, "1s", "{}", &manifests));
        assert_eq!(counter(&o.report, "nodes launched"), launched, "{duration}");
    }
    // After the 60 s provisioning delay the node is Ready and takes the pods.
    let o = check(&scenario("3m", "10s", "{}", &manifests));
    assert_eq!(pending_at_end(&o.report), 0);
    assert_eq!(
        o.nodes,
        vec![("m5.2xlarge".to_string(), CapacityType::OnDemand)]
    );
}

#[test]
fn an_iced_spot_offering_falls_back_to_on_demand() {
    // The pool allows spot and on-demand m5.large/xlarge: spot first. In a spot shortage both
    // spot offerings fail, are marked unavailable, and the claim launches on-demand.
    let pool = nodepool("general", "", "large, xlarge", "spot, on-demand", "{}");
    let manifests = format!("{pool}{}", deployment("web", 1, "1500m"));
    let cases = [
        ("{}", 0, CapacityType::Spot),
        (
            "{capacityShortages: [{from: 0s}]}",
            2,
            CapacityType::OnDemand,
        ),
    ];
    for (spot, failed, capacity) in cases {
        let o = check(&scenario("3m", "10s", spot, &manifests));
        let r = &o.report;
        assert_eq!(
            counter(r, "launches failed (insufficient capacity)"),
            failed,
            "{spot}"
        );
        assert_eq!(counter(r, "nodes launched"), 1, "{spot}");
        assert_eq!(o.nodes, vec![("m5.large".to_string(), capacity)], "{spot}");
        assert_eq!(pending_at_end(r), 0, "{spot}");
    }
}

#[test]
fn consolidation_replaces_two_underused_nodes_with_one_cheaper_node_within_its_budget() {
    // Two m5.2xlarge (0.384 USD/h each) run one 1-CPU pod each. Both pods fit one m5.xlarge
    // (0.192 USD/h). With a budget of 100 % multi-node consolidation replaces both at once;
    // with `nodes: "1"` one node is disrupted at a time: the first is deleted (its pod fits
    // on the other), then the second is replaced (its pods, now two, are evicted again).
    // Either way one m5.xlarge is left.
    let web = deployment("web", 2, "1");
    // (budget, multi-node commands, single-node commands, most Draining at once, evictions)
    let cases = [("100%", 1, 0, 2, 2), ("1", 0, 2, 1, 3)];
    for (budget, multi, single, max_draining, evicted) in cases {
        let disruption = format!(
            "{{consolidationPolicy: WhenEmptyOrUnderutilized, consolidateAfter: 1m, budgets: [{{nodes: \"{budget}\"}}]}}"
        );
        let pool = nodepool(
            "general",
            "m5.2xlarge=2",
            "large, xlarge, 2xlarge",
            "on-demand",
            &disruption,
        );
        let o = check(&scenario("20m", "1s", "{}", &format!("{pool}{web}")));
        let r = &o.report;
        assert_eq!(
            o.nodes,
            vec![("m5.xlarge".to_string(), CapacityType::OnDemand)],
            "{budget}"
        );
        assert_eq!(
            counter(r, "nodes consolidated"),
            2,
            "{budget} {:?}",
            r.node_autoscaler
        );
        assert_eq!(
            counter(r, "disruption commands MultiNodeConsolidation"),
            multi,
            "{budget}"
        );
        assert_eq!(
            counter(r, "disruption commands SingleNodeConsolidation"),
            single,
            "{budget}"
        );
        assert_eq!(counter(r, "consolidation replacements"), 1, "{budget}");
        assert_eq!(o.max_draining, max_draining, "{budget}");
        assert_eq!(evictions(r, "consolidation"), evicted, "{budget}");
        assert_eq!(pending_at_end(r), 0, "{budget}");
        // 20 minutes of 2 × 0.384 USD/h would be 0.256 USD; consolidation cuts it.
        assert!(r.cost.total_usd < 0.2, "{budget}: {}", r.cost.total_usd);
    }
}

#[test]
fn empty_nodes_go_after_consolidate_after() {
    // Two idle m5.large; with a pod on one of them only the other is empty. WhenEmpty with
    // consolidateAfter 5m: nothing goes before 5 minutes; the pass at 5 min decides to delete
    // the empty nodes, and the command is carried out when it is validated 15 s later.
    let disruption =
        "{consolidationPolicy: WhenEmpty, consolidateAfter: 5m, budgets: [{nodes: \"100%\"}]}";
    let pool = nodepool("general", "m5.large=2", "large", "on-demand", disruption);
    let web = deployment("web", 1, "200m");
    let cases = [
        ("4m50s", "", 0, 2),
        ("5m10s", "", 0, 2),
        ("5m30s", "", 2, 0),
        ("4m50s", web.as_str(), 0, 2),
        ("5m30s", web.as_str(), 1, 1),
    ];
    for (duration, workload, gone, left) in cases {
        let o = check(&scenario(
            duration,
            "10s",
            "{}",
            &format!("{pool}{workload}"),
        ));
        let r = &o.report;
        assert_eq!(
            counter(r, "nodes consolidated"),
            gone,
            "{duration} {workload}"
        );
        assert_eq!(
            counter(r, "disruption commands Emptiness"),
            u64::from(gone > 0),
            "{duration}"
        );
        assert_eq!(o.nodes.len(), left, "{duration} {workload}");
        assert_eq!(evictions(r, "consolidation"), 0);
    }
}

#[test]
fn an_expired_node_is_drained_and_its_pod_provisioned_anew() {
    // expireAfter 10m: the node is drained at 10 min, its pod is evicted (cause
    // `expiration`), and the pending pod makes Karpenter launch a new node. A PDB allowing no
    // disruption blocks the eviction: the node stays Draining, unless the NodePool's
    // terminationGracePeriod (5m) runs out and the pod is deleted regardless.
    let pdb =
        "  - apiVersion: policy/v1\n    kind: PodDisruptionBudget\n    metadata: {name: web}\n    \
               spec: {minAvailable: 1, selector: {matchLabels: {app: web}}}\n";
    // (PDB, terminationGracePeriod, evicted, nodes launched, nodes Draining at the end)
    let cases = [
        ("", "", 1, 1, 0),
        (pdb, "", 0, 0, 1),
        (pdb, "          terminationGracePeriod: 5m\n", 1, 1, 0),
    ];
    for (extra, grace, evicted, launched, draining) in cases {
        let gone = 1 - draining as u64;
        let pool = nodepool(
            "general",
            "m5.large=1",
            "large",
            "on-demand",
            "{consolidateAfter: Never}",
        )
        .replace(
            "          requirements:",
            &format!("          expireAfter: 10m\n{grace}          requirements:"),
        );
        let manifests = format!("{pool}{}{extra}", deployment("web", 1, "1"));
        let o = check(&scenario("20m", "10s", "{}", &manifests));
        let r = &o.report;
        let case = format!("pdb: {}, grace: {grace:?}", !extra.is_empty());
        assert_eq!(counter(r, "disruption commands Expiration"), 1, "{case}");
        assert_eq!(counter(r, "nodes expired"), gone, "{case}");
        assert_eq!(evictions(r, "expiration"), evicted, "{case}");
        assert_eq!(counter(r, "nodes launched"), launched, "{case}");
        assert_eq!(pending_at_end(r), 0, "{case}");
        assert_eq!(o.nodes.len(), 1, "{case}");
        assert_eq!(o.draining, draining, "{case}");
    }
}

#[test]
fn after_a_spot_interruption_the_pending_pods_drive_provisioning() {
    // Two spot m5.large carry one 1.5-CPU pod each. At 5 min both get a notice: their pods
    // are evicted and pending. Without a shortage Karpenter launches spot again; in a spot
    // shortage from 4 min the one spot offering that fits both pods (m5.xlarge) fails and
    // on-demand takes over. Either way one m5.xlarge takes both pods.
    let pool = nodepool(
        "batch",
        "m5.large:spot=2",
        "large, xlarge",
        "spot, on-demand",
        "{}",
    );
    let manifests = format!("{pool}{}", deployment("web", 2, "1500m"));
    let wave = "interruptionWaves: [{at: 5m, pool: batch, fraction: 1}]";
    let cases = [
        (format!("{{{wave}}}"), 0, CapacityType::Spot),
        (
            format!("{{{wave}, capacityShortages: [{{from: 4m}}]}}"),
            1,
            CapacityType::OnDemand,
        ),
    ];
    for (spot, failed, capacity) in cases {
        let o = check(&scenario("15m", "10s", &spot, &manifests));
        let r = &o.report;
        assert_eq!(counter(r, "spot interruptions"), 2, "{spot}");
        assert_eq!(evictions(r, "spot-interruption"), 2, "{spot}");
        assert_eq!(
            counter(r, "launches failed (insufficient capacity)"),
            failed,
            "{spot}"
        );
        assert_eq!(o.nodes, vec![("m5.xlarge".to_string(), capacity)], "{spot}");
        assert_eq!(pending_at_end(r), 0, "{spot}");
    }
}

#[test]
fn the_heaviest_pool_within_its_limits_takes_the_pods() {
    // Two pools accept m5: `preferred` (weight 90) and `fallback` (weight 10). Four 1.5-CPU
    // pods pack two to an m5.xlarge. With room, `preferred` gets both nodes; with
    // `limits: {cpu: "4"}` it gets one and `fallback` the other.
    let web = deployment("web", 4, "1500m");
    for (limits, preferred, fallback) in [("{}", 2, 0), ("{cpu: \"4\"}", 1, 1)] {
        let pool = |name: &str, weight: i32, limits: &str| {
            nodepool(name, "", "xlarge", "on-demand", "{}").replace(
                "      disruption:",
                &format!("      weight: {weight}\n      limits: {limits}\n      disruption:"),
            )
        };
        let manifests = format!(
            "{}{}{web}",
            pool("preferred", 90, limits),
            pool("fallback", 10, "{}")
        );
        let o = check(&scenario("3m", "10s", "{}", &manifests));
        let r = &o.report;
        let hours = |p: &str| r.node_hours.by_pool[p] > 0.0;
        assert_eq!(counter(r, "nodes launched"), 2, "{limits}");
        assert_eq!(hours("preferred"), preferred > 0, "{limits}");
        assert_eq!(hours("fallback"), fallback > 0, "{limits}");
        assert_eq!(pending_at_end(r), 0, "{limits}");
    }
}

#[test]
fn a_scheduled_budget_is_active_for_its_duration_after_each_firing() {
    use autoscaler::karpenter::nodepool::{Budget, BudgetNodes};
    // Weekdays 09:00 for 8 h (UTC); 2024-01-01 is a Monday.
    let budget = Budget {
        nodes: BudgetNodes::Count(0),
        reasons: vec![],
        schedule: Some("0 9 * * mon-fri".into()),
        duration_ms: Some(8 * 3_600_000),
    };
    let monday = 1_704_067_200;
    let cases = [
        (8 * 3600 + 3599, false),
        (9 * 3600, true),
        (16 * 3600 + 3599, true),
        (17 * 3600, false),
        (5 * 86_400 + 10 * 3600, false), // Saturday
    ];
    for (offset_s, active) in cases {
        assert_eq!(
            super::karpenter::budget_active(&budget, monday + offset_s),
            active,
            "{offset_s}"
        );
    }
    let always = Budget {
        schedule: None,
        duration_ms: None,
        ..budget
    };
    assert!(super::karpenter::budget_active(&always, monday));
}

#[test]
fn static_pools_are_capacity_karpenter_counts_but_does_not_manage() {
    // A static pool of one m5.large next to a NodePool: one 1.5-CPU pod fits the static node,
    // so Karpenter launches only for the others; the static node is never consolidated.
    let pool = nodepool(
        "general",
        "",
        "large, xlarge, 2xlarge",
        "on-demand",
        "{consolidateAfter: 0s}",
    );
    for (replicas, launched) in [(1, 0), (3, 1)] {
        let yaml = scenario("10m", "10s", "{}", &format!("{pool}{}", deployment("web", replicas, "1500m")))
            .replace(
                "nodePools: []",
                "nodePools: [{name: system, instanceType: m5.large, zones: [us-east-1a], initialNodes: 1}]",
            );
        let o = check(&yaml);
        let r = &o.report;
        assert_eq!(counter(r, "nodes launched"), launched, "{replicas}");
        assert_eq!(pending_at_end(r), 0, "{replicas}");
        assert_eq!(o.nodes[0], ("m5.large".to_string(), CapacityType::OnDemand));
        assert_eq!(o.nodes.len(), 1 + launched as usize, "{replicas}");
    }
}

#[test]
fn replayed_spot_prices_steer_the_launch() {
    // A spot pool of m5.large and m5a.large. The replayed history prices m5.large at the
    // launch: very cheap, Karpenter launches it; dearer than m5a.large, it launches m5a.large.
    let pool =
        nodepool("spot", "", "large", "spot", "{}").replace("values: [m5]}", "values: [m5, m5a]}");
    let yaml = scenario(
        "3m",
        "10s",
        "{}",
        &format!("{pool}{}", deployment("web", 1, "1")),
    );
    let mut sc = load_str(&yaml, Path::new("test.yaml")).unwrap();
    for (usd_per_hour, launched) in [(0.001, "m5.large"), (0.5, "m5a.large")] {
        let point = PricePoint {
            at: SimDuration::ZERO,
            usd_per_hour,
        };
        sc.settings.spot.prices = SpotPrices::new(vec![PriceSeries::new(
            "m5.large",
            "us-east-1a",
            vec![point],
        )]);
        let o = check_scenario(&sc);
        assert_eq!(
            o.nodes,
            vec![(launched.to_string(), CapacityType::Spot)],
            "{usd_per_hour}"
        );
    }
}

#[test]
fn a_spot_interruption_makes_its_offering_unavailable() {
    // One zone, spot m5/m5a large. Whatever type Karpenter launches first, an interruption
    // of a node of that type marks (type, zone, spot) unavailable, so its replacement is of
    // the other type.
    let pool = |initial: &str| {
        nodepool("spot", initial, "large", "spot", "{}")
            .replace("values: [m5]}", "values: [m5, m5a]}")
    };
    let web = deployment("web", 1, "1");
    let first = check(&scenario("3m", "10s", "{}", &format!("{}{web}", pool(""))));
    let (chosen, _) = first.nodes[0].clone();
    let other = if chosen == "m5.large" {
        "m5a.large"
    } else {
        "m5.large"
    };
    let wave = "{interruptionWaves: [{at: 5m, pool: spot, fraction: 1}]}";
    let initial = format!("{chosen}:spot=1");
    let o = check(&scenario(
        "10m",
        "10s",
        wave,
        &format!("{}{web}", pool(&initial)),
    ));
    assert_eq!(counter(&o.report, "spot interruptions"), 1);
    assert_eq!(o.nodes, vec![(other.to_string(), CapacityType::Spot)]);
    assert_eq!(pending_at_end(&o.report), 0);
}

#[test]
fn a_replacement_that_does_not_come_up_in_time_cancels_its_command() {
    // The consolidation of the two m5.2xlarge into one m5.xlarge, with replacements taking
    // 15 minutes to launch: after 10 minutes the command fails and both candidates return to
    // service (the next pass then deletes one of them, its pod fitting on the other, while
    // the slow replacement still launches); with 60 s launches it goes through.
    let disruption =
        "{consolidationPolicy: WhenEmptyOrUnderutilized, consolidateAfter: 1m, budgets: [{nodes: \"100%\"}]}";
    let pool = nodepool(
        "general",
        "m5.2xlarge=2",
        "large, xlarge, 2xlarge",
        "on-demand",
        disruption,
    );
    let web = deployment("web", 2, "1");
    for (delay, cancelled, consolidated) in [("60s", 0, 2), ("15m", 2, 1)] {
        let yaml = scenario("14m", "10s", "{}", &format!("{pool}{web}")).replace(
            "provisioningDelay: {constant: 60s}",
            &format!("provisioningDelay: {{constant: {delay}}}"),
        );
        let o = check(&yaml);
        let r = &o.report;
        assert_eq!(counter(r, "disruptions cancelled"), cancelled, "{delay}");
        assert_eq!(counter(r, "nodes consolidated"), consolidated, "{delay}");
        assert_eq!(evictions(r, "consolidation"), consolidated, "{delay}");
    }
}
