//! Reconcile-level cases: the short-circuit branches, several and invalid metrics, the legacy
//! path, the behavior path (stabilization, policies over sliding periods, selectPolicy), the
//! stores and the conditions. Proposals are produced with an External AverageValue metric
//! (target 1, status replicas = current), whose proposal is exactly the value.

use super::*;

pub(super) const S: i64 = 1000;

/// An HPA of `min..=max` on one External AverageValue metric (target 1 milli).
pub(super) fn hpa(min: i32, max: i32, behavior: Option<Behavior>) -> HpaSpec {
    HpaSpec {
        min_replicas: min,
        max_replicas: max,
        behavior,
        ..spec_with(external_metric(ValueTarget::AverageValue(1000)))
    }
}

/// A world at `current` replicas whose metric proposes `proposal` (outside the tolerance band).
pub(super) fn asking(current: i32, proposal: i32) -> World {
    World::new(current, pods(current.max(0) as usize, P::new(0)))
        .inputs(vec![Input::External(vec![i64::from(proposal) * 1000])])
}

pub(super) fn recs(list: &[(i32, i64)]) -> Option<Vec<Recommendation>> {
    Some(
        list.iter()
            .map(|&(replicas, ago_s)| Recommendation {
                replicas,
                timestamp_ms: NOW - ago_s * S,
            })
            .collect(),
    )
}

pub(super) fn events(list: &[(i32, i64)]) -> Vec<ScaleEvent> {
    list.iter()
        .map(|&(replica_change, ago_s)| ScaleEvent {
            replica_change,
            timestamp_ms: NOW - ago_s * S,
            outdated: false,
        })
        .collect()
}

/// The expected decision: desired replicas, rescale, and the three conditions' reasons
/// (`None`: condition not set; for ScalingLimited also its status).
pub(super) struct Expect {
    pub(super) desired: i32,
    pub(super) rescale: bool,
    pub(super) able: Reason,
    pub(super) active: Option<(bool, Reason)>,
    pub(super) limited: Option<(bool, Reason)>,
}

pub(super) fn check(
    name: &str,
    spec: &HpaSpec,
    settings: &ControllerSettings,
    world: &World,
    state: &mut HpaState,
    e: Expect,
) -> Decision {
    let d = world.run(spec, settings, state, NOW);
    assert_eq!(
        (d.desired_replicas, d.rescale),
        (e.desired, e.rescale),
        "{name}: desired, rescale"
    );
    assert_eq!(
        d.able_to_scale.map(|c| (c.status, c.reason)),
        Some((true, e.able)),
        "{name}: AbleToScale"
    );
    assert_eq!(
        d.scaling_active.map(|c| (c.status, c.reason)),
        e.active,
        "{name}: ScalingActive"
    );
    assert_eq!(
        d.scaling_limited.map(|c| (c.status, c.reason)),
        e.limited,
        "{name}: ScalingLimited"
    );
    d
}

pub(super) use Reason::*;
pub(super) const VALID: Option<(bool, Reason)> = Some((true, ValidMetricFound));
pub(super) fn within() -> Option<(bool, Reason)> {
    Some((false, DesiredWithinRange))
}

