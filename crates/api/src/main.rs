//! The `headroom` command line.

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
    /// Check a scenario file (and the manifests and traces it references) without running it.
    Validate { file: PathBuf },
    /// Print the JSON Schema of the scenario format (for the YAML language server).
    Schema,
}

fn main() -> ExitCode {
    match Cli::parse().command {
        Command::Validate { file } => validate::validate(&file),
        Command::Schema => validate::schema(),
    }
}
