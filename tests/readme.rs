//! Every command in a shell block of `README.md` runs as written, in order,
//! in one empty directory (a newcomer's), and succeeds with nothing on
//! stderr that starts with `error:`. `trainer ...` and `cargo run -p trainer
//! [--features ...] [-- ARGS]` run this build's binary (a command needing a
//! backend this build lacks is skipped: CI's feature build runs it);
//! `cargo run -p trainer --example NAME -- ARGS` runs the example that the
//! same `cargo test` built. `scripts/check.sh` is the test command itself.
//! Any other command fails this test, so the README cannot grow one that no
//! test runs.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{Run, repo_root, trainer_binary};

/// The lines of the README's ```sh blocks.
fn readme_commands() -> Vec<String> {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    let mut commands = Vec::new();
    let mut in_shell = false;
    for line in readme.lines() {
        match line.trim() {
            "```sh" => in_shell = true,
            "```" => in_shell = false,
            command if in_shell && !command.is_empty() => commands.push(command.to_owned()),
            _ => {}
        }
    }
    commands
}

/// How this build runs one README command.
#[derive(Debug, PartialEq)]
enum Step {
    /// A program, its arguments, and the backend the command's own build
    /// would take for `auto` when this build would take another: the default
    /// build (no `--features`) holds flex alone, so on CI's build with every
    /// backend its commands run with `BURNIST_BACKEND=flex`, as a newcomer's
    /// would, not on wgpu.
    Run(PathBuf, Vec<String>, Option<&'static str>),
    /// Not run here, and why.
    Skip(&'static str),
}

fn step(command: &str) -> Step {
    let words: Vec<String> = command.split_whitespace().map(str::to_owned).collect();
    let (before, args) = match words.iter().position(|w| w == "--") {
        Some(dash) => (&words[..dash], words[dash + 1..].to_vec()),
        None => (&words[..], Vec::new()),
    };
    match before.first().map(String::as_str) {
        Some("trainer") => Step::Run(
            trainer_binary().to_owned(),
            words[1..].to_vec(),
            DEFAULT_BUILD,
        ),
        Some("scripts/check.sh") => Step::Skip("the test command, which runs this test"),
        Some("cargo") if before.get(1).map(String::as_str) == Some("run") => {
            assert!(
                before.windows(2).any(|w| w[0] == "-p" && w[1] == "trainer"),
                "a cargo command of another package: {command}"
            );
            let features = before
                .windows(2)
                .find(|w| w[0] == "--features")
                .map(|w| w[1].split(',').map(str::to_owned).collect::<Vec<_>>())
                .unwrap_or_default();
            if !features.iter().all(|feature| compiled(feature)) {
                return Step::Skip("needs a backend this build does not hold");
            }
            let backend = if features.is_empty() {
                DEFAULT_BUILD
            } else {
                None
            };
            match before.windows(2).find(|w| w[0] == "--example") {
                Some(example) => Step::Run(example_binary(&example[1]), args, backend),
                None => Step::Run(trainer_binary().to_owned(), args, backend),
            }
        }
        _ => panic!("README command that no test runs: {command}"),
    }
}

/// What `auto` takes in the default build, when this build holds it.
const DEFAULT_BUILD: Option<&str> = if cfg!(feature = "flex") {
    Some("flex")
} else {
    None
};

fn compiled(feature: &str) -> bool {
    match feature {
        "flex" => cfg!(feature = "flex"),
        "ndarray" => cfg!(feature = "ndarray"),
        "wgpu" => cfg!(feature = "wgpu"),
        "tch" => cfg!(feature = "tch"),
        "cuda" => cfg!(feature = "cuda"),
        other => panic!("unknown feature in README: {other}"),
    }
}

/// An example of `trainer`, which `cargo test` builds beside the binary.
fn example_binary(name: &str) -> PathBuf {
    let path = trainer_binary()
        .parent()
        .unwrap()
        .join("examples")
        .join(name);
    assert!(
        path.exists(),
        "{} is not built: run the whole `cargo test` (it builds the examples) or `cargo build -p trainer --examples`",
        path.display()
    );
    path
}

#[test]
fn every_readme_command_runs_as_written() {
    let dir = tempfile::tempdir().unwrap();
    // A newcomer's directory holds the repository's configs.
    copy_dir(&repo_root().join("configs"), &dir.path().join("configs"));
    let commands = readme_commands();
    assert!(commands.len() >= 10, "{commands:?}");
    let mut ran = 0;
    for command in &commands {
        let Step::Run(program, args, backend) = step(command) else {
            continue;
        };
        let mut process = Command::new(&program);
        process.args(&args).current_dir(dir.path());
        if let Some(backend) = backend {
            process.env("BURNIST_BACKEND", backend);
        }
        let run = Run::from(process.output().unwrap());
        assert_eq!(
            run.code,
            Some(0),
            "`{command}` failed:\n{}\n{}",
            run.stdout,
            run.stderr
        );
        assert!(
            !run.stderr.lines().any(|line| line.starts_with("error:")),
            "`{command}` printed an error:\n{}",
            run.stderr
        );
        ran += 1;
    }
    assert!(ran >= 10, "only {ran} commands ran");
    assert!(dir.path().join("five.png").exists());
}

#[test]
fn unknown_commands_are_refused() {
    assert!(std::panic::catch_unwind(|| step("rm -rf /")).is_err());
    assert_eq!(
        step("cargo run --release -p trainer --features cuda,wgpu,tch,ndarray,flex"),
        if cfg!(all(
            feature = "cuda",
            feature = "wgpu",
            feature = "tch",
            feature = "ndarray"
        )) {
            Step::Run(trainer_binary().to_owned(), Vec::new(), None)
        } else {
            Step::Skip("needs a backend this build does not hold")
        }
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
    }
}
