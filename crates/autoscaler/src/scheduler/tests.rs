//! Table-driven tests of the scheduler: each filter with its reason strings, the scores,
//! topology spread skew (minDomains, inclusion policies), inter-pod (anti-)affinity,
//! preemption with PDBs, the FitError message and the seeded tie-break.

use std::sync::Arc;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::scores::{
    balanced_allocation_score, default_normalize, least_requested_score, most_requested_score,
    resources_fit_score,
};
use super::*;
use crate::model::*;

const GI: i64 = 1 << 30;
const MI: i64 = 1 << 20;

fn node(name: &str, zone: &str, cpu_m: i64, mem: i64) -> NodeSchedulingSpec {
    let mut labels = Labels::new();
    labels.insert(well_known::HOSTNAME.into(), name.into());
    labels.insert(well_known::ZONE.into(), zone.into());
    NodeSchedulingSpec {
        name: name.into(),
        labels,
        taints: vec![],
        allocatable: Resources {
            cpu_m,
            memory_bytes: mem,
            gpu: 0,
            pods: 110,
        },
        unschedulable: false,
    }
}

fn pod(cpu_m: i64, mem: i64) -> PodSchedulingSpec {
    PodSchedulingSpec {
        namespace: "default".into(),
        requests: Resources {
            cpu_m,
            memory_bytes: mem,
            gpu: 0,
            pods: 1,
        },
        ..Default::default()
    }
}

fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn sel(pairs: &[(&str, &str)]) -> LabelSelector {
    LabelSelector {
        match_labels: labels(pairs),
        match_expressions: vec![],
    }
}

fn req(key: &str, op: SelectorOperator, values: &[&str]) -> SelectorRequirement {
    SelectorRequirement {
        key: key.into(),
        operator: op,
        values: values.iter().map(|v| v.to_string()).collect(),
    }
}

fn taint(key: &str, value: &str, effect: TaintEffect) -> Taint {
    Taint {
        key: key.into(),
        value: value.into(),
        effect,
    }
}

fn tol(key: &str, op: TolerationOperator, value: &str, effect: Option<TaintEffect>) -> Toleration {
    Toleration {
        key: key.into(),
        operator: op,
        value: value.into(),
        effect,
        toleration_seconds: None,
    }
}

fn spread(key: &str, max_skew: i32, app: &str) -> TopologySpreadConstraint {
    TopologySpreadConstraint {
        max_skew,
        topology_key: key.into(),
        when_unsatisfiable: WhenUnsatisfiable::DoNotSchedule,
        label_selector: sel(&[("app", app)]),
        min_domains: None,
        node_affinity_policy: SpreadPolicy::Honor,
        node_taints_policy: SpreadPolicy::Ignore,
        match_label_keys: vec![],
    }
}

fn app_pod(app: &str) -> PodSchedulingSpec {
    PodSchedulingSpec {
        labels: labels(&[("app", app)]),
        ..pod(100, 128 * MI)
    }
}

fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// A snapshot of the given nodes plus pods bound by node index (pod ids 1000, 1001, ...).
fn cluster(
    nodes: Vec<NodeSchedulingSpec>,
    bound: Vec<(usize, PodSchedulingSpec)>,
) -> ClusterSnapshot {
    let mut snap = ClusterSnapshot::new();
    let ids: Vec<NodeId> = nodes
        .into_iter()
        .map(|n| snap.add_node(Arc::new(n)))
        .collect();
    for (i, (n, p)) in bound.into_iter().enumerate() {
        snap.bind(PodId(1000 + i as u64), Arc::new(p), ids[n], i as i64);
    }
    snap
}

/// Runs all filters for `pod` on node 0 of a one-node cluster; `""` means it passes,
/// otherwise the rejection's reasons as kube-scheduler prints them.
fn check_filter(
    pod: PodSchedulingSpec,
    node: NodeSchedulingSpec,
    bound: Vec<PodSchedulingSpec>,
    expect: &str,
) {
    let snap = cluster(vec![node], bound.into_iter().map(|p| (0, p)).collect());
    let got = match snap.fits(&pod, NodeId(0)) {
        Ok(()) => String::new(),
        Err(r) => r.to_string(),
    };
    assert_eq!(got, expect, "pod {pod:?}");
}

#[test]
fn node_unschedulable_and_node_name() {
    let cordoned = NodeSchedulingSpec {
        unschedulable: true,
        ..node("n1", "a", 4000, 8 * GI)
    };
    let tolerant = PodSchedulingSpec {
        tolerations: vec![tol(
            matching::TAINT_NODE_UNSCHEDULABLE,
            TolerationOperator::Exists,
            "",
            None,
        )],
        ..pod(100, MI)
    };
    let pinned = |name: &str| PodSchedulingSpec {
        node_name: Some(name.into()),
        ..pod(100, MI)
    };
    let cases = [
        (pod(100, MI), cordoned.clone(), "node(s) were unschedulable"),
        (tolerant, cordoned, ""),
        (
            pinned("n2"),
            node("n1", "a", 4000, 8 * GI),
            "node(s) didn't match the requested node name",
        ),
        (pinned("n1"), node("n1", "a", 4000, 8 * GI), ""),
    ];
    for (p, n, expect) in cases {
        check_filter(p, n, vec![], expect);
    }
}

