//! Contract tests of `headroom hpa evaluate`: a JSON request in, a JSON decision out, through
//! the real binary; and bad input giving a clear error naming the field, with exit code 2.

use std::io::Write;
use std::process::{Command, Stdio};

use serde_json::{json, Value};

/// Runs `headroom hpa evaluate -` on `request`; returns (exit code, stdout, stderr).
fn run_stdin(request: &str) -> (i32, String, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_headroom"))
        .args(["hpa", "evaluate", "-"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("headroom runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(request.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let text = |b: Vec<u8>| String::from_utf8(b).unwrap();
    (
        out.status.code().unwrap_or(-1),
        text(out.stdout),
        text(out.stderr),
    )
}

/// A running, ready pod started long before `now`, requesting `cpu` in one container.
fn pod(name: &str, cpu: &str) -> Value {
    json!({
        "metadata": {"name": name, "uid": "ignored", "labels": {"app": "web"}},
        "spec": {"containers": [{"name": "app", "image": "nginx", "resources": {"requests": {"cpu": cpu}}}]},
        "status": {"phase": "Running", "startTime": "2025-12-31T23:00:00Z",
                   "conditions": [{"type": "Ready", "status": "True", "lastTransitionTime": "2025-12-31T23:01:00Z"}]}
    })
}

fn usage(name: &str, cpu: &str) -> Value {
    json!({"metadata": {"name": name}, "timestamp": "2025-12-31T23:59:45Z", "window": "30s",
           "containers": [{"name": "app", "usage": {"cpu": cpu, "memory": "100Mi"}}]})
}

/// A cpu-utilization HPA at `replicas` replicas over pods using `levels` of 1 core each.
fn request(replicas: i32, target: i32, levels: &[&str]) -> Value {
    let names: Vec<String> = (0..levels.len()).map(|i| format!("web-{i}")).collect();
    json!({
        "now": "2026-01-01T00:00:00Z",
        "hpa": {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                "metadata": {"name": "web", "namespace": "shop"},
                "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
                         "minReplicas": 1, "maxReplicas": 20,
                         "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                                      "target": {"type": "Utilization", "averageUtilization": target}}}]}},
        "scale": {"specReplicas": replicas, "statusReplicas": replicas},
        "pods": names.iter().map(|n| pod(n, "1")).collect::<Vec<_>>(),
        "podMetrics": names.iter().zip(levels).map(|(n, l)| usage(n, l)).collect::<Vec<_>>(),
        "state": {"recommendations": []}
    })
}

/// Sets `pointer` (creating objects on the way) in `v`.
fn set(mut v: Value, pointer: &str, value: Value) -> Value {
    let mut cur = &mut v;
    for key in pointer.trim_start_matches('/').split('/') {
        cur = match cur {
            Value::Array(a) => &mut a[key.parse::<usize>().unwrap()],
            other => {
                if !other.is_object() {
                    *other = json!({});
                }
                other
                    .as_object_mut()
                    .unwrap()
                    .entry(key)
                    .or_insert(Value::Null)
            }
        };
    }
    *cur = value;
    v
}

/// What a request must give.
enum Expect {
    /// Desired replicas, rescale, and (pointer, value) pairs in the response.
    Decides(i32, bool, Vec<(&'static str, Value)>),
    /// Exit 2 with these texts on stderr.
    Rejects(Vec<&'static str>),
}

fn check(name: &str, request: &str, expect: Expect) {
    let (code, stdout, stderr) = run_stdin(request);
    match expect {
        Expect::Decides(desired, rescale, fields) => {
            assert_eq!(code, 0, "{name}: stderr {stderr}");
            let out: Value = serde_json::from_str(&stdout).expect("stdout is JSON");
            assert_eq!(out["desiredReplicas"], json!(desired), "{name}: {stdout}");
            assert_eq!(out["rescale"], json!(rescale), "{name}");
            for (pointer, value) in fields {
                assert_eq!(
                    out.pointer(pointer),
                    Some(&value),
                    "{name}: {pointer} in {stdout}"
                );
            }
        }
        Expect::Rejects(texts) => {
            assert_eq!(code, 2, "{name}: stdout {stdout} stderr {stderr}");
            assert!(stdout.is_empty(), "{name}: no decision on stdout");
            assert!(!stderr.contains("panicked"), "{name}: {stderr}");
            for t in texts {
                assert!(stderr.contains(t), "{name}: stderr {stderr:?} lacks {t:?}");
            }
        }
    }
}

#[test]
fn hpa_evaluate_issue_example_from_a_file() {
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../tests/fixtures/hpa/issue-example.json"
    );
    let out = Command::new(env!("CARGO_BIN_EXE_headroom"))
        .args(["hpa", "evaluate", file])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["desiredReplicas"], 5);
    assert_eq!(v["metrics"][0]["currentAverageUtilization"], 72);
    assert_eq!(v["metrics"][0]["currentAverageValue"], "360m");
    assert_eq!(v["conditions"][0]["reason"], "SucceededRescale");
    assert_eq!(
        v["state"]["scaleUpEvents"][0],
        json!({"replicaChange": 2, "timestamp": "2026-01-01T00:00:00Z", "outdated": false})
    );
}

#[test]
fn hpa_evaluate_decisions() {
    use Expect::Decides;
    let scale_up = request(3, 50, &["900m", "900m", "900m"]);
    let behavior = |r: Value| set(r, "/hpa/spec/behavior", json!({}));
    let queue = {
        let r = request(2, 50, &[]);
        let r = set(
            r,
            "/hpa/spec/metrics",
            json!([{"type": "External", "external": {
            "metric": {"name": "queue_messages_ready", "selector": {"matchLabels": {"queue": "jobs"}}},
            "target": {"type": "AverageValue", "averageValue": "30"}}}]),
        );
        set(
            set(
                r,
                "/externalMetrics",
                json!({"queue_messages_ready": ["150", "60"]}),
            ),
            "/hpa/spec/behavior",
            json!({}),
        )
    };
    let cases: Vec<(&str, Value, Expect)> = vec![
        (
            "legacy path scale-up capped at max(2 × 3, 4)",
            scale_up.clone(),
            Decides(6, true, vec![
                ("/metrics/0/proposal", json!(6)),
                ("/metrics/0/currentAverageUtilization", json!(90)),
                ("/conditions/2/reason", json!("DesiredWithinRange")),
            ]),
        ),
        (
            "legacy path: 20 % asks for 2 of 5, no recommendation in the window",
            request(5, 50, &["200m"; 5]),
            Decides(2, true, vec![("/metrics/0/currentAverageValue", json!("200m"))]),
        ),
        (
            "state null: the initial recommendation blocks the scale-down",
            set(request(5, 50, &["200m"; 5]), "/state", Value::Null),
            Decides(5, false, vec![
                ("/conditions/0/reason", json!("ScaleDownStabilized")),
                ("/state/recommendations", json!([
                    {"replicas": 5, "timestamp": "2026-01-01T00:00:00Z"},
                    {"replicas": 2, "timestamp": "2026-01-01T00:00:00Z"}])),
            ]),
        ),
        (
            "default behavior: +4 per 15 s from 3 is 7",
            behavior(request(3, 50, &["1500m", "1500m", "1500m"])),
            Decides(7, true, vec![
                ("/conditions/2/status", json!("True")),
                ("/conditions/2/reason", json!("ScaleUpLimit")),
                ("/state/scaleUpEvents/0/replicaChange", json!(4)),
            ]),
        ),
        (
            "rollout: a missing new pod does not cause a scale-down",
            {
                let r = request(2, 50, &["100m", "100m"]);
                let mut pods = r["pods"].as_array().unwrap().clone();
                pods.push(pod("web-new", "1"));
                set(r, "/pods", Value::Array(pods))
            },
            Decides(2, false, vec![("/metrics/0/proposal", json!(2))]),
        ),
        (
            "queue worker scales on an External AverageValue",
            queue,
            Decides(6, true, vec![
                ("/metrics/0/type", json!("External")),
                ("/metrics/0/name", json!("queue_messages_ready")),
                ("/metrics/0/currentAverageValue", json!("105")),
            ]),
        ),
        (
            "Pods metric from customMetrics",
            {
                let r = set(request(2, 50, &["500m", "500m"]), "/hpa/spec/metrics", json!([{"type": "Pods", "pods": {
                    "metric": {"name": "requests_per_second"}, "target": {"type": "AverageValue", "averageValue": "10"}}}]));
                set(r, "/customMetrics", json!({"requests_per_second": [{"pod": "web-0", "value": "20"}, {"pod": "web-1", "value": "40"}]}))
            },
            Decides(4, true, vec![("/metrics/0/currentAverageValue", json!("30"))]),
        ),
        (
            "Object metric from objectMetrics",
            {
                let r = request(2, 50, &["500m", "500m"]);
                let r = set(r, "/hpa/spec/metrics", json!([{"type": "Object", "object": {
                    "describedObject": {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress", "name": "main"},
                    "metric": {"name": "queue_depth"}, "target": {"type": "Value", "value": "40"}}}]));
                set(r, "/objectMetrics", json!({"queue_depth": "120"}))
            },
            Decides(4, true, vec![
                ("/metrics/0/currentValue", json!("120")),
                ("/conditions/1/message", json!("the HPA was able to successfully calculate a replica count from Ingress metric queue_depth")),
            ]),
        ),
        (
            "metricErrors: no scale, ScalingActive False",
            set(request(3, 50, &["900m"; 3]), "/metricErrors", json!({"cpu": "unable to fetch metrics from resource metrics API: boom"})),
            Decides(3, false, vec![
                ("/metrics/0/proposal", Value::Null),
                ("/conditions/1/status", json!("False")),
                ("/conditions/1/reason", json!("FailedGetResourceMetric")),
                ("/conditions/1/message", json!("the HPA was unable to compute the replica count: unable to get metrics for resource cpu: unable to fetch metrics from resource metrics API: boom")),
            ]),
        ),
        (
            "a sidecar's request counts toward utilization",
            {
                let r = request(2, 50, &["1", "1"]);
                let sidecar = json!([{"name": "proxy", "restartPolicy": "Always", "resources": {"requests": {"cpu": "1"}}},
                                     {"name": "init", "resources": {"requests": {"cpu": "5"}}}]);
                let r = set(r, "/pods/0/spec/initContainers", sidecar.clone());
                set(r, "/pods/1/spec/initContainers", sidecar)
            },
            Decides(2, false, vec![("/metrics/0/currentAverageUtilization", json!(50))]),
        ),
        (
            "sidecars ignored under the older compatibility setting",
            {
                let r = request(2, 50, &["1", "1"]);
                let sidecar = json!([{"name": "proxy", "restartPolicy": "Always", "resources": {"requests": {"cpu": "1"}}}]);
                let r = set(set(r, "/pods/0/spec/initContainers", sidecar.clone()), "/pods/1/spec/initContainers", sidecar);
                set(r, "/controller", json!({"compatibility": {"sidecarRequests": false}}))
            },
            Decides(4, true, vec![("/metrics/0/currentAverageUtilization", json!(100))]),
        ),
        (
            "current above max: desired max, only AbleToScale",
            set(request(25, 50, &["500m"]), "/state", Value::Null),
            Decides(20, true, vec![("/conditions", json!([{"type": "AbleToScale", "status": "True", "reason": "SucceededRescale",
                "message": "the HPA controller was able to update the target scale to 20"}]))]),
        ),
        (
            "current 0: scaling disabled",
            request(0, 50, &[]),
            Decides(0, false, vec![("/conditions/1/reason", json!("ScalingDisabled")), ("/metrics/0/proposal", Value::Null)]),
        ),
        (
            "an unready pod on a scale-up counts as 0",
            {
                let r = request(3, 50, &["900m", "900m", "900m"]);
                let r = set(r, "/pods/2/status/startTime", json!("2025-12-31T23:59:00Z"));
                set(r, "/pods/2/status/conditions/0/status", json!("False"))
            },
            Decides(4, true, vec![("/metrics/0/currentAverageUtilization", json!(90))]),
        ),
        (
            "maxReplicas 2^31-1 is fine",
            set(request(3, 50, &["900m"; 3]), "/hpa/spec/maxReplicas", json!(2147483647)),
            Decides(6, true, vec![]),
        ),
        (
            "superfluous PodMetrics for unknown pods are tolerated",
            {
                let r = request(2, 50, &["500m", "500m"]);
                let mut m = r["podMetrics"].as_array().unwrap().clone();
                m.push(usage("gone-pod", "5"));
                set(r, "/podMetrics", Value::Array(m))
            },
            Decides(2, false, vec![("/metrics/0/currentAverageUtilization", json!(50))]),
        ),
    ];
    for (name, req, expect) in cases {
        check(name, &req.to_string(), expect);
    }
}

#[test]
fn hpa_evaluate_rejects_bad_input() {
    use Expect::Rejects;
    let ok = request(3, 50, &["500m"; 3]);
    let raw_cases: Vec<(&str, String, Expect)> = vec![
        (
            "empty input",
            String::new(),
            Rejects(vec!["EOF", "line 1 column 0"]),
        ),
        (
            "syntax error",
            "{\"now\": \"2026-01-01T00:00:00Z\",\n  \"hpa\": {,}".into(),
            Rejects(vec!["line 2 column"]),
        ),
        (
            "not an object",
            "[1, 2]".into(),
            Rejects(vec!["invalid request JSON"]),
        ),
    ];
    for (name, text, expect) in raw_cases {
        check(name, &text, expect);
    }
    let cases: Vec<(&str, Value, Expect)> = vec![
        (
            "wrong type",
            set(ok.clone(), "/hpa/spec/maxReplicas", json!("ten")),
            Rejects(vec!["hpa.spec.maxReplicas", "invalid type"]),
        ),
        (
            "maxReplicas beyond int32",
            set(ok.clone(), "/hpa/spec/maxReplicas", json!(2147483648u64)),
            Rejects(vec!["hpa.spec.maxReplicas"]),
        ),
        (
            "max below min",
            set(ok.clone(), "/hpa/spec/minReplicas", json!(30)),
            Rejects(vec![
                "spec.maxReplicas",
                "must be greater than or equal to `minReplicas`",
            ]),
        ),
        (
            "minReplicas 0 without the gate",
            set(ok.clone(), "/hpa/spec/minReplicas", json!(0)),
            Rejects(vec!["spec.minReplicas"]),
        ),
        (
            "unknown metric type",
            set(ok.clone(), "/hpa/spec/metrics/0/type", json!("Cpu")),
            Rejects(vec!["spec.metrics[0].type", "Unsupported value"]),
        ),
        (
            "metric without a target",
            set(
                ok.clone(),
                "/hpa/spec/metrics/0/resource",
                json!({"name": "cpu"}),
            ),
            Rejects(vec!["hpa.spec.metrics[0].resource", "target"]),
        ),
        (
            "utilization 0",
            set(
                ok.clone(),
                "/hpa/spec/metrics/0/resource/target/averageUtilization",
                json!(0),
            ),
            Rejects(vec!["spec.metrics[0].resource.target.averageUtilization"]),
        ),
        (
            "policy value 0",
            set(
                ok.clone(),
                "/hpa/spec/behavior",
                json!({"scaleUp": {"policies": [{"type": "Pods", "value": 0, "periodSeconds": 15}]}}),
            ),
            Rejects(vec!["spec.behavior.scaleUp.policies[0].value"]),
        ),
        (
            "window above 3600",
            set(
                ok.clone(),
                "/hpa/spec/behavior",
                json!({"scaleDown": {"stabilizationWindowSeconds": 3601}}),
            ),
            Rejects(vec!["spec.behavior.scaleDown.stabilizationWindowSeconds"]),
        ),
        (
            "selectPolicy",
            set(
                ok.clone(),
                "/hpa/spec/behavior",
                json!({"scaleDown": {"selectPolicy": "Maximum"}}),
            ),
            Rejects(vec!["spec.behavior.scaleDown.selectPolicy"]),
        ),
        (
            "unknown spec field",
            set(ok.clone(), "/hpa/spec/maxReplica", json!(3)),
            Rejects(vec!["hpa.spec", "unknown field `maxReplica`"]),
        ),
        (
            "unknown request field",
            set(ok.clone(), "/podMetric", json!([])),
            Rejects(vec!["unknown field `podMetric`"]),
        ),
        (
            "bad now",
            set(ok.clone(), "/now", json!("yesterday")),
            Rejects(vec!["now:", "RFC 3339"]),
        ),
        (
            "bad quantity in a request",
            set(
                ok.clone(),
                "/pods/0/spec/containers/0/resources/requests/cpu",
                json!("250mm"),
            ),
            Rejects(vec!["pods[0].spec.containers[0].resources.requests.cpu"]),
        ),
        (
            "huge usage",
            set(
                ok.clone(),
                "/podMetrics/0/containers/0/usage/cpu",
                json!("99999999999E"),
            ),
            Rejects(vec!["podMetrics[0].containers[0].usage.cpu", "too large"]),
        ),
        (
            "huge target",
            set(
                ok.clone(),
                "/hpa/spec/metrics/0/resource/target",
                json!({"type": "AverageValue", "averageValue": "1e400"}),
            ),
            Rejects(vec!["spec.metrics[0].resource.target.averageValue"]),
        ),
        (
            "bad window",
            set(ok.clone(), "/podMetrics/0/window", json!("30")),
            Rejects(vec!["podMetrics[0].window"]),
        ),
        (
            "negative replicas",
            set(ok.clone(), "/scale/specReplicas", json!(-1)),
            Rejects(vec!["scale.specReplicas"]),
        ),
        (
            "negative tolerance flag",
            set(ok.clone(), "/controller", json!({"tolerance": -0.1})),
            Rejects(vec!["controller.tolerance"]),
        ),
        (
            "absurd seconds",
            set(
                ok.clone(),
                "/controller",
                json!({"cpuInitializationPeriodSeconds": i64::MAX}),
            ),
            Rejects(vec!["controller.cpuInitializationPeriodSeconds"]),
        ),
        (
            "bad state timestamp",
            set(
                ok.clone(),
                "/state",
                json!({"recommendations": [{"replicas": 1, "timestamp": "later"}]}),
            ),
            Rejects(vec!["state.recommendations[0].timestamp"]),
        ),
    ];
    for (name, req, expect) in cases {
        check(name, &req.to_string(), expect);
    }
}

#[test]
fn hpa_evaluate_missing_file_exits_2() {
    let out = Command::new(env!("CARGO_BIN_EXE_headroom"))
        .args(["hpa", "evaluate", "/nonexistent/request.json"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot read /nonexistent/request.json"));
}

#[test]
fn hpa_evaluate_state_round_trips() {
    // Feed the returned state back in: the stabilization window then holds the scale-down.
    let first = request(5, 50, &["900m"; 5]);
    let (code, stdout, _) = run_stdin(&first.to_string());
    assert_eq!(code, 0);
    let out: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(out["desiredReplicas"], 9);
    let second = set(
        set(request(9, 50, &["100m"; 9]), "/state", out["state"].clone()),
        "/now",
        json!("2026-01-01T00:00:15Z"),
    );
    let (code, stdout, stderr) = run_stdin(&second.to_string());
    assert_eq!(code, 0, "{stderr}");
    let out: Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(
        out["desiredReplicas"], 9,
        "the 9 recommended 15 s ago holds: {stdout}"
    );
    assert_eq!(out["conditions"][0]["reason"], "ScaleDownStabilized");
}
