//! Table-driven tests of the cluster-autoscaler's rules, one `check` helper per rule family.

use std::sync::Arc;

use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::backoff::Backoff;
use super::estimator::{equivalence_groups, estimate};
use super::observation::*;
use super::settings::{parse_expanders, ExpanderKind};
use super::*;
use crate::model::{NodeSchedulingSpec, PodSchedulingSpec, Resources};
use crate::node_fit::Packing;

pub(super) const MIB: i64 = 1024 * 1024;
pub(super) const GIB: i64 = 1024 * MIB;
pub(super) const MIN: i64 = 60_000;

pub(super) fn spec(cpu_m: i64, mem: i64, priority: i32) -> Arc<PodSchedulingSpec> {
    Arc::new(PodSchedulingSpec {
        namespace: "default".into(),
        requests: Resources {
            cpu_m,
            memory_bytes: mem,
            gpu: 0,
            pods: 1,
        },
        priority,
        ..Default::default()
    })
}

pub(super) fn pod(id: &str, cpu_m: i64, mem: i64) -> PodInfo {
    PodInfo {
        id: format!("default/{id}"),
        spec: spec(cpu_m, mem, 0),
        created_ms: 0,
        controller: Some(Controller {
            kind: "ReplicaSet".into(),
            name: "web".into(),
            exists: true,
            replicas: Some(3),
        }),
        annotations: Default::default(),
        mirror: false,
        terminal: false,
        deletion_ms: None,
        termination_grace_s: 30,
        local_volumes: Vec::new(),
    }
}

pub(super) fn pending(p: PodInfo) -> PendingPod {
    PendingPod {
        pod: p,
        nominated_node: None,
    }
}

pub(super) fn node_spec(name: &str, cpu_m: i64, mem: i64) -> NodeSchedulingSpec {
    NodeSchedulingSpec {
        name: name.into(),
        allocatable: Resources {
            cpu_m,
            memory_bytes: mem,
            gpu: 0,
            pods: 110,
        },
        ..Default::default()
    }
}

pub(super) fn group(id: &str, cpu_m: i64, mem: i64, target: i32, max: i32) -> NodeGroupInfo {
    NodeGroupInfo {
        id: id.into(),
        min_size: 0,
        max_size: max,
        target_size: target,
        template: node_spec(&format!("{id}-template"), cpu_m, mem),
        template_capacity: Resources {
            cpu_m,
            memory_bytes: mem,
            gpu: 0,
            pods: 110,
        },
        template_has_gpu: false,
        price_usd_per_hour: Some(cpu_m as f64 / 1000.0 * 0.05),
        options: Default::default(),
    }
}

pub(super) fn node(name: &str, group: &str, cpu_m: i64, mem: i64, pods: Vec<PodInfo>) -> NodeInfo {
    NodeInfo {
        spec: node_spec(name, cpu_m, mem),
        capacity: Resources {
            cpu_m,
            memory_bytes: mem,
            gpu: 0,
            pods: 110,
        },
        group: Some(group.into()),
        ready: true,
        created_ms: 0,
        annotations: Default::default(),
        being_deleted: false,
        has_gpu: false,
        pods,
    }
}

pub(super) fn run(
    settings: &CaSettings,
    state: &CaState,
    obs: &Observation,
    now_ms: i64,
) -> (Decision, CaState) {
    run_once(
        settings,
        state,
        obs,
        now_ms,
        &mut ChaCha8Rng::seed_from_u64(7),
    )
}

pub(super) fn scale_ups(d: &Decision) -> Vec<(String, i32)> {
    d.actions
        .iter()
        .filter_map(|a| match a {
            Action::ScaleUp { group, delta, .. } => Some((group.clone(), *delta)),
            _ => None,
        })
        .collect()
}

pub(super) fn deleted(d: &Decision) -> Vec<String> {
    d.actions
        .iter()
        .flat_map(|a| match a {
            Action::DeleteNodes { nodes, .. } => nodes.clone(),
            _ => Vec::new(),
        })
        .collect()
}

