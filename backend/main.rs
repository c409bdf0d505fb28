use clap::Parser;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = beacon::config::Cli::parse();
    match beacon::cli::run(cli).await {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
