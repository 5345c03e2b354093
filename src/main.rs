use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    leadbot::telemetry::init();
    let cli = leadbot::cli::Cli::parse();
    match leadbot::cli::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            // One line: the error and its causes, never a backtrace or a panic.
            eprintln!("leadbot: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