#[test]
fn taint_toleration_filter() {
    use TaintEffect::*;
    use TolerationOperator::*;
    let gpu = |effect| NodeSchedulingSpec {
        taints: vec![taint("nvidia.com/gpu", "true", effect)],
        ..node("n", "a", 4000, 8 * GI)
    };
    let with = |tols: Vec<Toleration>| PodSchedulingSpec {
        tolerations: tols,
        ..pod(100, MI)
    };
    let cases = [
        (
            with(vec![]),
            gpu(NoSchedule),
            "node(s) had untolerated taint {nvidia.com/gpu: true}",
        ),
        (
            with(vec![]),
            gpu(NoExecute),
            "node(s) had untolerated taint {nvidia.com/gpu: true}",
        ),
        (with(vec![]), gpu(PreferNoSchedule), ""),
        (
            with(vec![tol("nvidia.com/gpu", Equal, "true", Some(NoSchedule))]),
            gpu(NoSchedule),
            "",
        ),
        (
            with(vec![tol("nvidia.com/gpu", Equal, "false", None)]),
            gpu(NoSchedule),
            "node(s) had untolerated taint {nvidia.com/gpu: true}",
        ),
        (
            with(vec![tol("nvidia.com/gpu", Exists, "", None)]),
            gpu(NoExecute),
            "",
        ),
        (with(vec![tol("", Exists, "", None)]), gpu(NoSchedule), ""),
        (
            with(vec![tol("nvidia.com/gpu", Exists, "", Some(NoExecute))]),
            gpu(NoSchedule),
            "node(s) had untolerated taint {nvidia.com/gpu: true}",
        ),
    ];
    for (p, n, expect) in cases {
        check_filter(p, n, vec![], expect);
    }
}

#[test]
fn node_affinity_filter() {
    use SelectorOperator::*;
    const MISMATCH: &str = "node(s) didn't match Pod's node affinity/selector";
    let mut n = node("n1", "us-east-1a", 4000, 8 * GI);
    n.labels.insert("gen".into(), "5".into());
    let by_selector = |pairs: &[(&str, &str)]| PodSchedulingSpec {
        node_selector: labels(pairs),
        ..pod(100, MI)
    };
    let by_terms = |terms: Vec<NodeSelectorTerm>| PodSchedulingSpec {
        node_affinity: NodeAffinity {
            required: terms,
            preferred: vec![],
        },
        ..pod(100, MI)
    };
    let exprs = |e: Vec<SelectorRequirement>| NodeSelectorTerm {
        match_expressions: e,
        match_fields: vec![],
    };
    let fields = |e: Vec<SelectorRequirement>| NodeSelectorTerm {
        match_expressions: vec![],
        match_fields: e,
    };
    let cases = [
        (by_selector(&[(well_known::ZONE, "us-east-1a")]), ""),
        (by_selector(&[(well_known::ZONE, "us-east-1b")]), MISMATCH),
        (by_selector(&[("missing", "x")]), MISMATCH),
        (
            by_terms(vec![exprs(vec![req(
                well_known::ZONE,
                In,
                &["us-east-1a", "us-east-1b"],
            )])]),
            "",
        ),
        (
            by_terms(vec![exprs(vec![req(
                well_known::ZONE,
                NotIn,
                &["us-east-1a"],
            )])]),
            MISMATCH,
        ),
        (
            by_terms(vec![exprs(vec![req("missing", NotIn, &["x"])])]),
            "",
        ),
        (by_terms(vec![exprs(vec![req("gen", Exists, &[])])]), ""),
        (
            by_terms(vec![exprs(vec![req("gen", DoesNotExist, &[])])]),
            MISMATCH,
        ),
        (by_terms(vec![exprs(vec![req("gen", Gt, &["4"])])]), ""),
        (
            by_terms(vec![exprs(vec![req("gen", Gt, &["5"])])]),
            MISMATCH,
        ),
        (by_terms(vec![exprs(vec![req("gen", Lt, &["6"])])]), ""),
        (
            by_terms(vec![exprs(vec![req("gen", Lt, &["x"])])]),
            MISMATCH,
        ),
        (
            by_terms(vec![fields(vec![req("metadata.name", In, &["n1"])])]),
            "",
        ),
        (
            by_terms(vec![fields(vec![req("metadata.name", NotIn, &["n1"])])]),
            MISMATCH,
        ),
        // Terms are ORed; an empty term matches nothing.
        (
            by_terms(vec![
                exprs(vec![req("gen", In, &["4"])]),
                exprs(vec![req("gen", In, &["5"])]),
            ]),
            "",
        ),
        (by_terms(vec![NodeSelectorTerm::default()]), MISMATCH),
    ];
    for (p, expect) in cases {
        check_filter(p, n.clone(), vec![], expect);
    }
}

#[test]
fn resources_fit_filter() {
    let mut n = node("n", "a", 2000, 4 * GI);
    n.allocatable.pods = 2;
    let gpu_pod = PodSchedulingSpec {
        requests: Resources {
            gpu: 1,
            ..pod(100, MI).requests
        },
        ..pod(100, MI)
    };
    let cases = [
        (pod(1000, GI), vec![pod(1000, 3 * GI)], ""),
        (pod(1001, GI), vec![pod(1000, GI)], "Insufficient cpu"),
        (
            pod(1001, 4 * GI),
            vec![pod(1000, GI)],
            "Insufficient cpu, Insufficient memory",
        ),
        (pod(0, 0), vec![pod(2000, 4 * GI)], ""),
        (pod(0, 0), vec![pod(0, 0), pod(0, 0)], "Too many pods"),
        (
            pod(3000, MI),
            vec![pod(0, 0), pod(0, 0)],
            "Too many pods, Insufficient cpu",
        ),
        (gpu_pod, vec![], "Insufficient nvidia.com/gpu"),
    ];
    for (p, bound, expect) in cases {
        check_filter(p, n.clone(), bound, expect);
    }
}

