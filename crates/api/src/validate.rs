//! `headroom validate FILE` and `headroom schema`: check a scenario file without running
//! it, and print the JSON Schema editors use to validate and complete scenario files.

use std::path::Path;
use std::process::ExitCode;

use sim::scenario::model::Scenario;

/// Exit code for input the user must fix (the CLI's contract: 0 ok, 2 invalid input, 1 other).
pub const EXIT_INVALID_INPUT: u8 = 2;

/// Loads `file`; prints a one-line summary (and warnings on stderr) or the error on stderr.
pub fn validate(file: &Path) -> ExitCode {
    match sim::scenario::load(file) {
        Ok(scenario) => {
            println!("{}", summary(&scenario));
            for w in &scenario.warnings {
                eprintln!("warning: {w}");
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::from(EXIT_INVALID_INPUT)
        }
    }
}

/// `ok: 2 node pools, 3 deployments, ...`.
pub fn summary(s: &Scenario) -> String {
    let parts = [
        (s.node_pools.len(), "node pool"),
        (s.deployments.len(), "deployment"),
        (s.hpas.len(), "HPA"),
        (s.pdbs.len(), "PDB"),
        (s.priority_classes.len(), "priority class"),
        (s.jobs.len(), "job"),
        (s.cron_jobs.len(), "cron job"),
        (s.warnings.len(), "warning"),
    ];
    let list: Vec<String> = parts
        .iter()
        .map(|(n, what)| {
            let plural = if *what == "priority class" {
                "priority classes".to_string()
            } else {
                format!("{what}s")
            };
            format!("{n} {}", if *n == 1 { what.to_string() } else { plural })
        })
        .collect();
    format!("ok: {}", list.join(", "))
}

/// Prints the JSON Schema of the scenario format.
pub fn schema() -> ExitCode {
    match serde_json::to_string_pretty(&sim::scenario::spec::json_schema()) {
        Ok(text) => {
            println!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
