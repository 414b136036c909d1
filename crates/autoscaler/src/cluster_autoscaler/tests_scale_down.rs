//! Table-driven tests of the cluster-autoscaler's scale-down rules: utilization, drain
//! rules, unneeded timers, cooldowns, eligibility and deletion budgets.

use std::sync::Arc;

use super::observation::*;
use super::scale_down::{drain_rule, utilization, BlockingPodReason, DrainOutcome, Unremovable};
use super::tests::*;
use super::*;
use crate::model::{PodSchedulingSpec, Resources};

#[test]
fn utilization_from_requests() {
    fn check(name: &str, pods: Vec<PodInfo>, gpu_node: bool, ignore_ds: bool, expect: f64) {
        let mut n = node("n", "ng", 4000, 8 * GIB, pods);
        if gpu_node {
            n.has_gpu = true;
            n.spec.allocatable.gpu = 4;
        }
        let got = utilization(&CaSettings::default(), &n, ignore_ds);
        assert!((got - expect).abs() < 1e-9, "{name}: {got}");
    }
    let mut gpu_pod = pod("g", 3000, GIB);
    gpu_pod.spec = Arc::new(PodSchedulingSpec {
        requests: Resources {
            gpu: 1,
            ..gpu_pod.spec.requests
        },
        ..(*gpu_pod.spec).clone()
    });
    let mut ds = pod("ds", 2000, GIB);
    ds.controller = Some(Controller {
        kind: "DaemonSet".into(),
        name: "ds".into(),
        exists: true,
        replicas: None,
    });
    let mut expendable = pod("x", 4000, GIB);
    expendable.spec = spec(4000, GIB, -100);
    check(
        "cpu dominates",
        vec![pod("a", 1000, GIB)],
        false,
        false,
        0.25,
    );
    check(
        "memory dominates",
        vec![pod("a", 100, 6 * GIB)],
        false,
        false,
        0.75,
    );
    check("gpu node by gpu only", vec![gpu_pod], true, false, 0.25);
    check(
        "expendable pods do not count",
        vec![expendable],
        false,
        false,
        0.0,
    );
    check(
        "daemonset counted",
        vec![ds.clone(), pod("a", 1000, GIB)],
        false,
        false,
        0.75,
    );
    check(
        "daemonset ignored",
        vec![ds, pod("a", 1000, GIB)],
        false,
        true,
        0.5,
    );
}

#[test]
fn drain_rules_in_order() {
    fn check(
        name: &str,
        settings: &CaSettings,
        p: PodInfo,
        pdbs: &[PdbInfo],
        expect: DrainOutcome,
    ) {
        assert_eq!(
            drain_rule(settings, &p, pdbs, 2 * 3_600_000),
            expect,
            "{name}"
        );
    }
    use BlockingPodReason::*;
    use DrainOutcome::*;
    let s = CaSettings::default();
    let with = |f: &dyn Fn(&mut PodInfo)| {
        let mut p = pod("p", 100, GIB);
        f(&mut p);
        p
    };
    let annotate = |k: &str, v: &str| {
        let (k, v) = (k.to_string(), v.to_string());
        move |p: &mut PodInfo| {
            p.annotations.insert(k.clone(), v.clone());
        }
    };
    let system = |p: &mut PodInfo| {
        p.spec = Arc::new(PodSchedulingSpec {
            namespace: "kube-system".into(),
            ..(*p.spec).clone()
        });
        p.created_ms = 2 * 3_600_000 - 60_000;
    };
    let pdb = |allowed: i32| PdbInfo {
        namespace: "default".into(),
        selector: Default::default(),
        disruptions_allowed: allowed,
    };
    check("replicated pod moves", &s, with(&|_| {}), &[], Move);
    check(
        "mirror pod skipped",
        &s,
        with(&|p| p.mirror = true),
        &[],
        Skip,
    );
    check(
        "long terminating skipped",
        &s,
        with(&|p| p.deletion_ms = Some(0)),
        &[],
        Skip,
    );
    check(
        "missing controller",
        &s,
        with(&|p| p.controller.as_mut().unwrap().exists = false),
        &[],
        Block(ControllerNotFound),
    );
    let min_rep = CaSettings {
        min_replica_count: 5,
        ..CaSettings::default()
    };
    check(
        "min replicas",
        &min_rep,
        with(&|_| {}),
        &[],
        Block(MinReplicasReached),
    );
    check(
        "daemonset dropped",
        &s,
        with(&|p| p.controller.as_mut().unwrap().kind = "DaemonSet".into()),
        &[],
        Drop,
    );
    check(
        "no controller",
        &s,
        with(&|p| p.controller = None),
        &[],
        Block(NotReplicated),
    );
    check(
        "custom controller",
        &s,
        with(&|p| p.controller.as_mut().unwrap().kind = "Rollout".into()),
        &[],
        Block(NotReplicated),
    );
    let safe = annotate(annotations::SAFE_TO_EVICT, "true");
    check(
        "safe-to-evict beats no controller",
        &s,
        with(&|p| {
            safe(p);
            p.controller = None;
        }),
        &[pdb(0)],
        Move,
    );
    check(
        "terminal pod",
        &s,
        with(&|p| {
            p.terminal = true;
            p.controller = None;
        }),
        &[],
        Drop,
    );
    check(
        "on-completion waits",
        &s,
        with(&annotate(annotations::SAFE_TO_EVICT, "on-completion")),
        &[],
        Block(NotSafeToEvictAnnotation),
    );
    check(
        "young kube-system pod without PDB",
        &s,
        with(&system),
        &[],
        Block(UnmovableKubeSystemPod),
    );
    check(
        "old kube-system pod",
        &s,
        with(&|p| {
            system(p);
            p.created_ms = 0;
        }),
        &[],
        Move,
    );
    let no_sys = CaSettings {
        skip_nodes_with_system_pods: false,
        ..CaSettings::default()
    };
    check(
        "system pods allowed by flag",
        &no_sys,
        with(&system),
        &[],
        Move,
    );
    check(
        "safe-to-evict false",
        &s,
        with(&annotate(annotations::SAFE_TO_EVICT, "false")),
        &[],
        Block(NotSafeToEvictAnnotation),
    );
    check(
        "local storage",
        &s,
        with(&|p| p.local_volumes = vec!["scratch".into()]),
        &[],
        Block(LocalStorageRequested),
    );
    check(
        "listed local volume",
        &s,
        with(&|p| {
            p.local_volumes = vec!["scratch".into()];
            annotate(annotations::SAFE_TO_EVICT_LOCAL_VOLUMES, "scratch")(p);
        }),
        &[],
        Move,
    );
    check(
        "pdb exhausted",
        &s,
        with(&|_| {}),
        &[pdb(0)],
        Block(NotEnoughPdb),
    );
    check("pdb allows", &s, with(&|_| {}), &[pdb(1)], Move);
}

