//! The `headroom` command line.

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
enum Command {}

fn main() {
    let _cli = Cli::parse();
}
