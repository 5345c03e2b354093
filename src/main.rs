use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = leadbot::cli::Cli::parse();
    leadbot::telemetry::init(cli.log_json);
    match leadbot::cli::run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            if let Some(exit) = error.downcast_ref::<leadbot::cli::ExitWith>() {
                eprintln!("leadbot: error: {}", exit.message);
                return ExitCode::from(exit.code);
            }
            // One line: the error and its causes, never a backtrace or a panic.
            eprintln!("leadbot: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
