//! Node autoscaler decision cost on a large cluster: one cluster-autoscaler `run_once` over
//! 1,000 nodes / 20,000 running pods / 500 pending pods, one Karpenter provisioning pass for
//! 2,000 pending pods, and one Karpenter disruption pass over 300 nodes. Prints the time per
//! call (the simulator calls CA every 10 s and Karpenter's disruption every 10 s of virtual
//! time, so these bound bench-large's autoscaler share).

use std::sync::Arc;
use std::time::Instant;

use autoscaler::cluster_autoscaler::observation::{
    Controller, NodeGroupInfo, NodeInfo, Observation, PendingPod, PodInfo,
};
use autoscaler::cluster_autoscaler::{run_once, run_once_on_snapshot, CaSettings, CaState};
use autoscaler::karpenter::disruption::{disrupt, DisruptionSettings, KNode, KPod};
use autoscaler::karpenter::nodepool::{CapacityType, NodePool};
use autoscaler::karpenter::provisioning::{
    candidate_table, choose_launch, node_spec, schedule, Catalog, InstanceType, LaunchSettings,
    Offering, PoolUsage, UnavailableOfferings,
};
use autoscaler::model::{well_known, Labels, NodeSchedulingSpec, PodSchedulingSpec, Resources};
use autoscaler::node_fit::Packing;
use autoscaler::scheduler::{ClusterSnapshot, PodId};
use criterion::{criterion_group, criterion_main, Criterion};
use rand_chacha::rand_core::SeedableRng;
use rand_chacha::ChaCha8Rng;

const GI: i64 = 1 << 30;
const ZONES: [&str; 3] = ["us-east-1a", "us-east-1b", "us-east-1c"];

fn pod_spec(w: usize, cpu_m: i64) -> Arc<PodSchedulingSpec> {
    let mut labels = Labels::new();
    labels.insert("app".into(), format!("w{w}"));
    Arc::new(PodSchedulingSpec {
        namespace: "default".into(),
        labels,
        requests: Resources {
            cpu_m,
            memory_bytes: cpu_m * GI / 1000,
            gpu: 0,
            pods: 1,
        },
        ..Default::default()
    })
}

fn pod_info(id: String, w: usize, spec: Arc<PodSchedulingSpec>) -> PodInfo {
    PodInfo {
        id,
        spec,
        created_ms: 0,
        controller: Some(Controller {
            kind: "ReplicaSet".into(),
            name: format!("w{w}"),
            exists: true,
            replicas: Some(100),
        }),
        annotations: Labels::new(),
        mirror: false,
        terminal: false,
        deletion_ms: None,
        termination_grace_s: 30,
        local_volumes: Vec::new(),
    }
}

fn ca_node_spec(name: String, zone: &str) -> NodeSchedulingSpec {
    let mut labels = Labels::new();
    labels.insert(well_known::HOSTNAME.into(), name.clone());
    labels.insert(well_known::ZONE.into(), zone.into());
    labels.insert("pool".into(), "general".into());
    NodeSchedulingSpec {
        name,
        labels,
        allocatable: Resources {
            cpu_m: 3_920,
            memory_bytes: 14 * GI,
            gpu: 0,
            pods: 58,
        },
        ..Default::default()
    }
}

