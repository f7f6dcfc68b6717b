//! A killed training resumes from its last checkpoint and ends with every epoch.

mod e2e;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use e2e::{history_epochs, repo_root, trainer, trainer_binary};

#[test]
fn a_run_killed_after_epoch_one_resumes_to_the_end() {
    let dir = tempfile::tempdir().unwrap();
    let config = repo_root().join("configs/smoke.toml");
    let args = [
        "train",
        "--config",
        config.to_str().unwrap(),
        "--epochs",
        "3",
        "--train-size",
        "6000",
        "--test-size",
        "500",
    ];
    let mut child = Command::new(trainer_binary())
        .current_dir(dir.path())
        .args(args)
        .env_remove("BURNIST_DATA")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let stdout = BufReader::new(child.stdout.take().unwrap());
    let run = dir.path().join("artifacts/smoke/run-001");
    for line in stdout.lines() {
        if line.unwrap().starts_with("Epoch 1/3") {
            break;
        }
    }
    // Checkpoints are written just after the epoch line; wait for all three.
    let deadline = Instant::now() + Duration::from_secs(60);
    let checkpoint = run.join("checkpoint");
    while ["model-1.bpk", "optim-1.bpk", "scheduler-1.bpk"]
        .iter()
        .any(|file| !checkpoint.join(file).exists())
    {
        assert!(Instant::now() < deadline, "no checkpoint of epoch 1");
        std::thread::sleep(Duration::from_millis(20));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(
        !run.join("model.bpk").exists(),
        "the killed run did not finish"
    );

    let mut resume = args.to_vec();
    resume.push("--resume");
    let out = trainer(dir.path(), &resume);
    let stdout = out.ok();
    assert!(stdout.contains("resuming"), "{stdout}");
    assert!(stdout.contains("Epoch 3/3"), "{stdout}");
    assert_eq!(history_epochs(&run), vec![1, 2, 3]);
    assert!(run.join("model.bpk").is_file());
    assert!(
        !dir.path().join("artifacts/smoke/run-002").exists(),
        "resumed in place"
    );

    trainer(dir.path(), &resume).fails_with("no unfinished run of `smoke`");
}
