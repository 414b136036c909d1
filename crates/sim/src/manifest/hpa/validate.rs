//! Validation of an autoscaling/v2 HPA as the API server does it, with its defaults applied,
//! and conversion into the engine's [`autoscaler::hpa::HpaSpec`].

use std::fmt;

use autoscaler::hpa::{
    Behavior, HpaSpec, MetricSource, MetricSpec as EngineMetric, PolicyKind, ResourceTarget,
    ScalingPolicy, ScalingRules, SelectPolicy, ValueTarget,
};
use autoscaler::quantity::parse_quantity;

use super::{
    CrossVersionObjectReference, HorizontalPodAutoscaler, HpaScalingRules, MetricSpec,
    MetricTarget, QuantityValue,
};

/// API server feature gates that change what is valid.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ValidationOptions {
    /// `HPAScaleToZero` (alpha): `minReplicas: 0` with an Object or External metric.
    pub scale_to_zero: bool,
}

/// One rejected field, worded as the API server words it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// `spec.metrics[0].resource.target.averageUtilization`.
    pub path: String,
    /// `Invalid value: 0: must be greater than 0`.
    pub detail: String,
}

impl fmt::Display for FieldError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path, self.detail)
    }
}

/// Every field the API server would reject, in the order it checks them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub struct HpaValidationError {
    pub errors: Vec<FieldError>,
}

impl fmt::Display for HpaValidationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let all: Vec<String> = self.errors.iter().map(ToString::to_string).collect();
        write!(f, "HorizontalPodAutoscaler is invalid: {}", all.join("; "))
    }
}

/// Collects field errors while walking the spec.
#[derive(Default)]
struct Errors(Vec<FieldError>);

impl Errors {
    fn push(&mut self, path: impl Into<String>, detail: impl Into<String>) {
        self.0.push(FieldError {
            path: path.into(),
            detail: detail.into(),
        });
    }
    fn invalid(&mut self, path: impl Into<String>, value: impl fmt::Display, message: &str) {
        self.push(path, format!("Invalid value: {value}: {message}"));
    }
    fn required(&mut self, path: impl Into<String>, message: &str) {
        self.push(path, format!("Required value: {message}"));
    }
    fn unsupported(&mut self, path: impl Into<String>, value: &str, supported: &[&str]) {
        let list: Vec<String> = supported.iter().map(|s| format!("{s:?}")).collect();
        self.push(
            path,
            format!(
                "Unsupported value: {value:?}: supported values: {}",
                list.join(", ")
            ),
        );
    }
    fn forbidden(&mut self, path: impl Into<String>, message: &str) {
        self.push(path, format!("Forbidden: {message}"));
    }
}

impl HorizontalPodAutoscaler {
    /// Validates the HPA as the API server would and returns the engine's spec with every
    /// API default applied.
    pub fn to_spec(&self, opts: &ValidationOptions) -> Result<HpaSpec, HpaValidationError> {
        let mut errs = Errors::default();
        let spec = &self.spec;
        let min_lower = i32::from(!opts.scale_to_zero);
        if let Some(min) = spec.min_replicas {
            if min < min_lower {
                errs.invalid(
                    "spec.minReplicas",
                    min,
                    &format!("must be greater than or equal to {min_lower}"),
                );
            }
        }
        if spec.max_replicas < 1 {
            errs.invalid(
                "spec.maxReplicas",
                spec.max_replicas,
                "must be greater than 0",
            );
        }
        if spec.min_replicas.is_some_and(|min| spec.max_replicas < min) {
            errs.invalid(
                "spec.maxReplicas",
                spec.max_replicas,
                "must be greater than or equal to `minReplicas`",
            );
        }
        check_reference(&mut errs, "spec.scaleTargetRef", &spec.scale_target_ref);
        let mut metrics = Vec::with_capacity(spec.metrics.len().max(1));
        for (i, m) in spec.metrics.iter().enumerate() {
            if let Some(metric) = convert_metric(&mut errs, &format!("spec.metrics[{i}]"), m) {
                metrics.push(metric);
            }
        }
        let min_replicas = spec.min_replicas.unwrap_or(1);
        let object_or_external = metrics.iter().any(|m| {
            matches!(
                m.source,
                MetricSource::Object { .. } | MetricSource::External { .. }
            )
        });
        if min_replicas == 0 && !object_or_external {
            errs.forbidden("spec.metrics", "must specify at least one Object or External metric to support scaling to zero replicas");
        }
        if spec.metrics.is_empty() {
            metrics.push(default_cpu_metric());
        }
        let behavior = spec.behavior.as_ref().map(|b| Behavior {
            scale_up: convert_rules(
                &mut errs,
                "spec.behavior.scaleUp",
                b.scale_up.as_ref(),
                ScalingRules::default_scale_up(),
            ),
            scale_down: convert_rules(
                &mut errs,
                "spec.behavior.scaleDown",
                b.scale_down.as_ref(),
                ScalingRules::default_scale_down(),
            ),
        });
        if !errs.0.is_empty() {
            return Err(HpaValidationError { errors: errs.0 });
        }
        Ok(HpaSpec {
            min_replicas,
            max_replicas: spec.max_replicas,
            metrics,
            behavior,
        })
    }
}

