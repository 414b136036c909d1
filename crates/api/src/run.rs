//! `headroom run`: simulate a scenario, print the summary (or the JSON report), and stream
//! the timeline to CSV files under `--out`.

use std::fmt::Write as _;
use std::fs::File;
use std::io::BufWriter;
use std::path::Path;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use sim::engine::report::Report;
use sim::engine::{NoTimeline, NodeRow, PendingRow, TimelineSink, WorkloadRow};
use sim::scenario::model::Scenario;

/// Writes the three timeline tables as CSV, row by row, as the engine produces them.
pub struct CsvTimeline {
    nodes: csv::Writer<BufWriter<File>>,
    workloads: csv::Writer<BufWriter<File>>,
    pending: csv::Writer<BufWriter<File>>,
}

impl CsvTimeline {
    pub fn create(dir: &Path) -> anyhow::Result<CsvTimeline> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let open = |name: &str| -> anyhow::Result<csv::Writer<BufWriter<File>>> {
            let path = dir.join(name);
            let f = File::create(&path).with_context(|| format!("creating {}", path.display()))?;
            Ok(csv::Writer::from_writer(BufWriter::with_capacity(
                1 << 16,
                f,
            )))
        };
        Ok(CsvTimeline {
            nodes: open("nodes.csv")?,
            workloads: open("workloads.csv")?,
            pending: open("pending.csv")?,
        })
    }

    pub fn finish(mut self) -> anyhow::Result<()> {
        self.nodes.flush()?;
        self.workloads.flush()?;
        self.pending.flush()?;
        Ok(())
    }
}

fn io(e: csv::Error) -> std::io::Error {
    std::io::Error::other(e)
}

impl TimelineSink for CsvTimeline {
    fn node_row(&mut self, row: &NodeRow<'_>) -> std::io::Result<()> {
        self.nodes.serialize(row).map_err(io)
    }
    fn workload_row(&mut self, row: &WorkloadRow<'_>) -> std::io::Result<()> {
        self.workloads.serialize(row).map_err(io)
    }
    fn pending_row(&mut self, row: &PendingRow<'_>) -> std::io::Result<()> {
        self.pending.serialize(row).map_err(io)
    }
}

/// Runs the scenario; with `out`, writes `report.json` and the timeline CSVs there.
pub fn simulate(scenario: &Scenario, out: Option<&Path>) -> anyhow::Result<Report> {
    let report = match out {
        Some(dir) => {
            let mut sink = CsvTimeline::create(dir)?;
            let report = sim::engine::run(scenario, &mut sink)?;
            sink.finish()?;
            let path = dir.join("report.json");
            std::fs::write(&path, report_json(&report))
                .with_context(|| format!("writing {}", path.display()))?;
            report
        }
        None => sim::engine::run(scenario, &mut NoTimeline)?,
    };
    Ok(report)
}

/// The report as pretty JSON with a trailing newline: byte-identical for the same scenario
/// and seed.
pub fn report_json(report: &Report) -> String {
    let mut s = serde_json::to_string_pretty(report).expect("a report always serializes");
    s.push('\n');
    s
}

