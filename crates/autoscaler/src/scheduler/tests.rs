//! Table-driven tests of the scheduler, one module per area, sharing the builders and
//! `check` helpers below.

mod failed_attempts;
mod filters;
mod preemption;
mod scoring;
mod snapshot;
mod static_fit;
mod topology;

use std::sync::Arc;

use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;

use super::scores::{
    balanced_allocation_score, default_normalize, least_requested_score, most_requested_score,
    resources_fit_score,
};
use super::*;
use crate::model::*;

pub(super) const GI: i64 = 1 << 30;
pub(super) const MI: i64 = 1 << 20;

pub(super) fn node(name: &str, zone: &str, cpu_m: i64, mem: i64) -> NodeSchedulingSpec {
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

pub(super) fn pod(cpu_m: i64, mem: i64) -> PodSchedulingSpec {
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

pub(super) fn labels(pairs: &[(&str, &str)]) -> Labels {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

pub(super) fn sel(pairs: &[(&str, &str)]) -> LabelSelector {
    LabelSelector {
        match_labels: labels(pairs),
        match_expressions: vec![],
    }
}

pub(super) fn req(key: &str, op: SelectorOperator, values: &[&str]) -> SelectorRequirement {
    SelectorRequirement {
        key: key.into(),
        operator: op,
        values: values.iter().map(|v| v.to_string()).collect(),
    }
}

pub(super) fn taint(key: &str, value: &str, effect: TaintEffect) -> Taint {
    Taint {
        key: key.into(),
        value: value.into(),
        effect,
    }
}

pub(super) fn tol(
    key: &str,
    op: TolerationOperator,
    value: &str,
    effect: Option<TaintEffect>,
) -> Toleration {
    Toleration {
        key: key.into(),
        operator: op,
        value: value.into(),
        effect,
        toleration_seconds: None,
    }
}

pub(super) fn spread(key: &str, max_skew: i32, app: &str) -> TopologySpreadConstraint {
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

pub(super) fn app_pod(app: &str) -> PodSchedulingSpec {
    PodSchedulingSpec {
        labels: labels(&[("app", app)]),
        ..pod(100, 128 * MI)
    }
}

pub(super) fn rng(seed: u64) -> ChaCha8Rng {
    ChaCha8Rng::seed_from_u64(seed)
}

/// A snapshot of the given nodes plus pods bound by node index (pod ids 1000, 1001, ...).
pub(super) fn cluster(
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
pub(super) fn check_filter(
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

/// Schedules `pods` one by one (binding each) and returns the chosen node names.
pub(super) fn place(
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

/// Nodes n0..n5 over zones a, a, b, b, c, c.
pub(super) fn six_nodes() -> Vec<NodeSchedulingSpec> {
    (0..6)
        .map(|i| node(&format!("n{i}"), ["a", "b", "c"][i / 2], 8000, 32 * GI))
        .collect()
}

pub(super) fn anti(app: &str, key: &str) -> PodAffinity {
    PodAffinity {
        required: vec![PodAffinityTerm {
            label_selector: sel(&[("app", app)]),
            topology_key: key.into(),
            namespaces: vec![],
        }],
        preferred: vec![],
    }
}

/// A preemption scenario: node index → bound pods (priority, start_ms, app label).
pub(super) fn preemption_cluster(pods: &[(usize, i32, i64, &str)]) -> ClusterSnapshot {
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

pub(super) fn check_preemption(
    pods: &[(usize, i32, i64, &str)],
    pdbs: &[Pdb],
    preemptor_cpu: i64,
    expect: Result<(u32, Vec<u64>, usize), &str>,
) {
    let mut snap = preemption_cluster(pods);
    let mut sched = Scheduler::new(SchedulerConfig::default()).unwrap();
    let p = PodSchedulingSpec {
        priority: 1000,
        ..pod(preemptor_cpu, GI)
    };
    let before = dump(&snap);
    let outcome = sched.schedule(&mut snap, PodId(99), &p, pdbs, &mut rng(9));
    assert_eq!(
        dump(&snap),
        before,
        "preemption's dry runs must leave the snapshot unchanged"
    );
    let got = match outcome {
        ScheduleOutcome::Nominated { preemption, .. } => Ok((
            preemption.node.0,
            preemption.victims.iter().map(|v| v.0).collect(),
            preemption.num_pdb_violations,
        )),
        ScheduleOutcome::Unschedulable(e) => Err(e.expect("explained").to_string()),
        ScheduleOutcome::Scheduled(n) => Err(format!("scheduled on {n:?}")),
    };
    assert_eq!(got, expect.map_err(String::from), "{pods:?}");
}

/// Runs the score plugins for `pod` over every node and returns one plugin's scores.
pub(super) fn check_scores(
    nodes: Vec<NodeSchedulingSpec>,
    bound: Vec<(usize, PodSchedulingSpec)>,
    pod: PodSchedulingSpec,
    plugin: fn(&super::scores::NodeScore) -> i64,
    expect: &[i64],
) {
    let snap = cluster(nodes, bound);
    let all: Vec<NodeId> = snap.node_ids().to_vec();
    let got: Vec<i64> =
        super::scores::score_nodes(&snap, &pod, &all, ScoringStrategy::LeastAllocated)
            .iter()
            .map(plugin)
            .collect();
    assert_eq!(got, expect, "{pod:?}");
}

/// Everything observable about a snapshot, plus the filter verdicts of a few probe pods
/// (spread and anti-affinity read the incremental indexes) on every node.
pub(super) fn dump(snap: &ClusterSnapshot) -> String {
    let mut out = String::new();
    for &n in snap.node_ids() {
        let i = snap.node(n).unwrap();
        out += &format!(
            "{n:?} {:?} {:?} {:?} {:?}\n",
            i.spec, i.requested, i.non_zero_requested, i.pods
        );
    }
    for (p, b) in snap.pods() {
        out += &format!("{p:?} {:?} {} {:?}\n", b.node, b.start_ms, b.terminating);
    }
    for &n in snap.node_ids() {
        for (p, nom) in snap.nominated_to(n) {
            out += &format!("nominated {p:?} {nom:?}\n");
        }
    }
    let probes = [
        PodSchedulingSpec {
            topology_spread: vec![spread(well_known::ZONE, 1, "web")],
            ..app_pod("web")
        },
        PodSchedulingSpec {
            pod_anti_affinity: anti("web", well_known::HOSTNAME),
            ..app_pod("api")
        },
        app_pod("web"),
    ];
    for p in &probes {
        let pre = PreFilter::new(snap, p, None);
        for &n in snap.node_ids() {
            out += &format!("{n:?} {:?}\n", pre.filter(n).err().map(|r| r.to_string()));
        }
    }
    out
}
