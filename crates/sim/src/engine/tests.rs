//! Engine tests on scenarios built in code: hand-computable costs, determinism, the
//! controllers' behaviour.

use std::collections::BTreeMap;
use std::sync::Arc;

use autoscaler::model::{LabelSelector, PodSchedulingSpec, Resources};

use super::{run, NoTimeline};
use crate::scenario::model::*;
use crate::time::SimDuration;

const MIB: i64 = 1024 * 1024;

fn m5_large() -> InstanceType {
    InstanceType {
        name: "m5.large".into(),
        family: "m5".into(),
        vcpu: 2,
        memory_mib: 8192,
        arch: "amd64".into(),
        gpu_count: 0,
        allocatable: Resources {
            cpu_m: 1930,
            memory_bytes: 6903 * MIB,
            gpu: 0,
            pods: 29,
        },
        on_demand_usd_per_hour: 0.096,
        spot_savings_pct: 60.0,
        spot_interruption_label: Some("<5%".into()),
    }
}

fn pool(name: &str, nodes: i32, capacity: CapacityType) -> NodePool {
    NodePool {
        name: name.into(),
        instance_types: vec![m5_large()],
        capacity_type: capacity,
        zones: vec!["us-east-1a".into(), "us-east-1b".into()],
        min_nodes: nodes,
        max_nodes: nodes,
        initial_nodes: nodes,
        labels: BTreeMap::new(),
        taints: vec![],
        provisioning_delay: Distribution::Constant(SimDuration::from_secs(90)),
        daemonset_overhead: Resources::ZERO,
        karpenter: None,
    }
}

fn startup() -> StartupModel {
    StartupModel {
        image_pull: Distribution::LogNormal {
            median: SimDuration::from_secs(5),
            sigma: 0.5,
        },
        container_start: Distribution::Constant(SimDuration::from_secs(1)),
        readiness_delay: Distribution::Uniform {
            min: SimDuration::from_secs(5),
            max: SimDuration::from_secs(15),
        },
        cpu_burst_m: 0.0,
        cpu_burst_duration: SimDuration::ZERO,
    }
}

fn template(cpu_m: i64, mem_mib: i64, class: &str, priority: i32) -> PodTemplate {
    let requests = Resources {
        cpu_m,
        memory_bytes: mem_mib * MIB,
        gpu: 0,
        pods: 1,
    };
    PodTemplate {
        scheduling: Arc::new(PodSchedulingSpec {
            namespace: "default".into(),
            labels: [("app".to_string(), "web".to_string())].into(),
            requests,
            priority,
            priority_class_name: class.into(),
            ..Default::default()
        }),
        containers: vec![Container {
            name: "app".into(),
            requests,
            limits: requests,
            sidecar: false,
        }],
        init_containers: vec![],
        termination_grace: SimDuration::from_secs(30),
        annotations: BTreeMap::new(),
        startup: startup(),
    }
}

fn deployment(name: &str, replicas: i32, cpu_m: i64) -> Deployment {
    Deployment {
        namespace: "default".into(),
        name: name.into(),
        replicas,
        selector: LabelSelector::default(),
        template: template(cpu_m, 256, "", 0),
        load: Some(LoadModel::Synthetic(SyntheticLoad {
            base_rps: 50.0,
            daily_amplitude: 0.5,
            daily_peak_hour: 14.0,
            weekly_amplitude: 0.0,
            noise: 0.1,
            spikes: vec![],
        })),
        capacity: CapacityModel {
            cpu_m_baseline: 20.0,
            cpu_m_per_rps: 5.0,
            memory_bytes_baseline: 100.0 * MIB as f64,
            memory_bytes_per_rps: 0.0,
            max_rps_per_pod: 30.0,
            queue: false,
        },
    }
}