#[test]
fn fit_error_aggregates_reasons_like_kube_scheduler() {
    let tainted = |name: &str| NodeSchedulingSpec {
        taints: vec![taint("nvidia.com/gpu", "true", TaintEffect::NoSchedule)],
        ..node(name, "a", 8000, 32 * GI)
    };
    let nodes = vec![
        node("s1", "a", 1000, GI),
        node("s2", "b", 1000, GI),
        tainted("g1"),
        tainted("g2"),
        tainted("g3"),
    ];
    let snap = cluster(nodes, vec![]);
    let mut sched = Scheduler::new(SchedulerConfig::default()).unwrap();
    let p = pod(2000, MI);
    let err = sched
        .schedule_one(&snap, PodId(1), &p, &mut rng(1))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "0/5 nodes are available: 2 Insufficient cpu, 3 node(s) had untolerated taint {nvidia.com/gpu: true}."
    );
    // No pod to preempt on the small nodes; the tainted ones are unresolvable.
    let ScheduleOutcome::Unschedulable(err) = sched.schedule(&snap, PodId(1), &p, &[], &mut rng(1))
    else {
        panic!("expected unschedulable")
    };
    assert_eq!(
        err.to_string(),
        "0/5 nodes are available: 2 Insufficient cpu, 3 node(s) had untolerated taint {nvidia.com/gpu: true}. \
         preemption: 0/5 nodes are available: 2 No preemption victims found for incoming pod, \
         3 Preemption is not helpful for scheduling."
    );
    let never = PodSchedulingSpec {
        preemption_policy: PreemptionPolicy::Never,
        ..p.clone()
    };
    let ScheduleOutcome::Unschedulable(err) =
        sched.schedule(&snap, PodId(1), &never, &[], &mut rng(1))
    else {
        panic!("expected unschedulable")
    };
    assert!(
        err.to_string()
            .ends_with(". preemption: not eligible due to preemptionPolicy=Never."),
        "{err}"
    );
    let empty = ClusterSnapshot::new();
    assert_eq!(
        sched
            .schedule_one(&empty, PodId(1), &p, &mut rng(1))
            .unwrap_err()
            .to_string(),
        "no nodes available to schedule pods"
    );
}

#[test]
fn resource_score_arithmetic() {
    let cases = [
        // (requested, allocatable, least, most)
        (0, 1000, 100, 0),
        (250, 1000, 75, 25),
        (333, 1000, 66, 33),
        (1000, 1000, 0, 100),
        (1500, 1000, 0, 100),
        (10, 0, 0, 0),
    ];
    for (r, a, least, most) in cases {
        assert_eq!(
            (least_requested_score(r, a), most_requested_score(r, a)),
            (least, most),
            "{r}/{a}"
        );
    }
    assert_eq!(default_normalize(&[0, 2, 4], false), vec![0, 50, 100]);
    assert_eq!(default_normalize(&[0, 2, 4], true), vec![100, 50, 0]);
    assert_eq!(default_normalize(&[0, 0], true), vec![100, 100]);
    assert_eq!(default_normalize(&[0, 0], false), vec![0, 0]);
}

#[test]
fn resource_fit_and_balanced_scores() {
    // Node 4000m / 8Gi with 1000m / 2Gi requested.
    let snap = cluster(
        vec![node("n", "a", 4000, 8 * GI)],
        vec![(0, pod(1000, 2 * GI))],
    );
    let info = snap.node(NodeId(0)).unwrap();
    let cases = [
        // (pod, least, most, balanced)
        (pod(1000, 2 * GI), 50, 50, 100),
        // cpu full (0 / 100), memory 2Gi + 200Mi non-zero of 8Gi (72 / 27).
        (pod(3000, 0), 36, 63, 62),
        // A pod without requests counts as 100m / 200Mi for the fit score only.
        (pod(0, 0), 72, 27, 100),
    ];
    for (p, least, most, balanced) in cases {
        let got = (
            resources_fit_score(&p, info, ScoringStrategy::LeastAllocated),
            resources_fit_score(&p, info, ScoringStrategy::MostAllocated),
            balanced_allocation_score(&p, info),
        );
        assert_eq!(got, (least, most, balanced), "{:?}", p.requests);
    }
}

/// Schedules `pods` one by one (binding each) and returns the chosen node names.
fn place(
    snap: &mut ClusterSnapshot,
    cfg: SchedulerConfig,
    pods: &[PodSchedulingSpec],
    seed: u64,
) -> Vec<String> {
    let mut sched = Scheduler::new(cfg).unwrap();
    let mut r = rng(seed);
    let mut out = Vec::new();
    for (i, p) in pods.iter().enumerate() {
        let id = PodId(i as u64);
        match sched.schedule_one(snap, id, p, &mut r) {
            Ok(n) => {
                out.push(snap.node(n).unwrap().spec.name.clone());
                snap.bind(id, Arc::new(p.clone()), n, 0);
            }
            Err(e) => out.push(format!("pending: {e}")),
        }
    }
    out
}

#[test]
fn scoring_strategy_spreads_or_packs() {
    let nodes = || {
        vec![
            node("big", "a", 8000, 16 * GI),
            node("small", "a", 2000, 4 * GI),
        ]
    };
    let half = |n: usize| vec![(n, pod(1000, 2 * GI))];
    let most = SchedulerConfig {
        scoring: ScoringStrategy::MostAllocated,
        ..Default::default()
    };
    let cases = [
        (SchedulerConfig::default(), half(1), "big"),
        (most.clone(), half(1), "small"),
        (SchedulerConfig::default(), half(0), "big"),
        (most, half(0), "small"),
    ];
    for (cfg, bound, expect) in cases {
        let mut snap = cluster(nodes(), bound);
        assert_eq!(place(&mut snap, cfg, &[pod(500, GI)], 7), vec![expect]);
    }
}

#[test]
fn taint_and_node_affinity_preferences() {
    let soft = NodeSchedulingSpec {
        taints: vec![taint(
            "ToBeDeletedByClusterAutoscaler",
            "1",
            TaintEffect::PreferNoSchedule,
        )],
        ..node("soft", "a", 4000, 8 * GI)
    };
    let mut snap = cluster(vec![soft.clone(), node("plain", "a", 4000, 8 * GI)], vec![]);
    assert_eq!(
        place(&mut snap, SchedulerConfig::default(), &[pod(100, MI)], 3),
        vec!["plain"]
    );
    let mut snap = cluster(
        vec![node("a1", "a", 4000, 8 * GI), node("b1", "b", 4000, 8 * GI)],
        vec![],
    );
    let term = NodeSelectorTerm {
        match_expressions: vec![req(well_known::ZONE, SelectorOperator::In, &["b"])],
        match_fields: vec![],
    };
    let p = PodSchedulingSpec {
        node_affinity: NodeAffinity {
            required: vec![],
            preferred: vec![(10, term)],
        },
        ..pod(100, MI)
    };
    assert_eq!(
        place(&mut snap, SchedulerConfig::default(), &[p], 3),
        vec!["b1"]
    );
}

