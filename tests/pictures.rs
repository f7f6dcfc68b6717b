//! Pictures and your own digits: `show`, the run's pictures, `predict --image`, `eval`.

use std::path::Path;

use crate::util::{png_header, trainer, trainer_with_env};
use data::{DataSource, MnistDataset, Split};

fn png_size(path: &Path) -> (u32, u32) {
    image::image_dimensions(path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

#[test]
fn show_draws_the_notebooks_five() {
    let dir = tempfile::tempdir().unwrap();
    let out = trainer(dir.path(), &["show", "--index", "0", "--out", "five.png"]);
    assert_eq!(out.ok().trim(), "five.png");
    let picture = image::open(dir.path().join("five.png")).unwrap().to_rgb8();
    assert!(picture.width() >= 28 * 8, "upscaled at least 8x");
    // Viridis: the black background is dark purple (68, 1, 84), full ink yellow.
    let corner = picture
        .get_pixel(picture.width() - 10, picture.height() - 10)
        .0;
    assert_eq!(corner, [68, 1, 84], "viridis(0)");
    let yellow = picture
        .pixels()
        .filter(|p| p.0[0] > 200 && p.0[1] > 200 && p.0[2] < 80)
        .count();
    assert!(yellow > 100, "the 5's ink is yellow");

    // Without --out the label is in the file name.
    trainer(dir.path(), &["show", "--split", "test", "--index", "3"]).ok();
    assert!(dir.path().join("test-3-label-0.png").is_file());
    trainer(dir.path(), &["show", "--grid", "3x5", "--out", "grid.png"]).ok();
    let (w, h) = png_size(&dir.path().join("grid.png"));
    assert!(w > h, "5 columns, 3 rows: {w}x{h}");
    trainer(dir.path(), &["show", "--index", "60000"]).fails_with("goes past the 60000 items");
}

/// Test-set digits as a person would hand them over: black ink on white,
/// 100x100, written as PNG files.
fn write_digit_pictures(dir: &Path, indices: &[usize]) -> Vec<(std::path::PathBuf, u8)> {
    let test = MnistDataset::load(&DataSource::Bundled, Split::Test).unwrap();
    indices
        .iter()
        .map(|&index| {
            let item = test.item(index).unwrap();
            let small = image::GrayImage::from_fn(28, 28, |x, y| {
                image::Luma([255 - item.pixels[y as usize * 28 + x as usize]])
            });
            let big =
                image::imageops::resize(&small, 100, 100, image::imageops::FilterType::Triangle);
            let path = dir.join(format!("digit-{index}.png"));
            big.save(&path).unwrap();
            (path, item.label)
        })
        .collect()
}

/// The notebook, trained once, then asked about pictures, evaluated, listed.
/// On flex, whatever `auto` would pick in this build: the full notebook on
/// Mesa's software Vulkan took CI over seven minutes, and every backend
/// already trains in `backends.rs`.
#[test]
fn the_notebook_trains_then_reads_digit_pictures() {
    let dir = tempfile::tempdir().unwrap();
    let stdout = trainer_with_env(dir.path(), &[], &[("BURNIST_BACKEND", "flex")])
        .ok()
        .to_owned();
    assert!(stdout.contains("13610 parameters"), "{stdout}");
    assert!(stdout.contains("Epoch 3/3 - 1875/1875"), "{stdout}");
    assert!(stdout.contains("predicted: [7 2 1 0]"), "{stdout}");
    let run = dir.path().join("artifacts/notebook/run-001");
    let history = crate::util::read_json(&run.join("history.json"));
    let val_accuracy = history["epochs"][2]["val_accuracy"].as_f64().unwrap();
    assert!(
        val_accuracy >= 0.94,
        "val_accuracy {val_accuracy} after 3 epochs"
    );

    for picture in ["curves.png", "confusion.png", "mistakes.png"] {
        let (w, h) = png_size(&run.join(picture));
        assert!(w >= 300 && h >= 100, "{picture} is {w}x{h}");
    }
    let csv = std::fs::read_to_string(run.join("confusion.csv")).unwrap();
    let total: usize = csv
        .lines()
        .skip(1)
        .flat_map(|line| line.split(',').skip(1).map(|n| n.parse::<usize>().unwrap()))
        .sum();
    assert_eq!(total, 10_000);
    let steps = std::fs::read_to_string(run.join("steps.csv")).unwrap();
    assert_eq!(
        steps.lines().count(),
        1 + 3 * 1875,
        "one loss per training step"
    );

    // Ten digits the model reads right in MNIST form, handed over as PNG files,
    // black on white, 100x100: the picture pipeline must not lose them.
    let predict = trainer(
        dir.path(),
        &["predict", "--run", "artifacts/notebook", "--first", "40"],
    );
    let numbers = |prefix: &str| -> Vec<usize> {
        let line = predict
            .ok()
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap();
        line[prefix.len()..]
            .trim()
            .trim_matches(|c| c == '[' || c == ']')
            .split_whitespace()
            .map(|n| n.parse().unwrap())
            .collect()
    };
    let (predicted, labels) = (numbers("predicted:"), numbers("labels:"));
    let readable: Vec<usize> = (0..40)
        .filter(|&i| predicted[i] == labels[i])
        .take(10)
        .collect();
    assert_eq!(readable.len(), 10);
    let pictures = dir.path().join("pictures");
    std::fs::create_dir(&pictures).unwrap();
    let digits = write_digit_pictures(&pictures, &readable);
    let predict_pictures = |extra: &[&str]| {
        let args = [
            "predict",
            "--run",
            "artifacts/notebook",
            "--image",
            "pictures",
        ];
        trainer(dir.path(), &[&args[..], extra].concat())
    };
    let out = predict_pictures(&["--json"]);
    let lines: Vec<serde_json::Value> = out
        .ok()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    assert_eq!(lines.len(), 10);
    // Bug: one bad file aborted the whole batch. It is named, the others
    // are still classified, and the command fails at the end.
    std::fs::write(pictures.join("digit-bad.png"), b"not a picture").unwrap();
    let batch = predict_pictures(&[]);
    assert_eq!(batch.code, Some(1), "{}", batch.stderr);
    assert_eq!(batch.stdout.lines().count(), 10, "{}", batch.stdout);
    assert!(
        batch
            .stderr
            .contains("skipped: pictures/digit-bad.png: not a PNG or JPEG image"),
        "{}",
        batch.stderr
    );
    assert!(
        batch
            .stderr
            .contains("error: 1 of the 11 pictures could not be read"),
        "{}",
        batch.stderr
    );
    std::fs::remove_file(pictures.join("digit-bad.png")).unwrap();
    let correct = lines
        .iter()
        .filter(|line| {
            let file = line["file"].as_str().unwrap();
            let (_, label) = digits
                .iter()
                .find(|(path, _)| path.ends_with(Path::new(file).file_name().unwrap()))
                .unwrap();
            line["digit"].as_u64() == Some(u64::from(*label))
        })
        .count();
    assert!(correct >= 9, "{correct}/10 pictures recognised: {lines:?}");
    let sum: f64 = lines[0]["probabilities"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p.as_f64().unwrap())
        .sum();
    assert!((sum - 1.0).abs() < 1e-4);

    // The round trip: what `show` draws (viridis colours, a white frame and
    // caption) reads back as its digit.
    let shown = dir.path().join("shown");
    std::fs::create_dir(&shown).unwrap();
    for &index in &readable {
        let file = format!("shown/test-{index}.png");
        let index = index.to_string();
        trainer(
            dir.path(),
            &["show", "--split", "test", "--index", &index, "-o", &file],
        )
        .ok();
    }
    let out = trainer(
        dir.path(),
        &[
            "predict",
            "-r",
            "artifacts/notebook",
            "-i",
            "shown",
            "--json",
        ],
    );
    let read_back = out
        .ok()
        .lines()
        .map(|line| serde_json::from_str::<serde_json::Value>(line).unwrap())
        .filter(|line| {
            let file = line["file"].as_str().unwrap();
            let index: usize = file
                .rsplit('-')
                .next()
                .unwrap()
                .trim_end_matches(".png")
                .parse()
                .unwrap();
            line["digit"].as_u64() == Some(labels[index] as u64)
        })
        .count();
    assert!(
        read_back >= 9,
        "{read_back}/10 shown digits read back: {}",
        out.stdout
    );

    // Bad pictures: one clear line each.
    std::fs::write(dir.path().join("notes.png"), "not a picture").unwrap();
    std::fs::write(dir.path().join("empty.png"), "").unwrap();
    std::fs::write(dir.path().join("zero.png"), png_header(0, 0)).unwrap();
    let predict = |file: &str| {
        trainer(
            dir.path(),
            &["predict", "--run", "artifacts/notebook", "--image", file],
        )
    };
    predict("notes.png").fails_with("notes.png: not a PNG or JPEG image");
    predict("empty.png").fails_with("empty.png: file is empty");
    predict("zero.png").fails_with("zero.png:");

    let eval = trainer(dir.path(), &["eval", "--run", "artifacts/notebook"]);
    let report = eval.ok();
    assert!(
        report.contains(&format!("accuracy: {val_accuracy:.4}")),
        "eval agrees with history:\n{report}"
    );
    // Keras's `evaluate` loss: the test split is the validation split here.
    let val_loss = history["epochs"][2]["val_loss"].as_f64().unwrap();
    assert!(
        report.contains(&format!("loss: {val_loss:.4}")),
        "eval agrees with history:\n{report}"
    );
    assert!(
        report.contains("class  precision  recall  support"),
        "{report}"
    );
    let runs = trainer(dir.path(), &["runs"]);
    assert!(runs.ok().contains("finished"), "{}", runs.stdout);
}
