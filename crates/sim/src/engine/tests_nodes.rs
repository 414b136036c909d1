//! Scenario tests of node autoscaling in the engine: the cluster-autoscaler's loop, scale-down
//! delays and PDBs, expendable pods, spot interruptions with a capacity shortage. Every run is
//! made twice and must give the identical report.

use std::path::Path;

use super::report::Report;
use super::{run, NoTimeline};
use crate::scenario::load_str;

/// One m5.large pool (`general`, one zone) plus `extra` YAML, under the cluster-autoscaler
/// with `ca` flags; `manifests` and `tail` complete the file.
fn scenario(duration: &str, ca: &str, pools: &str, manifests: &str, tail: &str) -> String {
    format!(
        "duration: {duration}\nstep: 10s\nseed: 7\n\
         settings:\n  nodeAutoscaler:\n    clusterAutoscaler: {ca}\n{tail}\n\
         nodePools:\n{pools}\nmanifests:\n{manifests}\n"
    )
}

const GENERAL: &str = "  - {name: general, instanceType: m5.large, zones: [us-east-1a], \
    minNodes: 1, maxNodes: 10, initialNodes: 1, provisioningDelay: {constant: 60s}}";

/// A Deployment `name` of `replicas` pods requesting `cpu`, with `extra` pod-spec YAML.
fn deployment(name: &str, replicas: i32, cpu: &str, extra: &str) -> String {
    format!(
        "  - apiVersion: apps/v1\n    kind: Deployment\n    metadata: {{name: {name}}}\n    spec:\n      \
         replicas: {replicas}\n      selector: {{matchLabels: {{app: {name}}}}}\n      template:\n        \
         metadata: {{labels: {{app: {name}}}}}\n        spec:\n          {extra}\n          containers:\n            \
         - {{name: c, image: x, resources: {{requests: {{cpu: {cpu}, memory: 256Mi}}}}}}\n"
    )
}

/// Runs the scenario twice and checks both reports are identical. The second run also
/// checks, at every CA loop, that the observation CA keeps between loops equals one built
/// from scratch.
fn check(yaml: &str) -> Report {
    let sc = load_str(yaml, Path::new("test.yaml")).unwrap_or_else(|e| panic!("{e}\n{yaml}"));
    let a = run(&sc, &mut NoTimeline).expect("runs");
    let b = run_checking_ca_view(&sc);
    assert_eq!(format!("{a:?}"), format!("{b:?}"), "determinism");
    a
}

fn run_checking_ca_view(sc: &crate::scenario::model::Scenario) -> Report {
    let mut e = super::Engine::new(sc);
    e.check_ca_view = true;
    e.run(&mut NoTimeline).expect("runs");
    e.report()
}

#[test]
fn the_kept_ca_view_equals_a_fresh_one_through_bench_large() {
    // Two hours of bench-large under the cluster-autoscaler: HPA rescales, pods binding and
    // leaving on hundreds of nodes, CronJob churn; with min-replica-count set so controllers'
    // replicas are kept current too. (Scale-ups, drains and spot interruptions are checked
    // by every other test here, through `check`.)
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scenarios/bench-large-autoscaled.yaml"
    );
    let mut sc = crate::scenario::load(Path::new(path)).expect("loads");
    sc.duration = crate::time::SimDuration::from_secs(2 * 3600);
    if let crate::scenario::model::NodeAutoscaler::ClusterAutoscaler(ca) =
        &mut sc.settings.node_autoscaler
    {
        ca.min_replica_count = 1;
    }
    let r = run_checking_ca_view(&sc);
    let (loops, rescales) = (
        counter(&r, "cluster-autoscaler loops run"),
        r.hpa.get("rescales").copied().unwrap_or(0),
    );
    assert!(
        loops > 100 && rescales > 100,
        "{loops} loops, {rescales} rescales"
    );
}

fn counter(r: &Report, key: &str) -> u64 {
    r.node_autoscaler.get(key).copied().unwrap_or(0)
}

fn pending_at_end(r: &Report) -> u64 {
    r.slo.by_tier.values().map(|t| t.pending_at_end).sum()
}

