//! Validation and defaulting of HPA manifests: what the API server rejects (with the field
//! path) and what it fills in.

use autoscaler::hpa::{MetricSource, PolicyKind, ResourceTarget, SelectPolicy, ValueTarget};

use super::*;

/// An HPA whose `spec` is `base` with `spec_patch` merged over it.
fn hpa(spec_patch: serde_json::Value) -> HorizontalPodAutoscaler {
    let mut spec = serde_json::json!({
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
        "minReplicas": 1,
        "maxReplicas": 10
    });
    for (k, v) in spec_patch.as_object().expect("patch is an object") {
        spec[k] = v.clone();
    }
    serde_json::from_value(
        serde_json::json!({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": "web"}, "spec": spec}),
    )
    .expect("fixture parses")
}

/// Checks that validation fails and the first error is on `path` and mentions `text`.
fn check_rejects(
    name: &str,
    patch: serde_json::Value,
    opts: ValidationOptions,
    path: &str,
    text: &str,
) {
    let err = hpa(patch).to_spec(&opts).expect_err(name);
    let first = &err.errors[0];
    assert_eq!(first.path, path, "{name}: {err}");
    assert!(
        first.detail.contains(text),
        "{name}: {first} lacks {text:?}"
    );
}

fn cpu(target: serde_json::Value) -> serde_json::Value {
    serde_json::json!([{"type": "Resource", "resource": {"name": "cpu", "target": target}}])
}

#[test]
fn rejects_what_the_api_server_rejects() {
    use serde_json::json;
    let none = ValidationOptions::default();
    let zero = ValidationOptions {
        scale_to_zero: true,
    };
    let policy = |p: serde_json::Value| json!({"behavior": {"scaleUp": {"policies": [p]}}});
    let cases: Vec<(&str, serde_json::Value, ValidationOptions, &str, &str)> = vec![
        (
            "max below min",
            json!({"minReplicas": 5, "maxReplicas": 2}),
            none,
            "spec.maxReplicas",
            "must be greater than or equal to `minReplicas`",
        ),
        (
            "max zero",
            json!({"maxReplicas": 0, "minReplicas": null}),
            none,
            "spec.maxReplicas",
            "must be greater than 0",
        ),
        (
            "min zero without the gate",
            json!({"minReplicas": 0}),
            none,
            "spec.minReplicas",
            "must be greater than or equal to 1",
        ),
        (
            "min negative",
            json!({"minReplicas": -1}),
            zero,
            "spec.minReplicas",
            "must be greater than or equal to 0",
        ),
        (
            "min zero with only resource metrics",
            json!({"minReplicas": 0, "metrics": cpu(json!({"type": "Utilization", "averageUtilization": 50}))}),
            zero,
            "spec.metrics",
            "at least one Object or External metric",
        ),
        (
            "no kind",
            json!({"scaleTargetRef": {"kind": "", "name": "web"}}),
            none,
            "spec.scaleTargetRef.kind",
            "Required value",
        ),
        (
            "unknown metric type",
            json!({"metrics": [{"type": "Foo"}]}),
            none,
            "spec.metrics[0].type",
            "Unsupported value: \"Foo\"",
        ),
        (
            "empty metric type",
            json!({"metrics": [{"type": ""}]}),
            none,
            "spec.metrics[0].type",
            "must specify a metric source type",
        ),
        (
            "metric without its source",
            json!({"metrics": [{"type": "Resource"}]}),
            none,
            "spec.metrics[0].resource",
            "must populate information for the given metric source",
        ),
        (
            "metric with another source",
            json!({"metrics": [{"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "AverageValue", "averageValue": "1"}}, "external": {"metric": {"name": "q"}, "target": {"type": "Value", "value": "1"}}}]}),
            none,
            "spec.metrics[0].external",
            "must populate the given metric source only",
        ),
        (
            "utilization zero",
            json!({"metrics": cpu(json!({"type": "Utilization", "averageUtilization": 0}))}),
            none,
            "spec.metrics[0].resource.target.averageUtilization",
            "must be greater than 0",
        ),
        (
            "utilization target without the value",
            json!({"metrics": cpu(json!({"type": "Utilization"}))}),
            none,
            "spec.metrics[0].resource.target.averageUtilization",
            "Required value",
        ),
        (
            "resource Value target",
            json!({"metrics": cpu(json!({"type": "Value", "value": "1"}))}),
            none,
            "spec.metrics[0].resource.target.type",
            "must be Utilization or AverageValue",
        ),
        (
            "unknown target type",
            json!({"metrics": cpu(json!({"type": "Percent"}))}),
            none,
            "spec.metrics[0].resource.target.type",
            "Unsupported value",
        ),
        (
            "both raw and utilization",
            json!({"metrics": cpu(json!({"type": "Utilization", "averageUtilization": 50, "averageValue": "100m"}))}),
            none,
            "spec.metrics[0].resource.target.averageValue",
            "may not set both",
        ),
        (
            "bad quantity",
            json!({"metrics": cpu(json!({"type": "AverageValue", "averageValue": "250mm"}))}),
            none,
            "spec.metrics[0].resource.target.averageValue",
            "250mm",
        ),
        (
            "zero quantity",
            json!({"metrics": cpu(json!({"type": "AverageValue", "averageValue": "0"}))}),
            none,
            "spec.metrics[0].resource.target.averageValue",
            "must be positive",
        ),
        (
            "pods Value target",
            json!({"metrics": [{"type": "Pods", "pods": {"metric": {"name": "qps"}, "target": {"type": "Value", "value": "1"}}}]}),
            none,
            "spec.metrics[0].pods.target.type",
            "must be AverageValue",
        ),
        (
            "pods without a metric name",
            json!({"metrics": [{"type": "Pods", "pods": {"metric": {"name": ""}, "target": {"type": "AverageValue", "averageValue": "1"}}}]}),
            none,
            "spec.metrics[0].pods.metric.name",
            "must specify a metric name",
        ),
        (
            "object Value without value",
            json!({"metrics": [{"type": "Object", "object": {"describedObject": {"kind": "Ingress", "name": "main"}, "metric": {"name": "rps"}, "target": {"type": "Value", "averageValue": "1"}}}]}),
            none,
            "spec.metrics[0].object.target.value",
            "Required value",
        ),
        (
            "external Utilization",
            json!({"metrics": [{"type": "External", "external": {"metric": {"name": "q"}, "target": {"type": "Utilization", "averageUtilization": 5}}}]}),
            none,
            "spec.metrics[0].external.target.type",
            "must be Value or AverageValue",
        ),
        (
            "container resource without container",
            json!({"metrics": [{"type": "ContainerResource", "containerResource": {"name": "cpu", "container": "", "target": {"type": "Utilization", "averageUtilization": 60}}}]}),
            none,
            "spec.metrics[0].containerResource.container",
            "must specify a container",
        ),
        (
            "policy value zero",
            policy(json!({"type": "Pods", "value": 0, "periodSeconds": 15})),
            none,
            "spec.behavior.scaleUp.policies[0].value",
            "must be greater than zero",
        ),
        (
            "policy period zero",
            policy(json!({"type": "Pods", "value": 1, "periodSeconds": 0})),
            none,
            "spec.behavior.scaleUp.policies[0].periodSeconds",
            "must be greater than zero",
        ),
        (
            "policy period above 1800",
            policy(json!({"type": "Percent", "value": 1, "periodSeconds": 1801})),
            none,
            "spec.behavior.scaleUp.policies[0].periodSeconds",
            "less than or equal to 1800",
        ),
        (
            "policy type",
            policy(json!({"type": "Replicas", "value": 1, "periodSeconds": 15})),
            none,
            "spec.behavior.scaleUp.policies[0].type",
            "Unsupported value",
        ),
        (
            "no policies",
            json!({"behavior": {"scaleDown": {"policies": []}}}),
            none,
            "spec.behavior.scaleDown.policies",
            "at least one Policy",
        ),
        (
            "window above 3600",
            json!({"behavior": {"scaleDown": {"stabilizationWindowSeconds": 3601}}}),
            none,
            "spec.behavior.scaleDown.stabilizationWindowSeconds",
            "less than or equal to 3600",
        ),
        (
            "window negative",
            json!({"behavior": {"scaleUp": {"stabilizationWindowSeconds": -1}}}),
            none,
            "spec.behavior.scaleUp.stabilizationWindowSeconds",
            "greater than or equal to zero",
        ),
        (
            "selectPolicy",
            json!({"behavior": {"scaleUp": {"selectPolicy": "Maximum"}}}),
            none,
            "spec.behavior.scaleUp.selectPolicy",
            "supported values: \"Disabled\", \"Max\", \"Min\"",
        ),
        (
            "negative tolerance",
            json!({"behavior": {"scaleDown": {"tolerance": "-0.05"}}}),
            none,
            "spec.behavior.scaleDown.tolerance",
            "greater than or equal to zero",
        ),
        (
            "tolerance not a quantity",
            json!({"behavior": {"scaleDown": {"tolerance": "5%"}}}),
            none,
            "spec.behavior.scaleDown.tolerance",
            "5%",
        ),
    ];
    for (name, patch, opts, path, text) in cases {
        check_rejects(name, patch, opts, path, text);
    }
}

#[test]
fn applies_api_defaults() {
    use serde_json::json;
    let opts = ValidationOptions::default();
    let spec = hpa(json!({"minReplicas": null})).to_spec(&opts).unwrap();
    assert_eq!(spec.min_replicas, 1);
    assert_eq!(
        spec.behavior, None,
        "behavior is only defaulted when present"
    );
    assert_eq!(
        spec.metrics[0].source,
        MetricSource::Resource {
            resource: "cpu".into(),
            container: None,
            target: ResourceTarget::Utilization(80)
        }
    );
    assert_eq!(
        spec.metrics[0].description,
        "cpu resource utilization (percentage of request)"
    );

    let spec =
        hpa(json!({"behavior": {"scaleDown": {"selectPolicy": "Min", "tolerance": "0.05"}}}))
            .to_spec(&opts)
            .unwrap();
    let b = spec.behavior.unwrap();
    assert_eq!(
        b.scale_up,
        autoscaler::hpa::ScalingRules::default_scale_up()
    );
    assert_eq!(b.scale_down.select_policy, SelectPolicy::Min);
    assert_eq!(
        b.scale_down.stabilization_window_s, None,
        "left to the controller flag"
    );
    assert_eq!(b.scale_down.policies.len(), 1);
    assert_eq!(b.scale_down.policies[0].kind, PolicyKind::Percent);
    assert_eq!(b.scale_down.tolerance, Some(0.05));

    let spec = hpa(json!({"behavior": {"scaleUp": {"policies": [{"type": "Pods", "value": 2, "periodSeconds": 60}]}}}))
        .to_spec(&opts)
        .unwrap();
    let up = spec.behavior.unwrap().scale_up;
    assert_eq!(
        up.policies.len(),
        1,
        "given policies replace the defaults wholesale"
    );
    assert_eq!(up.stabilization_window_s, Some(0));
}

#[test]
fn converts_every_metric_type() {
    use serde_json::json;
    let metrics = json!([
        {"type": "Resource", "resource": {"name": "memory", "target": {"type": "AverageValue", "averageValue": "512Mi"}}},
        {"type": "ContainerResource", "containerResource": {"name": "cpu", "container": "app", "target": {"type": "Utilization", "averageUtilization": 60}}},
        {"type": "Pods", "pods": {"metric": {"name": "rps"}, "target": {"type": "AverageValue", "averageValue": "20"}}},
        {"type": "Object", "object": {"describedObject": {"kind": "Ingress", "name": "main"}, "metric": {"name": "hits"}, "target": {"type": "Value", "value": "2k"}}},
        {"type": "External", "external": {"metric": {"name": "queue", "selector": {"matchLabels": {"q": "jobs"}}}, "target": {"type": "AverageValue", "averageValue": 30}}}
    ]);
    let spec = hpa(json!({ "metrics": metrics }))
        .to_spec(&ValidationOptions::default())
        .unwrap();
    let sources: Vec<&MetricSource> = spec.metrics.iter().map(|m| &m.source).collect();
    assert_eq!(
        sources[0],
        &MetricSource::Resource {
            resource: "memory".into(),
            container: None,
            target: ResourceTarget::AverageValue(536_870_912_000)
        }
    );
    assert!(
        matches!(sources[1], MetricSource::Resource { container: Some(c), target: ResourceTarget::Utilization(60), .. } if c == "app")
    );
    assert_eq!(
        sources[2],
        &MetricSource::Pods {
            metric: "rps".into(),
            target_average_milli: 20_000
        }
    );
    assert!(matches!(
        sources[3],
        MetricSource::Object {
            target: ValueTarget::Value(2_000_000),
            ..
        }
    ));
    assert!(matches!(
        sources[4],
        MetricSource::External {
            target: ValueTarget::AverageValue(30_000),
            ..
        }
    ));
    let names: Vec<&str> = spec
        .metrics
        .iter()
        .map(|m| m.description.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "memory resource",
            "cpu container resource utilization (percentage of request)",
            "pods metric rps",
            "Ingress metric hits",
            "external metric queue(&LabelSelector{MatchLabels:map[string]string{q: jobs,},MatchExpressions:[]LabelSelectorRequirement{},})",
        ]
    );
}

#[test]
fn reports_every_error_not_just_the_first() {
    let patch = serde_json::json!({"minReplicas": 0, "maxReplicas": -1});
    let err = hpa(patch)
        .to_spec(&ValidationOptions::default())
        .unwrap_err();
    let paths: Vec<&str> = err.errors.iter().map(|e| e.path.as_str()).collect();
    assert_eq!(
        paths,
        [
            "spec.minReplicas",
            "spec.maxReplicas",
            "spec.maxReplicas",
            "spec.metrics"
        ]
    );
    assert!(err
        .to_string()
        .starts_with("HorizontalPodAutoscaler is invalid: spec.minReplicas: Invalid value: 0"));
}
