//! Resolves the collected Kubernetes objects into the model: PriorityClasses first (pods
//! read them), then Deployments, Jobs and CronJobs with their per-workload models from the
//! scenario's `workloads` section, then HPAs, PDBs and SLOs, which refer to the others.

use std::sync::Arc;

use autoscaler::model::{LabelSelector, PreemptionPolicy};

use crate::manifest::batch::{self as kb, ConcurrencyPolicy as KPolicy};
use crate::manifest::common::IntOrString;
use crate::scenario::cron::CronSchedule;
use crate::scenario::load::objects::Objects;
use crate::scenario::load::pod::pod_template;
use crate::scenario::load::pools::distribution;
use crate::scenario::load::trace::load_trace;
use crate::scenario::load::{Ctx, LoadError, Origin};
use crate::scenario::model::*;
use crate::scenario::spec::{LoadSpec, ScenarioSpec, StartupSpec, WorkloadSpec};
use crate::time::SimDuration;

/// Everything the objects resolve into.
pub(crate) struct Resolved {
    pub priority_classes: Vec<PriorityClass>,
    pub deployments: Vec<Deployment>,
    pub hpas: Vec<Hpa>,
    pub pdbs: Vec<PodDisruptionBudget>,
    pub jobs: Vec<Job>,
    pub cron_jobs: Vec<CronJob>,
    pub slos: Slos,
}

const DEFAULT_NAMESPACE: &str = "default";

fn ns(n: &Option<String>) -> String {
    n.clone()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| DEFAULT_NAMESPACE.to_string())
}

pub(crate) fn resolve(
    ctx: &mut Ctx,
    spec: &ScenarioSpec,
    root: &Origin,
    objects: Objects,
    _step: SimDuration,
) -> Result<Resolved, LoadError> {
    let classes = priority_classes(ctx, &objects)?;
    let names = WorkloadNames::new(ctx, &objects)?;
    let wl_at = root.key("workloads");
    // Every `workloads` key must name a workload.
    for key in spec.workloads.keys() {
        if names.find(key).is_none() {
            let hint = crate::scenario::yaml::did_you_mean(
                key,
                names.all.iter().map(|(_, _, n)| n.as_str()),
            );
            return Err(ctx.err_hint(
                &wl_at.key(key),
                format!("no Deployment, Job or CronJob named `{key}` in the manifests"),
                hint,
            ));
        }
    }
    // Which `workloads` entry models which workload, resolved once.
    let mut keyed: std::collections::BTreeMap<(&str, &str, &str), (&String, &WorkloadSpec)> =
        Default::default();
    for (key, w) in &spec.workloads {
        keyed.insert(names.find(key).expect("checked above"), (key, w));
    }
    let model_of =
        |kind: &str, namespace: &str, name: &str| keyed.get(&(kind, namespace, name)).copied();
    let mut deployments = Vec::new();
    for (at, d) in &objects.deployments {
        let namespace = ns(&d.metadata.namespace);
        let model = model_of("Deployment", &namespace, &d.metadata.name);
        let startup = startup(
            ctx,
            &spec.startup,
            model.and_then(|(_, w)| w.startup.as_ref()),
            root,
            model.map(|(k, _)| wl_at.key(k)),
        )?;
        let template = pod_template(
            ctx,
            &d.spec.template,
            &at.keys("spec.template"),
            &namespace,
            &classes,
            startup,
        )?;
        let replicas = d.spec.replicas.unwrap_or(1);
        if replicas < 0 {
            return Err(ctx.err(
                &at.keys("spec.replicas"),
                "must be greater than or equal to 0",
            ));
        }
        let selector = d.spec.selector.to_model();
        check_selector(ctx, &selector, &template, at)?;
        // kube-scheduler's default topology spread applies to pods a ReplicaSet owns.
        let mut template = template;
        Arc::make_mut(&mut template.scheduling).controller_selector = Some(selector.clone());
        let (load, capacity) = match model {
            Some((key, w)) => load_and_capacity(ctx, w, &wl_at.key(key))?,
            None => (None, no_capacity()),
        };
        deployments.push(Deployment {
            namespace,
            name: d.metadata.name.clone(),
            replicas,
            selector,
            template,
            load,
            capacity,
        });
    }
    let mut jobs = Vec::new();
    for (at, j) in &objects.jobs {
        let namespace = ns(&j.metadata.namespace);
        let model = model_of("Job", &namespace, &j.metadata.name);
        let spec_at = at.key("spec");
        let job = job_spec(
            ctx, spec, root, &j.spec, &spec_at, &namespace, &classes, model,
        )?;
        let start = model
            .and_then(|(_, w)| w.start_at)
            .map_or(SimDuration::ZERO, |d| d.0);
        jobs.push(Job {
            namespace,
            name: j.metadata.name.clone(),
            start,
            spec: job,
        });
    }
    let mut cron_jobs = Vec::new();
    for (at, c) in &objects.cron_jobs {
        let namespace = ns(&c.metadata.namespace);
        let model = model_of("CronJob", &namespace, &c.metadata.name);
        cron_jobs.push(cron_job(
            ctx, spec, root, c, at, namespace, &classes, model,
        )?);
    }
    let hpas = hpas(ctx, &objects, &deployments)?;
    let pdbs = pdbs(ctx, &objects)?;
    let slos = slos(ctx, spec, root, &classes)?;
    Ok(Resolved {
        priority_classes: classes,
        deployments,
        hpas,
        pdbs,
        jobs,
        cron_jobs,
        slos,
    })
}

