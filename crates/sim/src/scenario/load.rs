//! The loader: reads a scenario file and the files it references, and turns them into the
//! validated [`Scenario`]. Every error names the file, line and column and the field path.
//!
//! Stages: guard the file (size, text) -> deserialize [`ScenarioSpec`] -> collect the
//! Kubernetes objects, inline or from files (`objects`) -> resolve node pools (`pools`),
//! priority, pod templates and workloads (`workloads`), traces (`trace`), the spot price
//! history (`spot_prices`) -> [`Scenario`].

mod demand;
mod karpenter;
mod nodescale;
mod objects;
mod pod;
mod policy;
mod pools;
mod spot_prices;
mod trace;
mod workloads;

use std::fmt;
use std::path::{Path, PathBuf};

use crate::scenario::model::{
    HpaControllerSettings, Scenario, SchedulerSettings, ScoringStrategy, Settings,
};
use crate::scenario::spec::{ScenarioSpec, ScoringStrategySpec};
use crate::scenario::yaml::{self, path_text, Seg, YamlError};
use crate::time::SimDuration;

/// Scenario, manifest and trace files above this size are refused before parsing.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Bounds `duration / step` (timeline rows, usage samples).
pub const MAX_STEPS: i64 = 10_000_000;

/// All the files of one scenario together (scenario, manifests, traces) may not exceed this.
pub const MAX_TOTAL_BYTES: u64 = 64 * 1024 * 1024;

/// A scenario that cannot be loaded: where, which field, what is wrong, and maybe a hint.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[non_exhaustive]
pub struct LoadError {
    pub file: PathBuf,
    /// 1-based line and column, when the error has a place in the file.
    pub location: Option<(usize, usize)>,
    /// The field path (`spec.template.spec.containers[0].resources.requests.cpu`), if any.
    pub path: String,
    pub message: String,
    pub hint: Option<String>,
}

impl fmt::Display for LoadError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some((line, column)) = self.location {
            write!(f, ":{line}:{column}")?;
        }
        if !self.path.is_empty() {
            write!(f, ": {}", self.path)?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(hint) = &self.hint {
            write!(f, "\nhint: {hint}")?;
        }
        Ok(())
    }
}

/// Loads and validates the scenario at `path`.
pub fn load(path: &Path) -> Result<Scenario, LoadError> {
    let text = read_text(path, MAX_FILE_BYTES).map_err(|message| LoadError {
        file: path.to_path_buf(),
        location: None,
        path: String::new(),
        message,
        hint: None,
    })?;
    load_str(&text, path)
}

/// Loads a scenario from `text`; `origin` names it in errors and anchors relative paths.
pub fn load_str(text: &str, origin: &Path) -> Result<Scenario, LoadError> {
    let mut ctx = Ctx {
        sources: vec![Source {
            file: origin.to_path_buf(),
            text: text.to_string(),
            line_offset: 0,
        }],
        warnings: Vec::new(),
        bytes_read: std::cell::Cell::new(text.len() as u64),
    };
    if text.len() as u64 > MAX_FILE_BYTES {
        return Err(ctx.plain(0, too_large(text.len() as u64)));
    }
    if let Some(why) = not_yaml_text(text) {
        return Err(ctx.plain(0, why));
    }
    if yaml::is_blank(text) {
        return Err(ctx.plain(
            0,
            "the file is empty; a scenario needs at least `duration` and `nodePools`".into(),
        ));
    }
    let spec: ScenarioSpec = yaml::parse_node(text, 0, &[]).map_err(|e| ctx.yaml_err(0, e))?;
    build(&mut ctx, &spec)
}