#[test]
fn scale_up_within_one_loop_of_pods_becoming_unschedulable() {
    // Six pods of 1.5 CPU: one per m5.large. They fail to schedule at t=0; CA's loops run at
    // 0 s (pods too new) and 10 s (scale-up). By 11 s the group has been raised, once.
    let web = deployment("web", 6, "1500m", "");
    let cases = [("9s", 0, 0), ("11s", 1, 5)];
    for (duration, scale_ups, added) in cases {
        let r = check(&scenario(duration, "{}", GENERAL, &web, ""));
        assert_eq!(
            counter(&r, "scale-ups general-us-east-1a"),
            scale_ups,
            "{duration}"
        );
        assert_eq!(counter(&r, "nodes added"), added, "{duration}");
    }
    // The new nodes are Ready after their 60 s provisioning delay and take the pods.
    let r = check(&scenario("3m", "{}", GENERAL, &web, ""));
    assert_eq!(pending_at_end(&r), 0);
    assert_eq!(r.node_hours.peak_nodes, 6);
}

#[test]
fn no_scale_down_within_scale_down_delay_after_add() {
    // A Job of five 1.5-CPU pods makes CA add four nodes at 10 s; the pods finish at about
    // 3.5 min and the nodes are empty and unneeded a minute later. They go only once
    // scale-down-delay-after-add has passed since the scale-up.
    let job =
        "  - apiVersion: batch/v1\n    kind: Job\n    metadata: {name: crunch}\n    spec:\n      \
               parallelism: 5\n      completions: 5\n      template:\n        spec:\n          \
               restartPolicy: Never\n          containers:\n            \
               - {name: c, image: x, resources: {requests: {cpu: 1500m, memory: 256Mi}}}\n";
    let tail = "workloads:\n  crunch: {runTime: {constant: 2m}}";
    let check_case = |delay: &str, duration: &str, expect_down: bool| {
        let ca = format!("{{scaleDownUnneededTime: 1m, scaleDownDelayAfterAdd: {delay}}}");
        let yaml = scenario(duration, &ca, GENERAL, job, "")
            .replace("nodePools:", &format!("{tail}\nnodePools:"));
        let r = check(&yaml);
        assert_eq!(counter(&r, "nodes added"), 4, "{delay} {duration}");
        let downs = counter(&r, "scale-downs");
        assert_eq!(
            downs > 0,
            expect_down,
            "{delay} {duration}: {downs} scale-downs"
        );
    };
    check_case("10m", "9m", false);
    check_case("10m", "12m", true);
    check_case("2m", "9m", true);
}

#[test]
fn a_node_whose_pods_a_pdb_protects_is_not_removed() {
    // Three nodes; two small pods land on two of them. Without a PDB, CA packs both pods onto
    // one node and removes the other two; with minAvailable 2 only the empty node goes.
    let pools = GENERAL.replace("initialNodes: 1", "initialNodes: 3");
    let web = deployment("web", 2, "200m", "");
    let pdb =
        "  - apiVersion: policy/v1\n    kind: PodDisruptionBudget\n    metadata: {name: web}\n    \
               spec: {minAvailable: 2, selector: {matchLabels: {app: web}}}\n";
    let ca = "{scaleDownUnneededTime: 1m, scaleDownDelayAfterAdd: 0s}";
    let cases = [(String::new(), 2), (pdb.to_string(), 1)];
    for (extra, expect) in cases {
        let r = check(&scenario("20m", ca, &pools, &format!("{web}{extra}"), ""));
        assert_eq!(
            counter(&r, "scale-downs"),
            expect,
            "pdb: {}",
            !extra.is_empty()
        );
        assert_eq!(pending_at_end(&r), 0);
    }
}

#[test]
fn expendable_pods_never_trigger_scale_up() {
    let classes = |value: i32| {
        format!(
            "  - apiVersion: scheduling.k8s.io/v1\n    kind: PriorityClass\n    metadata: {{name: tier}}\n    \
             value: {value}\n"
        )
    };
    // Below the cutoff (-10) the pods wait forever; at the cutoff they get nodes.
    for (value, expect_added) in [(-11, 0), (-10, 3)] {
        let web = deployment("web", 4, "1500m", "priorityClassName: tier");
        let r = check(&scenario(
            "30m",
            "{}",
            GENERAL,
            &format!("{}{web}", classes(value)),
            "",
        ));
        assert_eq!(counter(&r, "nodes added"), expect_added, "priority {value}");
    }
}