/// Two nodes of one group: n-low nearly idle, n-high busy enough to take its pods.
fn scale_down_obs() -> Observation {
    Observation {
        node_groups: vec![group("ng", 4000, 8 * GIB, 2, 10)],
        nodes: vec![
            node("n-high", "ng", 4000, 8 * GIB, vec![pod("a", 2500, GIB)]),
            node("n-low", "ng", 4000, 8 * GIB, vec![pod("b", 500, GIB)]),
        ],
        ..Default::default()
    }
}

#[test]
fn scale_down_timers_and_cooldowns() {
    struct Case {
        name: &'static str,
        since_ms: Option<i64>,
        last_scale_up_ms: Option<i64>,
        now_ms: i64,
        expect_deleted: bool,
    }
    let t0 = 100 * MIN;
    let cases = [
        Case {
            name: "first sighting starts the timer",
            since_ms: None,
            last_scale_up_ms: None,
            now_ms: t0,
            expect_deleted: false,
        },
        Case {
            name: "under 10 m unneeded",
            since_ms: Some(t0 - 9 * MIN),
            last_scale_up_ms: None,
            now_ms: t0,
            expect_deleted: false,
        },
        Case {
            name: "over 10 m unneeded",
            since_ms: Some(t0 - 11 * MIN),
            last_scale_up_ms: None,
            now_ms: t0,
            expect_deleted: true,
        },
        Case {
            name: "within scale-down-delay-after-add",
            since_ms: Some(t0 - 30 * MIN),
            last_scale_up_ms: Some(t0 - 5 * MIN),
            now_ms: t0,
            expect_deleted: false,
        },
        Case {
            name: "after scale-down-delay-after-add",
            since_ms: Some(t0 - 30 * MIN),
            last_scale_up_ms: Some(t0 - 11 * MIN),
            now_ms: t0,
            expect_deleted: true,
        },
    ];
    for c in cases {
        let mut state = CaState {
            last_scale_up_ms: c.last_scale_up_ms,
            ..Default::default()
        };
        if let Some(s) = c.since_ms {
            state.unneeded_since_ms.insert("n-low".into(), s);
        }
        let (d, after) = run(&CaSettings::default(), &state, &scale_down_obs(), c.now_ms);
        assert_eq!(
            deleted(&d) == vec!["n-low".to_string()],
            c.expect_deleted,
            "{}: {:?}",
            c.name,
            d.actions
        );
        assert!(
            after.unneeded_since_ms.contains_key("n-low") != c.expect_deleted,
            "{}",
            c.name
        );
    }
}