/// The metric an HPA without metrics gets: cpu at 80 % utilization.
fn default_cpu_metric() -> EngineMetric {
    let source = MetricSource::Resource {
        resource: "cpu".into(),
        container: None,
        target: ResourceTarget::Utilization(80),
    };
    EngineMetric {
        description: describe(&source, ""),
        source,
    }
}

fn check_reference(errs: &mut Errors, path: &str, r: &CrossVersionObjectReference) {
    if r.kind.is_empty() {
        errs.required(format!("{path}.kind"), "");
    }
    if r.name.is_empty() {
        errs.required(format!("{path}.name"), "");
    }
}

const METRIC_TYPES: [&str; 5] = [
    "ContainerResource",
    "External",
    "Object",
    "Pods",
    "Resource",
];

/// Validates one `spec.metrics[i]` entry and converts it.
fn convert_metric(errs: &mut Errors, path: &str, m: &MetricSpec) -> Option<EngineMetric> {
    let present = [
        ("resource", m.resource.is_some(), "Resource"),
        (
            "containerResource",
            m.container_resource.is_some(),
            "ContainerResource",
        ),
        ("pods", m.pods.is_some(), "Pods"),
        ("object", m.object.is_some(), "Object"),
        ("external", m.external.is_some(), "External"),
    ];
    if m.type_.is_empty() {
        errs.required(format!("{path}.type"), "must specify a metric source type");
        return None;
    }
    if !METRIC_TYPES.contains(&m.type_.as_str()) {
        errs.unsupported(format!("{path}.type"), &m.type_, &METRIC_TYPES);
        return None;
    }
    let before = errs.0.len();
    for (field, is_set, type_) in present {
        if type_ == m.type_ && !is_set {
            errs.required(
                format!("{path}.{field}"),
                "must populate information for the given metric source",
            );
        }
        if type_ != m.type_ && is_set {
            errs.forbidden(
                format!("{path}.{field}"),
                "must populate the given metric source only",
            );
        }
    }
    if errs.0.len() > before {
        return None;
    }
    let source = convert_source(errs, path, m)?;
    let selector = match (&m.object, &m.external) {
        (Some(o), _) => selector_text(o.metric.selector.as_ref()),
        (_, Some(e)) => selector_text(e.metric.selector.as_ref()),
        _ => String::new(),
    };
    Some(EngineMetric {
        description: describe(&source, &selector),
        source,
    })
}

