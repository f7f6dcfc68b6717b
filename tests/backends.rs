//! Every backend compiled into the trainer (all four with `cargo test
//! --features trainer/wgpu,trainer/tch`) trains the smoke experiment, says so
//! in its header and its `history.json`, and reaches the same accuracy as the
//! others to within two points.

use crate::util::{compiled_backends, read_json, repo_root, trainer, trainer_with_env};

#[test]
fn every_backend_trains_the_smoke_run_to_the_same_accuracy() {
    let backends = compiled_backends();
    assert!(!backends.is_empty());
    let dir = tempfile::tempdir().unwrap();
    let config = repo_root().join("configs/smoke.toml");
    let mut accuracies = Vec::new();
    for backend in &backends {
        let artifacts = dir.path().join(backend);
        let out = trainer(
            dir.path(),
            &[
                "train",
                "--config",
                config.to_str().unwrap(),
                "--backend",
                backend,
                "--artifacts",
                artifacts.to_str().unwrap(),
            ],
        );
        let header = format!("burnist: experiment `smoke` on {backend} (");
        assert!(out.ok().contains(&header), "{backend}: {}", out.stdout);

        let history = read_json(&artifacts.join("smoke/run-001/history.json"));
        assert_eq!(history["run"]["backend"], backend.as_str());
        assert!(!history["run"]["device"].as_str().unwrap().is_empty());
        let accuracy = history["epochs"][0]["val_accuracy"].as_f64().unwrap();
        assert!(
            (0.75..=1.0).contains(&accuracy),
            "{backend}: val_accuracy {accuracy}"
        );
        accuracies.push((backend, accuracy));
    }
    let (lowest, highest) = accuracies
        .iter()
        .fold((1.0f64, 0.0f64), |(lo, hi), &(_, a)| (lo.min(a), hi.max(a)));
    assert!(
        highest - lowest <= 0.02,
        "accuracies differ by more than 2 points: {accuracies:?}"
    );
}

/// Hides every Vulkan driver, and GL's too (wgpu falls back to it).
const NO_DRIVER: [(&str, &str); 4] = [
    ("VK_ICD_FILENAMES", "/nonexistent.json"),
    ("VK_DRIVER_FILES", "/nonexistent.json"),
    ("__EGL_VENDOR_LIBRARY_FILENAMES", "/nonexistent.json"),
    ("LIBGL_DRIVERS_PATH", "/nonexistent"),
];

/// Bug: `auto` picked wgpu before checking that it could open a device, so
/// a build with wgpu failed on a machine without a driver. It now passes
/// over wgpu with one warning and trains on the next backend of the build.
#[test]
fn auto_passes_over_wgpu_without_a_driver() {
    let compiled = compiled_backends();
    let Some(wgpu) = compiled.iter().position(|b| b == "wgpu") else {
        return;
    };
    let next = &compiled[wgpu + 1];
    let dir = tempfile::tempdir().unwrap();
    let config = repo_root().join("configs/smoke.toml");
    let args = [
        "train",
        "--config",
        config.to_str().unwrap(),
        "--backend",
        "auto",
    ];
    let out = trainer_with_env(dir.path(), &args, &NO_DRIVER);
    let header = format!("burnist: experiment `smoke` on {next} (");
    assert!(out.ok().contains(&header), "{}", out.stdout);
    let warnings: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("warning: "))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", out.stderr);
    assert!(
        warnings[0].contains("backend `wgpu` found no device")
            && warnings[0].ends_with(&format!("auto takes the next backend, {next}")),
        "{}",
        warnings[0]
    );
    let history = read_json(&dir.path().join("artifacts/smoke/run-001/history.json"));
    assert_eq!(history["run"]["backend"], next.as_str());
}