fn scenario(hours: i64) -> Scenario {
    Scenario {
        name: "test".into(),
        seed: 42,
        duration: SimDuration::from_secs(hours * 3600),
        step: SimDuration::from_secs(60),
        start_unix_s: 1_767_571_200,
        settings: Settings {
            scheduler: SchedulerSettings {
                scoring: ScoringStrategy::LeastAllocated,
                pod_initial_backoff: SimDuration::from_secs(1),
                pod_max_backoff: SimDuration::from_secs(10),
            },
            hpa: HpaControllerSettings {
                sync_period: SimDuration::from_secs(15),
                tolerance: 0.1,
                cpu_initialization_period: SimDuration::from_secs(300),
                initial_readiness_delay: SimDuration::from_secs(30),
                downscale_stabilization: SimDuration::from_secs(300),
                metrics_resolution: SimDuration::from_secs(15),
                metrics_scrape_lag: SimDuration::from_secs(15),
            },
            event_budget: 10_000_000,
            node_autoscaler: Default::default(),
            spot: Default::default(),
        },
        node_pools: vec![pool("general", 2, CapacityType::OnDemand)],
        priority_classes: vec![],
        deployments: vec![],
        hpas: vec![],
        pdbs: vec![],
        jobs: vec![],
        cron_jobs: vec![],
        slos: Slos::default(),
        warnings: vec![],
    }
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-6
}

#[test]
fn two_m5_large_on_demand_for_an_hour() {
    let r = run(&scenario(1), &mut NoTimeline).unwrap();
    assert!(close(r.cost.total_usd, 2.0 * 0.096), "{}", r.cost.total_usd);
    assert!(close(r.cost.by_pool_usd["general"], 0.192));
    assert!(close(r.cost.by_capacity_type_usd["on-demand"], 0.192));
    assert_eq!(r.node_hours.total, 2.0);
    assert!(close(r.cost.idle_usd, 0.192), "no pods: all idle");
    assert!((r.cost.monthly_projection_usd - 0.192 * 730.5).abs() < 0.005);
}

#[test]
fn spot_costs_the_discounted_price_and_reports_savings() {
    let mut sc = scenario(2);
    sc.node_pools = vec![pool("spot", 3, CapacityType::Spot)];
    let r = run(&sc, &mut NoTimeline).unwrap();
    let expected = 3.0 * 2.0 * 0.096 * 0.4;
    assert!(close(r.cost.total_usd, expected), "{}", r.cost.total_usd);
    assert!(close(r.cost.spot_savings_usd, 3.0 * 2.0 * 0.096 - expected));
}

#[test]
fn workload_cost_is_requests_priced_at_node_rates() {
    let mut sc = scenario(1);
    // One pod asking for a whole m5.large's CPU share would cost the CPU part of its price;
    // here two pods of 500m / 256Mi: cost = rate × request × time, computed by hand below.
    let mut d = deployment("web", 2, 500);
    d.load = None;
    sc.deployments = vec![d];
    let r = run(&sc, &mut NoTimeline).unwrap();
    let cpu_w = 2.0 * 0.031611;
    let mem_w = 8.0 * 0.004237;
    let per_ms = 0.096 / 3_600_000.0;
    let cpu_rate = per_ms * cpu_w / (cpu_w + mem_w) / 2000.0;
    let mem_rate = per_ms * mem_w / (cpu_w + mem_w) / (8192.0 * MIB as f64);
    let tier = &r.slo.by_tier["(no priority class)"];
    assert_eq!(tier.pods_scheduled, 2);
    // Pods bind at t=0 and live to the end: 3,600,000 ms each.
    let expected = 2.0 * (500.0 * cpu_rate + 256.0 * MIB as f64 * mem_rate) * 3_600_000.0;
    assert!(close(
        r.cost.by_priority_tier_usd["(no priority class)"],
        expected
    ));
    assert!(close(r.cost.idle_usd, 0.192 - expected));
    assert!(close(r.resources.cpu_requested_core_hours, 1.0));
}

#[test]
fn same_seed_same_report_different_seed_differs() {
    let mut sc = scenario(24);
    sc.deployments = vec![deployment("web", 3, 250), deployment("api", 2, 500)];
    let a = serde_json::to_string(&run(&sc, &mut NoTimeline).unwrap()).unwrap();
    let b = serde_json::to_string(&run(&sc, &mut NoTimeline).unwrap()).unwrap();
    assert_eq!(a, b);
    sc.seed = 43;
    let c = serde_json::to_string(&run(&sc, &mut NoTimeline).unwrap()).unwrap();
    assert_ne!(a, c, "the seed drives start-up delays and load noise");
}