/// Nodes n0..n5 over zones a, a, b, b, c, c.
fn six_nodes() -> Vec<NodeSchedulingSpec> {
    (0..6)
        .map(|i| node(&format!("n{i}"), ["a", "b", "c"][i / 2], 8000, 32 * GI))
        .collect()
}

#[test]
fn topology_spread_skew() {
    const SKEW: &str = "node(s) didn't match pod topology spread constraints";
    let web = |c: TopologySpreadConstraint| PodSchedulingSpec {
        topology_spread: vec![c],
        ..app_pod("web")
    };
    let zone = |skew| spread(well_known::ZONE, skew, "web");
    let host = |skew| spread(well_known::HOSTNAME, skew, "web");
    let min_domains = |n| TopologySpreadConstraint {
        min_domains: Some(n),
        ..zone(1)
    };
    // Existing web pods: 2 in zone a (n0), 1 in zone b (n2), none in c.
    let bound = || {
        vec![
            (0, app_pod("web")),
            (0, app_pod("web")),
            (2, app_pod("web")),
            (4, app_pod("other")),
        ]
    };
    let cases: Vec<(PodSchedulingSpec, [&str; 6])> = vec![
        // Zone minimum is 0 (zone c): only zone c fits with maxSkew 1.
        (web(zone(1)), [SKEW, SKEW, SKEW, SKEW, "", ""]),
        (web(zone(2)), [SKEW, SKEW, "", "", "", ""]),
        // Hostname: n0 has 2, n2 has 1, the rest 0.
        (web(host(1)), [SKEW, "", SKEW, "", "", ""]),
        // A pod that does not match its own selector adds no self-match.
        (
            PodSchedulingSpec {
                topology_spread: vec![zone(1)],
                ..app_pod("api")
            },
            [SKEW, SKEW, "", "", "", ""],
        ),
    ];
    for (p, expect) in cases {
        let snap = cluster(six_nodes(), bound());
        let pre = PreFilter::new(&snap, &p, None);
        let got: Vec<String> = (0..6)
            .map(|i| {
                pre.filter(NodeId(i))
                    .err()
                    .map(|r| r.to_string())
                    .unwrap_or_default()
            })
            .collect();
        assert_eq!(got, expect, "{:?}", p.topology_spread);
    }
    // minDomains: with only zones a and b eligible (nodeSelector), the minimum is their
    // least count (1) unless minDomains exceeds the 2 domains, which makes it 0.
    let only_ab = |c| PodSchedulingSpec {
        node_affinity: NodeAffinity {
            required: vec![NodeSelectorTerm {
                match_expressions: vec![req(well_known::ZONE, SelectorOperator::In, &["a", "b"])],
                match_fields: vec![],
            }],
            preferred: vec![],
        },
        ..web(c)
    };
    let cases: Vec<(TopologySpreadConstraint, [&str; 4])> = vec![
        (zone(1), [SKEW, SKEW, "", ""]),
        (min_domains(2), [SKEW, SKEW, "", ""]),
        (min_domains(3), [SKEW, SKEW, SKEW, SKEW]),
        (
            TopologySpreadConstraint {
                min_domains: Some(3),
                max_skew: 2,
                ..zone(1)
            },
            [SKEW, SKEW, "", ""],
        ),
        // nodeAffinityPolicy Ignore counts zone c (0 pods) again.
        (
            TopologySpreadConstraint {
                node_affinity_policy: SpreadPolicy::Ignore,
                ..zone(1)
            },
            [SKEW, SKEW, SKEW, SKEW],
        ),
    ];
    for (c, expect) in cases {
        let snap = cluster(six_nodes(), bound());
        let p = only_ab(c);
        let pre = PreFilter::new(&snap, &p, None);
        let got: Vec<String> = (0..4)
            .map(|i| {
                pre.filter(NodeId(i))
                    .err()
                    .map(|r| r.to_string())
                    .unwrap_or_default()
            })
            .collect();
        assert_eq!(got, expect, "{:?}", p.topology_spread);
    }
}

#[test]
fn topology_spread_policies_and_labels() {
    const MISSING: &str =
        "node(s) didn't match pod topology spread constraints (missing required label)";
    const SKEW: &str = "node(s) didn't match pod topology spread constraints";
    let mut nodes = six_nodes();
    // Zone c's nodes are tainted: with nodeTaintsPolicy Honor they stop counting.
    for n in &mut nodes[4..] {
        n.taints
            .push(taint("dedicated", "batch", TaintEffect::NoSchedule));
    }
    let mut unlabeled = node("bare", "x", 8000, 32 * GI);
    unlabeled.labels.remove(well_known::ZONE);
    nodes.push(unlabeled);
    let bound = vec![(0, app_pod("web")), (2, app_pod("web"))];
    let zone = spread(well_known::ZONE, 1, "web");
    let tolerating = |c: TopologySpreadConstraint| PodSchedulingSpec {
        topology_spread: vec![c],
        tolerations: vec![tol("dedicated", TolerationOperator::Exists, "", None)],
        ..app_pod("web")
    };
    let cases: Vec<(PodSchedulingSpec, [&str; 7])> = vec![
        // Ignore (default): zone c counts with 0, so a and b are over the skew.
        (
            PodSchedulingSpec {
                topology_spread: vec![zone.clone()],
                ..app_pod("web")
            },
            [
                SKEW,
                SKEW,
                SKEW,
                SKEW,
                "node(s) had untolerated taint {dedicated: batch}",
                "node(s) had untolerated taint {dedicated: batch}",
                MISSING,
            ],
        ),
        (
            tolerating(zone.clone()),
            [SKEW, SKEW, SKEW, SKEW, "", "", MISSING],
        ),
        // Honor, pod does not tolerate: zone c is not a domain, min becomes 1.
        (
            PodSchedulingSpec {
                topology_spread: vec![TopologySpreadConstraint {
                    node_taints_policy: SpreadPolicy::Honor,
                    ..zone.clone()
                }],
                ..app_pod("web")
            },
            [
                "",
                "",
                "",
                "",
                "node(s) had untolerated taint {dedicated: batch}",
                "node(s) had untolerated taint {dedicated: batch}",
                MISSING,
            ],
        ),
    ];
    for (p, expect) in cases {
        let snap = cluster(nodes.clone(), bound.clone());
        let pre = PreFilter::new(&snap, &p, None);
        let got: Vec<String> = (0..7)
            .map(|i| {
                pre.filter(NodeId(i))
                    .err()
                    .map(|r| r.to_string())
                    .unwrap_or_default()
            })
            .collect();
        assert_eq!(got, expect);
    }
    // matchLabelKeys: only pods of the same revision count.
    let rev = |r: &str| PodSchedulingSpec {
        labels: labels(&[("app", "web"), ("rev", r)]),
        ..pod(100, MI)
    };
    let c = TopologySpreadConstraint {
        match_label_keys: vec!["rev".into()],
        ..spread(well_known::HOSTNAME, 1, "web")
    };
    let snap = cluster(six_nodes(), vec![(0, rev("1")), (0, rev("1"))]);
    let new_rev = PodSchedulingSpec {
        topology_spread: vec![c.clone()],
        ..rev("2")
    };
    let old_rev = PodSchedulingSpec {
        topology_spread: vec![c],
        ..rev("1")
    };
    assert_eq!(snap.fits(&new_rev, NodeId(0)), Ok(()));
    assert!(snap.fits(&old_rev, NodeId(0)).is_err());
}

