//! The base-fit shortcut of disruption's simulations against the full scan, on random
//! clusters: the same commands, or the shortcut is wrong.

use rand::seq::IndexedRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::*;
use crate::model::{
    well_known, LabelSelector, PodAffinityTerm, SpreadPolicy, Taint, TaintEffect, Toleration,
    TolerationOperator, TopologySpreadConstraint, WhenUnsatisfiable,
};

const ZONES: [&str; 2] = ["us-east-1a", "us-east-1b"];

/// A palette of pod specs: replicas share one `Arc`, as the engine's do.
fn palette(rng: &mut ChaCha8Rng) -> Vec<Arc<PodSchedulingSpec>> {
    (0..rng.random_range(2..8))
        .map(|i| {
            let mut p = (*pod(
                rng.random_range(1..16) * 250,
                rng.random_range(1..16) * GIB / 2,
            ))
            .clone();
            p.labels.insert("app".into(), format!("app{i}"));
            match rng.random_range(0..10) {
                // Tolerates cordons: may land on a cordoned candidate.
                0 => p.tolerations.push(Toleration {
                    key: "node.kubernetes.io/unschedulable".into(),
                    operator: TolerationOperator::Exists,
                    value: String::new(),
                    effect: Some(TaintEffect::NoSchedule),
                    toleration_seconds: None,
                }),
                // Tolerates the tainted pool.
                1 | 2 => p.tolerations.push(Toleration {
                    key: "dedicated".into(),
                    operator: TolerationOperator::Exists,
                    value: String::new(),
                    effect: None,
                    toleration_seconds: None,
                }),
                3 => {
                    p.node_selector
                        .insert(well_known::INSTANCE_FAMILY.into(), "m5".into());
                }
                // Hard spread: reads other nodes, takes the full scan.
                4 => p.topology_spread.push(TopologySpreadConstraint {
                    max_skew: 1,
                    topology_key: well_known::ZONE.into(),
                    when_unsatisfiable: WhenUnsatisfiable::DoNotSchedule,
                    label_selector: LabelSelector {
                        match_labels: p.labels.clone(),
                        match_expressions: Vec::new(),
                    },
                    min_domains: None,
                    node_affinity_policy: SpreadPolicy::Honor,
                    node_taints_policy: SpreadPolicy::Ignore,
                    match_label_keys: Vec::new(),
                }),
                // Anti-affinity anywhere turns the shortcut off.
                5 if rng.random_bool(0.3) => p.pod_anti_affinity.required.push(PodAffinityTerm {
                    label_selector: LabelSelector {
                        match_labels: p.labels.clone(),
                        match_expressions: Vec::new(),
                    },
                    topology_key: well_known::ZONE.into(),
                    namespaces: Vec::new(),
                }),
                _ => {}
            }
            Arc::new(p)
        })
        .collect()
}

fn random_node(
    rng: &mut ChaCha8Rng,
    w: &World,
    n: usize,
    specs: &[Arc<PodSchedulingSpec>],
) -> KNode {
    let pool = rng.random_range(0..w.pools.len());
    let it = w.types.choose(rng).expect("a catalog");
    let off = it.offerings.choose(rng).expect("offerings");
    let mut spec = node_spec(&w.pools[pool], it, off, Resources::ZERO);
    spec.name = format!("node-{n}");
    let mut pods = Vec::new();
    let mut used = Resources::ZERO;
    for _ in 0..rng.random_range(1..8) {
        let p = specs.choose(rng).expect("a palette").clone();
        let after = used.add(&p.requests);
        if after.cpu_m <= spec.allocatable.cpu_m
            && after.memory_bytes <= spec.allocatable.memory_bytes
        {
            used = after;
            pods.push(KPod {
                spec: p,
                deletion_cost: 0,
                do_not_disrupt: false,
                reschedulable: rng.random_bool(0.9),
                pdb_blocked: false,
            });
        }
    }
    KNode {
        spec: Arc::new(spec),
        pool,
        instance_type: it.name.clone(),
        capacity_type: off.capacity_type,
        zone: off.zone.clone(),
        price_usd_per_hour: off.price_usd_per_hour,
        pods,
        initialized: true,
        ready: true,
        marked_for_deletion: rng.random_bool(0.1),
        nominated: false,
        do_not_disrupt: false,
        drifted: false,
        created_ms: 0,
        last_pod_event_ms: 0,
    }
}

fn random_world(rng: &mut ChaCha8Rng) -> World {
    let mut all = NodePool::with_defaults("all");
    all.budgets[0].nodes = BudgetNodes::Percent(rng.random_range(1..=10) * 10);
    let mut tainted = NodePool::with_defaults("tainted");
    tainted.taints.push(Taint {
        key: "dedicated".into(),
        value: "batch".into(),
        effect: TaintEffect::NoSchedule,
    });
    tainted.budgets[0].nodes = BudgetNodes::Percent(100);
    tainted.weight = 10;
    let mut w = World::new(vec![all, tainted]);
    w.types = catalog(&ZONES);
    w
}

#[test]
fn narrowed_first_fit_decides_as_the_full_scan() {
    let (mut commands, mut consolidations) = (0, 0);
    for seed in 0..1000u64 {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let w = random_world(&mut rng);
        let specs = palette(&mut rng);
        let nodes: Vec<KNode> = (0..rng.random_range(2..14))
            .map(|n| random_node(&mut rng, &w, n, &specs))
            .collect();
        let pending: Vec<Arc<PodSchedulingSpec>> = (0..rng.random_range(0..3))
            .map(|_| specs.choose(&mut rng).expect("a palette").clone())
            .collect();
        let settings = DisruptionSettings {
            spot_to_spot_consolidation: rng.random_bool(0.5),
            ..DisruptionSettings::default()
        };
        let run = |narrow| {
            disrupt_scanning(
                &w.cat(),
                None,
                &nodes,
                &pending,
                &settings,
                &|_| true,
                narrow,
            )
        };
        let (fast, full) = (run(true), run(false));
        assert_eq!(fast, full, "seed {seed}");
        commands += usize::from(!full.is_empty());
        consolidations += full
            .iter()
            .filter(|c| {
                matches!(
                    c.method,
                    Method::MultiNodeConsolidation | Method::SingleNodeConsolidation
                )
            })
            .count();
    }
    // The clusters must exercise the simulations, or the comparison proves nothing.
    assert!(
        consolidations >= 200,
        "{consolidations} consolidations, {commands} passes with a command"
    );
}