#[test]
fn demand_beyond_capacity_is_unserved() {
    let mut sc = scenario(24);
    // 50 rps ±50 % daily against 1 pod serving 30 rps: some demand goes unserved.
    sc.deployments = vec![deployment("web", 1, 250)];
    let r = run(&sc, &mut NoTimeline).unwrap();
    assert!(r.slo.unserved_requests > 0.0);
    assert!(
        r.slo.demand_served_pct < 100.0 && r.slo.demand_served_pct > 30.0,
        "{}",
        r.slo.demand_served_pct
    );
}

#[test]
fn pods_that_fit_nowhere_stay_pending_and_are_reported() {
    let mut sc = scenario(1);
    // 2 nodes × 1930m: four 900m pods fit (two per node), the fifth does not.
    let mut d = deployment("web", 5, 900);
    d.load = None;
    sc.deployments = vec![d];
    sc.slos
        .max_pending_by_tier
        .insert("(no priority class)".into(), SimDuration::from_secs(60));
    let r = run(&sc, &mut NoTimeline).unwrap();
    let t = &r.slo.by_tier["(no priority class)"];
    assert_eq!(t.pods_scheduled, 4);
    assert_eq!(t.pending_at_end, 1);
    assert_eq!(
        t.pending_reasons
            .get("0/2 nodes are available: 2 Insufficient cpu."),
        Some(&1),
        "{:?}",
        t.pending_reasons
    );
    assert!(close(t.pending_max_s, 3600.0));
    assert!(!r.slo.met);
}

#[test]
fn event_budget_turns_a_runaway_into_an_error() {
    let mut sc = scenario(24);
    sc.settings.event_budget = 100;
    assert!(run(&sc, &mut NoTimeline).is_err());
}

#[test]
fn higher_priority_pods_preempt_lower_ones() {
    let mut sc = scenario(1);
    sc.priority_classes = vec![
        PriorityClass {
            name: "critical".into(),
            value: 1000,
            global_default: false,
            preemption_policy: Default::default(),
        },
        PriorityClass {
            name: "batch".into(),
            value: -5,
            global_default: false,
            preemption_policy: Default::default(),
        },
    ];
    // 2 nodes × 1930m: four batch pods of 900m fill them; two critical pods of 900m must
    // preempt two of them, which then stay pending.
    let mut low = deployment("batch", 4, 900);
    low.template = template(900, 256, "batch", -5);
    low.load = None;
    sc.deployments = vec![low];
    sc.jobs = vec![Job {
        namespace: "default".into(),
        name: "urgent".into(),
        start: SimDuration::from_secs(600),
        spec: JobSpec {
            template: template(900, 256, "critical", 1000),
            parallelism: 2,
            completions: 2,
            backoff_limit: 6,
            active_deadline: None,
            ttl_after_finished: None,
            run_time: Distribution::Constant(SimDuration::from_secs(3600)),
            failure_probability: 0.0,
        },
    }];
    let r = run(&sc, &mut NoTimeline).unwrap();
    let crit = &r.slo.by_tier["critical"];
    let batch = &r.slo.by_tier["batch"];
    assert_eq!(crit.preemptions, 2, "{r:#?}");
    assert_eq!(crit.pending_at_end, 0);
    assert_eq!(batch.evictions.get("preemption"), Some(&2));
    assert_eq!(
        batch.pending_at_end, 2,
        "the replacements of the victims fit nowhere"
    );
    // The critical pods waited for the victims' graceful termination (≤ 5 s) and back-off.
    assert!(
        crit.pending_max_s > 0.0 && crit.pending_max_s < 30.0,
        "{}",
        crit.pending_max_s
    );
}

// ----- HPAs in the simulator -----

/// Collects the workload rows of one Deployment.
#[derive(Default)]
struct Rows(Vec<(i64, i64, i64, f64, String)>);