#[test]
fn topology_spread_places_evenly_and_default_constraints_spread() {
    let c = spread(well_known::ZONE, 1, "web");
    let web = PodSchedulingSpec {
        topology_spread: vec![c],
        ..app_pod("web")
    };
    let mut snap = cluster(six_nodes(), vec![]);
    let placed = place(&mut snap, SchedulerConfig::default(), &vec![web; 9], 11);
    let zone_of = |n: &str| ["a", "a", "b", "b", "c", "c"][n[1..].parse::<usize>().unwrap()];
    for z in ["a", "b", "c"] {
        assert_eq!(
            placed.iter().filter(|n| zone_of(n) == z).count(),
            3,
            "{placed:?}"
        );
    }
    // Default (system) constraints: a workload's pods spread over hostnames even under
    // MostAllocated, which alone would pack them onto one node.
    let owned = PodSchedulingSpec {
        controller_selector: Some(sel(&[("app", "api")])),
        ..app_pod("api")
    };
    let most = SchedulerConfig {
        scoring: ScoringStrategy::MostAllocated,
        ..Default::default()
    };
    let mut snap = cluster(six_nodes(), vec![]);
    let placed = place(&mut snap, most.clone(), &vec![owned; 6], 5);
    let mut distinct = placed.clone();
    distinct.sort();
    distinct.dedup();
    assert!(distinct.len() >= 3, "{placed:?}");
    let bare = app_pod("api");
    let mut snap = cluster(six_nodes(), vec![]);
    let placed = place(&mut snap, most, &vec![bare; 6], 5);
    assert!(placed.iter().all(|n| *n == placed[0]), "{placed:?}");
}

fn anti(app: &str, key: &str) -> PodAffinity {
    PodAffinity {
        required: vec![PodAffinityTerm {
            label_selector: sel(&[("app", app)]),
            topology_key: key.into(),
            namespaces: vec![],
        }],
        preferred: vec![],
    }
}

#[test]
fn inter_pod_affinity_filter() {
    const ANTI: &str = "node(s) didn't match pod anti-affinity rules";
    const EXISTING: &str = "node(s) didn't satisfy existing pods anti-affinity rules";
    const AFFINITY: &str = "node(s) didn't match pod affinity rules";
    let with_anti = |app: &str, on: &str, key: &str| PodSchedulingSpec {
        pod_anti_affinity: anti(on, key),
        ..app_pod(app)
    };
    let with_aff = |app: &str, on: &str, key: &str| PodSchedulingSpec {
        pod_affinity: anti(on, key),
        ..app_pod(app)
    };
    let other_ns = PodSchedulingSpec {
        namespace: "other".into(),
        ..app_pod("db")
    };
    let cases: Vec<(
        &str,
        Vec<(usize, PodSchedulingSpec)>,
        PodSchedulingSpec,
        [&str; 6],
    )> = vec![
        (
            "anti by hostname",
            vec![(0, app_pod("db"))],
            with_anti("web", "db", well_known::HOSTNAME),
            [ANTI, "", "", "", "", ""],
        ),
        (
            "anti by zone",
            vec![(0, app_pod("db"))],
            with_anti("web", "db", well_known::ZONE),
            [ANTI, ANTI, "", "", "", ""],
        ),
        (
            "anti ignores other namespaces",
            vec![(0, other_ns.clone())],
            with_anti("web", "db", well_known::ZONE),
            [""; 6],
        ),
        (
            "existing anti",
            vec![(2, with_anti("db", "web", well_known::ZONE))],
            app_pod("web"),
            ["", "", EXISTING, EXISTING, "", ""],
        ),
        (
            "existing anti, not matching",
            vec![(2, with_anti("db", "web", well_known::ZONE))],
            app_pod("api"),
            [""; 6],
        ),
        (
            "affinity by zone",
            vec![(4, app_pod("db"))],
            with_aff("web", "db", well_known::ZONE),
            [AFFINITY, AFFINITY, AFFINITY, AFFINITY, "", ""],
        ),
        (
            "first pod of a self-affine group",
            vec![],
            with_aff("web", "web", well_known::ZONE),
            [""; 6],
        ),
        (
            "affinity with no match anywhere",
            vec![],
            with_aff("web", "db", well_known::ZONE),
            [AFFINITY; 6],
        ),
    ];
    for (name, bound, p, expect) in cases {
        let snap = cluster(six_nodes(), bound);
        let pre = PreFilter::new(&snap, &p, None);
        let got: Vec<String> = (0..6)
            .map(|i| {
                pre.filter(NodeId(i))
                    .err()
                    .map(|r| r.to_string())
                    .unwrap_or_default()
            })
            .collect();
        assert_eq!(got, expect, "{name}");
    }
}

