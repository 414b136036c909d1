//! Loader tests: a full scenario, then one broken input per check through one helper.

use std::path::Path;

use super::*;
use crate::scenario::model::{CapacityType, ConcurrencyPolicy, IntOrPercent, LoadModel};

const BASE: &str = r#"
duration: 1h
nodePools:
  - name: general
    instanceType: m5.large
    zones: [a]
    initialNodes: 1
manifests:
  - apiVersion: apps/v1
    kind: Deployment
    metadata: {name: api}
    spec:
      replicas: 2
      selector: {matchLabels: {app: api}}
      template:
        metadata: {labels: {app: api}}
        spec:
          containers:
            - name: c
              resources: {requests: {cpu: 250m, memory: 256Mi}}
"#;

fn load_text(text: &str) -> Result<Scenario, LoadError> {
    load_str(text, Path::new("mem.yaml"))
}

/// Loads `text` and expects the error display to be exactly `expect`.
fn check_err(text: &str, expect: &str) {
    match load_text(text) {
        Ok(_) => panic!("loaded, expected error `{expect}`"),
        Err(e) => assert_eq!(e.to_string(), expect),
    }
}

#[test]
fn quickstart_loads() {
    let s = load(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scenarios/quickstart.yaml"
    )))
    .unwrap();
    assert_eq!(
        (s.name.as_str(), s.seed, s.duration.as_millis()),
        ("quickstart", 42, 86_400_000)
    );
    assert_eq!(s.node_pools.len(), 2);
    assert_eq!(s.deployments.len(), 2);
    assert_eq!(s.hpas.len(), 1);
    assert_eq!(s.cron_jobs.len(), 1);
    let web = &s.deployments[0];
    assert_eq!(
        web.template.scheduling.requests,
        autoscaler::model::Resources {
            cpu_m: 250,
            memory_bytes: 256 << 20,
            gpu: 0,
            pods: 1
        }
    );
    assert_eq!(web.template.containers[0].limits.cpu_m, 1000);
    assert_eq!(web.capacity.cpu_m_per_rps, 4.0);
    assert_eq!(web.capacity.memory_bytes_per_rps, 262_144.0);
    let spot = &s.node_pools[1];
    assert_eq!(spot.labels["karpenter.sh/capacity-type"], "spot");
    assert_eq!(spot.labels["topology.kubernetes.io/zone"], "us-east-1a");
    assert_eq!(s.node_pools[0].daemonset_overhead.cpu_m, 100);
    assert_eq!(s.cron_jobs[0].concurrency_policy, ConcurrencyPolicy::Forbid);
    assert!(s.warnings.is_empty(), "{:?}", s.warnings);
}

#[test]
fn defaults() {
    let s = load_text(BASE).unwrap();
    assert_eq!(s.name, "mem");
    assert_eq!(s.step, SimDuration::from_secs(60));
    assert_eq!(s.start_unix_s, 1_704_067_200);
    assert_eq!(s.settings.hpa.tolerance, 0.1);
    assert_eq!(
        s.settings.hpa.downscale_stabilization,
        SimDuration::from_secs(300)
    );
    assert_eq!(
        s.settings.scheduler.scoring,
        ScoringStrategy::LeastAllocated
    );
    let d = &s.deployments[0];
    assert_eq!(
        (d.namespace.as_str(), d.template.scheduling.priority),
        ("default", 0)
    );
    assert_eq!(d.template.termination_grace, SimDuration::from_secs(30));
    assert_eq!(s.node_pools[0].max_nodes, 1);
}