fn ca_observation() -> Observation {
    let capacity = Resources {
        cpu_m: 4_000,
        memory_bytes: 16 * GI,
        gpu: 0,
        pods: 58,
    };
    let node_groups = ZONES
        .iter()
        .map(|z| NodeGroupInfo {
            id: format!("general-{z}"),
            min_size: 2,
            max_size: 600,
            target_size: 334,
            template: ca_node_spec(format!("template-{z}"), z),
            template_capacity: capacity,
            template_has_gpu: false,
            price_usd_per_hour: Some(0.192),
            options: Default::default(),
        })
        .collect();
    let nodes = (0..1_000)
        .map(|i| {
            let zone = ZONES[i % 3];
            // Every tenth node is nearly idle, so scale-down has candidates to simulate.
            let per_node = if i % 10 == 0 { 2 } else { 22 };
            let pods = (0..per_node)
                .map(|k| {
                    let w = (i + k) % 50;
                    pod_info(
                        format!("default/p-{i}-{k}"),
                        w,
                        pod_spec(w, 100 + (w as i64 % 4) * 25),
                    )
                })
                .collect();
            NodeInfo {
                spec: ca_node_spec(format!("node-{i:04}"), zone),
                capacity,
                group: Some(format!("general-{zone}")),
                ready: true,
                created_ms: 0,
                annotations: Labels::new(),
                being_deleted: false,
                has_gpu: false,
                pods,
            }
        })
        .collect();
    let unschedulable = (0..500)
        .map(|i| PendingPod {
            pod: pod_info(
                format!("default/pending-{i}"),
                i % 5,
                pod_spec(i % 5, 1_500),
            ),
            nominated_node: None,
        })
        .collect();
    Observation {
        node_groups,
        nodes,
        unschedulable,
        ..Default::default()
    }
}

fn catalog() -> Vec<InstanceType> {
    let mut out = Vec::new();
    for (family, gib_per_cpu, od_per_cpu) in [("c5", 2, 0.0425), ("m5", 4, 0.048), ("r5", 8, 0.063)]
    {
        for (size, vcpu) in [
            ("large", 2),
            ("xlarge", 4),
            ("2xlarge", 8),
            ("4xlarge", 16),
            ("8xlarge", 32),
        ] {
            let capacity = Resources {
                cpu_m: vcpu * 1000,
                memory_bytes: vcpu * gib_per_cpu * GI,
                gpu: 0,
                pods: 110,
            };
            let offerings = ZONES
                .iter()
                .flat_map(|z| {
                    let od = od_per_cpu * vcpu as f64;
                    [
                        Offering {
                            zone: z.to_string(),
                            capacity_type: CapacityType::OnDemand,
                            price_usd_per_hour: od,
                            interruption_per_hour: 0.0,
                        },
                        Offering {
                            zone: z.to_string(),
                            capacity_type: CapacityType::Spot,
                            price_usd_per_hour: od * 0.4,
                            interruption_per_hour: 1e-4,
                        },
                    ]
                })
                .collect();
            out.push(InstanceType {
                name: format!("{family}.{size}"),
                family: family.into(),
                size: size.into(),
                labels: Labels::new(),
                capacity,
                allocatable: Resources {
                    cpu_m: capacity.cpu_m - 80,
                    memory_bytes: capacity.memory_bytes - GI,
                    ..capacity
                },
                offerings,
            });
        }
    }
    out
}

fn karpenter_nodes(pools: &[NodePool], types: &[InstanceType]) -> Vec<KNode> {
    let it = &types[6]; // m5.xlarge
    (0..300)
        .map(|i| {
            let off = &it.offerings[(i % 3) * 2];
            let per_node = if i % 7 == 0 { 3 } else { 18 };
            let pods = (0..per_node)
                .map(|k| KPod {
                    spec: pod_spec((i + k) % 40, 150),
                    deletion_cost: 0,
                    do_not_disrupt: false,
                    reschedulable: true,
                    pdb_blocked: false,
                })
                .collect();
            let mut spec = node_spec(&pools[0], it, off, Resources::ZERO);
            spec.name = format!("k-{i:03}");
            KNode {
                spec: spec.into(),
                pool: 0,
                instance_type: it.name.clone(),
                capacity_type: CapacityType::OnDemand,
                zone: off.zone.clone(),
                price_usd_per_hour: off.price_usd_per_hour,
                pods,
                initialized: true,
                ready: true,
                marked_for_deletion: false,
                nominated: false,
                do_not_disrupt: false,
                drifted: false,
                created_ms: 0,
                last_pod_event_ms: 0,
            }
        })
        .collect()
}