impl super::TimelineSink for Rows {
    fn node_row(&mut self, _: &super::NodeRow<'_>) -> std::io::Result<()> {
        Ok(())
    }
    fn workload_row(&mut self, r: &super::WorkloadRow<'_>) -> std::io::Result<()> {
        self.0.push((
            r.t_s,
            r.desired_replicas,
            r.ready,
            r.queue,
            r.hpa_scaling_limited.to_string(),
        ));
        Ok(())
    }
    fn pending_row(&mut self, _: &super::PendingRow<'_>) -> std::io::Result<()> {
        Ok(())
    }
}

/// Every workload row, as JSON.
#[derive(Default)]
struct JsonRows(Vec<String>);

impl super::TimelineSink for JsonRows {
    fn node_row(&mut self, _: &super::NodeRow<'_>) -> std::io::Result<()> {
        Ok(())
    }
    fn workload_row(&mut self, r: &super::WorkloadRow<'_>) -> std::io::Result<()> {
        self.0
            .push(serde_json::to_string(r).expect("a row serializes"));
        Ok(())
    }
    fn pending_row(&mut self, _: &super::PendingRow<'_>) -> std::io::Result<()> {
        Ok(())
    }
}

fn hpa(yaml: &str) -> Hpa {
    let m: crate::manifest::hpa::HorizontalPodAutoscaler = serde_yaml::from_str(yaml).unwrap();
    Hpa {
        namespace: "default".into(),
        name: "web".into(),
        deployment: 0,
        spec: m.to_spec(&Default::default()).unwrap(),
    }
}

/// A load with no seasonality: `base_rps`, relative noise, spikes.
fn flat_load(base_rps: f64, noise: f64, spikes: Vec<Spike>) -> LoadModel {
    LoadModel::Synthetic(SyntheticLoad {
        base_rps,
        daily_amplitude: 0.0,
        daily_peak_hour: 0.0,
        weekly_amplitude: 0.0,
        noise,
        spikes,
    })
}

fn roomy(mut sc: Scenario) -> Scenario {
    let mut p = pool("general", 10, CapacityType::OnDemand);
    p.max_nodes = 10;
    sc.node_pools = vec![p];
    sc.step = SimDuration::from_secs(15);
    sc
}

#[test]
fn scale_up_policies_cap_growth_in_a_flash_crowd() {
    let mut sc = roomy(scenario(3));
    let mut d = deployment("web", 2, 200);
    let crowd = Spike {
        at: SimDuration::from_secs(3600),
        duration: SimDuration::from_secs(3600),
        multiplier: 10.0,
    };
    d.load = Some(flat_load(20.0, 0.0, vec![crowd]));
    d.capacity.max_rps_per_pod = 100.0;
    sc.deployments = vec![d];
    sc.hpas = vec![hpa(
        "spec: {scaleTargetRef: {kind: Deployment, name: web}, minReplicas: 2, maxReplicas: 20,
          metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 50}}}],
          behavior: {scaleUp: {stabilizationWindowSeconds: 0, selectPolicy: Max, policies: [{type: Pods, value: 2, periodSeconds: 60}]}}}",
    )];
    let mut rows = Rows::default();
    let r = run(&sc, &mut rows).unwrap();
    let desired: Vec<(i64, i64)> = rows.0.iter().map(|r| (r.0, r.1)).collect();
    // Within any 60 s, the desired count grows by at most 2 pods.
    for (i, (t, n)) in desired.iter().enumerate() {
        for (t2, n2) in &desired[i..] {
            if t2 - t < 60 {
                assert!(n2 - n <= 2, "grew from {n} at {t}s to {n2} at {t2}s");
            }
        }
    }
    let peak = desired.iter().map(|d| d.1).max().unwrap();
    assert!(peak >= 10, "the crowd needs many pods: peak {peak}");
    assert!(
        r.hpa
            .get("rescales limited: ScaleUpLimit")
            .copied()
            .unwrap_or(0)
            > 0,
        "{:?}",
        r.hpa
    );
    assert!(rows.0.iter().any(|r| r.4 == "ScaleUpLimit"));
}