#[test]
fn errors_name_file_line_column_and_path() {
    let table: &[(&str, &str, &str)] = &[
        ("replicas: 2", "replcas: 2", "mem.yaml:13:7: manifests[0].spec.replcas: unknown field `replcas`, expected one of `replicas`, `selector`, `template`, `strategy`, `minReadySeconds`, `revisionHistoryLimit`, `paused`, `progressDeadlineSeconds`\nhint: did you mean `replicas`?"),
        ("cpu: 250m", "cpu: 250mm", "mem.yaml:20:43: manifests[0].spec.template.spec.containers[0].resources.requests.cpu: quantity \"250mm\" has an unknown suffix"),
        ("cpu: 250m", "cpu: -1", "mem.yaml:20:43: manifests[0].spec.template.spec.containers[0].resources.requests.cpu: quantity \"-1\" must be greater than or equal to 0"),
        ("duration: 1h", "duration: 5x", "mem.yaml:2:11: duration: invalid duration `5x`: unknown unit `x`; use units ms, s, m, h, d (e.g. `1h30m`)"),
        ("instanceType: m5.large", "instanceType: m5.lrage", "mem.yaml:5:19: nodePools[0].instanceType: unknown instance type `m5.lrage` (not in the built-in AWS us-east-1 catalog)\nhint: did you mean `m5.large`?"),
        ("replicas: 2", "replicas: two", "mem.yaml:13:17: manifests[0].spec.replicas: invalid type: string \"two\", expected i32"),
        ("initialNodes: 1", "minNodes: 2\n    maxNodes: 1", "mem.yaml:8:15: nodePools[0].maxNodes: must be greater than or equal to minNodes (2)"),
        ("{app: api}}\n        spec", "{app: apx}}\n        spec", "mem.yaml:16:28: manifests[0].spec.template.metadata.labels: Invalid value: `selector` does not match template `labels`"),
    ];
    for (from, to, expect) in table {
        assert!(BASE.contains(from), "{from}");
        check_err(&BASE.replacen(from, to, 1), expect);
    }
}

#[test]
fn whole_file_errors() {
    check_err(
        "",
        "mem.yaml: the file is empty; a scenario needs at least `duration` and `nodePools`",
    );
    check_err(
        "# only a comment\n---\n",
        "mem.yaml: the file is empty; a scenario needs at least `duration` and `nodePools`",
    );
    check_err(
        "a\0b",
        "mem.yaml: not a text file: NUL byte at byte 1; expected YAML",
    );
    check_err(
        "duration: 1h\nnodePools: []\n",
        "mem.yaml:2:12: nodePools: a scenario needs at least one node pool",
    );
}

#[test]
fn rfc3339() {
    assert_eq!(parse_rfc3339("2024-01-01T00:00:00Z"), Some(1_704_067_200));
    assert_eq!(
        parse_rfc3339("2024-01-01T02:00:00.5+02:00"),
        Some(1_704_067_200)
    );
    assert_eq!(parse_rfc3339("2024-13-01T00:00:00Z"), None);
    assert_eq!(parse_rfc3339("yesterday"), None);
}

#[test]
fn production_resolves_as_written() {
    let s = load(Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../scenarios/production.yaml"
    )))
    .unwrap();
    let pool = |name: &str| s.node_pools.iter().find(|p| p.name == name).unwrap();
    let dep = |name: &str| s.deployments.iter().find(|d| d.name == name).unwrap();
    let gpu = pool("gpu");
    assert_eq!(
        (
            gpu.instance_types[0].allocatable.gpu,
            gpu.instance_types[0].allocatable.pods
        ),
        (1, 58)
    );
    assert_eq!(gpu.taints[0].key, "nvidia.com/gpu");
    assert_eq!(
        (
            pool("general").initial_nodes,
            pool("memory").initial_nodes,
            pool("spot").initial_nodes
        ),
        (6, 6, 6)
    );
    assert_eq!(pool("spot").capacity_type, CapacityType::Spot);
    assert_eq!(pool("spot").labels["karpenter.sh/capacity-type"], "spot");

    let gw = dep("api-gateway");
    let sched = &gw.template.scheduling;
    assert_eq!(
        (
            gw.namespace.as_str(),
            sched.priority,
            sched.priority_class_name.as_str()
        ),
        ("edge", 1_000_000, "tier-1-mission-critical")
    );
    assert_eq!(sched.topology_spread.len(), 2);
    assert_eq!(
        gw.template.containers[0].limits,
        autoscaler::model::Resources {
            cpu_m: 1000,
            memory_bytes: 1 << 30,
            gpu: 0,
            pods: 0
        }
    );
    assert_eq!(gw.template.termination_grace, SimDuration::from_secs(45));
    match &gw.load {
        Some(LoadModel::Trace { step, values }) => {
            assert_eq!(*step, SimDuration::from_secs(60));
            // July 1 .. August 31 1995, per minute; peak 405 requests/min × 40 / 60 s.
            assert!(values.len() > 80_000, "{}", values.len());
            let peak = values.iter().cloned().fold(0.0, f64::max);
            assert!((peak - 270.0).abs() < 1e-9, "{peak}");
            assert!((values[0] - 42.0 * 40.0 / 60.0).abs() < 1e-9);
        }
        other => panic!("{other:?}"),
    }
    // The log-shipper sidecar adds to the worker's request.
    let worker = dep("queue-worker");
    assert_eq!(worker.template.scheduling.requests.cpu_m, 550);
    assert_eq!(
        worker.template.scheduling.requests.memory_bytes,
        (2 << 30) + (64 << 20)
    );
    assert!(worker.template.init_containers[0].sidecar);
    assert_eq!(dep("inference").template.scheduling.requests.gpu, 1);

    let pdb = s.pdbs.iter().find(|p| p.name == "api-gateway").unwrap();
    assert_eq!(pdb.max_unavailable, Some(IntOrPercent::Int(0)));
    let backup = s
        .cron_jobs
        .iter()
        .find(|c| c.name == "nightly-backup")
        .unwrap();
    assert_eq!(
        (
            backup.schedule.text.as_str(),
            backup.concurrency_policy,
            backup.job.backoff_limit
        ),
        ("0 2 * * *", ConcurrencyPolicy::Forbid, 3)
    );
    let analytics = s.cron_jobs.iter().find(|c| c.name == "analytics").unwrap();
    assert_eq!(
        analytics.job.template.scheduling.preemption_policy,
        autoscaler::model::PreemptionPolicy::Never
    );
    assert_eq!(
        analytics.starting_deadline,
        Some(SimDuration::from_secs(600))
    );
    // 2024-07-01 is the start: the first backup runs at 02:00 that day.
    assert_eq!(
        backup.schedule.next_after(s.start_unix_s),
        Some(s.start_unix_s + 2 * 3600)
    );
    assert_eq!(s.jobs[0].start, SimDuration::from_secs(7200));
    assert_eq!(
        s.slos.max_pending_by_tier["tier-1-mission-critical"],
        SimDuration::from_secs(120)
    );
}