#[test]
fn after_a_spot_interruption_on_demand_capacity_takes_over_after_backoff() {
    // Two spot nodes carry the pods; at 5 min both get a notice while spot m5.large is out of
    // capacity. The spot group's replacements fail, CA backs it off, and the priority expander
    // falls through to the on-demand group.
    let pools = "  - {name: spot, instanceType: m5.large, capacityType: spot, zones: [us-east-1a], \
                 minNodes: 0, maxNodes: 5, initialNodes: 2, provisioningDelay: {constant: 60s}}\n  \
                 - {name: od, instanceType: m5.large, zones: [us-east-1a], minNodes: 0, maxNodes: 5, \
                 initialNodes: 0, provisioningDelay: {constant: 60s}}";
    let ca = "{expander: \"priority,least-waste\", priorities: \"20: [spot-.*]\\n10: [od-.*]\"}";
    let spot = "  spot:\n    interruptionWaves: [{at: 5m, pool: spot, fraction: 1}]\n    \
                capacityShortages: [{instanceType: m5.large, from: 4m}]";
    let web = deployment("web", 2, "1500m", "");
    let r = check(&scenario("40m", ca, pools, &web, spot));
    assert_eq!(counter(&r, "spot interruptions"), 2);
    assert!(counter(&r, "launches failed (insufficient capacity)") >= 1);
    assert!(counter(&r, "backoffs") >= 1);
    assert!(
        counter(&r, "scale-ups od-us-east-1a") >= 1,
        "{:?}",
        r.node_autoscaler
    );
    assert!(r.node_hours.by_pool["od"] > 0.0);
    assert_eq!(
        pending_at_end(&r),
        0,
        "the pods run again on on-demand nodes"
    );
    let evicted: u64 = r
        .slo
        .by_tier
        .values()
        .map(|t| t.evictions.get("spot-interruption").copied().unwrap_or(0))
        .sum();
    assert_eq!(evicted, 2);
}

#[test]
fn least_waste_most_pods_and_priority_choose_different_groups() {
    // Four 1.5-CPU pods, no nodes. `small` (c5.large, at most 1 node) fits one pod with the
    // least waste; `large` (m5.xlarge, at most 2) fits all four; `memory` (r5.xlarge, at most
    // 1) fits two and wastes most of its memory, but the priority ConfigMap prefers it.
    let pools = "  - {name: small, instanceType: c5.large, zones: [us-east-1a], maxNodes: 1, initialNodes: 0}\n  \
                 - {name: large, instanceType: m5.xlarge, zones: [us-east-1a], maxNodes: 2, initialNodes: 0}\n  \
                 - {name: memory, instanceType: r5.xlarge, zones: [us-east-1a], maxNodes: 1, initialNodes: 0}";
    let web = deployment("web", 4, "1500m", "");
    // The first choice covers only some pods when it is not `large`; CA re-runs at once and
    // the same expander places the rest.
    let cases: [(&str, &[&str]); 3] = [
        (
            "least-waste",
            &["scale-ups memory-us-east-1a", "scale-ups small-us-east-1a"],
        ),
        ("most-pods", &["scale-ups large-us-east-1a"]),
        (
            "priority",
            &["scale-ups large-us-east-1a", "scale-ups memory-us-east-1a"],
        ),
    ];
    for (expander, groups) in cases {
        let ca = format!(
            "{{expander: {expander}, priorities: \"50: [memory-.*]\\n20: [large-.*]\\n10: [.*]\"}}"
        );
        let r = check(&scenario("15s", &ca, pools, &web, ""));
        let ups: Vec<&str> = r
            .node_autoscaler
            .keys()
            .filter(|k| k.starts_with("scale-ups "))
            .map(String::as_str)
            .collect();
        assert_eq!(ups, groups, "{expander}");
    }
}

#[test]
fn without_a_node_autoscaler_a_lost_spot_node_is_replaced_in_its_zone() {
    // Both spot nodes get a notice at 5 min and are gone at 7 min; the fixed-size groups
    // launch replacements, which fail in a shortage lasting to 8 min and succeed when
    // retried two minutes later.
    let yaml = "duration: 30m\nstep: 10s\nseed: 3\n\
                settings:\n  spot:\n    interruptionWaves: [{at: 5m, fraction: 1}]\n    \
                capacityShortages: [{from: 5m, until: 8m}]\n\
                nodePools:\n  - {name: spot, instanceType: m5.large, capacityType: spot, \
                zones: [us-east-1a, us-east-1b], initialNodes: 2, provisioningDelay: {constant: 60s}}\n\
                manifests:\n"
        .to_string()
        + &deployment("web", 2, "1500m", "");
    let r = check(&yaml);
    assert_eq!(counter(&r, "spot interruptions"), 2);
    assert_eq!(counter(&r, "launches failed (insufficient capacity)"), 2);
    assert_eq!(pending_at_end(&r), 0, "{:?}", r.node_autoscaler);
    // Two original nodes for 7 min, two replacements from 9 min: 56 node-minutes.
    assert!(
        r.node_hours.total < 1.0 && r.node_hours.total > 0.8,
        "{}",
        r.node_hours.total
    );
}