#[test]
fn pdb_blocks_node_removal() {
    let mut obs = scale_down_obs();
    obs.pdbs.push(PdbInfo {
        namespace: "default".into(),
        selector: Default::default(),
        disruptions_allowed: 0,
    });
    let mut state = CaState::default();
    state.unneeded_since_ms.insert("n-low".into(), 0);
    let (d, after) = run(&CaSettings::default(), &state, &obs, 60 * MIN);
    assert!(deleted(&d).is_empty());
    assert!(d.unremovable_nodes(&obs).any(|(n, r)| n == "n-low"
        && matches!(
            r,
            Unremovable::BlockedByPod {
                reason: BlockingPodReason::NotEnoughPdb,
                ..
            }
        )));
    assert!(
        after.unremovable_until_ms.contains_key("n-low"),
        "rechecked only after 5 m"
    );
}

#[test]
fn scale_down_eligibility() {
    fn check(
        name: &str,
        obs: Observation,
        settings: CaSettings,
        expect: Option<Unremovable>,
        expect_deleted: Vec<&str>,
    ) {
        let mut state = CaState::default();
        for n in &obs.nodes {
            state.unneeded_since_ms.insert(n.spec.name.clone(), 0);
        }
        let (d, _) = run(&settings, &state, &obs, 60 * MIN);
        let low = d
            .unremovable_nodes(&obs)
            .find(|(n, _)| *n == "n-low")
            .map(|(_, r)| r.clone());
        assert_eq!(low, expect, "{name}");
        assert_eq!(deleted(&d), expect_deleted, "{name}");
    }
    let d = CaSettings::default;
    check("removable", scale_down_obs(), d(), None, vec!["n-low"]);
    let mut at_min = scale_down_obs();
    at_min.node_groups[0].min_size = 2;
    check(
        "group at min",
        at_min,
        d(),
        Some(Unremovable::NodeGroupMinSizeReached),
        vec![],
    );
    let mut annotated = scale_down_obs();
    annotated.nodes[1]
        .annotations
        .insert(annotations::SCALE_DOWN_DISABLED.into(), "true".into());
    check(
        "annotation",
        annotated,
        d(),
        Some(Unremovable::ScaleDownDisabledAnnotation),
        vec![],
    );
    let mut full = scale_down_obs();
    full.nodes[0].pods[0] = pod("a", 3600, GIB);
    check(
        "no place to move",
        full,
        d(),
        Some(Unremovable::NoPlaceToMovePods),
        vec![],
    );
    check(
        "threshold",
        scale_down_obs(),
        CaSettings {
            scale_down_utilization_threshold: 0.1,
            ..d()
        },
        Some(Unremovable::NotUnderutilized),
        vec![],
    );
    check(
        "cores minimum",
        scale_down_obs(),
        CaSettings {
            cores_total_min: 8,
            ..d()
        },
        Some(Unremovable::MinimalResourceLimitExceeded),
        vec![],
    );
    let mut unready = scale_down_obs();
    unready.nodes[1].ready = false;
    check(
        "unready removable after 20 m",
        unready.clone(),
        d(),
        None,
        vec!["n-low"],
    );
    check(
        "unready disabled",
        unready,
        CaSettings {
            scale_down_unready_enabled: false,
            ..d()
        },
        Some(Unremovable::NotReady),
        vec![],
    );
}

#[test]
fn unready_nodes_wait_twenty_minutes() {
    let mut obs = scale_down_obs();
    obs.nodes[1].ready = false;
    let mut state = CaState::default();
    state
        .unneeded_since_ms
        .insert("n-low".into(), 60 * MIN - 15 * MIN);
    let (d, _) = run(&CaSettings::default(), &state, &obs, 60 * MIN);
    assert!(deleted(&d).is_empty(), "15 m < scale-down-unready-time");
}