#[test]
fn backoff_doubles_to_max_and_resets() {
    // (failure time in minutes, expected backoff end in minutes)
    let cases = [
        (0, 5),
        (1, 6),
        (6, 16),
        (20, 40),
        (41, 71),
        (72, 102),
        (103, 133),
        (400, 405),
    ];
    let settings = CaSettings::default();
    let mut b = Backoff::default();
    for (at, until) in cases {
        let got = b.fail(&settings, "ng", at * MIN);
        assert_eq!(got, until * MIN, "failure at {at} m");
        assert!(b.is_backed_off("ng", at * MIN));
    }
    assert!(!b.is_backed_off("ng", 405 * MIN));
}

#[test]
fn expander_flag_parsing() {
    fn check(flag: &str, expect: Result<Vec<ExpanderKind>, ConfigError>) {
        assert_eq!(parse_expanders(flag), expect, "{flag}");
    }
    use ExpanderKind::*;
    check("least-waste", Ok(vec![LeastWaste]));
    check(
        "priority,least-waste,random",
        Ok(vec![Priority, LeastWaste, Random]),
    );
    check(
        "priority,priority",
        Err(ConfigError::DuplicateExpander("priority".into())),
    );
    check("random,most-pods", Err(ConfigError::RandomNotLast));
    check(
        "cheapest",
        Err(ConfigError::UnknownExpander("cheapest".into())),
    );
    check("", Err(ConfigError::EmptyExpander));
}

#[test]
fn settings_defaults_and_validation() {
    let s = CaSettings::default();
    assert_eq!(s.scale_down_unneeded_time_ms, 10 * MIN);
    assert_eq!(s.expendable_pods_priority_cutoff, -10);
    assert!(s.validate().is_ok());
    let bad = CaSettings {
        scale_down_utilization_threshold: 1.5,
        ..CaSettings::default()
    };
    assert!(matches!(
        bad.validate(),
        Err(ConfigError::OutOfRange { .. })
    ));
    let bad = CaSettings {
        priority_config: Some("10: [\"(\"]".into()),
        ..CaSettings::default()
    };
    assert!(matches!(bad.validate(), Err(ConfigError::Priorities(_))));
}

/// One pending workload, three groups: each expander picks a different one.
fn three_groups() -> Observation {
    let pods = (0..4)
        .map(|i| pending(pod(&format!("p{i}"), 1800, 2 * GIB)))
        .collect();
    Observation {
        node_groups: vec![
            group("ng-small", 2000, 4 * GIB, 0, 2),
            group("ng-big", 8000, 16 * GIB, 0, 10),
            group("ng-medium", 4000, 5 * GIB, 0, 1),
        ],
        nodes: vec![node("base", "other", 100, GIB, vec![])],
        unschedulable: pods,
        ..Default::default()
    }
}

#[test]
fn expanders_choose_different_groups_on_same_input() {
    fn check(flag: &str, priorities: Option<&str>, expect: &str) {
        let settings = CaSettings {
            expanders: parse_expanders(flag).unwrap(),
            priority_config: priorities.map(str::to_string),
            ..CaSettings::default()
        };
        let (d, _) = run(&settings, &CaState::default(), &three_groups(), 60_000);
        let ups = scale_ups(&d);
        assert_eq!(ups.len(), 1, "{flag}: {ups:?}");
        assert_eq!(ups[0].0, expect, "{flag}");
    }
    check("least-waste", None, "ng-medium");
    check("most-pods", None, "ng-big");
    check(
        "priority",
        Some("10:\n  - .*small.*\n5:\n  - .*big.*\n"),
        "ng-small",
    );
    check("least-nodes,most-pods", None, "ng-big");
    // Unmatched groups are dropped; a malformed config lets everything through to the next.
    check("priority,least-waste", Some("1: [\"ng-b.g\"]"), "ng-big");
    check("priority,least-waste", Some("not: [valid"), "ng-medium");
}

#[test]
fn least_waste_score_uses_capacity_and_sums_fractions() {
    let pods = vec![spec(1800, 2 * GIB, 0); 2];
    let option = expander::ExpansionOption {
        group: "g".into(),
        node_count: 1,
        pods: vec![0, 1],
        node_capacity: Resources::new(4000, 5 * GIB),
        node_has_gpu: false,
        price_usd_per_hour: None,
        similar: vec![],
    };
    let score = expander::waste_score(&option, &pods);
    assert!((score - (0.1 + 0.2)).abs() < 1e-9, "{score}");
}