fn build(ctx: &mut Ctx, spec: &ScenarioSpec) -> Result<Scenario, LoadError> {
    let root = Origin {
        src: 0,
        path: Vec::new(),
    };
    let step = spec.step.map_or(SimDuration::from_secs(60), |d| d.0);
    if spec.duration.0 <= SimDuration::ZERO {
        return Err(ctx.err(&root.key("duration"), "must be greater than zero"));
    }
    if step <= SimDuration::ZERO {
        return Err(ctx.err(&root.key("step"), "must be greater than zero"));
    }
    let steps = spec.duration.0.as_millis() / step.as_millis();
    if steps > MAX_STEPS {
        let why =
            format!("gives {steps} steps over `duration`; at most {MAX_STEPS} (use a larger step)");
        return Err(ctx.err(&root.key("step"), why));
    }
    let start_unix_s = match &spec.start {
        None => 1_704_067_200, // 2024-01-01T00:00:00Z, a Monday.
        Some(s) => parse_rfc3339(s).ok_or_else(|| {
            ctx.err(
                &root.key("start"),
                format!("`{s}` is not an RFC 3339 instant such as `2024-01-01T00:00:00Z`"),
            )
        })?,
    };
    let mut node_pools = pools::node_pools(ctx, spec, &root)?;
    // The history's coverage warnings are about the static pools: a Karpenter pool has no
    // one instance type, and its nodes look their price up when they launch.
    let spot_prices = spot_prices::price_history(
        ctx,
        spec.settings.spot.price_history.as_ref(),
        &node_pools,
        (start_unix_s, spec.duration.0),
        &root.keys("settings.spot.priceHistory"),
    )?;
    let mut objects = objects::collect(ctx, spec, &root)?;
    let karpenter_objects = std::mem::take(&mut objects.node_pools);
    let na = &spec.settings.node_autoscaler;
    let karpenter = match &na.karpenter {
        Some(k) => {
            let at = root.keys("settings.nodeAutoscaler");
            if na.cluster_autoscaler.is_some() {
                return Err(ctx.err(
                    &at,
                    "choose one node autoscaler: `clusterAutoscaler` or `karpenter`",
                ));
            }
            let taken: Vec<String> = node_pools.iter().map(|p| p.name.clone()).collect();
            let (settings, pools) = karpenter::karpenter(
                ctx,
                k,
                &at.key("karpenter"),
                &karpenter_objects,
                node_pools.len(),
                &taken,
            )?;
            node_pools.extend(pools);
            Some(settings)
        }
        None => {
            for (at, np) in &karpenter_objects {
                let place = ctx.place(at);
                ctx.warnings.push(format!(
                    "{place}: NodePool/{} ignored: set `settings.nodeAutoscaler.karpenter` to simulate Karpenter",
                    np.metadata.name
                ));
            }
            None
        }
    };
    let resolved = workloads::resolve(ctx, spec, &root, objects)?;
    let name = spec.name.clone().unwrap_or_else(|| {
        ctx.sources[0]
            .file
            .file_stem()
            .map_or_else(|| "scenario".into(), |s| s.to_string_lossy().into_owned())
    });
    Ok(Scenario {
        name,
        seed: spec.seed,
        duration: spec.duration.0,
        step,
        start_unix_s,
        settings: settings(ctx, spec, &root, &node_pools, spot_prices, karpenter)?,
        node_pools,
        priority_classes: resolved.priority_classes,
        deployments: resolved.deployments,
        hpas: resolved.hpas,
        pdbs: resolved.pdbs,
        jobs: resolved.jobs,
        cron_jobs: resolved.cron_jobs,
        slos: resolved.slos,
        warnings: std::mem::take(&mut ctx.warnings),
    })
}

