//! Resolves the collected workloads into the model: Deployments, Jobs and CronJobs, each
//! with its pod template and its per-workload models from the scenario's `workloads`
//! section. PriorityClasses come first (pods read them); HPAs, PDBs and SLOs last (they
//! refer to the others).

use std::collections::BTreeMap;
use std::sync::Arc;

use autoscaler::model::LabelSelector;

use crate::manifest::apps as ka;
use crate::manifest::batch::{self as kb, ConcurrencyPolicy as KPolicy};
use crate::scenario::cron::CronSchedule;
use crate::scenario::load::demand::{load_and_capacity, no_capacity};
use crate::scenario::load::objects::Objects;
use crate::scenario::load::pod::{pod_template, seconds};
use crate::scenario::load::policy::{hpas, pdbs, priority_classes, slos};
use crate::scenario::load::pools::distribution;
use crate::scenario::load::{Ctx, LoadError, Origin};
use crate::scenario::model::*;
use crate::scenario::spec::{ScenarioSpec, StartupSpec, WorkloadSpec};
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

/// Bounds replicas, HPA maxReplicas, Job parallelism and completions: a simulation of more
/// pods than this per workload is a typo, not a plan.
pub(crate) const MAX_REPLICAS: i32 = 100_000;

/// A namespace as written, or `default`.
pub(crate) fn ns(n: &Option<String>) -> String {
    n.clone()
        .filter(|s| !s.is_empty())
        .unwrap_or_else(|| DEFAULT_NAMESPACE.to_string())
}

/// What every workload conversion reads: the scenario, the classes, the models by workload.
struct Env<'a> {
    spec: &'a ScenarioSpec,
    root: &'a Origin,
    classes: &'a [PriorityClass],
    /// (kind, namespace, name) -> (`workloads` key, its model).
    models: BTreeMap<(&'a str, &'a str, &'a str), (&'a String, &'a WorkloadSpec)>,
}

/// A workload's model and where it sits in the scenario file.
type Model<'a> = Option<(&'a String, &'a WorkloadSpec)>;

impl<'a> Env<'a> {
    fn model(&self, kind: &str, namespace: &str, name: &str) -> Model<'a> {
        self.models.get(&(kind, namespace, name)).copied()
    }

    fn model_at(&self, model: Model) -> Option<Origin> {
        model.map(|(k, _)| self.root.key("workloads").key(k))
    }

    /// The start-up model of a workload: the scenario default with the workload's overrides.
    fn startup(&self, ctx: &Ctx, model: Model) -> Result<StartupModel, LoadError> {
        startup(
            ctx,
            &self.spec.startup,
            model.and_then(|(_, w)| w.startup.as_ref()),
            self.root,
            self.model_at(model),
        )
    }
}

pub(crate) fn resolve(
    ctx: &mut Ctx,
    spec: &ScenarioSpec,
    root: &Origin,
    objects: Objects,
) -> Result<Resolved, LoadError> {
    let classes = priority_classes(ctx, &objects)?;
    let names = WorkloadNames::new(ctx, &objects)?;
    let mut env = Env {
        spec,
        root,
        classes: &classes,
        models: BTreeMap::new(),
    };
    // Every `workloads` key must name exactly one workload.
    for (key, w) in &spec.workloads {
        let Some(found) = names.find(key) else {
            let hint = crate::scenario::yaml::did_you_mean(
                key,
                names.all.iter().map(|(_, _, n)| n.as_str()),
            );
            let why = format!("no Deployment, Job or CronJob named `{key}` in the manifests (use `namespace/name` if the name is ambiguous)");
            return Err(ctx.err_hint(&root.key("workloads").key(key), why, hint));
        };
        env.models.insert(found, (key, w));
    }
    let deployments = objects
        .deployments
        .iter()
        .map(|(at, d)| deployment(ctx, &env, at, d))
        .collect::<Result<Vec<_>, _>>()?;
    let jobs = objects
        .jobs
        .iter()
        .map(|(at, j)| job(ctx, &env, at, j))
        .collect::<Result<Vec<_>, _>>()?;
    let mut cron_jobs = Vec::new();
    for (at, c) in &objects.cron_jobs {
        cron_jobs.push(cron_job(ctx, &env, at, c)?);
    }
    Ok(Resolved {
        hpas: hpas(ctx, &objects, &deployments)?,
        pdbs: pdbs(ctx, &objects)?,
        slos: slos(ctx, spec, root, &classes)?,
        priority_classes: classes.clone(),
        deployments,
        jobs,
        cron_jobs,
    })
}

fn deployment(
    ctx: &Ctx,
    env: &Env,
    at: &Origin,
    d: &ka::Deployment,
) -> Result<Deployment, LoadError> {
    let namespace = ns(&d.metadata.namespace);
    let model = env.model("Deployment", &namespace, &d.metadata.name);
    let template = pod_template(
        ctx,
        &d.spec.template,
        &at.keys("spec.template"),
        &namespace,
        env.classes,
        env.startup(ctx, model)?,
    )?;
    let replicas = d.spec.replicas.unwrap_or(1);
    if !(0..=MAX_REPLICAS).contains(&replicas) {
        return Err(ctx.err(
            &at.keys("spec.replicas"),
            format!("must be between 0 and {MAX_REPLICAS}"),
        ));
    }
    let selector = d.spec.selector.to_model();
    check_selector(ctx, &selector, &template, at)?;
    // kube-scheduler's default topology spread applies to pods a ReplicaSet owns.
    let mut template = template;
    Arc::make_mut(&mut template.scheduling).controller_selector = Some(selector.clone());
    let (load, capacity) = match (model, env.model_at(model)) {
        (Some((_, w)), Some(w_at)) => load_and_capacity(ctx, w, &w_at)?,
        _ => (None, no_capacity()),
    };
    Ok(Deployment {
        namespace,
        name: d.metadata.name.clone(),
        replicas,
        selector,
        template,
        load,
        capacity,
    })
}