#[test]
fn price_expander_prefers_cheaper_fit() {
    let mut obs = three_groups();
    obs.node_groups[1].price_usd_per_hour = Some(10.0);
    let settings = CaSettings {
        expanders: vec![ExpanderKind::Price],
        ..CaSettings::default()
    };
    let (d, _) = run(&settings, &CaState::default(), &obs, 60_000);
    assert_ne!(scale_ups(&d)[0].0, "ng-big");
    assert_eq!(expander::preferred_node_cores(1), 1.0);
    assert_eq!(expander::preferred_node_cores(50), 8.0);
    assert_eq!(expander::preferred_node_cores(500), 32.0);
}

#[test]
fn pending_pod_filters() {
    struct Case {
        name: &'static str,
        priority: i32,
        age_ms: i64,
        gpu: bool,
        nominated: bool,
        free_node: bool,
        scales_up: bool,
    }
    let base = Case {
        name: "",
        priority: 0,
        age_ms: 60_000,
        gpu: false,
        nominated: false,
        free_node: false,
        scales_up: true,
    };
    let cases = [
        Case {
            name: "plain pending pod",
            ..base
        },
        Case {
            name: "expendable below cutoff",
            priority: -11,
            ..base
        },
        Case {
            name: "at the cutoff is not expendable",
            priority: -10,
            ..base
        },
        Case {
            name: "younger than 2 s",
            age_ms: 1_000,
            scales_up: false,
            ..base
        },
        Case {
            name: "gpu pod younger than 30 s",
            age_ms: 20_000,
            gpu: true,
            scales_up: false,
            ..base
        },
        Case {
            name: "gpu pod older than 30 s",
            age_ms: 31_000,
            gpu: true,
            ..base
        },
        Case {
            name: "nominated pod counts as placed",
            nominated: true,
            scales_up: false,
            ..base
        },
        Case {
            name: "fits on an existing node",
            free_node: true,
            scales_up: false,
            ..base
        },
    ];
    let cases = cases.map(|c| {
        if c.name == "expendable below cutoff" {
            Case {
                scales_up: false,
                ..c
            }
        } else {
            c
        }
    });
    for c in cases {
        let now = 100_000;
        let mut p = pod("p", 1000, GIB);
        let mut s = (*p.spec).clone();
        s.priority = c.priority;
        s.requests.gpu = c.gpu as i64;
        p.spec = Arc::new(s);
        p.created_ms = now - c.age_ms;
        let mut ng = group("ng", 4000, 8 * GIB, 1, 5);
        ng.template.allocatable.gpu = 1;
        let free = if c.free_node { 4000 } else { 0 };
        let mut obs = Observation {
            node_groups: vec![ng],
            nodes: vec![node("n1", "ng", free, 8 * GIB, vec![])],
            unschedulable: vec![PendingPod {
                pod: p,
                nominated_node: c.nominated.then(|| "n1".to_string()),
            }],
            ..Default::default()
        };
        obs.nodes[0].spec.allocatable.gpu = 1;
        let (d, _) = run(&CaSettings::default(), &CaState::default(), &obs, now);
        assert_eq!(!scale_ups(&d).is_empty(), c.scales_up, "{}", c.name);
    }
}

#[test]
fn young_pods_disable_scale_down_for_the_loop() {
    let mut p = pod("p", 5000, GIB);
    p.created_ms = 99_000;
    let obs = Observation {
        node_groups: vec![group("ng", 4000, 8 * GIB, 2, 5)],
        nodes: vec![
            node("n1", "ng", 0, 8 * GIB, vec![]),
            node("n2", "ng", 4000, 8 * GIB, vec![]),
        ],
        unschedulable: vec![pending(p)],
        ..Default::default()
    };
    let mut state = CaState::default();
    state.unneeded_since_ms.insert("n2".into(), 0);
    let (d, _) = run(&CaSettings::default(), &state, &obs, 100_000);
    assert!(d.scale_down_blocked.unwrap().contains("new"));
}