#[test]
fn anti_affinity_replicas_one_per_node() {
    let p = PodSchedulingSpec {
        pod_anti_affinity: anti("web", well_known::HOSTNAME),
        ..app_pod("web")
    };
    let mut snap = cluster(six_nodes()[..3].to_vec(), vec![]);
    let placed = place(&mut snap, SchedulerConfig::default(), &vec![p; 4], 2);
    let mut first3 = placed[..3].to_vec();
    first3.sort();
    assert_eq!(first3, vec!["n0", "n1", "n2"]);
    assert_eq!(
        placed[3],
        "pending: 0/3 nodes are available: 3 node(s) didn't match pod anti-affinity rules."
    );
}

#[test]
fn preferred_pod_affinity_score() {
    let term = PodAffinityTerm {
        label_selector: sel(&[("app", "cache")]),
        topology_key: well_known::ZONE.into(),
        namespaces: vec![],
    };
    let near = PodSchedulingSpec {
        pod_affinity: PodAffinity {
            required: vec![],
            preferred: vec![(100, term.clone())],
        },
        ..app_pod("web")
    };
    let far = PodSchedulingSpec {
        pod_anti_affinity: PodAffinity {
            required: vec![],
            preferred: vec![(100, term)],
        },
        ..app_pod("web")
    };
    let bound = || vec![(2, app_pod("cache")), (3, app_pod("cache"))];
    let zone_of = |n: &String| ["a", "a", "b", "b", "c", "c"][n[1..].parse::<usize>().unwrap()];
    let mut snap = cluster(six_nodes(), bound());
    assert_eq!(
        place(&mut snap, SchedulerConfig::default(), &[near], 1)
            .iter()
            .map(zone_of)
            .collect::<Vec<_>>(),
        ["b"]
    );
    let mut snap = cluster(six_nodes(), bound());
    assert_ne!(
        place(&mut snap, SchedulerConfig::default(), &[far], 1)
            .iter()
            .map(zone_of)
            .collect::<Vec<_>>(),
        ["b"]
    );
}

#[test]
fn tie_break_is_seeded_and_deterministic() {
    let nodes = || {
        (0..8)
            .map(|i| node(&format!("n{i}"), "a", 4000, 8 * GI))
            .collect::<Vec<_>>()
    };
    // Pods without requests leave every node equally scored: only the RNG decides.
    let pods = vec![pod(0, 0); 12];
    let run = |seed| {
        place(
            &mut cluster(nodes(), vec![]),
            SchedulerConfig::default(),
            &pods,
            seed,
        )
    };
    assert_eq!(run(42), run(42));
    assert_ne!(run(42), run(43));
}

#[test]
fn num_feasible_nodes_to_find() {
    let adaptive = Scheduler::new(SchedulerConfig::default()).unwrap();
    let fixed = Scheduler::new(SchedulerConfig {
        percentage_of_nodes_to_score: Some(10),
        ..Default::default()
    })
    .unwrap();
    let cases = [
        (50, 50, 50),
        (100, 100, 100),
        (500, 230, 100),
        (1000, 420, 100),
        (5000, 500, 500),
        (6000, 300, 600),
    ];
    for (nodes, adaptive_n, fixed_n) in cases {
        assert_eq!(
            (
                adaptive.num_feasible_nodes_to_find(nodes),
                fixed.num_feasible_nodes_to_find(nodes)
            ),
            (adaptive_n, fixed_n),
            "{nodes}"
        );
    }
    assert!(SchedulerConfig {
        percentage_of_nodes_to_score: Some(101),
        ..Default::default()
    }
    .validate()
    .is_err());
}

#[test]
fn snapshot_bookkeeping_and_clone_independence() {
    let mut snap = cluster(
        six_nodes(),
        vec![(0, pod(500, GI)), (0, pod(0, 0)), (1, pod(100, MI))],
    );
    let n0 = snap.node(NodeId(0)).unwrap();
    assert_eq!(
        n0.requested,
        Resources {
            cpu_m: 500,
            memory_bytes: GI,
            gpu: 0,
            pods: 2
        }
    );
    assert_eq!(n0.non_zero_requested.cpu_m, 600);
    let fork = snap.clone();
    assert_eq!(snap.remove_node(NodeId(0)), vec![PodId(1000), PodId(1001)]);
    assert_eq!(snap.num_pods(), 1);
    assert_eq!(snap.node_ids().len(), 5);
    assert_eq!(fork.num_pods(), 3);
    assert_eq!(fork.node(NodeId(0)).unwrap().pods.len(), 2);
    let n6 = snap.add_node(Arc::new(node("n6", "a", 1000, GI)));
    assert_eq!(n6, NodeId(6), "ids are never reused");
    snap.set_unschedulable(n6, true);
    assert_eq!(
        snap.fits(&pod(1, 1), n6).unwrap_err().to_string(),
        "node(s) were unschedulable"
    );
    assert!(!fork.node(NodeId(1)).unwrap().spec.unschedulable);
}

/// A preemption scenario: node index → bound pods (priority, start_ms, app label).
fn preemption_cluster(pods: &[(usize, i32, i64, &str)]) -> ClusterSnapshot {
    let nodes: Vec<_> = (0..3)
        .map(|i| node(&format!("n{i}"), "a", 2000, 8 * GI))
        .collect();
    let mut snap = cluster(nodes, vec![]);
    for (i, &(n, prio, start, app)) in pods.iter().enumerate() {
        let p = PodSchedulingSpec {
            priority: prio,
            labels: labels(&[("app", app)]),
            ..pod(1000, GI)
        };
        snap.bind(PodId(i as u64), Arc::new(p), NodeId(n as u32), start);
    }
    snap
}