#[test]
fn deletion_parallelism_budgets() {
    fn check(name: &str, settings: CaSettings, empty: usize, busy: usize, expect: usize) {
        let mut nodes = vec![node(
            "big",
            "ng",
            64_000,
            128 * GIB,
            vec![pod("base", 40_000, GIB)],
        )];
        for i in 0..empty {
            nodes.push(node(&format!("e{i}"), "ng", 4000, 8 * GIB, vec![]));
        }
        for i in 0..busy {
            nodes.push(node(
                &format!("b{i}"),
                "ng",
                4000,
                8 * GIB,
                vec![pod(&format!("p{i}"), 500, GIB)],
            ));
        }
        let obs = Observation {
            node_groups: vec![group("ng", 4000, 8 * GIB, nodes.len() as i32, 50)],
            nodes,
            ..Default::default()
        };
        let mut state = CaState::default();
        for n in &obs.nodes {
            state.unneeded_since_ms.insert(n.spec.name.clone(), 0);
        }
        let (d, _) = run(&settings, &state, &obs, 60 * MIN);
        let drained: usize = d
            .actions
            .iter()
            .map(|a| match a {
                Action::DeleteNodes { nodes, drain: true } => nodes.len(),
                _ => 0,
            })
            .sum();
        assert_eq!(deleted(&d).len(), expect, "{name}: {:?}", d.actions);
        assert!(drained as i32 <= settings.max_drain_parallelism, "{name}");
    }
    let d = CaSettings::default;
    check("10 at most", d(), 14, 0, 10);
    check("one drain at a time", d(), 2, 3, 3);
    check(
        "drain parallelism 2",
        CaSettings {
            max_drain_parallelism: 2,
            ..d()
        },
        0,
        3,
        2,
    );
    check(
        "parallelism 3",
        CaSettings {
            max_scale_down_parallelism: 3,
            ..d()
        },
        5,
        2,
        3,
    );
}

#[test]
fn failed_deletion_holds_scale_down() {
    let mut state = CaState::default();
    state.unneeded_since_ms.insert("n-low".into(), 0);
    state.deleting.insert("n-gone".into(), true);
    let mut obs = scale_down_obs();
    obs.scale_down_failures.push("n-gone".into());
    let (d, after) = run(&CaSettings::default(), &state, &obs, 60 * MIN);
    assert!(deleted(&d).is_empty());
    assert_eq!(
        d.scale_down_blocked.as_deref(),
        Some("in cooldown: scale-down-delay-after-failure")
    );
    assert!(d.events.iter().any(|e| e.reason == "ScaleDownFailed"));
    let (d, _) = run(
        &CaSettings::default(),
        &after,
        &scale_down_obs(),
        63 * MIN + 1,
    );
    assert_eq!(deleted(&d), vec!["n-low".to_string()], "after 3 m");
}

#[test]
fn snapshot_path_matches_and_restores_the_callers_snapshot() {
    use crate::scheduler::{ClusterSnapshot, PodId};
    use rand_chacha::rand_core::SeedableRng;
    let mut obs = scale_down_obs();
    obs.unschedulable.push(pending(pod("big", 3000, GIB)));
    obs.unschedulable[0].pod.created_ms = 0;
    let mut snap = ClusterSnapshot::new();
    let mut next = 0;
    for n in &obs.nodes {
        let id = snap.add_node(Arc::new(n.spec.clone()));
        for p in &n.pods {
            snap.bind(PodId(next), p.spec.clone(), id, 0);
            next += 1;
        }
    }
    let before = format!("{snap:?}");
    let mut state = CaState::default();
    state.unneeded_since_ms.insert("n-low".into(), 0);
    let settings = CaSettings {
        scale_down_delay_after_add_ms: 0,
        ..CaSettings::default()
    };
    let (a, sa) = run(&settings, &state, &obs, 60 * MIN);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
    let (b, sb) = run_once_on_snapshot(&settings, &state, &obs, &mut snap, 60 * MIN, &mut rng);
    assert_eq!(a, b);
    assert_eq!(sa, sb);
    assert!(!a.actions.is_empty());
    assert_eq!(
        format!("{snap:?}"),
        before,
        "the caller's snapshot is restored"
    );
    // The same with the snapshot ids given, and with one hint naming no node (matched by
    // name instead, not a panic).
    let ids = snap.node_ids().to_vec();
    for hints in [
        ids.clone(),
        [&ids[..1], &[crate::scheduler::NodeId(999)]].concat(),
    ] {
        let hinted = Observation {
            snapshot_nodes: hints,
            ..obs.clone()
        };
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(7);
        let (c, sc) =
            run_once_on_snapshot(&settings, &state, &hinted, &mut snap, 60 * MIN, &mut rng);
        assert_eq!((&a, &sa), (&c, &sc));
        assert_eq!(format!("{snap:?}"), before);
    }
}

#[test]
fn next_deadline_is_the_earliest_timer() {
    let mut state = CaState::default();
    assert_eq!(next_deadline_ms(&CaSettings::default(), &state), None);
    state.unneeded_since_ms.insert("n".into(), 1_000);
    state.last_scale_up_ms = Some(0);
    assert_eq!(
        next_deadline_ms(&CaSettings::default(), &state),
        Some(10 * MIN)
    );
    state.last_scale_up_ms = None;
    assert_eq!(
        next_deadline_ms(&CaSettings::default(), &state),
        Some(1_000 + 10 * MIN + 1)
    );
}