const LIST: &str = r#"
duration: 1h
nodePools: [{name: p, instanceType: m5.large, zones: [a], initialNodes: 1}]
manifests:
  - apiVersion: v1
    kind: List
    items:
      - {apiVersion: v1, kind: Service, metadata: {name: web}, spec: {ports: [{port: 80}]}}
      - apiVersion: scheduling.k8s.io/v1
        kind: PriorityClass
        metadata: {name: everyday}
        value: 500
        globalDefault: true
      - apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web, namespace: shop, uid: 1234, managedFields: []}
        spec:
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec:
              containers:
                - name: web
                  resources: {limits: {cpu: 300m, memory: 100Mi}}
              tolerations: [{operator: Exists}]
        status: {replicas: 1}
  - {apiVersion: v1, kind: ConfigMap, metadata: {name: cfg}, data: {a: b}}
"#;

#[test]
fn lists_defaults_and_skipped_kinds() {
    let s = load_text(LIST).unwrap();
    let d = &s.deployments[0];
    // Requests default to limits; the globalDefault class applies; replicas default to 1.
    assert_eq!(
        (
            d.template.scheduling.requests.cpu_m,
            d.template.scheduling.requests.memory_bytes
        ),
        (300, 100 << 20)
    );
    assert_eq!(
        (
            d.template.scheduling.priority,
            d.replicas,
            d.namespace.as_str()
        ),
        (500, 1, "shop")
    );
    assert_eq!(
        d.template.scheduling.tolerations[0].operator,
        autoscaler::model::TolerationOperator::Exists
    );
    assert_eq!(s.warnings, vec!["mem.yaml: skipped 2 object(s) of kinds headroom does not simulate: Service/web, ConfigMap/cfg".to_string()]);
}

#[test]
fn manifest_rule_errors() {
    let table: &[(&str, &str, &str)] = &[
        ("tolerations: [{operator: Exists}]", "tolerations: [{value: x}]", "mem.yaml:25:29: manifests[0].items[2].spec.template.spec.tolerations[0].operator: Invalid value: operator must be Exists when `key` is empty, which means \"match all values and all keys\""),
        ("{limits: {cpu: 300m, memory: 100Mi}}", "{limits: {cpu: 300m}, requests: {cpu: 400m}}", "mem.yaml:24:68: manifests[0].items[2].spec.template.spec.containers[0].resources.requests.cpu: must be less than or equal to cpu limit"),
        ("value: 500", "value: 2000000000", "mem.yaml:12:16: manifests[0].items[1].value: must be no greater than 1000000000 (user-defined classes)"),
    ];
    for (from, to, expect) in table {
        assert!(LIST.contains(from), "{from}");
        check_err(&LIST.replacen(from, to, 1), expect);
    }
}