fn check_preemption(
    pods: &[(usize, i32, i64, &str)],
    pdbs: &[Pdb],
    preemptor_cpu: i64,
    expect: Result<(u32, Vec<u64>, usize), &str>,
) {
    let snap = preemption_cluster(pods);
    let mut sched = Scheduler::new(SchedulerConfig::default()).unwrap();
    let p = PodSchedulingSpec {
        priority: 1000,
        ..pod(preemptor_cpu, GI)
    };
    let got = match sched.schedule(&snap, PodId(99), &p, pdbs, &mut rng(9)) {
        ScheduleOutcome::Nominated { preemption, .. } => Ok((
            preemption.node.0,
            preemption.victims.iter().map(|v| v.0).collect(),
            preemption.num_pdb_violations,
        )),
        ScheduleOutcome::Unschedulable(e) => Err(e.to_string()),
        ScheduleOutcome::Scheduled(n) => Err(format!("scheduled on {n:?}")),
    };
    assert_eq!(got, expect.map_err(String::from), "{pods:?}");
}

#[test]
fn preemption_victims_and_node_choice() {
    let pdb = |app: &str, allowed| Pdb {
        namespace: "default".into(),
        selector: sel(&[("app", app)]),
        disruptions_allowed: allowed,
    };
    // Each node holds two 1000m pods of 2000m: full.
    // Lowest highest-victim priority wins: n1's victim has priority 5.
    check_preemption(
        &[
            (0, 10, 0, "a"),
            (0, 10, 0, "a"),
            (1, 5, 0, "a"),
            (1, 2000, 0, "a"),
            (2, 2000, 0, "a"),
            (2, 2000, 0, "a"),
        ],
        &[],
        1000,
        Ok((1, vec![2], 0)),
    );
    // Reprieve the more important pod: only the lower-priority one on n0 goes.
    check_preemption(
        &[
            (0, 10, 0, "a"),
            (0, 20, 0, "a"),
            (1, 2000, 0, "a"),
            (1, 2000, 0, "a"),
            (2, 2000, 0, "a"),
            (2, 2000, 0, "a"),
        ],
        &[],
        1000,
        Ok((0, vec![0], 0)),
    );
    // Equal priority: the longer-running pod is more important, the newer one is the victim.
    check_preemption(
        &[
            (0, 10, 100, "a"),
            (0, 10, 50, "a"),
            (1, 2000, 0, "a"),
            (1, 2000, 0, "a"),
            (2, 2000, 0, "a"),
            (2, 2000, 0, "a"),
        ],
        &[],
        1000,
        Ok((0, vec![0], 0)),
    );
    // Fewest PDB violations beats lower priority: n0's pods are protected by a PDB with no
    // disruptions allowed, so n1 (higher priority victim, no PDB) is chosen.
    check_preemption(
        &[
            (0, 10, 0, "guarded"),
            (0, 10, 0, "guarded"),
            (1, 20, 0, "free"),
            (1, 20, 0, "free"),
            (2, 2000, 0, "a"),
            (2, 2000, 0, "a"),
        ],
        &[pdb("guarded", 0)],
        1000,
        Ok((1, vec![3], 0)),
    );
    // PDB-violating pods are reprieved first: with one disruption allowed on n0, the pod
    // overdrawing the budget is put back and the other one is the victim.
    check_preemption(
        &[
            (0, 10, 0, "guarded"),
            (0, 10, 5, "guarded"),
            (1, 2000, 0, "a"),
            (1, 2000, 0, "a"),
            (2, 2000, 0, "a"),
            (2, 2000, 0, "a"),
        ],
        &[pdb("guarded", 1)],
        1000,
        Ok((0, vec![0], 0)),
    );
    // When every choice violates, the violation is counted; the longer-running pod is
    // reprieved first, so the newer one goes.
    check_preemption(
        &[
            (0, 10, 0, "guarded"),
            (0, 10, 5, "guarded"),
            (1, 2000, 0, "a"),
            (1, 2000, 0, "a"),
            (2, 2000, 0, "a"),
            (2, 2000, 0, "a"),
        ],
        &[pdb("guarded", 0)],
        1000,
        Ok((0, vec![1], 1)),
    );
    // Needing both slots: two victims; fewest victims wins across nodes.
    check_preemption(
        &[
            (0, 10, 0, "a"),
            (0, 10, 0, "a"),
            (1, 10, 0, "a"),
            (2, 2000, 0, "a"),
            (2, 2000, 0, "a"),
        ],
        &[],
        2000,
        Ok((1, vec![2], 0)),
    );
    // Same priority everywhere: the node whose highest-priority victims started latest.
    check_preemption(
        &[
            (0, 10, 10, "a"),
            (0, 2000, 0, "a"),
            (1, 10, 30, "a"),
            (1, 2000, 0, "a"),
            (2, 10, 20, "a"),
            (2, 2000, 0, "a"),
        ],
        &[],
        1000,
        Ok((1, vec![2], 0)),
    );
    // Nothing of lower priority anywhere.
    check_preemption(&[(0, 2000, 0, "a"), (0, 2000, 0, "a"), (1, 2000, 0, "a"), (1, 2000, 0, "a"), (2, 2000, 0, "a"), (2, 2000, 0, "a")], &[], 1000,
        Err("0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 3 No preemption victims found for incoming pod."));
    // Removing every lower-priority pod is not enough: the filter's reason is kept.
    check_preemption(&[(0, 10, 0, "a"), (0, 2000, 0, "a"), (1, 2000, 0, "a"), (1, 2000, 0, "a"), (2, 2000, 0, "a"), (2, 2000, 0, "a")], &[], 2000,
        Err("0/3 nodes are available: 3 Insufficient cpu. preemption: 0/3 nodes are available: 1 Insufficient cpu, 2 No preemption victims found for incoming pod."));
}