#[test]
fn legacy_path() {
    let s = ControllerSettings::default();
    // (name, spec, world, state before, expectation, recommendations after)
    type Row = (
        &'static str,
        HpaSpec,
        World,
        HpaState,
        Expect,
        Option<Vec<Recommendation>>,
    );
    let st = |r: Option<Vec<Recommendation>>| HpaState {
        recommendations: r,
        ..HpaState::default()
    };
    let rows: Vec<Row> = vec![
        (
            "scale-up within range",
            hpa(1, 10, None),
            asking(3, 5),
            st(recs(&[])),
            Expect {
                desired: 5,
                rescale: true,
                able: SucceededRescale,
                active: VALID,
                limited: within(),
            },
            recs(&[(5, 0)]),
        ),
        (
            "scale-up capped at 2 × current",
            hpa(1, 100, None),
            asking(3, 20),
            st(recs(&[])),
            Expect {
                desired: 6,
                rescale: true,
                able: SucceededRescale,
                active: VALID,
                limited: Some((true, ScaleUpLimit)),
            },
            recs(&[(20, 0)]),
        ),
        (
            "scale-up cap is at least 4",
            hpa(1, 100, None),
            asking(1, 10),
            st(recs(&[])),
            Expect {
                desired: 4,
                rescale: true,
                able: SucceededRescale,
                active: VALID,
                limited: Some((true, ScaleUpLimit)),
            },
            recs(&[(10, 0)]),
        ),
        (
            "max below the rate cap: TooManyReplicas",
            hpa(1, 5, None),
            asking(3, 20),
            st(recs(&[])),
            Expect {
                desired: 5,
                rescale: true,
                able: SucceededRescale,
                active: VALID,
                limited: Some((true, TooManyReplicas)),
            },
            recs(&[(20, 0)]),
        ),
        (
            "below min: TooFewReplicas",
            hpa(3, 10, None),
            asking(5, 1),
            st(recs(&[])),
            Expect {
                desired: 3,
                rescale: true,
                able: SucceededRescale,
                active: VALID,
                limited: Some((true, TooFewReplicas)),
            },
            recs(&[(1, 0)]),
        ),
        (
            "hc-scale-down-stabilize-initial-size: first sight blocks the scale-down",
            hpa(1, 10, None),
            asking(8, 4),
            HpaState::default(),
            Expect {
                desired: 8,
                rescale: false,
                able: ScaleDownStabilized,
                active: VALID,
                limited: within(),
            },
            recs(&[(8, 0), (4, 0)]),
        ),
        (
            "recent higher recommendation holds the scale-down",
            hpa(1, 10, None),
            asking(8, 4),
            st(recs(&[(8, 60)])),
            Expect {
                desired: 8,
                rescale: false,
                able: ScaleDownStabilized,
                active: VALID,
                limited: within(),
            },
            recs(&[(8, 60), (4, 0)]),
        ),
        (
            "a recommendation exactly at the cutoff still counts",
            hpa(1, 10, None),
            asking(8, 4),
            st(recs(&[(7, 300)])),
            Expect {
                desired: 7,
                rescale: true,
                able: SucceededRescale,
                active: VALID,
                limited: within(),
            },
            recs(&[(7, 300), (4, 0)]),
        ),
        (
            "stale recommendation is replaced, scale-down proceeds",
            hpa(1, 10, None),
            asking(8, 4),
            st(recs(&[(8, 301)])),
            Expect {
                desired: 4,
                rescale: true,
                able: SucceededRescale,
                active: VALID,
                limited: within(),
            },
            recs(&[(4, 0)]),
        ),
        (
            "the last stale slot is the one reused",
            hpa(1, 10, None),
            asking(5, 5),
            st(recs(&[(5, 400), (6, 10), (7, 350)])),
            Expect {
                desired: 6,
                rescale: true,
                able: SucceededRescale,
                active: VALID,
                limited: within(),
            },
            recs(&[(5, 400), (6, 10), (5, 0)]),
        ),
        (
            "legacy max-over-window can push a scale-up above the metric",
            hpa(1, 100, None),
            asking(3, 5),
            st(recs(&[(9, 60)])),
            Expect {
                desired: 6,
                rescale: true,
                able: SucceededRescale,
                active: VALID,
                limited: Some((true, ScaleUpLimit)),
            },
            recs(&[(9, 60), (5, 0)]),
        ),
        (
            "unchanged proposal: ReadyForNewScale, no rescale",
            hpa(1, 10, None),
            asking(4, 4),
            st(recs(&[])),
            Expect {
                desired: 4,
                rescale: false,
                able: ReadyForNewScale,
                active: VALID,
                limited: within(),
            },
            recs(&[(4, 0)]),
        ),
    ];
    for (name, spec, world, mut state, e, after) in rows {
        check(name, &spec, &s, &world, &mut state, e);
        assert_eq!(state.recommendations, after, "{name}: recommendations");
        assert!(
            state.scale_up_events.is_empty() && state.scale_down_events.is_empty(),
            "{name}: no events without behavior"
        );
    }
}

#[test]
fn legacy_scale_up_limit_factor_is_a_setting() {
    // Kubernetes' controller tests run with factor 8: from 3, max(24, 4) = 24.
    let s = ControllerSettings {
        scale_up_limit_factor: 8.0,
        ..ControllerSettings::default()
    };
    let mut state = HpaState {
        recommendations: recs(&[]),
        ..HpaState::default()
    };
    let e = Expect {
        desired: 24,
        rescale: true,
        able: SucceededRescale,
        active: VALID,
        limited: Some((true, ScaleUpLimit)),
    };
    check(
        "factor 8",
        &hpa(1, 100, None),
        &s,
        &asking(3, 50),
        &mut state,
        e,
    );
}