fn convert_source(errs: &mut Errors, path: &str, m: &MetricSpec) -> Option<MetricSource> {
    let metric_name = |errs: &mut Errors, p: &str, name: &str| {
        if name.is_empty() {
            errs.required(format!("{p}.metric.name"), "must specify a metric name");
        }
    };
    if let Some(r) = &m.resource {
        let p = format!("{path}.resource");
        if r.name.is_empty() {
            errs.required(format!("{p}.name"), "must specify a resource name");
        }
        let target = resource_target(errs, &p, &r.target)?;
        return Some(MetricSource::Resource {
            resource: r.name.clone(),
            container: None,
            target,
        });
    }
    if let Some(r) = &m.container_resource {
        let p = format!("{path}.containerResource");
        if r.name.is_empty() {
            errs.required(format!("{p}.name"), "must specify a resource name");
        }
        if r.container.is_empty() {
            errs.required(format!("{p}.container"), "must specify a container");
        }
        let target = resource_target(errs, &p, &r.target)?;
        return Some(MetricSource::Resource {
            resource: r.name.clone(),
            container: Some(r.container.clone()),
            target,
        });
    }
    if let Some(pods) = &m.pods {
        let p = format!("{path}.pods");
        metric_name(errs, &p, &pods.metric.name);
        let target = value_target(errs, &p, &pods.target, &["AverageValue"], false)?;
        let ValueTarget::AverageValue(average) = target else {
            unreachable!("Pods targets are AverageValue")
        };
        return Some(MetricSource::Pods {
            metric: pods.metric.name.clone(),
            target_average_milli: average,
        });
    }
    if let Some(o) = &m.object {
        let p = format!("{path}.object");
        check_reference(errs, &format!("{p}.describedObject"), &o.described_object);
        metric_name(errs, &p, &o.metric.name);
        let target = value_target(errs, &p, &o.target, &["Value", "AverageValue"], false)?;
        return Some(MetricSource::Object {
            metric: o.metric.name.clone(),
            described_kind: o.described_object.kind.clone(),
            described_name: o.described_object.name.clone(),
            target,
        });
    }
    let e = m.external.as_ref()?;
    let p = format!("{path}.external");
    metric_name(errs, &p, &e.metric.name);
    let target = value_target(errs, &p, &e.target, &["Value", "AverageValue"], true)?;
    Some(MetricSource::External {
        metric: e.metric.name.clone(),
        selector_text: selector_text(e.metric.selector.as_ref()),
        target,
    })
}

/// The checks every target gets (`validateMetricTarget`): a known type, positive values.
fn check_target(errs: &mut Errors, path: &str, t: &MetricTarget, allowed: &[&str]) -> bool {
    let before = errs.0.len();
    if t.type_.is_empty() {
        errs.required(format!("{path}.type"), "must specify a metric target type");
    } else if !["Utilization", "Value", "AverageValue"].contains(&t.type_.as_str()) {
        errs.unsupported(
            format!("{path}.type"),
            &t.type_,
            &["AverageValue", "Utilization", "Value"],
        );
    } else if !allowed.contains(&t.type_.as_str()) {
        let list = allowed.join(" or ");
        errs.invalid(
            format!("{path}.type"),
            &t.type_,
            &format!("must be {list} for this metric source"),
        );
    }
    if let Some(u) = t.average_utilization {
        if u < 1 {
            errs.invalid(
                format!("{path}.averageUtilization"),
                u,
                "must be greater than 0",
            );
        }
    }
    errs.0.len() == before
}

/// A positive quantity in milli-units, or an error on the field.
fn positive_milli(errs: &mut Errors, path: String, q: &QuantityValue) -> Option<i64> {
    let text = q.as_text();
    match parse_quantity(&text) {
        Err(e) => {
            errs.invalid(path, &text, &e.to_string());
            None
        }
        Ok(q) if q.as_nano() <= 0 => {
            errs.invalid(path, &text, "must be positive");
            None
        }
        Ok(q) => Some(q.as_milli()),
    }
}

