//! `headroom hpa evaluate FILE|-`: one reconcile of one HPA, exactly as the Kubernetes
//! controller would do it at `now`, from the objects `kubectl` gives (JSON in, JSON out).
//!
//! [`evaluate`] is the whole computation on a parsed [`wire::EvaluateRequest`]; the CLI
//! ([`run`]) and, later, `POST /v1/hpa/evaluate` only add reading and printing. Bad input is
//! an [`EvaluateError`] naming the field (a JSON path, with line:column for syntax errors);
//! the CLI prints it on stderr and exits 2.

mod observe;
mod time;
pub mod wire;

use std::io::Read;

use autoscaler::hpa::{
    reconcile, Compat, ControllerSettings, Decision, HpaSpec, HpaState, MetricSource,
    Recommendation, ScaleEvent,
};
use autoscaler::quantity::format_milli;
use sim::manifest::hpa::{HpaValidationError, ValidationOptions};

use wire::{
    ConditionJson, ControllerJson, EvaluateRequest, EvaluateResponse, MetricJson,
    RecommendationJson, ScaleEventJson, StateJson,
};

/// The `headroom hpa` subcommands.
#[derive(Debug, clap::Subcommand)]
pub enum HpaCommand {
    /// One reconcile of one HPA, as the Kubernetes controller would do it (JSON in, JSON out).
    Evaluate {
        /// The request document, or `-` for stdin.
        file: String,
    },
}

/// A field of the request that is not what it must be.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {message}")]
pub struct InputError {
    pub path: String,
    pub message: String,
}

impl InputError {
    fn new(path: &str, message: impl Into<String>) -> InputError {
        InputError {
            path: path.to_string(),
            message: message.into(),
        }
    }
}

/// Why a request gives no decision.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum EvaluateError {
    #[error("cannot read {0}: {1}")]
    Read(String, std::io::Error),
    /// Malformed JSON or a field of the wrong type; the path and line:column say where.
    #[error("invalid request JSON at {path}: {source}")]
    Json {
        path: String,
        source: serde_json::Error,
    },
    /// The API server would reject the HPA.
    #[error("the API server would reject this HPA (paths are under `hpa`): {0}")]
    InvalidHpa(#[from] HpaValidationError),
    #[error("invalid request: {0}")]
    Input(#[from] InputError),
}

/// Runs `headroom hpa ...`; returns the process exit code.
pub fn run(command: HpaCommand) -> i32 {
    match command {
        HpaCommand::Evaluate { file } => match read(&file).and_then(|text| evaluate_json(&text)) {
            Ok(json) => {
                println!("{json}");
                0
            }
            Err(e) => {
                eprintln!("error: {e}");
                2
            }
        },
    }
}

fn read(file: &str) -> Result<String, EvaluateError> {
    let mut text = String::new();
    let result = if file == "-" {
        std::io::stdin().read_to_string(&mut text).map(|_| ())
    } else {
        std::fs::File::open(file)
            .and_then(|mut f| f.read_to_string(&mut text))
            .map(|_| ())
    };
    result.map_err(|e| EvaluateError::Read(file.to_string(), e))?;
    Ok(text)
}

/// Parses a request document, evaluates it and renders the response as pretty JSON.
pub fn evaluate_json(text: &str) -> Result<String, EvaluateError> {
    let de = &mut serde_json::Deserializer::from_str(text);
    let request: EvaluateRequest = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        EvaluateError::Json {
            path,
            source: e.into_inner(),
        }
    })?;
    let response = evaluate(&request)?;
    Ok(serde_json::to_string_pretty(&response).expect("responses always serialize"))
}

/// One reconcile of the request's HPA.
pub fn evaluate(req: &EvaluateRequest) -> Result<EvaluateResponse, EvaluateError> {
    let controller = req.controller.clone().unwrap_or_default();
    let settings = settings(&controller)?;
    let opts = ValidationOptions {
        scale_to_zero: controller.scale_to_zero.unwrap_or(false),
    };
    let spec = req.hpa.to_spec(&opts)?;
    let now_ms = observe::time(&req.now, "now")?;
    if req.scale.spec_replicas < 0 {
        return Err(
            InputError::new("scale.specReplicas", "must be greater than or equal to 0").into(),
        );
    }
    if req.scale.status_replicas.is_some_and(|r| r < 0) {
        return Err(
            InputError::new("scale.statusReplicas", "must be greater than or equal to 0").into(),
        );
    }
    let mut state = state_from_json(req.state.as_ref())?;
    let namespace = req.hpa.metadata.namespace.as_deref().unwrap_or("default");
    let mut decision = Decision::default();
    observe::with_observation(req, &spec, namespace, |obs| {
        reconcile(&spec, &settings, obs, &mut state, now_ms, &mut decision)
    })?;
    Ok(response(&spec, &decision, &state))
}