#[test]
fn upcoming_nodes_absorb_pending_pods_until_backoff() {
    let mut state = CaState::default();
    state.scale_up_requests.insert(
        "ng".into(),
        ScaleUpRequest {
            increase: 1,
            start_ms: 0,
            expected_add_ms: 15 * MIN,
        },
    );
    let obs = Observation {
        node_groups: vec![group("ng", 4000, 8 * GIB, 2, 5)],
        nodes: vec![node("n1", "ng", 0, 8 * GIB, vec![])],
        unschedulable: vec![pending(pod("p", 1000, GIB))],
        ..Default::default()
    };
    let (d, _) = run(&CaSettings::default(), &state, &obs, MIN);
    assert!(scale_ups(&d).is_empty(), "the upcoming node takes the pod");
    state.backoff.fail(&CaSettings::default(), "ng", MIN);
    let obs2 = Observation {
        node_groups: vec![
            group("ng", 4000, 8 * GIB, 2, 5),
            group("od", 4000, 8 * GIB, 0, 5),
        ],
        ..obs
    };
    let (d, _) = run(&CaSettings::default(), &state, &obs2, 2 * MIN);
    assert_eq!(
        scale_ups(&d),
        vec![("od".to_string(), 1)],
        "backed-off group's upcoming nodes stop counting"
    );
}

#[test]
fn eligible_groups_and_limits() {
    fn check(
        name: &str,
        settings: CaSettings,
        groups: Vec<NodeGroupInfo>,
        state: CaState,
        expect: Vec<(&str, i32)>,
    ) {
        let obs = Observation {
            node_groups: groups,
            nodes: vec![node("n1", "ng", 0, 8 * GIB, vec![])],
            unschedulable: (0..6)
                .map(|i| pending(pod(&format!("p{i}"), 1500, GIB)))
                .collect(),
            ..Default::default()
        };
        let (d, _) = run(&settings, &state, &obs, MIN);
        let expect: Vec<(String, i32)> = expect
            .into_iter()
            .map(|(g, n)| (g.to_string(), n))
            .collect();
        assert_eq!(scale_ups(&d), expect, "{name}");
    }
    let d = CaSettings::default;
    let ng = || group("ng", 4000, 8 * GIB, 1, 10);
    check(
        "two pods per node",
        d(),
        vec![ng()],
        CaState::default(),
        vec![("ng", 3)],
    );
    check(
        "group max caps the estimate",
        d(),
        vec![group("ng", 4000, 8 * GIB, 1, 3)],
        CaState::default(),
        vec![("ng", 2)],
    );
    check(
        "at max: no option",
        d(),
        vec![group("ng", 4000, 8 * GIB, 3, 3)],
        CaState::default(),
        vec![],
    );
    let mut backed = CaState::default();
    backed.backoff.fail(&d(), "ng", 0);
    check("backed off: no option", d(), vec![ng()], backed, vec![]);
    check(
        "max-nodes-total",
        CaSettings {
            max_nodes_total: 3,
            ..d()
        },
        vec![ng()],
        CaState::default(),
        vec![("ng", 2)],
    );
    check(
        "max-nodes-total reached",
        CaSettings {
            max_nodes_total: 1,
            ..d()
        },
        vec![ng()],
        CaState::default(),
        vec![],
    );
    check(
        "cores-total",
        CaSettings {
            cores_total_max: 8,
            ..d()
        },
        vec![ng()],
        CaState::default(),
        vec![("ng", 2)],
    );
    check(
        "memory-total",
        CaSettings {
            memory_total_gib_max: 24,
            ..d()
        },
        vec![ng()],
        CaState::default(),
        vec![("ng", 2)],
    );
    check(
        "max-nodes-per-scaleup",
        CaSettings {
            max_nodes_per_scaleup: 1,
            ..d()
        },
        vec![ng()],
        CaState::default(),
        vec![("ng", 1)],
    );
}

