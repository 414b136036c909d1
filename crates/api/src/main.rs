//! The `headroom` command line.

mod hpa_evaluate;

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
    /// Horizontal Pod Autoscaler tools.
    #[command(subcommand)]
    Hpa(hpa_evaluate::HpaCommand),
}

fn main() {
    match Cli::parse().command {
        Command::Hpa(command) => std::process::exit(hpa_evaluate::run(command)),
    }
}
