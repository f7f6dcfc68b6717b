//! `trainer`: the Keras MNIST notebook on Burn. See `trainer --help`.
// Burn's wgpu backend nests its types deeply (burn issues 2754, 3060).
#![recursion_limit = "256"]

use std::process::ExitCode;

use runs::text::{fold, one_line};
use trainer::cli::{Cli, Command};
use trainer::commands;

/// mimalloc keeps freed tensor buffers for reuse; glibc's malloc hands large
/// ones back to the kernel at every free, which doubled the time of a flex epoch.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    if let Some(warning) = backend::ensure_runtime_dir() {
        eprintln!("warning: {warning}");
    }
    // A bug or a backend that panics still ends in one line, not a backtrace.
    std::panic::set_hook(Box::new(|info| {
        let message = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown cause".into());
        eprintln!("error: internal failure: {}", fold(&message));
    }));

    let cli = match Cli::try_parse_env() {
        Ok(cli) => cli,
        Err(err) if !err.use_stderr() => err.exit(), // --help, --version
        Err(err) => {
            // clap's message spans several lines; keep the error and the valid values.
            let rendered = err.to_string();
            let lines: Vec<&str> = rendered
                .lines()
                .map(str::trim)
                .take_while(|line| !line.starts_with("Usage:"))
                .filter(|line| !line.is_empty() && !line.starts_with("For more"))
                .collect();
            eprintln!("{}", lines.join(" "));
            return ExitCode::from(2);
        }
    };
    let outcome = match cli.into_command() {
        Command::Train(args) => commands::train::run(&args).map(drop),
        Command::Predict(args) => commands::predict::run(&args),
        Command::Info(args) => commands::info::run(&args),
        Command::Show(args) => commands::show::run(&args),
        Command::Eval(args) => commands::eval::run(&args),
        Command::Runs(args) => commands::runs::run(&args),
        Command::Sweep(args) => commands::sweep::run(&args),
        Command::Compare(args) => commands::compare::run(&args),
        Command::Serve(args) => commands::serve::run(&args),
        Command::Export(args) => commands::export::run(&args),
        Command::Import(args) => commands::import::run(&args).map(drop),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {}", one_line(&err));
            ExitCode::FAILURE
        }
    }
}