#[test]
fn balance_similar_groups_across_zones() {
    let zoned = |id: &str, zone: &str, target: i32| {
        let mut g = group(id, 4000, 8 * GIB, target, 10);
        g.template
            .labels
            .insert(crate::model::well_known::ZONE.into(), zone.into());
        g.template.labels.insert("pool".into(), "web".into());
        g
    };
    let obs = Observation {
        node_groups: vec![
            zoned("web-a", "a", 2),
            zoned("web-b", "b", 0),
            zoned("web-c", "c", 1),
        ],
        nodes: vec![node("n1", "web-a", 0, 8 * GIB, vec![])],
        unschedulable: (0..10)
            .map(|i| pending(pod(&format!("p{i}"), 1500, GIB)))
            .collect(),
        ..Default::default()
    };
    let settings = CaSettings {
        balance_similar_node_groups: true,
        ..CaSettings::default()
    };
    let (d, _) = run(&settings, &CaState::default(), &obs, MIN);
    let mut ups = scale_ups(&d);
    ups.sort();
    // 5 nodes over targets a=2, b=0, c=1, one at a time to the smallest: b, b, c, b, c → 2/3/3.
    assert_eq!(ups, vec![("web-b".into(), 3), ("web-c".into(), 2)]);
    let mut other = zoned("web-d", "d", 0);
    other.template.labels.insert("pool".into(), "batch".into());
    assert!(!scale_up::similar_groups(
        &settings,
        &obs.node_groups[0],
        &other
    ));
}

#[test]
fn estimator_first_fit_decreasing() {
    fn check(
        name: &str,
        pods: Vec<(i64, i64)>,
        max_nodes: i32,
        expect_nodes: i32,
        expect_pods: usize,
    ) {
        let infos: Vec<PodInfo> = pods
            .iter()
            .enumerate()
            .map(|(i, (c, m))| {
                let mut p = pod(&format!("p{i}"), *c, *m);
                p.controller.as_mut().unwrap().name = format!("w{c}");
                p
            })
            .collect();
        let refs: Vec<&PodInfo> = infos.iter().collect();
        let specs: Vec<_> = infos.iter().map(|p| p.spec.clone()).collect();
        let groups = equivalence_groups(&refs);
        let template = node_spec("t", 4000, 8 * GIB);
        let mut base = Packing::new();
        let est = estimate(&mut base, &template, &specs, &groups, max_nodes);
        assert_eq!(
            (est.node_count, est.pods.len()),
            (expect_nodes, expect_pods),
            "{name}"
        );
        assert!(base.is_empty(), "the base snapshot is restored");
    }
    check(
        "decreasing order packs big first",
        vec![(1000, GIB), (3000, GIB), (1000, GIB), (3000, GIB)],
        10,
        2,
        4,
    );
    check(
        "too big for a fresh node",
        vec![(5000, GIB), (1000, GIB)],
        10,
        1,
        1,
    );
    check("limiter", vec![(3000, GIB); 5], 2, 2, 2);
    check("memory bound", vec![(100, 3 * GIB); 5], 10, 3, 5);
}

#[test]
fn equivalence_groups_by_controller_and_spec() {
    let a = pod("a", 100, GIB);
    let b = pod("b", 100, GIB);
    let mut c = pod("c", 200, GIB);
    c.controller = None;
    let mut d = pod("d", 100, GIB);
    d.controller.as_mut().unwrap().name = "other".into();
    let groups = equivalence_groups(&[&a, &b, &c, &d]);
    let got: Vec<Vec<usize>> = groups.into_iter().map(|g| g.pods).collect();
    assert_eq!(got, vec![vec![0, 1], vec![2], vec![3]]);
}

#[test]
fn scale_up_timeout_backs_off_and_lowers_target() {
    let mut state = CaState::default();
    state.scale_up_requests.insert(
        "spot".into(),
        ScaleUpRequest {
            increase: 2,
            start_ms: 0,
            expected_add_ms: 15 * MIN,
        },
    );
    let obs = Observation {
        node_groups: vec![
            group("spot", 4000, 8 * GIB, 3, 10),
            group("od", 4000, 8 * GIB, 0, 10),
        ],
        nodes: vec![node("n1", "spot", 0, 8 * GIB, vec![])],
        unschedulable: vec![pending(pod("p", 1000, GIB))],
        ..Default::default()
    };
    let (d, state) = run(&CaSettings::default(), &state, &obs, 15 * MIN);
    assert!(d.actions.contains(&Action::DecreaseTargetSize {
        group: "spot".into(),
        delta: 2
    }));
    assert!(d.events.iter().any(|e| e.reason == "ScaleUpTimedOut"));
    assert!(state.backoff.is_backed_off("spot", 15 * MIN));
    let obs = Observation {
        node_groups: vec![
            group("spot", 4000, 8 * GIB, 1, 10),
            group("od", 4000, 8 * GIB, 0, 10),
        ],
        ..obs
    };
    let settings = CaSettings {
        expanders: vec![ExpanderKind::Priority],
        priority_config: Some("50: [spot]\n10: [od]".into()),
        ..CaSettings::default()
    };
    let (d, _) = run(&settings, &state, &obs, 15 * MIN + 10_000);
    assert_eq!(
        scale_ups(&d),
        vec![("od".to_string(), 1)],
        "priority falls back once spot is backed off"
    );
}