/// Output of `kubectl get deploy,pdb,svc -o yaml`, status, managedFields and all.
#[test]
fn kubectl_get_output_loads_unchanged() {
    let text = "duration: 1h\nnodePools: [{name: p, instanceType: m5.large, zones: [a], initialNodes: 1}]\nmanifests: [{path: kubectl-get.yaml}]\n";
    let origin = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/data/manifests/scenario.yaml"
    ));
    let s = load_str(text, origin).unwrap();
    let d = &s.deployments[0];
    assert_eq!(
        (d.namespace.as_str(), d.name.as_str(), d.replicas),
        ("shop", "checkout", 4)
    );
    let sched = &d.template.scheduling;
    assert_eq!(
        (sched.requests.cpu_m, sched.requests.memory_bytes),
        (500, 512 << 20)
    );
    assert_eq!(
        sched.pod_anti_affinity.required[0].topology_key,
        "kubernetes.io/hostname"
    );
    assert_eq!(sched.topology_spread[0].min_domains, Some(3));
    assert_eq!(
        sched.topology_spread[0].node_taints_policy,
        autoscaler::model::SpreadPolicy::Honor
    );
    assert_eq!(sched.tolerations[0].toleration_seconds, Some(300));
    assert_eq!(d.template.termination_grace, SimDuration::from_secs(60));
    assert_eq!(d.template.annotations["prometheus.io/scrape"], "true");
    assert_eq!(s.pdbs[0].min_available, Some(IntOrPercent::Percent(75)));
    assert_eq!(s.warnings.len(), 1);
    assert!(s.warnings[0].ends_with("kubectl-get.yaml: skipped 1 object(s) of kinds headroom does not simulate: Service/checkout"), "{}", s.warnings[0]);
}

/// A scenario in tests/data/traces with one Deployment whose load is `trace`.
fn trace_scenario(trace: &str) -> Result<Scenario, LoadError> {
    let text = format!(
        "{BASE}workloads:\n  api:\n    load:\n      trace: {trace}\n    capacity: {{cpuPerRps: 1m, maxRpsPerPod: 10}}\n"
    );
    load_str(
        &text,
        Path::new(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/data/traces/scenario.yaml"
        )),
    )
}

#[test]
fn traces() {
    let s = trace_scenario("{path: small.csv, timeColumn: t, valueColumn: rps, scale: 2}").unwrap();
    match &s.deployments[0].load {
        // Per minute: mean of 10 and 20, then 30, a gap repeating 30, then 50; times 2.
        Some(LoadModel::Trace { step, values }) => {
            assert_eq!(
                (*step, values.as_slice()),
                (SimDuration::from_secs(60), &[30.0, 60.0, 60.0, 100.0][..])
            )
        }
        other => panic!("{other:?}"),
    }
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../tests/data/traces");
    let table = [
        ("{path: bad-number.csv, timeColumn: t, valueColumn: rps}", format!("{dir}/bad-number.csv:3:1: column `rps`: `ten` is not a number")),
        ("{path: small.csv, valueColumn: requests}", format!("{dir}/scenario.yaml:24:45: workloads.api.load.trace.valueColumn: `{dir}/small.csv` has no column `requests`; its columns are t, rps")),
        ("{path: small.csv, valueColumn: rps, scale: -1}", format!("{dir}/scenario.yaml:24:57: workloads.api.load.trace.scale: must be a non-negative number")),
    ];
    for (trace, expect) in table {
        assert_eq!(
            trace_scenario(trace).unwrap_err().to_string(),
            expect,
            "{trace}"
        );
    }
}

