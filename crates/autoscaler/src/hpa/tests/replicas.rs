//! Replica proposals per metric type: Kubernetes' replica_calculator_test.go vectors
//! (named after the Go test they come from) and derived cases.

use super::*;

/// What one metric should come out as.
#[derive(Debug)]
pub(super) enum Expect {
    /// Proposal, then the current value as (utilization %, average milli, value milli).
    Ok(i32, Option<i32>, Option<i64>, Option<i64>),
    /// The error text contains this.
    Err(&'static str),
}
pub(super) use Expect::{Err as Fails, Ok as Gives};

pub(super) fn util(replicas: i32, pct: i32, raw: i64) -> Expect {
    Gives(replicas, Some(pct), Some(raw), None)
}
pub(super) fn avg(replicas: i32, average: i64) -> Expect {
    Gives(replicas, None, Some(average), None)
}
pub(super) fn value(replicas: i32, value: i64) -> Expect {
    Gives(replicas, None, None, Some(value))
}

/// Runs the world with a one-metric spec and compares the metric's outcome.
pub(super) fn check(
    name: &str,
    world: World,
    source: MetricSource,
    settings: &ControllerSettings,
    expect: Expect,
) {
    let pod_level = matches!(
        source,
        MetricSource::Resource {
            container: None,
            ..
        }
    );
    let spec = spec_with(source);
    if pod_level && world.inputs.iter().all(|i| matches!(i, Input::Usage)) {
        // The pre-resolved observation must decide exactly as the full one.
        let full = world.run(&spec, settings, &mut HpaState::default(), NOW);
        let resolved = World {
            resolved: true,
            ..world.clone()
        };
        let fast = resolved.run(&spec, settings, &mut HpaState::default(), NOW);
        let m = (&full.metrics[0], &fast.metrics[0]);
        assert_eq!(
            (m.0.proposal, m.0.current),
            (m.1.proposal, m.1.current),
            "{name}: resolved path"
        );
        assert_eq!(
            m.0.error.is_some(),
            m.1.error.is_some(),
            "{name}: resolved path error"
        );
        assert_eq!(
            full.desired_replicas, fast.desired_replicas,
            "{name}: resolved path"
        );
    }
    let d = world.run(&spec, settings, &mut HpaState::default(), NOW);
    let m = &d.metrics[0];
    match expect {
        Gives(replicas, pct, average, val) => {
            assert_eq!(m.error, None, "{name}: unexpected error");
            assert_eq!(m.proposal, Some(replicas), "{name}: proposal");
            assert_eq!(
                (
                    m.current.average_utilization,
                    m.current.average_value_milli,
                    m.current.value_milli
                ),
                (pct, average, val),
                "{name}: current value"
            );
        }
        Fails(text) => {
            let error = m
                .error
                .as_deref()
                .unwrap_or_else(|| panic!("{name}: expected an error, got {m:?}"));
            assert!(
                error.contains(text),
                "{name}: error {error:?} lacks {text:?}"
            );
            assert_eq!(m.proposal, None, "{name}");
        }
    }
}

pub(super) fn w(spec_replicas: i32, pods: Vec<P>) -> World {
    World::new(spec_replicas, pods)
}

/// Pods requesting 1 core per container, using `levels` per container.
pub(super) fn using(levels: &[i64]) -> Vec<P> {
    levels.iter().map(|l| P::new(1000).uses(*l)).collect()
}

#[test]
fn resource_utilization_vectors() {
    let s = testing_settings();
    let cases: Vec<(&str, World, MetricSource, Expect)> = vec![
        ("ScaleUp", w(3, using(&[300, 500, 700])), cpu_utilization(30), util(5, 50, 1000)),
        (
            "ScaleUpUnreadyLessScale",
            w(3, vec![P::new(1000).uses(300).unready(), P::new(1000).uses(500), P::new(1000).uses(700)]),
            cpu_utilization(30),
            util(4, 60, 1200),
        ),
        (
            "ScaleUpHotCpuLessScale",
            w(3, vec![P::new(1000).uses(300).hot(), P::new(1000).uses(500).cool(), P::new(1000).uses(700).cool()]),
            cpu_utilization(30),
            util(4, 60, 1200),
        ),
        (
            "ScaleUpUnreadyNoScale",
            w(3, vec![P::new(1000).uses(400), P::new(1000).uses(500).unready(), P::new(1000).uses(700).unready()]),
            cpu_utilization(30),
            util(3, 40, 800),
        ),
        (
            "ScaleHotCpuNoScale",
            w(
                3,
                vec![
                    P::new(1000).uses(400).cool(),
                    P::new(1000).uses(500).unready().hot(),
                    P::new(1000).uses(700).unready().hot(),
                ],
            ),
            cpu_utilization(30),
            util(3, 40, 800),
        ),
        (
            "ScaleUpIgnoresFailedPods",
            w(
                2,
                vec![
                    P::new(1000).uses(500),
                    P::new(1000).uses(700),
                    P::new(1000).unready().phase(PodPhase::Failed),
                    P::new(1000).unready().phase(PodPhase::Failed),
                ],
            ),
            cpu_utilization(30),
            util(4, 60, 1200),
        ),
        (
            "ScaleUpIgnoresDeletionPods",
            w(
                2,
                vec![
                    P::new(1000).uses(500),
                    P::new(1000).uses(700),
                    P::new(1000).unready().deleting(),
                    P::new(1000).unready().deleting(),
                ],
            ),
            cpu_utilization(30),
            util(4, 60, 1200),
        ),
        ("ScaleDown", w(5, using(&[100, 300, 500, 250, 250])), cpu_utilization(50), util(3, 28, 560)),
        (
            "ScaleDownExcludeUnreadyPods (rc-res-scale-down-exclude-unready)",
            w(
                5,
                vec![
                    P::new(1000).uses(100),
                    P::new(1000).uses(300),
                    P::new(1000).uses(500),
                    P::new(1000).uses(250).unready(),
                    P::new(1000).uses(250).unready(),
                ],
            ),
            cpu_utilization(50),
            util(2, 30, 600),
        ),
        (
            "ScaleDownExcludeUnscheduledPods",
            w(
                5,
                vec![
                    P::new(1000).uses(100),
                    P::new(1000).unready().phase(PodPhase::Pending),
                    P::new(1000).unready().phase(PodPhase::Pending),
                    P::new(1000).unready().phase(PodPhase::Pending),
                    P::new(1000).unready().phase(PodPhase::Pending),
                ],
            ),
            cpu_utilization(50),
            util(1, 10, 200),
        ),
        (
            "ScaleDownIgnoreHotCpuPods",
            w(
                5,
                vec![
                    P::new(1000).uses(100).cool(),
                    P::new(1000).uses(300).cool(),
                    P::new(1000).uses(500).cool(),
                    P::new(1000).uses(250).hot(),
                    P::new(1000).uses(250).hot(),
                ],
            ),
            cpu_utilization(50),
            util(2, 30, 600),
        ),
        (
            "ScaleDownIgnoresFailedPods",
            w(
                5,
                using(&[100, 300, 500, 250, 250])
                    .into_iter()
                    .chain(pods(2, P::new(1000).unready().phase(PodPhase::Failed)))
                    .collect(),
            ),
            cpu_utilization(50),
            util(3, 28, 560),
        ),
        (
            "ScaleDownIgnoresDeletionPods",
            w(
                5,
                using(&[100, 300, 500, 250, 250])
                    .into_iter()
                    .chain(pods(2, P::new(1000).unready().deleting()))
                    .collect(),
            ),
            cpu_utilization(50),
            util(3, 28, 560),
        ),
        (
            "Tolerance",
            w(3, vec![P::new(900).uses(1010), P::new(1000).uses(1030), P::new(1100).uses(1020)]),
            cpu_utilization(100),
            util(3, 102, 2040),
        ),
        (
            "SuperfluousMetrics (unlisted samples count in N)",
            World { unlisted: vec![vec![3200, 3200], vec![2000, 2000]], ..w(4, using(&[4000, 9500, 3000, 7000])) },
            cpu_utilization(100),
            util(24, 587, 11750),
        ),
        (
            "MissingMetrics",
            w(4, vec![P::new(1000).uses(400), P::new(1000).uses(95), P::new(1000), P::new(1000)]),
            cpu_utilization(100),
            util(3, 24, 495),
        ),
        (
            "MissingMetricsNoChangeEq",
            w(2, vec![P::new(1000).uses(1000), P::new(1000)]),
            cpu_utilization(100),
            util(2, 100, 2000),
        ),
        (
            "MissingMetricsNoChangeGt (direction flip)",
            w(2, vec![P::new(1000).uses(1900), P::new(1000)]),
            cpu_utilization(100),
            util(2, 190, 3800),
        ),
        (
            "MissingMetricsNoChangeLt",
            w(2, vec![P::new(1000).uses(600), P::new(1000)]),
            cpu_utilization(100),
            util(2, 60, 1200),
        ),
        (
            "MissingMetricsUnreadyChange",
            w(3, vec![P::new(1000).uses(100).unready(), P::new(1000).uses(450), P::new(1000)]),
            cpu_utilization(50),
            util(3, 45, 900),
        ),
        (
            "MissingMetricsHotCpuNoChange",
            w(3, vec![P::new(1000).uses(100).hot(), P::new(1000).uses(450).cool(), P::new(1000).cool()]),
            cpu_utilization(50),
            util(3, 45, 900),
        ),
        (
            "MissingMetricsUnreadyScaleUp",
            w(3, vec![P::new(1000).uses(100).unready(), P::new(1000).uses(2000), P::new(1000)]),
            cpu_utilization(50),
            util(4, 200, 4000),
        ),
        (
            "MissingMetricsHotCpuScaleUp",
            w(3, vec![P::new(1000).uses(100).unready().hot(), P::new(1000).uses(2000).cool(), P::new(1000).cool()]),
            cpu_utilization(50),
            util(4, 200, 4000),
        ),
        (
            "MissingMetricsUnreadyScaleDown",
            w(
                4,
                vec![P::new(1000).uses(100).unready(), P::new(1000).uses(100), P::new(1000).uses(100), P::new(1000)],
            ),
            cpu_utilization(50),
            util(3, 10, 200),
        ),
        (
            "MissingMetricsScaleDownTargetOver100 (rc-res-missing-scaledown-target-over-100)",
            w(
                4,
                vec![P::new(1000).uses(200).unready(), P::new(1000).uses(100), P::new(2000).uses(100), P::new(2000)],
            ),
            cpu_utilization(300),
            util(2, 6, 200),
        ),
        (
            "DuringRollingUpdateWithMaxSurge (rc-res-rolling-update-max-surge)",
            w(2, vec![P::new(1000).uses(100), P::new(1000).uses(100), P::new(1000)]),
            cpu_utilization(50),
            util(2, 10, 200),
        ),
        (
            "EmptyMetrics",
            w(4, vec![P::new(1000), P::new(1000), P::new(1000), P::new(1000)]),
            cpu_utilization(100),
            Fails("unable to get metrics for resource cpu: no metrics returned from resource metrics API"),
        ),
        (
            "EmptyCPURequest",
            w(1, vec![P { request: None, ..P::new(0).uses(200) }]),
            cpu_utilization(100),
            Fails("missing request for cpu in container container1 of Pod test-pod-0"),
        ),
        (
            "DisjointResourcesMetrics",
            World { unlisted: vec![vec![100, 100]], ..w(1, vec![P::new(1000)]) },
            cpu_utilization(100),
            Fails("no metrics returned matched known pods"),
        ),
        (
            "derived: every pod unready",
            w(2, vec![P::new(1000).uses(500).hot(), P::new(1000).uses(500).hot()]),
            cpu_utilization(50),
            Fails("did not receive metrics for targeted pods (pods might be unready)"),
        ),
        (
            "derived: no pods",
            World { unlisted: vec![vec![100, 100]], ..w(1, vec![]) },
            cpu_utilization(50),
            Fails("no pods returned by selector while calculating replica count"),
        ),
        (
            "derived: float arithmetic 1.12 × 25 = 28.000000000000004 → 29",
            w(25, using(&[1120; 25])),
            cpu_utilization(100),
            util(29, 112, 2240),
        ),
        (
            "derived: truncated percent 109.9 % is within tolerance",
            w(4, using(&[1099; 4])),
            cpu_utilization(100),
            util(4, 109, 2198),
        ),
        (
            "derived: exactly 1.1 is inside the inclusive band",
            w(4, using(&[550; 4])),
            cpu_utilization(50),
            util(4, 55, 1100),
        ),
        (
            "derived: ratio 1.12 leaves the band",
            w(4, using(&[560; 4])),
            cpu_utilization(50),
            util(5, 56, 1120),
        ),
        (
            "derived: exactly 0.9 is inside the band",
            w(10, using(&[450; 10])),
            cpu_utilization(50),
            util(10, 45, 900),
        ),
        (
            "derived: hc-missing-reports (4 desired, 1 listed pod at 200 %)",
            w(4, vec![P::new(500).uses(500)]),
            cpu_utilization(50),
            util(2, 100, 1000),
        ),
        (
            "derived: pending pod without a sample is unready, not missing",
            w(3, vec![P::new(1000).uses(900), P::new(1000).uses(900), P::new(1000).phase(PodPhase::Pending)]),
            cpu_utilization(50),
            util(4, 90, 1800),
        ),
        (
            "derived: succeeded pods are counted",
            w(2, vec![P::new(1000).uses(200).phase(PodPhase::Succeeded), P::new(1000).uses(200)]),
            cpu_utilization(50),
            util(1, 20, 400),
        ),
        (
            "derived: a failed pod without a request still fails the request check",
            w(1, vec![P::new(1000).uses(500), P { request: None, ..P::new(0).phase(PodPhase::Failed) }]),
            cpu_utilization(50),
            Fails("missing request for cpu in container container1 of Pod test-pod-1"),
        ),
    ];
    for (name, world, source, expect) in cases {
        check(name, world, source, &s, expect);
    }
}

#[test]
fn container_resource_vectors() {
    let s = testing_settings();
    let c2 = |target| container_utilization("container2", target);
    let with = |levels: &[[i64; 2]]| -> Vec<P> {
        levels
            .iter()
            .map(|l| P::new(1000).uses_containers(l))
            .collect()
    };
    let cases: Vec<(&str, World, MetricSource, Expect)> = vec![
        (
            "ContainerScaleUp",
            w(3, with(&[[1000, 300], [1000, 500], [1000, 700]])),
            c2(30),
            util(5, 50, 500),
        ),
        (
            "ScaleUpContainerHotCpuLessScale",
            w(
                3,
                vec![
                    P::new(1000).uses_containers(&[0, 300]).hot(),
                    P::new(1000).uses_containers(&[0, 500]).cool(),
                    P::new(1000).uses_containers(&[0, 700]).cool(),
                ],
            ),
            c2(30),
            util(4, 60, 600),
        ),
        (
            "ScaleUpContainerIgnoresFailedPods",
            w(
                2,
                with(&[[1000, 500], [9000, 700]])
                    .into_iter()
                    .chain(pods(2, P::new(1000).unready().phase(PodPhase::Failed)))
                    .collect(),
            ),
            c2(30),
            util(4, 60, 600),
        ),
        (
            "MissingContainerMetricScaleUpIgnoresFailedPods",
            w(
                2,
                with(&[[1000, 500], [9000, 700]])
                    .into_iter()
                    .chain(pods(
                        2,
                        P::new(1000)
                            .unready()
                            .phase(PodPhase::Failed)
                            .uses_containers(&[1000]),
                    ))
                    .collect(),
            ),
            c2(30),
            util(4, 60, 600),
        ),
        (
            "ContainerScaleDown",
            w(
                5,
                with(&[
                    [1000, 100],
                    [1000, 300],
                    [1000, 500],
                    [1000, 250],
                    [1000, 250],
                ]),
            ),
            c2(50),
            util(3, 28, 280),
        ),
        (
            "ScaleDownContainerIgnoreHotCpuPods",
            w(
                5,
                vec![
                    P::new(1000).uses_containers(&[1000, 100]).cool(),
                    P::new(1000).uses_containers(&[1000, 300]).cool(),
                    P::new(1000).uses_containers(&[1000, 500]).cool(),
                    P::new(1000).uses_containers(&[1000, 1000]).hot(),
                    P::new(1000).uses_containers(&[1000, 1000]).hot(),
                ],
            ),
            c2(50),
            util(2, 30, 300),
        ),
        (
            "derived: container absent from a pod's metrics counts as missing",
            w(
                2,
                vec![
                    P::new(1000).uses_containers(&[500, 600]),
                    P::new(1000).uses_containers(&[500]),
                ],
            ),
            c2(30),
            util(2, 60, 600),
        ),
        (
            "derived: container in neither the pod spec nor its metrics: no samples first",
            w(1, using(&[500])),
            container_utilization("sidecar", 50),
            Fails("did not receive metrics for targeted pods"),
        ),
    ];
    for (name, world, source, expect) in cases {
        check(name, world, source, &s, expect);
    }
}

#[test]
fn computed_tolerance_vector() {
    // TestReplicaCalcComputedToleranceAlgImplementation: 10 pods at 150m of ~300m requests.
    let requests = [400, 200, 310, 290, 302, 298, 301, 299, 300, 300];
    let world = w(10, requests.iter().map(|r| P::new(*r).uses(150)).collect());
    check(
        "ComputedTolerance 56 %",
        world.clone(),
        cpu_utilization(56),
        &testing_settings(),
        util(9, 50, 300),
    );
    check(
        "ComputedTolerance 55 %",
        world,
        cpu_utilization(55),
        &testing_settings(),
        util(10, 50, 300),
    );
}

#[test]
fn compat_switches_select_older_behaviour() {
    let old = ControllerSettings {
        compat: Compat::oldest(),
        ..testing_settings()
    };
    let over_100 = w(
        4,
        vec![
            P::new(1000).uses(200).unready(),
            P::new(1000).uses(100),
            P::new(2000).uses(100),
            P::new(2000),
        ],
    );
    check(
        "rc-res-missing-scaledown-target-over-100, 100 % fill",
        over_100,
        cpu_utilization(300),
        &old,
        util(1, 6, 200),
    );
    let absent = w(
        2,
        vec![
            P::new(1000).uses_containers(&[500, 600]),
            P::new(1000).uses_containers(&[500]),
        ],
    );
    check(
        "absent container fails the metric in older releases",
        absent,
        container_utilization("container2", 30),
        &old,
        Fails("container container2 not present in metrics for pod test-namespace/test-pod-1"),
    );
    let wrap = w(2, pods(2, P::new(0))).inputs(vec![Input::External(vec![i64::MAX, 2])]);
    check(
        "external sum wraps without caps",
        wrap,
        external_metric(ValueTarget::Value(1000)),
        &old,
        value(i32::MIN, i64::MIN + 1),
    );
}

#[test]
fn quotient_is_i128_division() {
    // The sums' division takes a u32 or an i64 shortcut when it can; it must truncate exactly
    // as the i128 division it replaces, on both sides of each range and at its edges.
    let big = i128::from(i64::MAX);
    let word = i128::from(u32::MAX);
    let check = |a: i128, b: i128| assert_eq!(calc::quotient(a, b), a / b, "{a} / {b}");
    for a in [
        0,
        1,
        -1,
        7,
        -7,
        99,
        12_345,
        big,
        big + 1,
        -big,
        -big - 1,
        -big - 2,
        big * 3,
        word,
        word + 1,
        -word,
    ] {
        for b in [
            1,
            -1,
            2,
            -2,
            3,
            100,
            -100,
            big,
            -big - 1,
            big + 5,
            -(big * 2),
            word,
            word + 1,
            word - 1,
        ] {
            check(a, b);
        }
    }
}