/// The controller flags, defaulted and range-checked.
fn settings(c: &ControllerJson) -> Result<ControllerSettings, InputError> {
    let defaults = ControllerSettings::default();
    let seconds = |value: Option<i64>, name: &str, default_ms: i64| -> Result<i64, InputError> {
        let Some(s) = value else {
            return Ok(default_ms);
        };
        let path = format!("controller.{name}");
        if s < 0 {
            return Err(InputError::new(
                &path,
                format!("must be greater than or equal to 0, got {s}"),
            ));
        }
        s.checked_mul(1000)
            .ok_or_else(|| InputError::new(&path, format!("{s} seconds is too large")))
    };
    let tolerance = c.tolerance.unwrap_or(defaults.tolerance);
    if !(tolerance >= 0.0 && tolerance.is_finite()) {
        return Err(InputError::new(
            "controller.tolerance",
            format!("must be a number >= 0, got {tolerance}"),
        ));
    }
    let compat = c.compatibility.clone().unwrap_or_default();
    let newest = Compat::default();
    Ok(ControllerSettings {
        tolerance,
        cpu_initialization_period_ms: seconds(
            c.cpu_initialization_period_seconds,
            "cpuInitializationPeriodSeconds",
            defaults.cpu_initialization_period_ms,
        )?,
        initial_readiness_delay_ms: seconds(
            c.initial_readiness_delay_seconds,
            "initialReadinessDelaySeconds",
            defaults.initial_readiness_delay_ms,
        )?,
        downscale_stabilization_ms: seconds(
            c.downscale_stabilization_seconds,
            "downscaleStabilizationSeconds",
            defaults.downscale_stabilization_ms,
        )?,
        compat: Compat {
            missing_pod_at_target_over_100: compat
                .missing_pod_at_target_over_100
                .unwrap_or(newest.missing_pod_at_target_over_100),
            absent_container_is_missing: compat
                .absent_container_is_missing
                .unwrap_or(newest.absent_container_is_missing),
            configurable_tolerance: compat
                .configurable_tolerance
                .unwrap_or(newest.configurable_tolerance),
            overflow_caps: compat.overflow_caps.unwrap_or(newest.overflow_caps),
            sidecar_requests: compat.sidecar_requests.unwrap_or(newest.sidecar_requests),
            pod_level_requests: compat
                .pod_level_requests
                .unwrap_or(newest.pod_level_requests),
        },
        ..defaults
    })
}

fn state_from_json(state: Option<&StateJson>) -> Result<HpaState, InputError> {
    let Some(s) = state else {
        return Ok(HpaState::default());
    };
    let recommendations = match &s.recommendations {
        None => None,
        Some(list) => Some(
            list.iter()
                .enumerate()
                .map(|(i, r)| {
                    let path = format!("state.recommendations[{i}].timestamp");
                    Ok(Recommendation {
                        replicas: r.replicas,
                        timestamp_ms: observe::time(&r.timestamp, &path)?,
                    })
                })
                .collect::<Result<_, InputError>>()?,
        ),
    };
    let events = |list: &[ScaleEventJson], name: &str| -> Result<Vec<ScaleEvent>, InputError> {
        list.iter()
            .enumerate()
            .map(|(i, e)| {
                if e.replica_change < 0 {
                    let path = format!("state.{name}[{i}].replicaChange");
                    return Err(InputError::new(
                        &path,
                        "must be greater than or equal to 0 (changes are absolute)",
                    ));
                }
                let path = format!("state.{name}[{i}].timestamp");
                let timestamp_ms = observe::time(&e.timestamp, &path)?;
                Ok(ScaleEvent {
                    replica_change: e.replica_change,
                    timestamp_ms,
                    outdated: e.outdated,
                })
            })
            .collect()
    };
    Ok(HpaState {
        recommendations,
        scale_up_events: events(&s.scale_up_events, "scaleUpEvents")?,
        scale_down_events: events(&s.scale_down_events, "scaleDownEvents")?,
    })
}

fn state_to_json(state: &HpaState) -> StateJson {
    let event = |e: &ScaleEvent| ScaleEventJson {
        replica_change: e.replica_change,
        timestamp: time::format_rfc3339(e.timestamp_ms),
        outdated: e.outdated,
    };
    StateJson {
        recommendations: Some(
            state
                .recommendations
                .iter()
                .flatten()
                .map(|r| RecommendationJson {
                    replicas: r.replicas,
                    timestamp: time::format_rfc3339(r.timestamp_ms),
                })
                .collect(),
        ),
        scale_up_events: state.scale_up_events.iter().map(event).collect(),
        scale_down_events: state.scale_down_events.iter().map(event).collect(),
    }
}

fn response(spec: &HpaSpec, d: &Decision, state: &HpaState) -> EvaluateResponse {
    let metrics = spec
        .metrics
        .iter()
        .enumerate()
        .map(|(i, m)| {
            let status = d.metrics.get(i);
            let current = status.map(|s| s.current).unwrap_or_default();
            let name = match &m.source {
                MetricSource::Resource { resource, .. } => resource.clone(),
                other => other.key().to_string(),
            };
            MetricJson {
                type_: m.source.type_name().to_string(),
                name,
                proposal: status.and_then(|s| s.proposal),
                current_average_utilization: current.average_utilization,
                current_average_value: current.average_value_milli.map(format_milli),
                current_value: current.value_milli.map(format_milli),
                error: status.and_then(|s| s.error.clone()),
            }
        })
        .collect();
    let conditions = d
        .conditions()
        .map(|c| ConditionJson {
            type_: c.type_.as_str().to_string(),
            status: c.status_str().to_string(),
            reason: c.reason.as_str().to_string(),
            message: c.message(spec, d),
        })
        .collect();
    EvaluateResponse {
        desired_replicas: d.desired_replicas,
        rescale: d.rescale,
        metrics,
        conditions,
        state: state_to_json(state),
    }
}