/// The PriorityClasses of the manifests plus the two built-in system classes.
fn priority_classes(ctx: &Ctx, objects: &Objects) -> Result<Vec<PriorityClass>, LoadError> {
    let system = |name: &str, value| PriorityClass {
        name: name.into(),
        value,
        global_default: false,
        preemption_policy: PreemptionPolicy::PreemptLowerPriority,
    };
    let mut classes = vec![
        system("system-cluster-critical", 2_000_000_000),
        system("system-node-critical", 2_000_001_000),
    ];
    for (at, pc) in &objects.priority_classes {
        let name = &pc.metadata.name;
        if classes.iter().any(|c| &c.name == name) {
            return Err(ctx.err(
                &at.keys("metadata.name"),
                format!("duplicate PriorityClass `{name}`"),
            ));
        }
        if pc.value > 1_000_000_000 {
            return Err(ctx.err(
                &at.key("value"),
                "must be no greater than 1000000000 (user-defined classes)",
            ));
        }
        if pc.global_default && classes.iter().any(|c| c.global_default) {
            return Err(ctx.err(
                &at.key("globalDefault"),
                "only one PriorityClass can be marked globalDefault",
            ));
        }
        classes.push(PriorityClass {
            name: name.clone(),
            value: pc.value,
            global_default: pc.global_default,
            preemption_policy: pc.preemption_policy.unwrap_or_default(),
        });
    }
    Ok(classes)
}

/// (kind, namespace, name) of every workload, for `workloads` keys (`name` or `ns/name`).
struct WorkloadNames {
    all: Vec<(&'static str, String, String)>,
}

impl WorkloadNames {
    fn new(ctx: &Ctx, o: &Objects) -> Result<WorkloadNames, LoadError> {
        let mut all: Vec<(&'static str, String, String)> = Vec::new();
        let mut add = |kind: &'static str, at: &Origin, namespace: &Option<String>, name: &str| {
            if name.is_empty() {
                return Err(ctx.err(&at.key("metadata"), "metadata.name: Required value"));
            }
            let key = (kind, ns(namespace), name.to_string());
            if all.contains(&key) {
                return Err(ctx.err(
                    &at.keys("metadata.name"),
                    format!("duplicate {kind} `{}/{name}`", key.1),
                ));
            }
            all.push(key);
            Ok(())
        };
        for (at, d) in &o.deployments {
            add("Deployment", at, &d.metadata.namespace, &d.metadata.name)?;
        }
        for (at, j) in &o.jobs {
            add("Job", at, &j.metadata.namespace, &j.metadata.name)?;
        }
        for (at, c) in &o.cron_jobs {
            add("CronJob", at, &c.metadata.namespace, &c.metadata.name)?;
        }
        Ok(WorkloadNames { all })
    }