fn bench(c: &mut Criterion) {
    let settings = CaSettings::default();
    let obs = ca_observation();
    let state = CaState::default();
    let t = Instant::now();
    let cl = autoscaler::cluster_autoscaler::Cluster::build(&settings, &state, &obs, 3_600_000);
    println!("  cluster build: {:?} ({} slots)", t.elapsed(), cl.len());
    let no_pending = Observation {
        unschedulable: vec![],
        ..obs.clone()
    };
    let t = Instant::now();
    run_once(
        &settings,
        &state,
        &no_pending,
        3_600_000,
        &mut ChaCha8Rng::seed_from_u64(1),
    );
    println!("  run_once without pending pods: {:?}", t.elapsed());
    let mut snap = ClusterSnapshot::new();
    let mut next = 0;
    for n in &obs.nodes {
        let id = snap.add_node(Arc::new(n.spec.clone()));
        for p in &n.pods {
            snap.bind(PodId(next), p.spec.clone(), id, 0);
            next += 1;
        }
    }
    let t = Instant::now();
    run_once_on_snapshot(
        &settings,
        &state,
        &no_pending,
        &mut snap,
        3_600_000,
        &mut ChaCha8Rng::seed_from_u64(1),
    );
    println!(
        "  run_once_on_snapshot without pending pods: {:?}",
        t.elapsed()
    );
    let t = Instant::now();
    run_once_on_snapshot(
        &settings,
        &state,
        &obs,
        &mut snap,
        3_600_000,
        &mut ChaCha8Rng::seed_from_u64(1),
    );
    println!(
        "  run_once_on_snapshot with 500 pending pods: {:?}",
        t.elapsed()
    );
    c.bench_function("ca_run_once_on_snapshot_1000_nodes", |b| {
        b.iter(|| {
            run_once_on_snapshot(
                &settings,
                &state,
                &obs,
                &mut snap,
                3_600_000,
                &mut ChaCha8Rng::seed_from_u64(1),
            )
        })
    });
    let t = Instant::now();
    let (d, _) = run_once(
        &settings,
        &state,
        &obs,
        3_600_000,
        &mut ChaCha8Rng::seed_from_u64(1),
    );
    println!(
        "cluster-autoscaler run_once, 1000 nodes / 500 pending: {:?} ({} actions)",
        t.elapsed(),
        d.actions.len()
    );
    c.bench_function("ca_run_once_1000_nodes", |b| {
        b.iter(|| {
            run_once(
                &settings,
                &state,
                &obs,
                3_600_000,
                &mut ChaCha8Rng::seed_from_u64(1),
            )
        })
    });

    let pools = vec![NodePool::with_defaults("general")];
    let types = catalog();
    let overhead = vec![Resources::ZERO];
    let usage = vec![PoolUsage::default()];
    let unavailable = UnavailableOfferings::default();
    let cat = Catalog {
        pools: &pools,
        types: &types,
        daemonset_overhead: &overhead,
        usage: &usage,
        unavailable: &unavailable,
        now_ms: 0,
    };
    let pending: Vec<_> = (0..2_000)
        .map(|i| pod_spec(i % 40, 250 + (i as i64 % 8) * 125))
        .collect();
    let provision = || {
        let table = candidate_table(&cat);
        let sched = schedule(&cat, &table, &mut Packing::new(), &pending);
        sched
            .claims
            .iter()
            .filter_map(|cl| choose_launch(&sched, cl, &cat, &LaunchSettings::default()))
            .count()
    };
    let t = Instant::now();
    let launched = provision();
    println!(
        "karpenter provisioning, 2000 pending pods: {:?} ({launched} nodes)",
        t.elapsed()
    );
    c.bench_function("karpenter_provision_2000_pods", |b| b.iter(provision));

    let nodes = karpenter_nodes(&pools, &types);
    let ds = DisruptionSettings::default();
    let t = Instant::now();
    let cmds = disrupt(&cat, &nodes, &[], &ds, &|_| true);
    println!(
        "karpenter disruption pass, 300 nodes: {:?} ({:?})",
        t.elapsed(),
        cmds.first().map(|c| (c.method, c.candidates.len()))
    );
    c.bench_function("karpenter_disrupt_300_nodes", |b| {
        b.iter(|| disrupt(&cat, &nodes, &[], &ds, &|_| true))
    });
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(10);
    targets = bench
}
criterion_main!(benches);
