//! Each Filter plugin with its reasons, and the aggregated FitError message.

use super::*;

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
    let mut snap = cluster(nodes, vec![]);
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
    let ScheduleOutcome::Unschedulable(Some(err)) =
        sched.schedule(&mut snap, PodId(1), &p, &[], &mut rng(1))
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
    let ScheduleOutcome::Unschedulable(Some(err)) =
        sched.schedule(&mut snap, PodId(1), &never, &[], &mut rng(1))
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
