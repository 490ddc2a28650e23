use clap::Parser;
use server::config::{Cli, Command};
use std::process::ExitCode;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(error) = server::telemetry::init(&cli.config.log, cli.config.log_format) {
        eprintln!("importops: {error}");
        return ExitCode::from(2);
    }
    let result = match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => server::serve(cli.config).await,
        Command::Migrate => server::open_database(&cli.config).await.map(|_| {
            tracing::info!("the database is up to date");
        }),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!(%error, "importops stopped");
            eprintln!("importops: {error}");
            ExitCode::FAILURE
        }
    }
}