fn job(ctx: &Ctx, env: &Env, at: &Origin, j: &kb::Job) -> Result<Job, LoadError> {
    let namespace = ns(&j.metadata.namespace);
    let model = env.model("Job", &namespace, &j.metadata.name);
    let spec = job_spec(ctx, env, &j.spec, &at.key("spec"), &namespace, model)?;
    let start = model
        .and_then(|(_, w)| w.start_at)
        .map_or(SimDuration::ZERO, |d| d.0);
    Ok(Job {
        namespace,
        name: j.metadata.name.clone(),
        start,
        spec,
    })
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
    if !selector.matches(&template.scheduling.labels) {
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

/// A Job spec (of a Job or a CronJob's template) with Kubernetes defaults and its model.
fn job_spec(
    ctx: &Ctx,
    env: &Env,
    j: &kb::JobSpec,
    at: &Origin,
    namespace: &str,
    model: Model,
) -> Result<JobSpec, LoadError> {
    let template = pod_template(
        ctx,
        &j.template,
        &at.key("template"),
        namespace,
        env.classes,
        env.startup(ctx, model)?,
    )?;
    match j.template.spec.restart_policy.as_deref() {
        Some("Never" | "OnFailure") => {}
        other => {
            let v = other.unwrap_or("Always");
            let why =
                format!("Unsupported value: \"{v}\": supported values: \"OnFailure\", \"Never\"");
            return Err(ctx.err(&at.keys("template.spec.restartPolicy"), why));
        }
    }
    let non_negative = |v: Option<i32>, key: &str, default: i32| -> Result<i32, LoadError> {
        match v {
            Some(n) if !(0..=MAX_REPLICAS).contains(&n) => Err(ctx.err(
                &at.key(key),
                format!("must be between 0 and {MAX_REPLICAS}"),
            )),
            Some(n) => Ok(n),
            None => Ok(default),
        }
    };
    let (run_time, failure_probability) = run_model(ctx, model, env.model_at(model))?;
    Ok(JobSpec {
        template,
        parallelism: non_negative(j.parallelism, "parallelism", 1)?,
        completions: non_negative(j.completions, "completions", 1)?,
        backoff_limit: non_negative(j.backoff_limit, "backoffLimit", 6)?,
        active_deadline: seconds(
            ctx,
            j.active_deadline_seconds,
            &at.key("activeDeadlineSeconds"),
        )?,
        ttl_after_finished: seconds(
            ctx,
            j.ttl_seconds_after_finished,
            &at.key("ttlSecondsAfterFinished"),
        )?,
        run_time,
        failure_probability,
    })
}

/// A Job's run time (default 5 minutes) and failure probability (default 0).
fn run_model(
    ctx: &Ctx,
    model: Model,
    at: Option<Origin>,
) -> Result<(Distribution, f64), LoadError> {
    let default_run = Distribution::Constant(SimDuration::from_secs(300));
    let (Some((_, w)), Some(at)) = (model, at) else {
        return Ok((default_run, 0.0));
    };
    let run = match &w.run_time {
        Some(d) => distribution(ctx, d, &at.key("runTime"))?,
        None => default_run,
    };
    let p = w.failure_probability.unwrap_or(0.0);
    if !(0.0..=1.0).contains(&p) {
        return Err(ctx.err(&at.key("failureProbability"), "must be between 0 and 1"));
    }
    Ok((run, p))
}

fn cron_job(ctx: &mut Ctx, env: &Env, at: &Origin, c: &kb::CronJob) -> Result<CronJob, LoadError> {
    let namespace = ns(&c.metadata.namespace);
    let model = env.model("CronJob", &namespace, &c.metadata.name);
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
        env,
        &c.spec.job_template.spec,
        &at.keys("spec.jobTemplate.spec"),
        &namespace,
        model,
    )?;
    Ok(CronJob {
        name: c.metadata.name.clone(),
        schedule,
        concurrency_policy: match c.spec.concurrency_policy {
            None | Some(KPolicy::Allow) => ConcurrencyPolicy::Allow,
            Some(KPolicy::Forbid) => ConcurrencyPolicy::Forbid,
            Some(KPolicy::Replace) => ConcurrencyPolicy::Replace,
        },
        starting_deadline: seconds(
            ctx,
            c.spec.starting_deadline_seconds,
            &at.keys("spec.startingDeadlineSeconds"),
        )?,
        suspend: c.spec.suspend.unwrap_or(false),
        successful_jobs_history_limit: c.spec.successful_jobs_history_limit.unwrap_or(3),
        failed_jobs_history_limit: c.spec.failed_jobs_history_limit.unwrap_or(1),
        namespace,
        job,
    })
}
