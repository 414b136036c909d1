//! Replica proposals per metric type: Kubernetes' replica_calculator_test.go vectors
//! (named after the Go test they come from) and derived cases.

use super::*;

/// What one metric should come out as.
#[derive(Debug)]
enum Expect {
    /// Proposal, then the current value as (utilization %, average milli, value milli).
    Ok(i32, Option<i32>, Option<i64>, Option<i64>),
    /// The error text contains this.
    Err(&'static str),
}
use Expect::{Err as Fails, Ok as Gives};

fn util(replicas: i32, pct: i32, raw: i64) -> Expect {
    Gives(replicas, Some(pct), Some(raw), None)
}
fn avg(replicas: i32, average: i64) -> Expect {
    Gives(replicas, None, Some(average), None)
}
fn value(replicas: i32, value: i64) -> Expect {
    Gives(replicas, None, None, Some(value))
}

/// Runs the world with a one-metric spec and compares the metric's outcome.
fn check(
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

fn w(spec_replicas: i32, pods: Vec<P>) -> World {
    World::new(spec_replicas, pods)
}

/// Pods requesting 1 core per container, using `levels` per container.
fn using(levels: &[i64]) -> Vec<P> {
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
fn plain_metric_vectors() {
    let s = testing_settings();
    let per_pod = |values: &[i64]| {
        vec![Input::PerPod(
            values.iter().map(|v| Some(*v)).collect(),
            vec![],
        )]
    };
    let cases: Vec<(&str, World, MetricSource, Expect)> = vec![
        (
            "ScaleUpCM",
            w(3, pods(3, P::new(0))).inputs(per_pod(&[20000, 10000, 30000])),
            pods_metric(15000),
            avg(4, 20000),
        ),
        (
            "ScaleUpCMUnreadyHotCpuNoLessScale (readiness is ignored for Pods metrics)",
            w(
                3,
                vec![
                    P::new(0).cool(),
                    P::new(0).cool(),
                    P::new(0).unready().hot(),
                ],
            )
            .inputs(per_pod(&[50000, 10000, 30000])),
            pods_metric(15000),
            avg(6, 30000),
        ),
        (
            "ScaleUpCMUnreadyHotCpuScaleWouldScaleDown",
            w(
                3,
                vec![
                    P::new(0).unready().hot(),
                    P::new(0).cool(),
                    P::new(0).unready().hot(),
                ],
            )
            .inputs(per_pod(&[50000, 15000, 30000])),
            pods_metric(15000),
            avg(7, 31666),
        ),
        (
            "ScaleDownCM",
            w(5, pods(5, P::new(0))).inputs(per_pod(&[12000; 5])),
            pods_metric(20000),
            avg(3, 12000),
        ),
        (
            "ToleranceCM",
            w(3, pods(3, P::new(0))).inputs(per_pod(&[20000, 21000, 21000])),
            pods_metric(20000),
            avg(3, 20666),
        ),
        (
            "PlainMetricReplicaCalcMissingMetricsNoChangeEq",
            w(5, pods(5, P::new(0))).inputs(per_pod(&[20000, 19000, 21000])),
            pods_metric(20000),
            avg(5, 20000),
        ),
        (
            "DuringRollingUpdateWithMaxSurgeCM",
            w(2, pods(3, P::new(0))).inputs(per_pod(&[10000, 10000])),
            pods_metric(17000),
            avg(2, 10000),
        ),
        (
            "derived: Pods metric missing pods assumed at target on scale-down",
            w(4, pods(4, P::new(0))).inputs(per_pod(&[1000, 1000])),
            pods_metric(10000),
            avg(3, 1000),
        ),
        (
            "derived: Pods metric with unlisted values averages them in",
            w(2, pods(2, P::new(0))).inputs(vec![Input::PerPod(
                vec![Some(10000), Some(10000)],
                vec![40000],
            )]),
            pods_metric(10000),
            avg(4, 20000),
        ),
        (
            "derived: Pods metric with no values at all",
            w(2, pods(2, P::new(0))).inputs(vec![Input::PerPod(vec![None, None], vec![])]),
            pods_metric(10000),
            Fails("unable to get metric qps: no metrics returned from custom metrics API"),
        ),
        (
            "derived: AverageValue cpu uses the CPU readiness rules",
            w(
                3,
                vec![
                    P::new(1000).uses(400),
                    P::new(1000).uses(400),
                    P::new(1000).uses(900).hot(),
                ],
            ),
            MetricSource::Resource {
                resource: "cpu".into(),
                container: None,
                target: ResourceTarget::AverageValue(400),
            },
            avg(4, 800),
        ),
        (
            "derived: AverageValue memory counts unready pods in full",
            World {
                resource: "memory",
                ..w(
                    2,
                    vec![P::new(1000).uses(1000), P::new(1000).uses(1000).unready()],
                )
            },
            MetricSource::Resource {
                resource: "memory".into(),
                container: None,
                target: ResourceTarget::AverageValue(1000),
            },
            avg(4, 2000),
        ),
    ];
    for (name, world, source, expect) in cases {
        check(name, world, source, &s, expect);
    }
}

#[test]
fn object_and_external_vectors() {
    let s = testing_settings();
    let ready3 = || pods(3, P::new(0));
    let cases: Vec<(&str, World, MetricSource, Expect)> = vec![
        ("ScaleUpCMObject", w(3, ready3()).inputs(vec![Input::Object(20000)]), object_metric(ValueTarget::Value(15000)), value(4, 20000)),
        (
            "ScaleUpCMPerPodObject",
            w(3, ready3()).inputs(vec![Input::Object(20000)]),
            object_metric(ValueTarget::AverageValue(5000)),
            avg(4, 6667),
        ),
        (
            "ScaleUpCMObjectIgnoresUnreadyPods (rc-obj-ignores-unready)",
            w(3, vec![P::new(0).unready(), P::new(0), P::new(0).unready()]).inputs(vec![Input::Object(50000)]),
            object_metric(ValueTarget::Value(10000)),
            value(5, 50000),
        ),
        (
            "ScaleUpCMExternalIgnoresUnreadyPods (rc-ext-ignores-unready)",
            w(3, vec![P::new(0).unready(), P::new(0), P::new(0).unready()]).inputs(vec![Input::External(vec![8600])]),
            external_metric(ValueTarget::Value(4400)),
            value(2, 8600),
        ),
        (
            "ScaleUpPerPodCMExternal",
            w(3, ready3()).inputs(vec![Input::External(vec![8600])]),
            external_metric(ValueTarget::AverageValue(2150)),
            avg(4, 2867),
        ),
        (
            "ScaleDownPerPodCMObject",
            w(5, pods(5, P::new(0))).inputs(vec![Input::Object(6000)]),
            object_metric(ValueTarget::AverageValue(2000)),
            avg(3, 1200),
        ),
        (
            "ScaleDownCMObject",
            w(5, pods(5, P::new(0))).inputs(vec![Input::Object(12000)]),
            object_metric(ValueTarget::Value(20000)),
            value(3, 12000),
        ),
        (
            "ScaleDownCMExternal",
            w(5, pods(5, P::new(0))).inputs(vec![Input::External(vec![8600])]),
            external_metric(ValueTarget::Value(14334)),
            value(3, 8600),
        ),
        (
            "ScaleDownPerPodCMExternal",
            w(5, pods(5, P::new(0))).inputs(vec![Input::External(vec![8600])]),
            external_metric(ValueTarget::AverageValue(2867)),
            avg(3, 1720),
        ),
        ("ToleranceCMObject", w(3, ready3()).inputs(vec![Input::Object(20666)]), object_metric(ValueTarget::Value(20000)), value(3, 20666)),
        (
            "TolerancePerPodCMObject",
            w(4, pods(4, P::new(0))).inputs(vec![Input::Object(20166)]),
            object_metric(ValueTarget::AverageValue(5000)),
            avg(4, 5042),
        ),
        (
            "ToleranceCMExternal",
            w(3, ready3()).inputs(vec![Input::External(vec![8600])]),
            external_metric(ValueTarget::Value(8888)),
            value(3, 8600),
        ),
        (
            "TolerancePerPodCMExternal",
            w(3, ready3()).inputs(vec![Input::External(vec![8600])]),
            external_metric(ValueTarget::AverageValue(2900)),
            avg(3, 2867),
        ),
        (
            "derived: external series are summed",
            w(2, pods(2, P::new(0))).inputs(vec![Input::External(vec![30000, 12000])]),
            external_metric(ValueTarget::AverageValue(10000)),
            avg(5, 21000),
        ),
        (
            "derived: external sum saturates at MaxInt64, proposal caps at MaxInt32",
            w(2, pods(2, P::new(0))).inputs(vec![Input::External(vec![i64::MAX, i64::MAX])]),
            external_metric(ValueTarget::AverageValue(1)),
            avg(i32::MAX, i64::MAX),
        ),
        (
            "derived: object value proposal caps at MaxInt32",
            w(2, pods(2, P::new(0))).inputs(vec![Input::Object(i64::MAX)]),
            object_metric(ValueTarget::Value(1)),
            value(i32::MAX, i64::MAX),
        ),
        (
            "derived: object value with no pods",
            w(2, vec![]).inputs(vec![Input::Object(5000)]),
            object_metric(ValueTarget::Value(1000)),
            Fails("unable to calculate ready pods: no pods returned by selector while calculating replica count"),
        ),
        (
            "derived: external with no series",
            w(2, pods(2, P::new(0))).inputs(vec![Input::External(vec![])]),
            external_metric(ValueTarget::Value(1000)),
            Fails("unable to get external metric test-namespace/qps/<nil>: no metrics returned from external metrics API"),
        ),
        (
            "derived: object fetch error keeps the controller's odd format",
            w(2, pods(2, P::new(0))).inputs(vec![Input::Error("boom")]),
            object_metric(ValueTarget::Value(1000)),
            Fails("unable to get metric qps: Deployment on test-namespace some-deployment/boom"),
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
fn group_pods_vectors() {
    let s = testing_settings();
    let now = NOW;
    let sample = |ts: i64, window: i64| {
        Some(UsageSample {
            value: 1,
            timestamp_ms: ts,
            window_ms: window,
        })
    };
    let pod = |phase, start: Option<i64>, ready: Option<(ConditionStatus, i64)>| Pod {
        name: "p",
        phase,
        deleting: false,
        start_ms: start,
        ready: ready.map(|(status, t)| ReadyCondition {
            status,
            last_transition_ms: t,
        }),
        containers: &[],
        pod_requests: None,
        usage: None,
    };
    use calc::Group::*;
    use ConditionStatus::{False as F, True as T};
    let succeeded = PodPhase::Succeeded;
    let cases: Vec<(&str, Pod<'_>, Option<UsageSample>, bool, calc::Group)> = vec![
        (
            "count in a ready pod - memory",
            pod(succeeded, None, None),
            sample(now, 60_000),
            false,
            Ready,
        ),
        (
            "unready a pod without ready condition - CPU",
            pod(succeeded, Some(now), None),
            sample(0, 0),
            true,
            Unready,
        ),
        (
            "count in a ready pod with fresh metrics during initialization period - CPU",
            pod(succeeded, Some(now - 60_000), Some((T, now - 30_000))),
            sample(now, 30_000),
            true,
            Ready,
        ),
        (
            "unready a ready pod without fresh metrics during initialization period - CPU",
            pod(succeeded, Some(now - 60_000), Some((T, now - 30_000))),
            sample(now, 60_000),
            true,
            Unready,
        ),
        (
            "unready an unready pod during initialization period - CPU",
            pod(succeeded, Some(now - 600_000), Some((F, now - 594_000))),
            sample(0, 0),
            true,
            Unready,
        ),
        (
            "count in a ready pod without fresh metrics after initialization period - CPU",
            pod(succeeded, Some(now - 180_000), Some((T, now - 180_000))),
            sample(now - 120_000, 60_000),
            true,
            Ready,
        ),
        (
            "count in an unready pod that was ready after initialization period - CPU",
            pod(succeeded, Some(now - 600_000), Some((F, now - 540_000))),
            sample(0, 0),
            true,
            Ready,
        ),
        (
            "rc-group-09: transition exactly at start + delay counts as ready",
            pod(succeeded, Some(now - 600_000), Some((F, now - 590_000))),
            sample(0, 0),
            true,
            Ready,
        ),
        (
            "a missing pod",
            pod(succeeded, Some(now - 180_000), None),
            None,
            true,
            Missing,
        ),
        (
            "pending without sample is unready",
            pod(PodPhase::Pending, None, None),
            None,
            true,
            Unready,
        ),
        (
            "failed is ignored",
            pod(PodPhase::Failed, None, None),
            sample(0, 0),
            true,
            Ignored,
        ),
        (
            "no start time is unready for cpu",
            pod(PodPhase::Running, None, Some((T, 0))),
            sample(0, 0),
            true,
            Unready,
        ),
        (
            "sample exactly one window after the transition counts",
            pod(
                PodPhase::Running,
                Some(now - 60_000),
                Some((T, now - 60_000)),
            ),
            sample(now, 60_000),
            true,
            Ready,
        ),
        (
            "Unknown readiness during initialization with a fresh sample counts",
            pod(
                PodPhase::Running,
                Some(now - 60_000),
                Some((ConditionStatus::Unknown, now - 60_000)),
            ),
            sample(now, 30_000),
            true,
            Ready,
        ),
    ];
    for (name, p, sample, cpu, expect) in cases {
        assert_eq!(
            calc::group(&p, sample.as_ref(), cpu, &s, now),
            expect,
            "{name}"
        );
    }
    let deleting = Pod {
        deleting: true,
        ..pod(PodPhase::Running, Some(0), Some((T, 0)))
    };
    assert_eq!(
        calc::group(&deleting, sample(0, 0).as_ref(), true, &s, now),
        Ignored,
        "deleting"
    );
}