#[test]
fn all_files_together_are_bounded() {
    let dir = std::env::temp_dir().join(format!("headroom-total-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // 4 MiB of comments: a valid, empty manifest file.
    std::fs::write(
        dir.join("big.yaml"),
        "# padding padding padding padding padding padding padding\n".repeat(72_000),
    )
    .unwrap();
    let entries = "  - path: big.yaml\n".repeat(20);
    let text = format!("duration: 1h\nnodePools: [{{name: p, instanceType: m5.large, zones: [a]}}]\nmanifests:\n{entries}");
    let err = load_str(&text, &dir.join("s.yaml"))
        .unwrap_err()
        .to_string();
    std::fs::remove_dir_all(&dir).ok();
    assert!(
        err.contains(":20:11: manifests[16].path: reading `")
            && err.ends_with("takes the scenario's files over 67108864 bytes (64 MiB) in all"),
        "{err}"
    );
}

#[test]
fn settings_ranges() {
    let table: &[(&str, &str, &str)] = &[
        ("duration: 1h", "duration: 4h\nstep: 1ms\n", "mem.yaml:3:7: step: gives 14400000 steps over `duration`; at most 10000000 (use a larger step)"),
        ("duration: 1h", "duration: 1h\nsettings: {hpa: {tolerance: 1.5}}", "mem.yaml:3:29: settings.hpa.tolerance: must be at least 0 and less than 1"),
        ("duration: 1h", "duration: 1h\nsettings: {hpa: {syncPeriod: 0s}}", "mem.yaml:3:30: settings.hpa.syncPeriod: must be greater than zero"),
        ("duration: 1h", "duration: 1h\nsettings: {eventBudget: 0}", "mem.yaml:3:25: settings.eventBudget: must be greater than zero"),
    ];
    for (from, to, expect) in table {
        check_err(&BASE.replacen(from, to, 1), expect);
    }
}

#[test]
fn merge_keys_are_refused_with_a_hint() {
    let err = load_text(
        "duration: 1h\nnodePools:\n  - <<: {instanceType: m5.large}\n    name: p\n    zones: [a]\n",
    )
    .unwrap_err();
    assert_eq!(err.to_string().lines().next_back(), Some("hint: YAML merge keys (`<<: *anchor`) are not supported; write the fields out (anchors and aliases alone work)"));
}

#[test]
fn node_autoscaler_and_spot_settings() {
    let ca = |flags: &str| {
        format!("duration: 1h\nsettings: {{nodeAutoscaler: {{clusterAutoscaler: {flags}}}}}")
    };
    let spot = |s: &str| format!("duration: 1h\nsettings: {{spot: {s}}}");
    let table: Vec<(String, &str)> = vec![
        (ca("{expander: \"random,priority\"}"), "mem.yaml:3:59: settings.nodeAutoscaler.clusterAutoscaler.expander: expander random must be the last in the --expander chain"),
        (ca("{expander: cheapest}"), "mem.yaml:3:59: settings.nodeAutoscaler.clusterAutoscaler.expander: unknown expander \"cheapest\" (expected random, most-pods, least-waste, least-nodes, price or priority)"),
        (ca("{scanInterval: 0s}"), "mem.yaml:3:63: settings.nodeAutoscaler.clusterAutoscaler.scanInterval: must be greater than zero"),
        (ca("{scaleDownUtilizationThreshold: 1.5}"), "mem.yaml:3:48: settings.nodeAutoscaler.clusterAutoscaler: scale-down-utilization-threshold must be within 0..=1, got 1.5"),
        (spot("{interruptionProbability: {\"30%\": 0.1}}"), "mem.yaml:3:44: settings.spot.interruptionProbability: unknown Spot Advisor bucket \"30%\" (expected one of <5%, 5-10%, 10-15%, 15-20%, >20%)"),
        (spot("{capacityShortages: [{probability: 2}]}"), "mem.yaml:3:53: settings.spot.capacityShortages[0].probability: must be within 0..=1"),
        (spot("{capacityShortages: [{from: 2h, until: 1h}]}"), "mem.yaml:3:57: settings.spot.capacityShortages[0].until: must be after `from`"),
        (spot("{interruptionWaves: [{at: 1h, pool: nope, fraction: 0.5}]}"), "mem.yaml:3:54: settings.spot.interruptionWaves[0].pool: no node pool named `nope`"),
    ];
    for (to, expect) in &table {
        check_err(&BASE.replacen("duration: 1h", to, 1), expect);
    }
    let s = load_text(&BASE.replacen(
        "duration: 1h",
        &ca("{expander: \"priority,least-waste\", scanInterval: 20s, priorities: \"10: [.*]\"}"),
        1,
    ))
    .unwrap();
    match &s.settings.node_autoscaler {
        crate::scenario::model::NodeAutoscaler::ClusterAutoscaler(c) => {
            assert_eq!(c.scan_interval_ms, 20_000);
            assert_eq!(c.expanders.len(), 2);
            // Unset flags keep the Kubernetes defaults.
            assert_eq!(c.scale_down_unneeded_time_ms, 600_000);
        }
        other => panic!("{other:?}"),
    }
}
