//! The `cableway` binary: parses the command line and hands over to [`cableway::cli`].

use std::process::ExitCode;

fn main() -> ExitCode {
    match cableway::cli::run(cableway::cli::Cli::from_env()) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