    /// The one workload a key names (ambiguous plain names match nothing).
    fn find(&self, key: &str) -> Option<(&str, &str, &str)> {
        let hits: Vec<_> = self
            .all
            .iter()
            .filter(|(_, n, name)| match key.split_once('/') {
                Some((kns, kname)) => kns == n && kname == name,
                None => key == name,
            })
            .collect();
        match hits.as_slice() {
            [(kind, n, name)] => Some((kind, n.as_str(), name.as_str())),
            _ => None,
        }
    }
}

fn check_selector(
    ctx: &Ctx,
    selector: &LabelSelector,
    template: &PodTemplate,
    at: &Origin,
) -> Result<(), LoadError> {
    if selector.match_labels.is_empty() && selector.match_expressions.is_empty() {
        return Err(ctx.err(
            &at.keys("spec.selector"),
            "Invalid value: empty selector is invalid for deployment",
        ));
    }
    let labels = &template.scheduling.labels;
    if selector
        .match_labels
        .iter()
        .any(|(k, v)| labels.get(k) != Some(v))
    {
        return Err(ctx.err(
            &at.keys("spec.template.metadata.labels"),
            "Invalid value: `selector` does not match template `labels`",
        ));
    }
    Ok(())
}

/// The scenario's default start-up model, with a workload's overrides field by field.
fn startup(
    ctx: &Ctx,
    base: &StartupSpec,
    over: Option<&StartupSpec>,
    root: &Origin,
    over_at: Option<Origin>,
) -> Result<StartupModel, LoadError> {
    let base_at = root.key("startup");
    let over_at = over_at.map(|o| o.key("startup"));
    let pick = |f: fn(&StartupSpec) -> Option<&crate::scenario::spec::DistributionSpec>,
                key: &str,
                default: Distribution|
     -> Result<Distribution, LoadError> {
        if let (Some(o), Some(at)) = (over.and_then(f), &over_at) {
            return distribution(ctx, o, &at.key(key));
        }
        match f(base) {
            Some(d) => distribution(ctx, d, &base_at.key(key)),
            None => Ok(default),
        }
    };
    let secs = SimDuration::from_secs;
    let burst = over.and_then(|o| o.cpu_burst).or(base.cpu_burst);
    let burst_for = over
        .and_then(|o| o.cpu_burst_duration)
        .or(base.cpu_burst_duration);
    Ok(StartupModel {
        image_pull: pick(
            |s| s.image_pull.as_ref(),
            "imagePull",
            Distribution::LogNormal {
                median: secs(3),
                sigma: 0.5,
            },
        )?,
        container_start: pick(
            |s| s.container_start.as_ref(),
            "containerStart",
            Distribution::Constant(secs(1)),
        )?,
        readiness_delay: pick(
            |s| s.readiness_delay.as_ref(),
            "readinessDelay",
            Distribution::Constant(secs(5)),
        )?,
        cpu_burst_m: burst.map_or(0.0, |q| q.0.as_nano() as f64 / 1e6),
        cpu_burst_duration: burst_for.map_or(secs(30), |d| d.0),
    })
}

/// Capacity of a workload without a model: usage 0, never saturates.
fn no_capacity() -> CapacityModel {
    CapacityModel {
        cpu_m_baseline: 0.0,
        cpu_m_per_rps: 0.0,
        memory_bytes_baseline: 0.0,
        memory_bytes_per_rps: 0.0,
        max_rps_per_pod: f64::INFINITY,
        queue: false,
    }
}

fn load_and_capacity(
    ctx: &Ctx,
    w: &WorkloadSpec,
    at: &Origin,
) -> Result<(Option<LoadModel>, CapacityModel), LoadError> {
    let load = match &w.load {
        None => None,
        Some(LoadSpec {
            trace: Some(t),
            synthetic: None,
        }) => {
            let (step, values) = load_trace(ctx, t, &at.keys("load.trace"))?;
            Some(LoadModel::Trace {
                step,
                values: Arc::new(values),
            })
        }
        Some(LoadSpec {
            trace: None,
            synthetic: Some(s),
        }) => Some(LoadModel::Synthetic(synthetic(
            ctx,
            s,
            &at.keys("load.synthetic"),
        )?)),
        Some(_) => {
            return Err(ctx.err(
                &at.key("load"),
                "write exactly one of `trace` and `synthetic`",
            ))
        }
    };
    let capacity = match &w.capacity {
        None if load.is_some() => {
            return Err(ctx.err(
                &at.key("load"),
                "a workload with `load` needs `capacity` (how load becomes usage)",
            ))
        }
        None => no_capacity(),
        Some(c) => {
            if !(c.max_rps_per_pod.is_finite() && c.max_rps_per_pod > 0.0) {
                return Err(ctx.err(
                    &at.keys("capacity.maxRpsPerPod"),
                    "must be a positive number",
                ));
            }
            let f = |q: Option<crate::scenario::spec::Qty>, per: f64| {
                q.map_or(0.0, |q| q.0.as_nano() as f64 / per)
            };
            CapacityModel {
                cpu_m_baseline: f(c.cpu_baseline, 1e6),
                cpu_m_per_rps: f(c.cpu_per_rps, 1e6),
                memory_bytes_baseline: f(c.memory_baseline, 1e9),
                memory_bytes_per_rps: f(c.memory_per_rps, 1e9),
                max_rps_per_pod: c.max_rps_per_pod,
                queue: c.queue,
            }
        }
    };
    Ok((load, capacity))
}

fn synthetic(
    ctx: &Ctx,
    s: &crate::scenario::spec::SyntheticSpec,
    at: &Origin,
) -> Result<SyntheticLoad, LoadError> {
    let unit = |v: f64, key: &str| -> Result<f64, LoadError> {
        if (0.0..=1.0).contains(&v) {
            Ok(v)
        } else {
            Err(ctx.err(&at.keys(key), "must be between 0 and 1"))
        }
    };
    if !(s.base_rps.is_finite() && s.base_rps >= 0.0) {
        return Err(ctx.err(&at.key("baseRps"), "must be a non-negative number"));
    }
    let noise = s.noise.unwrap_or(0.0);
    if !(noise.is_finite() && (0.0..=10.0).contains(&noise)) {
        return Err(ctx.err(&at.key("noise"), "must be between 0 and 10"));
    }
    let peak = s.daily.as_ref().and_then(|d| d.peak_hour).unwrap_or(14.0);
    if !(0.0..24.0).contains(&peak) {
        return Err(ctx.err(&at.keys("daily.peakHour"), "must be in 0..24"));
    }
    let mut spikes = Vec::new();
    for (i, sp) in s.spikes.iter().enumerate() {
        if !(sp.multiplier.is_finite() && sp.multiplier >= 0.0) {
            return Err(ctx.err(
                &at.key("spikes").index(i).key("multiplier"),
                "must be a non-negative number",
            ));
        }
        spikes.push(Spike {
            at: sp.at.0,
            duration: sp.duration.0,
            multiplier: sp.multiplier,
        });
    }
    Ok(SyntheticLoad {
        base_rps: s.base_rps,
        daily_amplitude: s
            .daily
            .as_ref()
            .map_or(Ok(0.0), |d| unit(d.amplitude, "daily.amplitude"))?,
        daily_peak_hour: peak,
        weekly_amplitude: s
            .weekly
            .as_ref()
            .map_or(Ok(0.0), |w| unit(w.amplitude, "weekly.amplitude"))?,
        noise,
        spikes,
    })
}

#[allow(clippy::too_many_arguments)]
fn job_spec(
    ctx: &Ctx,
    spec: &ScenarioSpec,
    root: &Origin,
    j: &kb::JobSpec,
    at: &Origin,
    namespace: &str,
    classes: &[PriorityClass],
    model: Option<(&String, &WorkloadSpec)>,
) -> Result<JobSpec, LoadError> {
    let wl_at = model.map(|(k, _)| root.key("workloads").key(k));
    let startup = startup(
        ctx,
        &spec.startup,
        model.and_then(|(_, w)| w.startup.as_ref()),
        root,
        wl_at.clone(),
    )?;
    let template = pod_template(
        ctx,
        &j.template,
        &at.key("template"),
        namespace,
        classes,
        startup,
    )?;
    match j.template.spec.restart_policy.as_deref() {
        Some("Never" | "OnFailure") => {}
        other => {
            let v = other.unwrap_or("Always");
            return Err(ctx.err(
                &at.keys("template.spec.restartPolicy"),
                format!("Unsupported value: \"{v}\": supported values: \"OnFailure\", \"Never\""),
            ));
        }
    }
    let non_negative = |v: Option<i32>, key: &str, default: i32| -> Result<i32, LoadError> {
        match v {
            Some(n) if n < 0 => Err(ctx.err(&at.key(key), "must be greater than or equal to 0")),
            Some(n) => Ok(n),
            None => Ok(default),
        }
    };
    let parallelism = non_negative(j.parallelism, "parallelism", 1)?;
    let completions = non_negative(j.completions, "completions", 1)?;
    let backoff_limit = non_negative(j.backoff_limit, "backoffLimit", 6)?;
    let (run_time, failure_probability) = match model {
        Some((_, w)) => {
            let at = wl_at.expect("model has a key");
            let run = w
                .run_time
                .as_ref()
                .map(|d| distribution(ctx, d, &at.key("runTime")))
                .transpose()?;
            let p = w.failure_probability.unwrap_or(0.0);
            if !(0.0..=1.0).contains(&p) {
                return Err(ctx.err(&at.key("failureProbability"), "must be between 0 and 1"));
            }
            (run, p)
        }
        None => (None, 0.0),
    };
    Ok(JobSpec {
        template,
        parallelism,
        completions,
        backoff_limit,
        active_deadline: j.active_deadline_seconds.map(SimDuration::from_secs),
        ttl_after_finished: j.ttl_seconds_after_finished.map(SimDuration::from_secs),
        run_time: run_time.unwrap_or(Distribution::Constant(SimDuration::from_secs(300))),
        failure_probability,
    })
}

#[allow(clippy::too_many_arguments)]
fn cron_job(
    ctx: &mut Ctx,
    spec: &ScenarioSpec,
    root: &Origin,
    c: &kb::CronJob,
    at: &Origin,
    namespace: String,
    classes: &[PriorityClass],
    model: Option<(&String, &WorkloadSpec)>,
) -> Result<CronJob, LoadError> {
    let schedule = CronSchedule::parse(&c.spec.schedule)
        .map_err(|e| ctx.err(&at.keys("spec.schedule"), e.0))?;
    if let Some(tz) = c
        .spec
        .time_zone
        .as_deref()
        .filter(|tz| !["UTC", "Etc/UTC"].contains(tz))
    {
        let place = ctx.place(&at.keys("spec.timeZone"));
        ctx.warnings.push(format!(
            "{place}: CronJob `{}`: timeZone `{tz}` is read as UTC",
            c.metadata.name
        ));
    }
    let job = job_spec(
        ctx,
        spec,
        root,
        &c.spec.job_template.spec,
        &at.keys("spec.jobTemplate.spec"),
        &namespace,
        classes,
        model,
    )?;
    Ok(CronJob {
        namespace,
        name: c.metadata.name.clone(),
        schedule,
        concurrency_policy: match c.spec.concurrency_policy {
            None | Some(KPolicy::Allow) => ConcurrencyPolicy::Allow,
            Some(KPolicy::Forbid) => ConcurrencyPolicy::Forbid,
            Some(KPolicy::Replace) => ConcurrencyPolicy::Replace,
        },
        starting_deadline: c.spec.starting_deadline_seconds.map(SimDuration::from_secs),
        suspend: c.spec.suspend.unwrap_or(false),
        successful_jobs_history_limit: c.spec.successful_jobs_history_limit.unwrap_or(3),
        failed_jobs_history_limit: c.spec.failed_jobs_history_limit.unwrap_or(1),
        job,
    })
}

fn hpas(ctx: &Ctx, objects: &Objects, deployments: &[Deployment]) -> Result<Vec<Hpa>, LoadError> {
    let mut out = Vec::new();
    for (at, h) in &objects.hpas {
        let namespace = ns(&h.metadata.namespace);
        let target = &h.spec.scale_target_ref;
        if target.kind != "Deployment" {
            return Err(ctx.err(
                &at.keys("spec.scaleTargetRef.kind"),
                format!(
                    "headroom scales Deployments; `{}` is not supported",
                    target.kind
                ),
            ));
        }
        if !deployments
            .iter()
            .any(|d| d.namespace == namespace && d.name == target.name)
        {
            let hint = crate::scenario::yaml::did_you_mean(
                &target.name,
                deployments.iter().map(|d| d.name.as_str()),
            );
            return Err(ctx.err_hint(
                &at.keys("spec.scaleTargetRef.name"),
                format!(
                    "no Deployment `{namespace}/{}` in the manifests",
                    target.name
                ),
                hint,
            ));
        }
        let min = h.spec.min_replicas.unwrap_or(1);
        if min < 1 {
            return Err(ctx.err(
                &at.keys("spec.minReplicas"),
                "must be greater than or equal to 1",
            ));
        }
        if h.spec.max_replicas < min {
            return Err(ctx.err(
                &at.keys("spec.maxReplicas"),
                "must be greater than or equal to `minReplicas`",
            ));
        }
        let spec = h
            .to_spec(&crate::manifest::hpa::ValidationOptions::default())
            .map_err(|e| {
                let first = &e.errors[0];
                ctx.err(&origin_of_path(at, &first.path), e.to_string())
            })?;
        let deployment = deployments
            .iter()
            .position(|d| d.namespace == namespace && d.name == target.name)
            .expect("checked above");
        out.push(Hpa {
            namespace,
            name: h.metadata.name.clone(),
            deployment,
            spec,
        });
    }
    Ok(out)
}

/// The origin of an API field path such as `spec.metrics[0].resource.target`.
fn origin_of_path(at: &Origin, path: &str) -> Origin {
    path.split('.')
        .fold(at.clone(), |o, seg| match seg.split_once('[') {
            Some((key, rest)) => {
                let o = o.key(key);
                match rest.trim_end_matches(']').parse::<usize>() {
                    Ok(i) => o.index(i),
                    Err(_) => o,
                }
            }
            None => o.key(seg),
        })
}

fn pdbs(ctx: &Ctx, objects: &Objects) -> Result<Vec<PodDisruptionBudget>, LoadError> {
    let mut out = Vec::new();
    for (at, p) in &objects.pdbs {
        let value = |v: &Option<IntOrString>,
                     key: &str|
         -> Result<Option<IntOrPercent>, LoadError> {
            let at = at.keys("spec").key(key);
            match v {
                None => Ok(None),
                Some(IntOrString::Int(n)) => i32::try_from(*n).ok().filter(|n| *n >= 0).map(|n| Some(IntOrPercent::Int(n))).ok_or_else(|| ctx.err(&at, "must be greater than or equal to 0")),
                Some(IntOrString::String(s)) => s
                    .strip_suffix('%')
                    .and_then(|p| p.parse::<i32>().ok())
                    .filter(|p| (0..=100).contains(p))
                    .map(|p| Some(IntOrPercent::Percent(p)))
                    .ok_or_else(|| ctx.err(&at, format!("Invalid value: \"{s}\": must be an integer or a percentage between 0% and 100%"))),
            }
        };
        let min_available = value(&p.spec.min_available, "minAvailable")?;
        let max_unavailable = value(&p.spec.max_unavailable, "maxUnavailable")?;
        if min_available.is_some() && max_unavailable.is_some() {
            return Err(ctx.err(
                &at.key("spec"),
                "minAvailable and maxUnavailable cannot be both set",
            ));
        }
        let selector = p
            .spec
            .selector
            .as_ref()
            .map(|s| s.to_model())
            .unwrap_or_default();
        out.push(PodDisruptionBudget {
            namespace: ns(&p.metadata.namespace),
            name: p.metadata.name.clone(),
            selector,
            min_available,
            max_unavailable,
        });
    }
    Ok(out)
}

fn slos(
    ctx: &Ctx,
    spec: &ScenarioSpec,
    root: &Origin,
    classes: &[PriorityClass],
) -> Result<Slos, LoadError> {
    let at = root.key("slos");
    if let Some(v) = spec.slos.demand_served_min {
        if !(0.0..=1.0).contains(&v) {
            return Err(ctx.err(
                &at.key("demandServedMin"),
                "must be between 0 and 1 (0.999 means 99.9 %)",
            ));
        }
    }
    for tier in spec.slos.max_pending_by_tier.keys() {
        if !classes.iter().any(|c| &c.name == tier) {
            let hint =
                crate::scenario::yaml::did_you_mean(tier, classes.iter().map(|c| c.name.as_str()));
            return Err(ctx.err_hint(
                &at.key("maxPendingByTier").key(tier),
                format!("no PriorityClass named `{tier}`"),
                hint,
            ));
        }
    }
    Ok(Slos {
        demand_served_min: spec.slos.demand_served_min,
        max_pending_by_tier: spec
            .slos
            .max_pending_by_tier
            .iter()
            .map(|(k, v)| (k.clone(), v.0))
            .collect(),
    })
}