/// The human summary `headroom run` prints by default.
pub fn summary_table(r: &Report) -> String {
    let mut s = String::new();
    let days = r.duration_s as f64 / 86_400.0;
    let _ = writeln!(
        s,
        "scenario {}  seed {}  simulated {:.2} days",
        r.scenario, r.seed, days
    );
    let _ = writeln!(s);
    let c = &r.cost;
    let share = |x: f64| {
        if c.total_usd > 0.0 {
            100.0 * x / c.total_usd
        } else {
            0.0
        }
    };
    let _ = writeln!(s, "COST                                   USD");
    let _ = writeln!(s, "  total                       {:>14.2}", c.total_usd);
    let _ = writeln!(
        s,
        "  monthly projection          {:>14.2}",
        c.monthly_projection_usd
    );
    let _ = writeln!(
        s,
        "  workload (requests/usage)   {:>14.2}  {:>5.1} %",
        c.workload_usd,
        share(c.workload_usd)
    );
    let _ = writeln!(
        s,
        "  idle                        {:>14.2}  {:>5.1} %",
        c.idle_usd,
        share(c.idle_usd)
    );
    let _ = writeln!(
        s,
        "  spot savings                {:>14.2}  (monthly {:.2})",
        c.spot_savings_usd, c.monthly_spot_savings_usd
    );
    for (pool, usd) in &c.by_pool_usd {
        let hours = r.node_hours.by_pool.get(pool).copied().unwrap_or(0.0);
        let _ = writeln!(
            s,
            "  pool {:<22} {:>14.2}  {:>9.1} node-h",
            pool, usd, hours
        );
    }
    for (tier, usd) in &c.by_priority_tier_usd {
        let _ = writeln!(s, "  tier {:<22} {:>14.2}", tier, usd);
    }
    let _ = writeln!(s);
    let res = &r.resources;
    let _ = writeln!(
        s,
        "RESOURCES        requested        used   allocatable   efficiency  allocation"
    );
    let _ = writeln!(
        s,
        "  cpu core-h  {:>12.1} {:>11.1} {:>13.1} {:>10.1} % {:>9.1} %",
        res.cpu_requested_core_hours,
        res.cpu_used_core_hours,
        res.cpu_allocatable_core_hours,
        res.cpu_request_efficiency_pct,
        res.cpu_allocation_pct
    );
    let _ = writeln!(
        s,
        "  mem GiB-h   {:>12.1} {:>11.1} {:>13.1} {:>10.1} % {:>9.1} %",
        res.memory_requested_gib_hours,
        res.memory_used_gib_hours,
        res.memory_allocatable_gib_hours,
        res.memory_request_efficiency_pct,
        res.memory_allocation_pct
    );
    let _ = writeln!(
        s,
        "  node-hours {:.1}, peak nodes {}",
        r.node_hours.total, r.node_hours.peak_nodes
    );
    let _ = writeln!(s);
    let slo = &r.slo;
    let _ = writeln!(
        s,
        "SLO  demand served {:.3} %  ({:.0} of {:.0} requests unserved)",
        slo.demand_served_pct, slo.unserved_requests, slo.demand_requests
    );
    let _ = writeln!(
        s,
        "  {:<24} {:>7} {:>9} {:>9} {:>9} {:>9} {:>8} {:>9}",
        "TIER", "PODS", "PENDING", "p50 s", "p95 s", "max s", "PREEMPT", "EVICTED"
    );
    for (tier, t) in &slo.by_tier {
        let evicted: u64 = t.evictions.values().sum();
        let _ = writeln!(
            s,
            "  {:<24} {:>7} {:>9} {:>9.1} {:>9.1} {:>9.1} {:>8} {:>9}",
            tier,
            t.pods_created,
            t.pending_at_end,
            t.pending_p50_s,
            t.pending_p95_s,
            t.pending_max_s,
            t.preemptions,
            evicted
        );
    }
    for (tier, t) in &slo.by_tier {
        for (why, n) in &t.pending_reasons {
            let _ = writeln!(s, "  still pending in {tier}: {n} pod(s): {why}");
        }
    }
    for o in &slo.objectives {
        let mark = if o.met { "met   " } else { "MISSED" };
        let _ = writeln!(s, "  {mark} {}: {} (target {})", o.name, o.actual, o.target);
    }
    if !r.jobs.is_empty() {
        let _ = writeln!(s);
        let jobs: Vec<String> = r.jobs.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let _ = writeln!(s, "JOBS  {}", jobs.join(", "));
    }
    if !r.node_autoscaler.is_empty() {
        let _ = writeln!(s);
        let counters: Vec<String> = r
            .node_autoscaler
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        let _ = writeln!(s, "NODES  {}", counters.join(", "));
    }
    let total: u64 = r.events.values().sum();
    let _ = writeln!(s);
    let _ = writeln!(
        s,
        "EVENTS  {} delivered, log hash {}",
        total, r.event_log_hash
    );
    for w in &r.warnings {
        let _ = writeln!(s, "warning: {w}");
    }
    s
}

/// Command-line changes to a loaded scenario.
pub struct Overrides<'a> {
    pub seed: Option<u64>,
    pub duration: Option<&'a str>,
    pub without_hpas: bool,
}

/// `headroom run`: exit 0 ok, 2 invalid input (the scenario or an override), 1 otherwise.
pub fn command(path: &Path, overrides: Overrides<'_>, out: Option<&Path>, json: bool) -> ExitCode {
    let Overrides {
        seed,
        duration,
        without_hpas,
    } = overrides;
    let invalid = |msg: String| {
        eprintln!("error: {msg}");
        ExitCode::from(crate::validate::EXIT_INVALID_INPUT)
    };
    let mut scenario = match sim::scenario::load(path) {
        Ok(s) => s,
        Err(e) => return invalid(e.to_string()),
    };
    if let Some(seed) = seed {
        scenario.seed = seed;
    }
    if without_hpas {
        scenario.hpas.clear();
    }
    if let Some(text) = duration {
        match sim::scenario::duration::parse_duration(text) {
            Ok(d) if d.as_millis() > 0 => scenario.duration = d,
            Ok(_) => return invalid(format!("--duration {text}: must be positive")),
            Err(e) => return invalid(format!("--duration {text}: {e}")),
        }
    }
    for w in &scenario.warnings {
        eprintln!("warning: {w}");
    }
    let started = Instant::now();
    match simulate(&scenario, out) {
        Ok(report) => {
            if json {
                print!("{}", report_json(&report));
            } else {
                print!("{}", summary_table(&report));
            }
            use std::io::Write as _;
            let _ = std::io::stdout().flush();
            eprintln!("simulated in {:.3} s wall", started.elapsed().as_secs_f64());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
