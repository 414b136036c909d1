//! Loader tests: a full scenario, then one broken input per check through one helper.

use std::path::Path;

use super::*;
use crate::scenario::model::ConcurrencyPolicy;

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