#[test]
fn instance_errors_back_off_immediately() {
    let mut state = CaState::default();
    state.scale_up_requests.insert(
        "spot".into(),
        ScaleUpRequest {
            increase: 1,
            start_ms: 0,
            expected_add_ms: 15 * MIN,
        },
    );
    let obs = Observation {
        node_groups: vec![group("spot", 4000, 8 * GIB, 2, 10)],
        nodes: vec![node("n1", "spot", 0, 8 * GIB, vec![])],
        instance_errors: vec![InstanceErrors {
            group: "spot".into(),
            count: 1,
            class: "OutOfResources".into(),
            code: "InsufficientInstanceCapacity".into(),
        }],
        ..Default::default()
    };
    let (d, state) = run(&CaSettings::default(), &state, &obs, MIN);
    assert!(d.actions.contains(&Action::DeleteFailedInstances {
        group: "spot".into(),
        count: 1
    }));
    assert!(d.events.iter().any(|e| e.reason == "ScaleUpFailed"));
    assert!(state.backoff.is_backed_off("spot", MIN + 4 * MIN));
    assert!(!state.scale_up_requests.contains_key("spot"));
}

#[test]
fn estimator_honours_scheduler_filters() {
    use crate::model::{LabelSelector, PodAffinityTerm};
    // Required anti-affinity on hostname: one replica per node, whatever the room.
    let mut s = (*spec(100, GIB, 0)).clone();
    s.labels.insert("app".into(), "web".into());
    let mut selector = LabelSelector::default();
    selector.match_labels.insert("app".into(), "web".into());
    s.pod_anti_affinity.required.push(PodAffinityTerm {
        label_selector: selector,
        topology_key: crate::model::well_known::HOSTNAME.into(),
        namespaces: vec![],
    });
    let specs: Vec<_> = (0..4).map(|_| Arc::new(s.clone())).collect();
    let infos: Vec<PodInfo> = specs
        .iter()
        .map(|sp| PodInfo {
            spec: sp.clone(),
            ..pod("w", 0, 0)
        })
        .collect();
    let refs: Vec<&PodInfo> = infos.iter().collect();
    let groups = equivalence_groups(&refs);
    let mut base = Packing::new();
    let est = estimate(
        &mut base,
        &node_spec("t", 4000, 8 * GIB),
        &specs,
        &groups,
        10,
    );
    assert_eq!((est.node_count, est.pods.len()), (4, 4));
}

#[test]
fn expendable_pods_never_trigger_scale_up() {
    // Expendable pods: pending ones are ignored, and running ones make their node empty.
    let expendable = |id: &str| PodInfo {
        spec: spec(3000, 4 * GIB, -100),
        ..pod(id, 0, 0)
    };
    let obs = Observation {
        node_groups: vec![group("ng", 4000, 8 * GIB, 1, 10)],
        nodes: vec![node("n1", "ng", 4000, 8 * GIB, vec![expendable("running")])],
        unschedulable: (0..50)
            .map(|i| pending(expendable(&format!("x{i}"))))
            .collect(),
        ..Default::default()
    };
    for now in [MIN, 10 * MIN, 60 * MIN] {
        let (d, _) = run(&CaSettings::default(), &CaState::default(), &obs, now);
        assert!(scale_ups(&d).is_empty(), "at {now} ms");
        assert!(!d.events.iter().any(|e| e.reason == "TriggeredScaleUp"));
    }
}