#[test]
fn nominated_pods_reserve_room_for_lower_priority() {
    let mut snap = cluster(vec![node("n0", "a", 2000, 8 * GI)], vec![]);
    let high = PodSchedulingSpec {
        priority: 100,
        ..pod(1500, GI)
    };
    snap.nominate(PodId(1), &high, NodeId(0));
    let mut sched = Scheduler::new(SchedulerConfig::default()).unwrap();
    let low = PodSchedulingSpec {
        priority: 1,
        ..pod(1000, GI)
    };
    let err = sched
        .schedule_one(&snap, PodId(2), &low, &mut rng(1))
        .unwrap_err();
    assert_eq!(
        err.to_string(),
        "0/1 nodes are available: 1 Insufficient cpu."
    );
    let higher = PodSchedulingSpec {
        priority: 200,
        ..pod(1000, GI)
    };
    assert_eq!(
        sched.schedule_one(&snap, PodId(3), &higher, &mut rng(1)),
        Ok(NodeId(0))
    );
    // The nominated pod itself is not blocked by its own reservation.
    assert_eq!(
        sched.schedule_one(&snap, PodId(1), &high, &mut rng(1)),
        Ok(NodeId(0))
    );
}

#[test]
fn terminating_pods_keep_resources_but_leave_spread_counts() {
    let c = spread(well_known::HOSTNAME, 1, "web");
    let web = PodSchedulingSpec {
        topology_spread: vec![c],
        ..app_pod("web")
    };
    let mut snap = cluster(six_nodes()[..2].to_vec(), vec![(0, app_pod("web"))]);
    assert!(snap.fits(&web, NodeId(0)).is_err());
    snap.set_terminating(PodId(1000), Termination::Preempted);
    assert_eq!(snap.fits(&web, NodeId(0)), Ok(()));
    assert_eq!(snap.node(NodeId(0)).unwrap().requested.pods, 1);
    snap.unbind(PodId(1000));
    assert_eq!(snap.node(NodeId(0)).unwrap().requested, Resources::ZERO);
}

/// Runs the score plugins for `pod` over every node and returns one plugin's scores.
fn check_scores(
    nodes: Vec<NodeSchedulingSpec>,
    bound: Vec<(usize, PodSchedulingSpec)>,
    pod: PodSchedulingSpec,
    plugin: fn(&scores::NodeScore) -> i64,
    expect: &[i64],
) {
    let snap = cluster(nodes, bound);
    let all: Vec<NodeId> = snap.node_ids().to_vec();
    let got: Vec<i64> = scores::score_nodes(&snap, &pod, &all, ScoringStrategy::LeastAllocated)
        .iter()
        .map(plugin)
        .collect();
    assert_eq!(got, expect, "{pod:?}");
}

#[test]
fn spread_and_inter_pod_scores_normalize_like_the_plugins() {
    let three = || {
        vec![
            node("n0", "a", 8000, 32 * GI),
            node("n1", "a", 8000, 32 * GI),
            node("n2", "b", 8000, 32 * GI),
        ]
    };
    let soft = |key: &str| TopologySpreadConstraint {
        when_unsatisfiable: WhenUnsatisfiable::ScheduleAnyway,
        ..spread(key, 1, "web")
    };
    let web = |key: &str| PodSchedulingSpec {
        topology_spread: vec![soft(key)],
        ..app_pod("web")
    };
    let spread_score = |s: &scores::NodeScore| s.pod_topology_spread;
    let interpod_score = |s: &scores::NodeScore| s.inter_pod_affinity;
    // Hostname: counts 2, 1, 0 weighted by ln(3 + 2): raw 3, 2, 0 -> 100 × (3 + 0 − s) ÷ 3.
    check_scores(
        three(),
        vec![
            (0, app_pod("web")),
            (0, app_pod("web")),
            (1, app_pod("web")),
        ],
        web(well_known::HOSTNAME),
        spread_score,
        &[0, 33, 100],
    );
    // Zone: a holds 2, b none, weighted by ln(2 + 2): raw 3, 3, 0.
    check_scores(
        three(),
        vec![(0, app_pod("web")), (1, app_pod("web"))],
        web(well_known::ZONE),
        spread_score,
        &[0, 0, 100],
    );
    // No matching pods anywhere: every node scores 100.
    check_scores(
        three(),
        vec![],
        web(well_known::ZONE),
        spread_score,
        &[100, 100, 100],
    );
    let term = PodAffinityTerm {
        label_selector: sel(&[("app", "cache")]),
        topology_key: well_known::ZONE.into(),
        namespaces: vec![],
    };
    let near = PodSchedulingSpec {
        pod_affinity: PodAffinity {
            required: vec![],
            preferred: vec![(100, term.clone())],
        },
        ..app_pod("web")
    };
    let far = PodSchedulingSpec {
        pod_anti_affinity: PodAffinity {
            required: vec![],
            preferred: vec![(100, term.clone())],
        },
        ..app_pod("web")
    };
    check_scores(
        three(),
        vec![(2, app_pod("cache"))],
        near,
        interpod_score,
        &[0, 0, 100],
    );
    check_scores(
        three(),
        vec![(2, app_pod("cache"))],
        far,
        interpod_score,
        &[100, 100, 0],
    );
    // An existing pod's required affinity to the incoming pod pulls it near (weight 1).
    let follower = PodSchedulingSpec {
        pod_affinity: PodAffinity {
            required: vec![PodAffinityTerm {
                label_selector: sel(&[("app", "web")]),
                ..term
            }],
            preferred: vec![],
        },
        ..app_pod("cache")
    };
    check_scores(
        three(),
        vec![(2, follower)],
        app_pod("web"),
        interpod_score,
        &[0, 0, 100],
    );
}

#[test]
fn pdb_with_empty_selector_covers_nothing_in_preemption() {
    let empty = Pdb {
        namespace: "default".into(),
        selector: LabelSelector::default(),
        disruptions_allowed: 0,
    };
    check_preemption(
        &[
            (0, 10, 0, "a"),
            (0, 2000, 0, "a"),
            (1, 2000, 0, "a"),
            (1, 2000, 0, "a"),
            (2, 2000, 0, "a"),
            (2, 2000, 0, "a"),
        ],
        &[empty],
        1000,
        Ok((0, vec![0], 0)),
    );
}
