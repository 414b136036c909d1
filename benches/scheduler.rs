//! Scheduler throughput: 20,000 pending pods onto 1,000 nodes over 3 zones, with zone and
//! hostname topology spread on most of them and hostname anti-affinity on some. Prints pods
//! scheduled per second (the goal: all 20,000 in under 1 s on one core).

use std::sync::Arc;
use std::time::Instant;

use autoscaler::model::{
    well_known, LabelSelector, Labels, NodeSchedulingSpec, PodAffinity, PodAffinityTerm,
    PodSchedulingSpec, Resources, SpreadPolicy, TopologySpreadConstraint, WhenUnsatisfiable,
};
use autoscaler::scheduler::{ClusterSnapshot, PodId, Scheduler, SchedulerConfig};
use criterion::{criterion_group, criterion_main, Criterion};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;

const NODES: usize = 1_000;
const WORKLOADS: usize = 200;
const REPLICAS: usize = 100;
const GI: i64 = 1 << 30;
const MI: i64 = 1 << 20;

fn nodes() -> ClusterSnapshot {
    let mut snap = ClusterSnapshot::new();
    for i in 0..NODES {
        let name = format!("node-{i:04}");
        let mut labels = Labels::new();
        labels.insert(well_known::HOSTNAME.into(), name.clone());
        labels.insert(
            well_known::ZONE.into(),
            format!("us-east-1{}", ['a', 'b', 'c'][i % 3]),
        );
        labels.insert(well_known::INSTANCE_TYPE.into(), "m5.xlarge".into());
        let allocatable = Resources {
            cpu_m: 3_920,
            memory_bytes: 14 * GI,
            gpu: 0,
            pods: 58,
        };
        let spec = NodeSchedulingSpec {
            name,
            labels,
            taints: vec![],
            allocatable,
            unschedulable: false,
        };
        snap.add_node(Arc::new(spec));
    }
    snap
}

fn spread(
    key: &str,
    max_skew: i32,
    when: WhenUnsatisfiable,
    selector: &LabelSelector,
) -> TopologySpreadConstraint {
    TopologySpreadConstraint {
        max_skew,
        topology_key: key.into(),
        when_unsatisfiable: when,
        label_selector: selector.clone(),
        min_domains: None,
        node_affinity_policy: SpreadPolicy::Honor,
        node_taints_policy: SpreadPolicy::Ignore,
        match_label_keys: vec![],
    }
}

/// One template per workload: 60 % spread by zone (DoNotSchedule) and hostname
/// (ScheduleAnyway), 10 % with hostname anti-affinity, the rest default spreading only.
fn workloads() -> Vec<Arc<PodSchedulingSpec>> {
    (0..WORKLOADS)
        .map(|w| {
            let mut labels = Labels::new();
            labels.insert("app".into(), format!("app-{w}"));
            let selector = LabelSelector {
                match_labels: labels.clone(),
                match_expressions: vec![],
            };
            let mut spec = PodSchedulingSpec {
                namespace: format!("team-{}", w % 10),
                labels,
                requests: Resources {
                    cpu_m: 50 + 25 * (w as i64 % 4),
                    memory_bytes: (128 + 64 * (w as i64 % 3)) * MI,
                    gpu: 0,
                    pods: 1,
                },
                priority: 1000 * (w as i32 % 3),
                controller_selector: Some(selector.clone()),
                ..Default::default()
            };
            match w % 10 {
                0..=5 => {
                    spec.topology_spread = vec![
                        spread(
                            well_known::ZONE,
                            1,
                            WhenUnsatisfiable::DoNotSchedule,
                            &selector,
                        ),
                        spread(
                            well_known::HOSTNAME,
                            1,
                            WhenUnsatisfiable::ScheduleAnyway,
                            &selector,
                        ),
                    ]
                }
                6 => {
                    let term = PodAffinityTerm {
                        label_selector: selector,
                        topology_key: well_known::HOSTNAME.into(),
                        namespaces: vec![],
                    };
                    spec.pod_anti_affinity = PodAffinity {
                        required: vec![term],
                        preferred: vec![],
                    };
                }
                _ => {}
            }
            Arc::new(spec)
        })
        .collect()
}

/// Schedules and binds every pod, highest priority first (PrioritySort); returns how many
/// were placed.
fn schedule_all(empty: &ClusterSnapshot, pods: &[Arc<PodSchedulingSpec>]) -> usize {
    let mut snap = empty.clone();
    let mut sched = Scheduler::new(SchedulerConfig::default()).expect("default config is valid");
    let mut rng = ChaCha8Rng::seed_from_u64(1);
    let mut placed = 0;
    for (i, spec) in pods.iter().enumerate() {
        let id = PodId(i as u64);
        if let Ok(node) = sched.schedule_one(&snap, id, spec, &mut rng) {
            snap.bind(id, spec.clone(), node, 0);
            placed += 1;
        }
    }
    placed
}

fn pending_pods() -> Vec<Arc<PodSchedulingSpec>> {
    let templates = workloads();
    let mut pods: Vec<Arc<PodSchedulingSpec>> = (0..REPLICAS)
        .flat_map(|_| templates.iter().cloned())
        .collect();
    pods.sort_by_key(|p| std::cmp::Reverse(p.priority));
    pods
}

fn bench_scheduler(c: &mut Criterion) {
    let empty = nodes();
    let pods = pending_pods();
    let started = Instant::now();
    let placed = schedule_all(&empty, &pods);
    let secs = started.elapsed().as_secs_f64();
    println!(
        "scheduler: {placed}/{} pods onto {NODES} nodes in {secs:.3} s = {:.0} pods scheduled per second",
        pods.len(),
        placed as f64 / secs
    );
    let mut group = c.benchmark_group("scheduler");
    group.sample_size(10);
    group.throughput(criterion::Throughput::Elements(pods.len() as u64));
    group.bench_function("20k_pods_1k_nodes", |b| {
        b.iter(|| schedule_all(&empty, &pods))
    });
    group.finish();
}

criterion_group!(benches, bench_scheduler);
criterion_main!(benches);
