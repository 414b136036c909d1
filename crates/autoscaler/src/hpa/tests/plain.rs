//! Replica proposals of plain (AverageValue, Pods), Object and External metrics, and
//! `groupPods`, from Kubernetes' test vectors and derived cases.

use super::replicas::*;
use super::*;

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
        count: 1,
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
