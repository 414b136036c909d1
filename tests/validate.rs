//! `headroom validate` and `headroom schema` through the binary: the bad-input corpus in
//! tests/data/broken (each file's exact error and exit code 2), a 100 MB file, and every
//! bundled scenario validating cleanly.

use crate::common::{headroom, repo};

/// Validates `file` (relative to the repository root) and expects exit code 2 and exactly
/// `expect` (after `error: `) on stderr.
fn check(file: &str, expect: &str) {
    let out = headroom(&["validate", file]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{file}: {stderr}");
    assert_eq!(stderr.trim_end(), format!("error: {expect}"), "{file}");
    assert!(out.stdout.is_empty(), "{file}");
}

#[test]
fn broken_corpus() {
    let b = "tests/data/broken";
    let table: &[(&str, String)] = &[
        ("wrong-type.yaml", format!("{b}/wrong-type.yaml:1:7: seed: invalid type: string \"forty-two\", expected u64")),
        ("unknown-field.yaml", format!("{b}/unknown-field.yaml:12:7: manifests[0].spec.replcas: unknown field `replcas`, expected one of `replicas`, `selector`, `template`, `strategy`, `minReadySeconds`, `revisionHistoryLimit`, `paused`, `progressDeadlineSeconds`\nhint: did you mean `replicas`?")),
        ("unknown-scenario-field.yaml", format!("{b}/unknown-scenario-field.yaml:7:5: nodePools[0].maxNode: unknown field `maxNode`, expected one of `name`, `instanceType`, `instanceTypes`, `capacityType`, `zones`, `minNodes`, `maxNodes`, `initialNodes`, `labels`, `taints`, `provisioningDelay`, `daemonsetOverhead`, `priceUsdPerHour`, `spotSavingsPct`, `allocatable`\nhint: did you mean `maxNodes`?")),
        ("malformed-quantity.yaml", format!("{b}/malformed-quantity.yaml:20:24: manifests[0].spec.template.spec.containers[0].resources.requests.cpu: quantity \"250mm\" has an unknown suffix")),
        ("negative-quantity.yaml", format!("{b}/negative-quantity.yaml:20:27: manifests[0].spec.template.spec.containers[0].resources.requests.memory: quantity \"-256Mi\" must be greater than or equal to 0")),
        ("bad-duration.yaml", format!("{b}/bad-duration.yaml:1:11: duration: invalid duration `5x`: unknown unit `x`; use units ms, s, m, h, d (e.g. `1h30m`)")),
        ("bad-cron.yaml", format!("{b}/bad-cron.yaml:12:17: manifests[0].spec.schedule: minute field `61`: value 61 above maximum 59")),
        ("empty.yaml", format!("{b}/empty.yaml: the file is empty; a scenario needs at least `duration` and `nodePools`")),
        ("garbage.bin", format!("{b}/garbage.bin: not a text file: invalid UTF-8 at byte 0; expected YAML")),
        ("unknown-instance-type.yaml", format!("{b}/unknown-instance-type.yaml:4:19: nodePools[0].instanceType: unknown instance type `m5.lage` (not in the built-in AWS us-east-1 catalog)\nhint: did you mean `m5.large`?")),
        ("bad-manifest-file.yaml", format!("{b}/manifests/two-docs.yaml:26:11: spec.template.spec.containers[0].resource: unknown field `resource`, expected one of `name`, `resources`, `restartPolicy`, `image`, `command`, `args`, `workingDir`, `ports`, `envFrom`, `env`, `resizePolicy`, `restartPolicyRules`, `volumeMounts`, `volumeDevices`, `livenessProbe`, `readinessProbe`, `startupProbe`, `lifecycle`, `terminationMessagePath`, `terminationMessagePolicy`, `imagePullPolicy`, `securityContext`, `stdin`, `stdinOnce`, `tty`\nhint: did you mean `resources`?")),
        ("yaml-syntax.yaml", format!("{b}/yaml-syntax.yaml:4:18: nodePools[0]: mapping values are not allowed in this context")),
        ("bad-distribution.yaml", format!("{b}/bad-distribution.yaml:7:25: nodePools[0].provisioningDelay.lognormel: unknown field `lognormel`, expected one of `constant`, `lognormal`, `uniform`, `exponential`\nhint: did you mean `lognormal`?")),
        ("unknown-priority-class.yaml", format!("{b}/unknown-priority-class.yaml:16:30: manifests[0].spec.template.spec.priorityClassName: no PriorityClass with name tier-1 was found")),
        ("hpa-target-missing.yaml", format!("{b}/hpa-target-missing.yaml:12:69: manifests[0].spec.scaleTargetRef.name: no Deployment `default/web` in the manifests")),
        ("unknown-workload.yaml", format!("{b}/unknown-workload.yaml:9:5: workloads.api: no Deployment, Job or CronJob named `api` in the manifests (use `namespace/name` if the name is ambiguous)")),
        ("hpa-invalid.yaml", format!("{b}/hpa-invalid.yaml:28:61: manifests[1].spec.metrics[0].resource.target.averageUtilization: Invalid value: 0: must be greater than 0")),
        ("hpa-v1.yaml", format!("{b}/hpa-v1.yaml:7:17: manifests[0].apiVersion: HorizontalPodAutoscaler autoscaling/v1 is not supported; write it as autoscaling/v2")),
        ("cron-tz.yaml", format!("{b}/cron-tz.yaml:11:17: manifests[0].spec.schedule: cannot use TZ or CRON_TZ in schedule, use timeZone field instead")),
        ("pdb-both.yaml", format!("{b}/pdb-both.yaml:11:7: manifests[0].spec: minAvailable and maxUnavailable cannot be both set")),
        ("missing-kind.yaml", format!("{b}/missing-kind.yaml:7:5: manifests[0]: missing `kind`: expected a Kubernetes object (Deployment, HorizontalPodAutoscaler, PodDisruptionBudget, PriorityClass, Job, CronJob, NodePool or List)")),
        ("alias-bomb.yaml", format!("{b}/alias-bomb.yaml: manifests[0].spec.strategy.a5[0][5][1][8][2]: repetition limit exceeded")),
    ];
    for (file, expect) in table {
        check(&format!("{b}/{file}"), expect);
    }
}

#[test]
fn missing_referenced_file() {
    let out = headroom(&["validate", "tests/data/broken/missing-file.yaml"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2));
    // The OS words the reason; the place and the file are ours.
    assert!(stderr.starts_with("error: tests/data/broken/missing-file.yaml:8:11: manifests[0].path: cannot read `tests/data/broken/manifests/does-not-exist.yaml`: "), "{stderr}");
}

#[test]
fn missing_scenario_file() {
    let out = headroom(&["validate", "tests/data/broken/no-such-scenario.yaml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr)
        .starts_with("error: tests/data/broken/no-such-scenario.yaml: cannot read the file: "));
}

#[test]
fn hundred_megabyte_file_is_refused_before_parsing() {
    let path = std::env::temp_dir().join(format!("headroom-100mb-{}.yaml", std::process::id()));
    // A sparse file: 100 MB long without writing 100 MB.
    std::fs::File::create(&path)
        .and_then(|f| f.set_len(100 << 20))
        .expect("temp file");
    let started = std::time::Instant::now();
    let out = headroom(&["validate", path.to_str().expect("utf-8 temp path")]);
    let elapsed = started.elapsed();
    std::fs::remove_file(&path).ok();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(stderr.ends_with(": the file is 104857600 bytes, over the limit of 16777216 bytes (16 MiB) for scenario, manifest and trace files\n"), "{stderr}");
    assert!(elapsed.as_secs() < 5, "took {elapsed:?}");
}

#[test]
fn bundled_scenarios_validate_cleanly() {
    let mut seen = 0;
    for entry in std::fs::read_dir(repo().join("scenarios")).expect("scenarios/") {
        let path = entry.expect("dir entry").path();
        if path.extension().is_some_and(|e| e == "yaml") {
            let out = headroom(&["validate", path.to_str().expect("utf-8")]);
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert_eq!(out.status.code(), Some(0), "{}: {stderr}", path.display());
            assert!(
                String::from_utf8_lossy(&out.stdout).starts_with("ok: "),
                "{}",
                path.display()
            );
            assert!(stderr.is_empty(), "{}: warnings: {stderr}", path.display());
            seen += 1;
        }
    }
    assert!(seen >= 3, "quickstart, production and bench-large");
}

#[test]
fn validate_summarises_what_it_read() {
    let out = headroom(&["validate", "scenarios/production.yaml"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ok: 4 node pools, 3 deployments, 2 HPAs, 2 PDBs, 5 priority classes, 1 job, 2 cron jobs, 0 warnings\n");
}

#[test]
fn committed_schema_is_current() {
    let out = headroom(&["schema"]);
    assert_eq!(out.status.code(), Some(0));
    let committed =
        std::fs::read_to_string(repo().join("schema/scenario.schema.json")).expect("schema file");
    assert!(
        String::from_utf8_lossy(&out.stdout) == committed,
        "schema/scenario.schema.json is stale: run `headroom schema > schema/scenario.schema.json`"
    );
    let schema: serde_json::Value = serde_json::from_str(&committed).expect("valid JSON");
    assert_eq!(
        schema["required"],
        serde_json::json!(["duration", "nodePools"])
    );
    assert_eq!(schema["additionalProperties"], serde_json::json!(false));
}

#[test]
fn warnings_go_to_stderr_and_still_exit_0() {
    let out = headroom(&["validate", "tests/data/valid/kubectl-get.yaml"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "ok: 1 node pool, 1 deployment, 0 HPAs, 1 PDB, 2 priority classes, 0 jobs, 0 cron jobs, 1 warning\n");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "warning: tests/data/valid/../manifests/kubectl-get.yaml: skipped 1 object(s) of kinds headroom does not simulate: Service/checkout\n"
    );
}