#[test]
fn scale_down_stabilization_prevents_flapping_on_a_noisy_load() {
    let noisy = |window: i32| {
        let mut sc = roomy(scenario(12));
        let mut d = deployment("web", 4, 200);
        d.load = Some(flat_load(60.0, 0.35, vec![]));
        d.capacity.max_rps_per_pod = 100.0;
        sc.deployments = vec![d];
        sc.hpas = vec![hpa(&format!(
            "spec: {{scaleTargetRef: {{kind: Deployment, name: web}}, minReplicas: 1, maxReplicas: 20,
              metrics: [{{type: Resource, resource: {{name: cpu, target: {{type: Utilization, averageUtilization: 60}}}}}}],
              behavior: {{scaleDown: {{stabilizationWindowSeconds: {window}}}}}}}"
        ))];
        run(&sc, &mut NoTimeline)
            .unwrap()
            .hpa
            .get("rescales")
            .copied()
            .unwrap_or(0)
    };
    let (flappy, stable) = (noisy(0), noisy(300));
    assert!(
        stable * 2 < flappy,
        "rescales without a window {flappy}, with 300 s {stable}"
    );
}

#[test]
fn a_queue_driven_worker_scales_on_an_external_metric() {
    let mut sc = roomy(scenario(6));
    let mut d = deployment("web", 1, 200);
    d.load = Some(flat_load(200.0, 0.0, vec![]));
    d.capacity.max_rps_per_pod = 40.0;
    d.capacity.queue = true;
    sc.deployments = vec![d];
    sc.hpas = vec![hpa(
        "spec: {scaleTargetRef: {kind: Deployment, name: web}, minReplicas: 1, maxReplicas: 10,
          metrics: [{type: External, external: {metric: {name: queue_messages_ready}, target: {type: AverageValue, averageValue: '500'}}}]}",
    )];
    let mut rows = Rows::default();
    let r = run(&sc, &mut rows).unwrap();
    // Scaling on queue length: the backlog scales the workers up (to the maximum), they
    // work it off, the empty queue lets them scale down after the stabilization window,
    // and the cycle repeats, as it does in real clusters that scale on queue length.
    let peak = rows.0.iter().map(|r| r.1).max().unwrap();
    assert_eq!(peak, 10);
    let first_peak = rows
        .0
        .iter()
        .position(|r| r.3 > 1000.0)
        .expect("a backlog builds up");
    assert!(
        rows.0[first_peak..].iter().any(|r| r.3 == 0.0),
        "and is worked off"
    );
    assert!(r.slo.demand_served_pct > 90.0);
}

#[test]
fn kept_hpa_pod_listings_equal_fresh_ones_through_bench_large() {
    // Six hours of bench-large: 300 HPAs scaling their Deployments through the morning ramp,
    // so that listings are kept while pods are young (until one is merged, sampled or past
    // its start-up burst) as well as once all are mature.
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scenarios/bench-large.yaml"
    );
    let mut sc = crate::scenario::load(std::path::Path::new(path)).expect("loads");
    sc.duration = SimDuration::from_secs(6 * 3600);
    let checked = kept_listings_checked(&sc);
    assert!(checked > 50_000, "{checked} kept listings checked");
}

/// Runs `sc` checking each kept HPA pod listing against a fresh one; how many were checked.
fn kept_listings_checked(sc: &Scenario) -> u64 {
    let mut e = super::Engine::new(sc);
    e.hpa_rows_checked = Some(0);
    e.run(&mut super::timeline::NoTimeline).unwrap();
    e.hpa_rows_checked.unwrap_or(0)
}

#[test]
fn a_lone_pods_kept_listing_is_prepared_once_initialized() {
    // One pod, kept at one replica: its listing is kept through its CPU initialization
    // period, after which a fresh listing prepares the uniform metrics; the kept one must too.
    // A minute's image pull puts four syncs between the end of the period (counted from the
    // bind) and the pod's merge into the mature row (counted from its start).
    let mut sc = roomy(scenario(1));
    let mut d = deployment("web", 1, 200);
    d.template.startup.image_pull = Distribution::Constant(SimDuration::from_secs(60));
    sc.deployments = vec![d];
    sc.hpas = vec![hpa(
        "spec: {scaleTargetRef: {kind: Deployment, name: web}, minReplicas: 1, maxReplicas: 1,
           metrics: [{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 60}}}]}",
    )];
    let checked = kept_listings_checked(&sc);
    assert!(checked > 10, "{checked} kept listings checked");
}

