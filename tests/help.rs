//! `trainer --help` and each subcommand's help, as snapshots
//! (`tests/snapshots/`): a change of an option, a meaning or a default shows
//! up in review. The list of backends of the build is the one part that
//! depends on the build's features; it is replaced by a placeholder.
//!
//! After an intended change: `INSTA_UPDATE=always cargo test -p trainer --test tests help::`,
//! then review the diff of `tests/snapshots/`.

use crate::util::trainer;

/// Help text with the build's backends replaced.
fn help(args: &[&str]) -> String {
    let dir = tempfile::tempdir().unwrap();
    let out = trainer(dir.path(), args).ok().to_owned();
    let marker = "This build holds: ";
    out.lines()
        .map(|line| match line.find(marker) {
            Some(at) => {
                let rest = &line[at + marker.len()..];
                let end = rest.find(';').unwrap_or(rest.len());
                format!("{}{marker}<backends>{}", &line[..at], &rest[end..])
            }
            None => line.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn the_help_texts_say_what_each_option_means_and_its_default() {
    insta::assert_snapshot!("trainer", help(&["--help"]));
    for command in [
        "train", "predict", "info", "show", "eval", "runs", "sweep", "compare", "serve", "export",
        "import",
    ] {
        insta::assert_snapshot!(command, help(&[command, "--help"]));
    }
}

#[test]
fn the_help_names_only_backends_this_build_holds() {
    let dir = tempfile::tempdir().unwrap();
    let out = trainer(dir.path(), &["train", "--help"]).ok().to_owned();
    let line = out
        .lines()
        .find(|l| l.contains("This build holds: "))
        .unwrap();
    for backend in ["cuda", "wgpu", "tch", "flex", "ndarray"] {
        let holds = line.split("This build holds: ").nth(1).unwrap();
        let listed = holds
            .split(';')
            .next()
            .unwrap()
            .split(", ")
            .any(|b| b == backend);
        let compiled = match backend {
            "cuda" => cfg!(feature = "cuda"),
            "wgpu" => cfg!(feature = "wgpu"),
            "tch" => cfg!(feature = "tch"),
            "flex" => cfg!(feature = "flex"),
            _ => cfg!(feature = "ndarray"),
        };
        assert_eq!(listed, compiled, "{backend}: {line}");
    }
}