#[test]
fn short_circuit_branches() {
    let s = ControllerSettings::default();
    let mut state = HpaState::default();
    let d = check(
        "current 0, min 1: ScalingDisabled",
        &hpa(1, 10, None),
        &s,
        &asking(0, 5),
        &mut state,
        Expect {
            desired: 0,
            rescale: false,
            able: SucceededGetScale,
            active: Some((false, ScalingDisabled)),
            limited: None,
        },
    );
    assert!(
        d.metrics.is_empty(),
        "no metric is read when scaling is disabled"
    );
    assert_eq!(
        state.recommendations,
        recs(&[(0, 0)]),
        "only the initial recommendation"
    );

    let mut state = HpaState::default();
    let d = check(
        "current above max",
        &hpa(1, 10, None),
        &s,
        &asking(12, 1),
        &mut state,
        Expect {
            desired: 10,
            rescale: true,
            able: SucceededRescale,
            active: None,
            limited: None,
        },
    );
    assert!(d.metrics.is_empty());
    assert_eq!(state.recommendations, recs(&[(12, 0)]));
    assert_eq!(
        d.able_to_scale.unwrap().message(&hpa(1, 10, None), &d),
        "the HPA controller was able to update the target scale to 10"
    );

    let mut state = HpaState::default();
    check(
        "current below min",
        &hpa(2, 10, None),
        &s,
        &asking(1, 9),
        &mut state,
        Expect {
            desired: 2,
            rescale: true,
            able: SucceededRescale,
            active: None,
            limited: None,
        },
    );

    let b = Behavior::default();
    let mut state = HpaState::default();
    check(
        "current above max with behavior: event stored, no rate limit",
        &hpa(1, 10, Some(b)),
        &s,
        &asking(30, 1),
        &mut state,
        Expect {
            desired: 10,
            rescale: true,
            able: SucceededRescale,
            active: None,
            limited: None,
        },
    );
    assert_eq!(state.scale_down_events, events(&[(20, 0)]));

    // Scale from zero (HPAScaleToZero): an Object metric, no tolerance, no pod count.
    let spec = HpaSpec {
        min_replicas: 0,
        ..spec_with(object_metric(ValueTarget::Value(1000)))
    };
    let world = World::new(0, vec![]).inputs(vec![Input::Object(1000)]);
    let mut state = HpaState {
        recommendations: recs(&[]),
        ..HpaState::default()
    };
    check(
        "hc-object-scale-up-from-zero-ignores-tolerance",
        &spec,
        &s,
        &world,
        &mut state,
        Expect {
            desired: 1,
            rescale: true,
            able: SucceededRescale,
            active: VALID,
            limited: within(),
        },
    );
}

#[test]
fn several_and_invalid_metrics() {
    let s = ControllerSettings::default();
    let two = |first: MetricSource, second: MetricSource| HpaSpec {
        metrics: vec![
            MetricSpec {
                source: first,
                description: "first".into(),
            },
            MetricSpec {
                source: second,
                description: "second".into(),
            },
        ],
        ..hpa(1, 20, None)
    };
    let ext = || external_metric(ValueTarget::AverageValue(1000));
    let world = |current: i32, a: Input, b: Input| {
        World::new(current, pods(current as usize, P::new(0))).inputs(vec![a, b])
    };
    let fresh = || HpaState {
        recommendations: recs(&[]),
        ..HpaState::default()
    };

    let spec = two(ext(), ext());
    let d = check(
        "max over metrics",
        &spec,
        &s,
        &world(5, Input::External(vec![3000]), Input::External(vec![8000])),
        &mut fresh(),
        Expect {
            desired: 8,
            rescale: true,
            able: SucceededRescale,
            active: VALID,
            limited: within(),
        },
    );
    assert_eq!(
        d.scaling_active.unwrap().message(&spec, &d),
        "the HPA was able to successfully calculate a replica count from second"
    );
    assert_eq!(d.metrics_proposal, Some(8));

    let d = check(
        "all invalid: stop with the first error",
        &spec,
        &s,
        &world(5, Input::Error("first down"), Input::Error("second down")),
        &mut fresh(),
        Expect {
            desired: 5,
            rescale: false,
            able: SucceededGetScale,
            active: Some((false, FailedGetExternalMetric)),
            limited: None,
        },
    );
    assert_eq!(
        d.scaling_active.unwrap().message(&spec, &d),
        "the HPA was unable to compute the replica count: unable to get external metric test-namespace/qps/<nil>: first down"
    );

    check(
        "one invalid and the rest would scale down: stop",
        &spec,
        &s,
        &world(5, Input::External(vec![2000]), Input::Error("down")),
        &mut fresh(),
        Expect {
            desired: 5,
            rescale: false,
            able: SucceededGetScale,
            active: Some((false, FailedGetExternalMetric)),
            limited: None,
        },
    );

    let d = check(
        "one invalid and the rest scale up: proceed",
        &spec,
        &s,
        &world(5, Input::Error("down"), Input::External(vec![9000])),
        &mut fresh(),
        Expect {
            desired: 9,
            rescale: true,
            able: SucceededRescale,
            active: VALID,
            limited: within(),
        },
    );
    assert_eq!(d.metrics[0].proposal, None);
    assert!(d.metrics[0].error.as_deref().unwrap().ends_with("down"));

    let mixed = two(cpu_utilization(50), ext());
    let d = check(
        "first failing metric names the reason",
        &mixed,
        &s,
        &World::new(2, pods(2, P::new(1000))).inputs(vec![Input::Usage, Input::Error("x")]),
        &mut fresh(),
        Expect {
            desired: 2,
            rescale: false,
            able: SucceededGetScale,
            active: Some((false, FailedGetResourceMetric)),
            limited: None,
        },
    );
    assert_eq!(d.metrics.len(), 2);
}
