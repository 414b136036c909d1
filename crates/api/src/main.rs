//! The `headroom` command line.

mod hpa_evaluate;
mod run;
mod validate;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "headroom",
    version,
    about = "What your Kubernetes autoscaling will do, cost and hold, by simulation"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Simulate a scenario and print its summary (or the JSON report).
    Run {
        scenario: PathBuf,
        /// Override the scenario's seed.
        #[arg(long)]
        seed: Option<u64>,
        /// Override the scenario's duration (e.g. `14d`, `6h`).
        #[arg(long)]
        duration: Option<String>,
        /// Write report.json and the timeline CSVs (nodes, workloads, pending) here.
        #[arg(long)]
        out: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// Leave the HPAs out: every Deployment keeps its declared replicas (a what-if baseline).
        #[arg(long)]
        without_hpas: bool,
    },
    /// Check a scenario file (and the manifests and traces it references) without running it.
    Validate { file: PathBuf },
    /// Print the JSON Schema of the scenario format (for the YAML language server).
    Schema,
    /// Horizontal Pod Autoscaler tools.
    #[command(subcommand)]
    Hpa(hpa_evaluate::HpaCommand),
}

#[derive(Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Format {
    Table,
    Json,
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Run {
            scenario,
            seed,
            duration,
            out,
            format,
            without_hpas,
        } => run::command(
            &scenario,
            run::Overrides {
                seed,
                duration: duration.as_deref(),
                without_hpas,
            },
            out.as_deref(),
            format == Format::Json,
        ),
        Command::Validate { file } => validate::validate(&file),
        Command::Schema => validate::schema(),
        Command::Hpa(command) => ExitCode::from(hpa_evaluate::run(command) as u8),
    }
}