/// Applies the Kubernetes defaults to the controller settings and checks their ranges.
fn settings(
    ctx: &Ctx,
    spec: &ScenarioSpec,
    root: &Origin,
    pools: &[crate::scenario::model::NodePool],
    spot_prices: crate::scenario::spot_prices::SpotPrices,
    karpenter: Option<crate::scenario::model::KarpenterSettings>,
) -> Result<Settings, LoadError> {
    let s = &spec.settings;
    let or = |d: Option<crate::scenario::spec::Dur>, secs: i64| {
        d.map_or(SimDuration::from_secs(secs), |d| d.0)
    };
    let hpa_at = root.keys("settings.hpa");
    let positive = |d: SimDuration, at: Origin| {
        if d > SimDuration::ZERO {
            Ok(d)
        } else {
            Err(ctx.err(&at, "must be greater than zero"))
        }
    };
    let tolerance = s.hpa.tolerance.unwrap_or(0.1);
    if !(0.0..1.0).contains(&tolerance) {
        return Err(ctx.err(
            &hpa_at.key("tolerance"),
            "must be at least 0 and less than 1",
        ));
    }
    let event_budget = s.event_budget.unwrap_or(200_000_000);
    if event_budget == 0 {
        return Err(ctx.err(
            &root.keys("settings.eventBudget"),
            "must be greater than zero",
        ));
    }
    Ok(Settings {
        scheduler: SchedulerSettings {
            scoring: match s.scheduler.scoring_strategy {
                Some(ScoringStrategySpec::MostAllocated) => ScoringStrategy::MostAllocated,
                _ => ScoringStrategy::LeastAllocated,
            },
            pod_initial_backoff: positive(
                or(s.scheduler.pod_initial_backoff, 1),
                root.keys("settings.scheduler.podInitialBackoff"),
            )?,
            pod_max_backoff: positive(
                or(s.scheduler.pod_max_backoff, 10),
                root.keys("settings.scheduler.podMaxBackoff"),
            )?,
        },
        hpa: HpaControllerSettings {
            sync_period: positive(or(s.hpa.sync_period, 15), hpa_at.key("syncPeriod"))?,
            tolerance,
            cpu_initialization_period: or(s.hpa.cpu_initialization_period, 300),
            initial_readiness_delay: or(s.hpa.initial_readiness_delay, 30),
            downscale_stabilization: or(s.hpa.downscale_stabilization, 300),
            metrics_resolution: positive(
                or(s.hpa.metrics_resolution, 15),
                hpa_at.key("metricsResolution"),
            )?,
            metrics_scrape_lag: or(s.hpa.metrics_scrape_lag, 15),
        },
        event_budget,
        node_autoscaler: nodescale::node_autoscaler(
            ctx,
            &s.node_autoscaler,
            &root.keys("settings.nodeAutoscaler"),
            karpenter,
        )?,
        spot: crate::scenario::model::SpotMarket {
            prices: spot_prices,
            ..nodescale::spot_market(ctx, &s.spot, pools, &root.keys("settings.spot"))?
        },
    })
}

/// Where a node sits: which source (one YAML document), which path.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Origin {
    pub src: usize,
    pub path: Vec<Seg>,
}

impl Origin {
    pub fn key(&self, k: &str) -> Origin {
        let mut o = self.clone();
        o.path.push(Seg::Key(k.to_string()));
        o
    }
    pub fn index(&self, i: usize) -> Origin {
        let mut o = self.clone();
        o.path.push(Seg::Index(i));
        o
    }
    /// Follows a dotted path of keys (`spec.template.spec`).
    pub fn keys(&self, dotted: &str) -> Origin {
        dotted.split('.').fold(self.clone(), |o, k| o.key(k))
    }
}

/// One YAML document read so far: its file, its text, and the line it starts on in the file.
pub(crate) struct Source {
    pub file: PathBuf,
    pub text: String,
    pub line_offset: usize,
}

impl Source {
    fn shift(&self, location: Option<(usize, usize)>) -> Option<(usize, usize)> {
        location.map(|(line, column)| (line + self.line_offset, column))
    }
}

/// The documents read so far (for locating errors after the fact) and the warnings.
pub(crate) struct Ctx {
    pub sources: Vec<Source>,
    pub warnings: Vec<String>,
    /// Bytes of all files read so far, bounded by [`MAX_TOTAL_BYTES`] (a scenario may name
    /// the same big file many times).
    pub bytes_read: std::cell::Cell<u64>,
}

impl Ctx {
    /// An error at `at`, located in its source.
    pub fn err(&self, at: &Origin, message: impl Into<String>) -> LoadError {
        self.err_hint(at, message, None)
    }

    pub fn err_hint(
        &self,
        at: &Origin,
        message: impl Into<String>,
        hint: Option<String>,
    ) -> LoadError {
        let src = &self.sources[at.src];
        LoadError {
            file: src.file.clone(),
            location: src.shift(locate_nearest(&src.text, &at.path)),
            path: path_text(&at.path),
            message: message.into(),
            hint,
        }
    }

    /// An error about a whole file.
    pub fn plain(&self, src: usize, message: String) -> LoadError {
        LoadError {
            file: self.sources[src].file.clone(),
            location: None,
            path: String::new(),
            message,
            hint: None,
        }
    }

    pub fn yaml_err(&self, src: usize, e: YamlError) -> LoadError {
        LoadError {
            file: self.sources[src].file.clone(),
            location: self.sources[src].shift(e.location),
            path: e.path,
            message: e.message,
            hint: e.hint,
        }
    }

    /// `file:line` of a node, for warnings.
    pub fn place(&self, at: &Origin) -> String {
        let src = &self.sources[at.src];
        match src.shift(locate_nearest(&src.text, &at.path)) {
            Some((line, _)) => format!("{}:{line}", src.file.display()),
            None => src.file.display().to_string(),
        }
    }