fn resource_target(errs: &mut Errors, path: &str, t: &MetricTarget) -> Option<ResourceTarget> {
    let p = format!("{path}.target");
    let ok = check_target(errs, &p, t, &["Utilization", "AverageValue"]);
    if t.average_utilization.is_some() && t.average_value.is_some() {
        errs.forbidden(
            format!("{p}.averageValue"),
            "may not set both a target raw value and a target utilization",
        );
        return None;
    }
    let average = t
        .average_value
        .as_ref()
        .and_then(|q| positive_milli(errs, format!("{p}.averageValue"), q));
    if !ok || (t.average_value.is_some() && average.is_none()) {
        return None;
    }
    match (t.type_.as_str(), average, t.average_utilization) {
        ("AverageValue", Some(v), _) => Some(ResourceTarget::AverageValue(v)),
        ("Utilization", None, Some(u)) => Some(ResourceTarget::Utilization(u)),
        ("AverageValue", _, _) => {
            errs.required(
                format!("{p}.averageValue"),
                "must set a target averageValue when type is AverageValue",
            );
            None
        }
        (_, _, _) => {
            errs.required(
                format!("{p}.averageUtilization"),
                "must set a target averageUtilization when type is Utilization",
            );
            None
        }
    }
}

/// A Value/AverageValue target. `average_first` is External's precedence (averageValue wins);
/// Object and Pods select by `type`.
fn value_target(
    errs: &mut Errors,
    path: &str,
    t: &MetricTarget,
    allowed: &[&str],
    average_first: bool,
) -> Option<ValueTarget> {
    let p = format!("{path}.target");
    let ok = check_target(errs, &p, t, allowed);
    let value = t
        .value
        .as_ref()
        .and_then(|q| positive_milli(errs, format!("{p}.value"), q));
    let average = t
        .average_value
        .as_ref()
        .and_then(|q| positive_milli(errs, format!("{p}.averageValue"), q));
    if !ok
        || (t.value.is_some() && value.is_none())
        || (t.average_value.is_some() && average.is_none())
    {
        return None;
    }
    match (t.type_.as_str(), value, average) {
        (_, _, Some(a)) if average_first => Some(ValueTarget::AverageValue(a)),
        ("Value", Some(v), _) => Some(ValueTarget::Value(v)),
        ("AverageValue", _, Some(a)) => Some(ValueTarget::AverageValue(a)),
        ("Value", None, _) => {
            errs.required(
                format!("{p}.value"),
                "must set a target value when type is Value",
            );
            None
        }
        (_, _, _) => {
            errs.required(
                format!("{p}.averageValue"),
                "must set a target averageValue when type is AverageValue",
            );
            None
        }
    }
}

/// How the controller names a metric in `ValidMetricFound`, quirks included (a per-pod
/// Object metric is called "external metric").
fn describe(source: &MetricSource, selector: &str) -> String {
    match source {
        MetricSource::Resource {
            resource,
            container,
            target,
        } => {
            let kind = if container.is_some() {
                "container resource"
            } else {
                "resource"
            };
            match target {
                ResourceTarget::Utilization(_) => {
                    format!("{resource} {kind} utilization (percentage of request)")
                }
                ResourceTarget::AverageValue(_) => format!("{resource} {kind}"),
            }
        }
        MetricSource::Pods { metric, .. } => format!("pods metric {metric}"),
        MetricSource::Object {
            metric,
            described_kind,
            target: ValueTarget::Value(_),
            ..
        } => {
            format!("{described_kind} metric {metric}")
        }
        MetricSource::Object { metric, .. } => format!("external metric {metric}({selector})"),
        MetricSource::External {
            metric,
            selector_text,
            ..
        } => format!("external metric {metric}({selector_text})"),
    }
}