/// `auto` in a build with wgpu and a CPU backend: when the adapter it opens
/// is Mesa's software Vulkan (CI's, and any machine without a GPU), one note
/// names the CPU backend that trains faster; on a real GPU, none. With
/// `XDG_RUNTIME_DIR` unset (as in containers), nothing on stderr starts with
/// `error:`: the Vulkan loader's complaint about it is gone.
#[test]
fn auto_on_a_software_adapter_says_so() {
    let compiled = compiled_backends();
    let Some(cpu) = compiled.iter().find(|b| *b == "flex" || *b == "ndarray") else {
        return;
    };
    if !compiled.iter().any(|b| b == "wgpu") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = repo_root().join("configs/smoke.toml");
    let output = std::process::Command::new(crate::util::trainer_binary())
        .args(["train", "--config", config.to_str().unwrap()])
        .args(["--backend", "auto", "--device", "auto"])
        .args(["--train-size", "320", "--test-size", "100"])
        .env_remove("XDG_RUNTIME_DIR")
        .current_dir(dir.path())
        .output()
        .unwrap();
    let out = crate::util::Run::from(output);
    let header = out
        .ok()
        .lines()
        .find(|l| l.starts_with("burnist: experiment"))
        .unwrap_or_default()
        .to_owned();
    if !header.contains("on wgpu (") {
        // Another GPU backend came first (cuda, tch on a GPU machine).
        return;
    }
    let software = ["llvmpipe", "lavapipe", "SwiftShader"]
        .iter()
        .any(|name| header.contains(name));
    let notes: Vec<&str> = out
        .stdout
        .lines()
        .filter(|l| l.starts_with("note: "))
        .collect();
    if software {
        assert_eq!(notes.len(), 1, "{}", out.stdout);
        assert!(
            notes[0].ends_with(&format!("`--backend {cpu}` trains several times faster")),
            "{}",
            notes[0]
        );
    } else {
        assert!(notes.is_empty(), "{}", out.stdout);
    }
    assert!(
        !out.stderr.lines().any(|l| l.starts_with("error:")),
        "{}",
        out.stderr
    );
}

/// Without a graphics driver, wgpu is one line that says what to install; a
/// build without wgpu says which feature to enable.
#[test]
fn wgpu_without_a_driver_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let args = ["train", "--config", "smoke.toml", "--backend", "wgpu"];
    std::fs::copy(
        repo_root().join("configs/smoke.toml"),
        dir.path().join("smoke.toml"),
    )
    .unwrap();
    if compiled_backends().iter().any(|b| b == "wgpu") {
        trainer_with_env(dir.path(), &args, &NO_DRIVER)
            .fails_with("apt-get install mesa-vulkan-drivers libvulkan1");
    } else {
        trainer(dir.path(), &args).fails_with("rebuild with `--features wgpu`");
    }
    assert!(!dir.path().join("artifacts").exists(), "no run directory");
}

/// `BURNIST_BACKEND` picks the backend as `--backend` does (each compiled
/// backend in turn), and the flag wins over it.
#[test]
fn the_backend_variable_picks_the_backend_and_the_flag_wins() {
    let dir = tempfile::tempdir().unwrap();
    let config = repo_root().join("configs/smoke.toml");
    let compiled = compiled_backends();
    let last = compiled.last().unwrap();
    let train = |env: &str, flag: Option<&str>| {
        let mut args = vec!["train", "--config", config.to_str().unwrap()];
        args.extend(["--train-size", "64", "--test-size", "32"]);
        if let Some(flag) = flag {
            args.extend(["--backend", flag]);
        }
        let out = trainer_with_env(dir.path(), &args, &[("BURNIST_BACKEND", env)]);
        out.ok()
            .lines()
            .find_map(|l| l.strip_prefix("burnist: experiment `smoke` on "))
            .and_then(|rest| rest.split_whitespace().next())
            .unwrap_or_default()
            .to_owned()
    };
    for backend in &compiled {
        assert_eq!(&train(backend, None), backend);
    }
    assert_eq!(&train(&compiled[0], Some(last)), last);
    // Bug: an empty variable was an empty `--backend` and failed every
    // command. It counts as unset: auto, then the flag.
    assert_eq!(train("", None), train("auto", None));
    assert_eq!(&train("", Some(last)), last);
    let info = trainer_with_env(dir.path(), &["info"], &[("BURNIST_BACKEND", "")]);
    info.ok();
}