    /// Reads a file that `at` refers to (relative to the scenario file), within `limit`.
    pub fn read_referenced(
        &self,
        at: &Origin,
        rel: &str,
        limit: u64,
    ) -> Result<(PathBuf, String), LoadError> {
        let base = self.sources[0].file.parent().unwrap_or(Path::new(""));
        let path = base.join(rel);
        match std::fs::metadata(&path) {
            Err(e) => return Err(self.err(at, format!("cannot read `{}`: {e}", path.display()))),
            Ok(m) if m.is_dir() => {
                return Err(self.err(
                    at,
                    format!("`{}` is a directory, not a file", path.display()),
                ))
            }
            Ok(m) => {
                let total = self.bytes_read.get().saturating_add(m.len());
                if total > MAX_TOTAL_BYTES {
                    let why = format!("reading `{}` takes the scenario's files over {MAX_TOTAL_BYTES} bytes (64 MiB) in all", path.display());
                    return Err(self.err(at, why));
                }
                self.bytes_read.set(total);
            }
        }
        let text = read_text(&path, limit).map_err(|message| LoadError {
            file: path.clone(),
            location: None,
            path: String::new(),
            message,
            hint: None,
        })?;
        Ok((path, text))
    }
}

/// The position of `path`, or of its nearest ancestor present in the document (a defaulted
/// field is absent; its parent is the closest place to point at).
fn locate_nearest(text: &str, path: &[Seg]) -> Option<(usize, usize)> {
    (0..=path.len())
        .rev()
        .find_map(|n| yaml::locate(text, 0, &path[..n]))
}

/// Reads a text file, refusing big, binary or non-UTF-8 files before any parsing.
fn read_text(path: &Path, limit: u64) -> Result<String, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("cannot read the file: {e}"))?;
    if meta.len() > limit {
        return Err(too_large(meta.len()));
    }
    let bytes = std::fs::read(path).map_err(|e| format!("cannot read the file: {e}"))?;
    let text = String::from_utf8(bytes).map_err(|e| {
        format!(
            "not a text file: invalid UTF-8 at byte {}; expected YAML",
            e.utf8_error().valid_up_to()
        )
    })?;
    match not_yaml_text(&text) {
        Some(why) => Err(why),
        None => Ok(text),
    }
}

fn too_large(len: u64) -> String {
    format!("the file is {len} bytes, over the limit of {MAX_FILE_BYTES} bytes (16 MiB) for scenario, manifest and trace files")
}

/// YAML text has no NUL bytes; finding one means binary data.
fn not_yaml_text(text: &str) -> Option<String> {
    text.find('\0')
        .map(|i| format!("not a text file: NUL byte at byte {i}; expected YAML"))
}

/// `2024-01-01T00:00:00Z` or `2024-01-01T02:00:00+02:00` (fractions of a second are dropped).
pub fn parse_rfc3339(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || !(b[10] == b'T' || b[10] == b't' || b[10] == b' ')
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |r: std::ops::Range<usize>| -> Option<i64> { s.get(r)?.parse().ok() };
    let (y, mo, d, h, mi, sec) = (
        num(0..4)?,
        num(5..7)?,
        num(8..10)?,
        num(11..13)?,
        num(14..16)?,
        num(17..19)?,
    );
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let mut rest = s.get(19..)?;
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return None;
        }
        rest = &frac[n..];
    }
    let offset_s = match rest {
        "Z" | "z" => 0,
        _ if rest.len() == 6
            && (rest.starts_with('+') || rest.starts_with('-'))
            && rest.get(3..4) == Some(":") =>
        {
            let (oh, om): (i64, i64) =
                (rest.get(1..3)?.parse().ok()?, rest.get(4..6)?.parse().ok()?);
            let sign = if rest.starts_with('-') { -1 } else { 1 };
            sign * (oh * 3600 + om * 60)
        }
        _ => return None,
    };
    let days = crate::scenario::cron::days_from_civil(y, mo as u32, d as u32);
    Some(days * 86_400 + h * 3600 + mi * 60 + sec - offset_s)
}

#[cfg(test)]
#[path = "load_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "load_props.rs"]
mod props;

#[cfg(test)]
#[path = "load_karpenter_tests.rs"]
mod karpenter_tests;