/// `%+v` of a `*metav1.LabelSelector` as Go prints it (`<nil>` when absent).
fn selector_text(selector: Option<&serde_json::Value>) -> String {
    let Some(sel) = selector.filter(|s| !s.is_null()) else {
        return "<nil>".to_string();
    };
    let labels: Vec<String> = sel
        .get("matchLabels")
        .and_then(|m| m.as_object())
        .map(|m| {
            m.iter()
                .map(|(k, v)| format!("{k}: {},", v.as_str().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    let exprs: Vec<String> = sel
        .get("matchExpressions")
        .and_then(|m| m.as_array())
        .map(|list| {
            list.iter()
                .map(|e| {
                    let text = |k: &str| {
                        e.get(k)
                            .and_then(|v| v.as_str())
                            .unwrap_or_default()
                            .to_string()
                    };
                    let values: Vec<&str> = e
                        .get("values")
                        .and_then(|v| v.as_array())
                        .map(|v| v.iter().filter_map(|x| x.as_str()).collect())
                        .unwrap_or_default();
                    format!(
                        "LabelSelectorRequirement{{Key:{},Operator:{},Values:[{}],}}",
                        text("key"),
                        text("operator"),
                        values.join(" ")
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    format!(
        "&LabelSelector{{MatchLabels:map[string]string{{{}}},MatchExpressions:[]LabelSelectorRequirement{{{}}},}}",
        labels.join(""),
        exprs.join(",")
    )
}

/// Applies `GenerateHPAScale{Up,Down}Rules` (a given field replaces the default wholesale)
/// and validates the result (`validateScalingRules`).
fn convert_rules(
    errs: &mut Errors,
    path: &str,
    given: Option<&HpaScalingRules>,
    defaults: ScalingRules,
) -> ScalingRules {
    let Some(g) = given else { return defaults };
    let mut rules = defaults;
    if let Some(w) = g.stabilization_window_seconds {
        if w < 0 {
            errs.invalid(
                format!("{path}.stabilizationWindowSeconds"),
                w,
                "must be greater than or equal to zero",
            );
        } else if w > 3600 {
            errs.invalid(
                format!("{path}.stabilizationWindowSeconds"),
                w,
                "must be less than or equal to 3600",
            );
        }
        rules.stabilization_window_s = Some(w);
    }
    if let Some(p) = &g.select_policy {
        rules.select_policy = match p.as_str() {
            "Max" => SelectPolicy::Max,
            "Min" => SelectPolicy::Min,
            "Disabled" => SelectPolicy::Disabled,
            other => {
                errs.unsupported(
                    format!("{path}.selectPolicy"),
                    other,
                    &["Disabled", "Max", "Min"],
                );
                SelectPolicy::Max
            }
        };
    }
    if let Some(policies) = &g.policies {
        rules.policies = policies
            .iter()
            .enumerate()
            .filter_map(|(i, p)| convert_policy(errs, &format!("{path}.policies[{i}]"), p))
            .collect();
        if policies.is_empty() {
            errs.required(
                format!("{path}.policies"),
                "must specify at least one Policy",
            );
        }
    }
    if let Some(t) = &g.tolerance {
        let text = t.as_text();
        match parse_quantity(&text) {
            Err(e) => errs.invalid(format!("{path}.tolerance"), &text, &e.to_string()),
            Ok(q) if q.is_negative() => errs.invalid(
                format!("{path}.tolerance"),
                &text,
                "must be greater than or equal to zero",
            ),
            Ok(q) => rules.tolerance = Some(q.as_f64()),
        }
    }
    rules
}

fn convert_policy(
    errs: &mut Errors,
    path: &str,
    p: &super::HpaScalingPolicy,
) -> Option<ScalingPolicy> {
    let kind = match p.type_.as_str() {
        "Pods" => Some(PolicyKind::Pods),
        "Percent" => Some(PolicyKind::Percent),
        other => {
            errs.unsupported(format!("{path}.type"), other, &["Percent", "Pods"]);
            None
        }
    };
    if p.value <= 0 {
        errs.invalid(
            format!("{path}.value"),
            p.value,
            "must be greater than zero",
        );
    }
    if p.period_seconds <= 0 {
        errs.invalid(
            format!("{path}.periodSeconds"),
            p.period_seconds,
            "must be greater than zero",
        );
    } else if p.period_seconds > 1800 {
        errs.invalid(
            format!("{path}.periodSeconds"),
            p.period_seconds,
            "must be less than or equal to 1800",
        );
    }
    Some(ScalingPolicy {
        kind: kind?,
        value: p.value,
        period_s: p.period_seconds,
    })
}