#[test]
fn hpa_shortcuts_change_nothing() {
    // The flash crowd and the noisy load, with and without reusing metrics computations and
    // compacting identical pods: the same report, event for event. Spot interruptions
    // replace pods behind the HPA's back, while its syncs may be skipped.
    let mut sc = roomy(scenario(8));
    let mut spot = pool("spot", 4, CapacityType::Spot);
    spot.provisioning_delay = Distribution::Constant(SimDuration::from_secs(60));
    sc.node_pools.push(spot);
    sc.settings.spot.waves = [3, 5, 6]
        .iter()
        .map(|h| InterruptionWave {
            at: SimDuration::from_secs(h * 3600 + 1234),
            pool: Some(1),
            fraction: 0.5,
        })
        .collect();
    let mut d = deployment("web", 3, 200);
    d.load = Some(LoadModel::Synthetic(SyntheticLoad {
        base_rps: 80.0,
        daily_amplitude: 0.5,
        daily_peak_hour: 4.0,
        weekly_amplitude: 0.0,
        noise: 0.2,
        spikes: vec![Spike {
            at: SimDuration::from_secs(7200),
            duration: SimDuration::from_secs(1800),
            multiplier: 4.0,
        }],
    }));
    d.capacity.max_rps_per_pod = 100.0;
    d.template.startup.cpu_burst_m = 150.0;
    d.template.startup.cpu_burst_duration = SimDuration::from_secs(45);
    sc.deployments = vec![d];
    // The legacy path, and the behavior path with its own windows (the shortcuts include the
    // windowed recommendation store).
    let behaviors = [
        "",
        "behavior: {scaleUp: {stabilizationWindowSeconds: 60}, scaleDown: {stabilizationWindowSeconds: 120,
           policies: [{type: Pods, value: 2, periodSeconds: 60}]}},",
    ];
    // Three metrics of three kinds, and the common single CPU Utilization metric (which
    // has a path of its own for pods that all look alike).
    let cpu = "{type: Resource, resource: {name: cpu, target: {type: Utilization, averageUtilization: 60}}}";
    let metric_sets = [
        format!(
            "[{cpu}, {{type: Resource, resource: {{name: memory, target: {{type: AverageValue, averageValue: 200Mi}}}}}},
              {{type: Pods, pods: {{metric: {{name: rps}}, target: {{type: AverageValue, averageValue: '30'}}}}}}]"
        ),
        format!("[{cpu}]"),
    ];
    // A usage point per sync, and fewer (the syncs between repeat the last reconcile, and
    // are skipped when nothing changed).
    let cases = metric_sets.iter().flat_map(|m| {
        behaviors
            .iter()
            .flat_map(move |b| [(m, b, 15), (m, b, 60), (m, b, 300)])
    });
    for (metrics, behavior, step_s) in cases {
        sc.step = SimDuration::from_secs(step_s);
        sc.hpas = vec![hpa(&format!(
            "spec: {{scaleTargetRef: {{kind: Deployment, name: web}}, minReplicas: 2, maxReplicas: 30, {behavior}
              metrics: {metrics}}}",
        ))];
        // The report and every workload row of the timeline (desired replicas and the
        // conditions' reasons at each step).
        let go = |shortcuts: bool| {
            let mut e = super::Engine::new(&sc);
            e.hpa_shortcuts = shortcuts;
            e.hpa_rows_checked = shortcuts.then_some(0);
            let mut rows = JsonRows::default();
            e.run(&mut rows).unwrap();
            serde_json::to_string(&e.report()).unwrap() + &rows.0.join("\n")
        };
        let (fast, reference) = (go(true), go(false));
        assert!(
            fast.contains("rescales") && fast.contains("spot-interruption"),
            "the HPA acted and pods were interrupted ({metrics} {behavior}, step {step_s} s): {fast}"
        );
        assert_eq!(fast, reference, "{metrics} {behavior}, step {step_s} s");
    }
}
