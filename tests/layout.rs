//! The crates' arrows as the README's layout draws them: each crate's
//! `Cargo.toml` depends on exactly the crates of ours its line names, the
//! lines are in an order every arrow points down (no cycle), only the binary
//! crate takes the command line (clap) and prints, and the web app stays off
//! the training stack.

use std::collections::{BTreeMap, BTreeSet};

use crate::util::repo_root;

/// Each crate of the README's layout and the crates of ours it depends on,
/// in the README's order.
fn readme_arrows() -> Vec<(String, BTreeSet<String>)> {
    let readme = std::fs::read_to_string(repo_root().join("README.md")).unwrap();
    readme
        .lines()
        .filter_map(|line| line.split_once("──►"))
        .map(|(name, deps)| {
            // A parenthesis after the list is a remark.
            let deps = deps.split(" (").next().unwrap_or_default();
            let deps = deps
                .split(',')
                .map(|dep| dep.trim().to_owned())
                .filter(|dep| !dep.is_empty())
                .collect();
            (name.trim().to_owned(), deps)
        })
        .collect()
}

/// Every crate of the workspace and its normal dependencies (name -> table).
fn manifests() -> BTreeMap<String, toml::Table> {
    std::fs::read_dir(repo_root().join("crates"))
        .unwrap()
        .map(|entry| {
            let dir = entry.unwrap().path();
            let text = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
            let manifest: toml::Table = text.parse().unwrap();
            let name = manifest["package"]["name"].as_str().unwrap().to_owned();
            let deps = manifest
                .get("dependencies")
                .and_then(|deps| deps.as_table().cloned())
                .unwrap_or_default();
            (name, deps)
        })
        .collect()
}

#[test]
fn the_readme_draws_every_crates_arrows() {
    let manifests = manifests();
    let ours: BTreeSet<&String> = manifests.keys().collect();
    let arrows = readme_arrows();
    let drawn: BTreeMap<&String, &BTreeSet<String>> =
        arrows.iter().map(|(name, deps)| (name, deps)).collect();
    for (name, deps) in &manifests {
        let actual: BTreeSet<String> = deps
            .keys()
            .filter(|dep| ours.contains(dep))
            .cloned()
            .collect();
        // Crates of ours with no arrow have no line of their own.
        let expected = drawn
            .get(name)
            .map(|deps| (*deps).clone())
            .unwrap_or_default();
        assert_eq!(actual, expected, "{name}'s dependencies against the README");
    }
    // Listed top-down: a crate only depends on crates listed after it.
    for (index, (name, deps)) in arrows.iter().enumerate() {
        for dep in deps {
            let above = arrows[..=index].iter().any(|(seen, _)| seen == dep);
            assert!(!above, "{name} -> {dep} points up");
        }
    }
}

#[test]
fn only_the_binary_takes_the_command_line() {
    for (name, deps) in manifests() {
        if name != "trainer" {
            assert!(!deps.contains_key("clap"), "{name} depends on clap");
        }
    }
}

#[test]
fn the_web_app_stays_off_the_training_stack() {
    let manifests = manifests();
    let mut reached = BTreeSet::new();
    let mut next = vec!["serve".to_owned()];
    while let Some(name) = next.pop() {
        let Some(deps) = manifests.get(&name) else {
            continue;
        };
        for (dep, spec) in deps {
            let features = spec.get("features").and_then(|f| f.as_array());
            let trains = features.is_some_and(|f| f.iter().any(|f| f.as_str() == Some("train")));
            assert!(!trains, "{name} turns on {dep}'s `train` feature");
            if reached.insert(dep.clone()) {
                next.push(dep.clone());
            }
        }
    }
    assert!(
        !reached.contains("training"),
        "serve reaches the training crate"
    );
}

#[test]
fn only_the_binary_prints() {
    for (name, _) in manifests() {
        if name == "trainer" {
            continue;
        }
        let src = repo_root().join("crates").join(&name).join("src");
        for entry in std::fs::read_dir(&src).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            // Unit tests may print; the library above them may not.
            let library = text.split("#[cfg(test)]").next().unwrap_or_default();
            for call in [
                "print!(",
                "println!(",
                "eprint!(",
                "eprintln!(",
                "stdout()",
                "stderr()",
            ] {
                assert!(!library.contains(call), "{} calls {call}", path.display());
            }
        }
    }
}
