//! `docs/errors.md` is the specification of every bad input: this test builds
//! each input, runs each command of the table and checks the exact line.

use std::path::Path;

use crate::util::{png_header, repo_root, trainer, trainer_with_env};

/// One row of the table: the environment variables before `trainer`, its
/// arguments, and the expected line.
struct Row {
    env: Vec<(String, String)>,
    args: Vec<String>,
    expected: String,
}

/// Every row of the table whose command is `[NAME=VALUE ...] trainer ...`.
fn table() -> Vec<Row> {
    let doc = std::fs::read_to_string(repo_root().join("docs/errors.md")).unwrap();
    doc.lines()
        .filter(|line| line.starts_with("| "))
        .filter_map(|line| {
            let cells: Vec<&str> = line.trim_matches('|').split(" | ").map(str::trim).collect();
            let command = code(cells.get(1)?);
            let mut words = command.split_whitespace();
            let mut env = Vec::new();
            let program = loop {
                let word = words.next()?;
                match word.split_once('=') {
                    Some((name, value)) => env.push((name.to_owned(), value.to_owned())),
                    None => break word,
                }
            };
            (program == "trainer").then(|| {
                assert_eq!(cells.len(), 3, "three cells: {line}");
                Row {
                    env,
                    args: words.map(str::to_owned).collect(),
                    expected: code(cells[2]),
                }
            })
        })
        .collect()
}

/// The text of a markdown code span, single or double backticked.
fn code(cell: &str) -> String {
    let inner = match cell.strip_prefix("``") {
        Some(rest) => rest.strip_suffix("``").unwrap_or(rest),
        None => cell.trim_matches('`'),
    };
    inner.trim().to_owned()
}

fn idx(magic: u32, dims: &[u32], payload: &[u8]) -> Vec<u8> {
    let mut bytes: Vec<u8> = std::iter::once(magic)
        .chain(dims.iter().copied())
        .flat_map(u32::to_be_bytes)
        .collect();
    bytes.extend_from_slice(payload);
    bytes
}

const TRAIN_IMAGES: &str = "train-images-idx3-ubyte";
const TRAIN_LABELS: &str = "train-labels-idx1-ubyte";

/// A data directory with three good training images and labels, after `edit`.
fn data_dir(root: &Path, name: &str, edit: impl FnOnce(&Path)) {
    let dir = root.join(name);
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(
        dir.join(TRAIN_IMAGES),
        idx(0x803, &[3, 28, 28], &[7; 3 * 784]),
    )
    .unwrap();
    std::fs::write(dir.join(TRAIN_LABELS), idx(0x801, &[3], &[1, 2, 3])).unwrap();
    edit(&dir);
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes).unwrap();
    encoder.finish().unwrap()
}

fn fixtures(root: &Path) {
    let write = |name: &str, contents: &[u8]| std::fs::write(root.join(name), contents).unwrap();
    data_dir(root, "no-labels", |d| {
        std::fs::remove_file(d.join(TRAIN_LABELS)).unwrap()
    });
    data_dir(root, "empty", |d| {
        std::fs::write(d.join(TRAIN_IMAGES), b"").unwrap()
    });
    data_dir(root, "bad-magic", |d| {
        std::fs::write(d.join(TRAIN_IMAGES), idx(0x801, &[3], &[1, 2, 3])).unwrap()
    });
    data_dir(root, "truncated", |d| {
        std::fs::write(d.join(TRAIN_IMAGES), idx(0x803, &[3, 28, 28], &[7; 2252])).unwrap()
    });
    data_dir(root, "trailing", |d| {
        std::fs::write(d.join(TRAIN_IMAGES), idx(0x803, &[3, 28, 28], &[7; 2353])).unwrap()
    });
    data_dir(root, "huge-count", |d| {
        std::fs::write(d.join(TRAIN_IMAGES), idx(0x803, &[u32::MAX, 28, 28], &[])).unwrap()
    });
    data_dir(root, "wrong-dims", |d| {
        std::fs::write(
            d.join(TRAIN_IMAGES),
            idx(0x803, &[3, 27, 28], &[7; 3 * 756]),
        )
        .unwrap()
    });
    data_dir(root, "no-images", |d| {
        std::fs::write(d.join(TRAIN_IMAGES), idx(0x803, &[0, 28, 28], &[])).unwrap();
        std::fs::write(d.join(TRAIN_LABELS), idx(0x801, &[0], &[])).unwrap();
    });
    data_dir(root, "count-mismatch", |d| {
        std::fs::write(d.join(TRAIN_LABELS), idx(0x801, &[2], &[1, 2])).unwrap()
    });
    data_dir(root, "bad-label", |d| {
        std::fs::write(d.join(TRAIN_LABELS), idx(0x801, &[3], &[1, 12, 3])).unwrap()
    });
    data_dir(root, "corrupt-gzip", |d| {
        std::fs::remove_file(d.join(TRAIN_IMAGES)).unwrap();
        let mut gz = gzip(&idx(0x803, &[3, 28, 28], &[7; 3 * 784]));
        for byte in &mut gz[10..20] {
            *byte = 0xff;
        }
        std::fs::write(d.join(format!("{TRAIN_IMAGES}.gz")), gz).unwrap();
    });
    #[cfg(unix)]
    data_dir(root, "endless", |d| {
        std::fs::remove_file(d.join(TRAIN_IMAGES)).unwrap();
        std::os::unix::fs::symlink("/dev/zero", d.join(TRAIN_IMAGES)).unwrap();
    });
    data_dir(root, "dir-not-file", |d| {
        std::fs::remove_file(d.join(TRAIN_IMAGES)).unwrap();
        std::fs::create_dir(d.join(TRAIN_IMAGES)).unwrap();
    });

    write("unknown-key.toml", b"[training]\nepochz = 3\n");
    write("wrong-type.toml", b"[training]\nepochs = \"three\"\n");
    write("bad-backend.toml", b"backend = \"cuda-please\"\n");
    write("bad-device.toml", b"device = \"tpu:0\"\n");
    write("zero-eval-batch.toml", b"[training]\neval_batch_size = 0\n");
    write("beta1.toml", b"[optimizer]\nbeta1 = 1.0\n");
    write("beta2.toml", b"[optimizer]\nbeta2 = -0.5\n");
    write("epsilon.toml", b"[optimizer]\nepsilon = 0.0\n");
    // Layer lists: the notebook's four layers with one of them changed.
    let layers = |conv: &str, pool: &str, dense: &str| {
        format!(
            "[[model.layers]]\ntype = \"conv2d\"\n{conv}\n[[model.layers]]\ntype = \"max_pool2d\"\n{pool}\n\
             [[model.layers]]\ntype = \"flatten\"\n[[model.layers]]\ntype = \"dense\"\n{dense}\n"
        )
    };
    let (conv, pool, dense) = (
        "filters = 8\nkernel_size = 3",
        "pool_size = 2",
        "units = 10\nactivation = \"softmax\"",
    );
    for (name, text) in [
        (
            "filters.toml",
            layers("filters = 0\nkernel_size = 3", pool, dense),
        ),
        (
            "filters-huge.toml",
            layers("filters = 100000\nkernel_size = 3", pool, dense),
        ),
        (
            "kernel.toml",
            layers("filters = 8\nkernel_size = 29", pool, dense),
        ),
        (
            "same-even.toml",
            layers(
                "filters = 8\nkernel_size = 2\npadding = \"same\"",
                pool,
                dense,
            ),
        ),
        (
            "softmax-conv.toml",
            layers(
                "filters = 8\nkernel_size = 3\nactivation = \"softmax\"",
                pool,
                dense,
            ),
        ),
        (
            "layer-key.toml",
            layers("filters = 8\nkernel_size = 3\nstride = 2", pool, dense),
        ),
        ("pool-zero.toml", layers(conv, "pool_size = 0", dense)),
        ("pool.toml", layers(conv, "pool_size = 27", dense)),
        ("last-units.toml", layers(conv, pool, "units = 12")),
        ("params-huge.toml", layers(conv, pool, "units = 40000")),
        (
            "layer-type.toml",
            "[[model.layers]]\ntype = \"conv3d\"\n".to_owned(),
        ),
        (
            "dense-first.toml",
            "[[model.layers]]\ntype = \"dense\"\nunits = 10\n".to_owned(),
        ),
        ("no-layers.toml", "[model]\nlayers = []\n".to_owned()),
        ("old-model.toml", "[model]\nfilters = 16\n".to_owned()),
    ] {
        write(name, text.as_bytes());
    }
    let mut huge = b"seed = 1\n".to_vec();
    huge.resize((1 << 20) + 1, b'\n');
    write("huge.toml", &huge);
    write("a-file", b"not a directory");
    // What `--output` must not replace: a FIFO, a symbolic link, a directory.
    let fifo = std::process::Command::new("mkfifo")
        .arg(root.join("fifo.png"))
        .status()
        .unwrap();
    assert!(fifo.success(), "mkfifo");
    write("target.png", b"the link's target");
    #[cfg(unix)]
    std::os::unix::fs::symlink("target.png", root.join("link.png")).unwrap();
    std::fs::create_dir(root.join("a-dir.png")).unwrap();
    std::fs::create_dir(root.join("empty-artifacts")).unwrap();

    // A small finished run, and damaged copies of it.
    let config = repo_root().join("configs/smoke.toml");
    let args = [
        "train",
        "--config",
        config.to_str().unwrap(),
        "--artifacts",
        "runs",
    ];
    trainer(
        root,
        &[&args[..], &["--train-size", "320", "--test-size", "100"]].concat(),
    )
    .ok();
    let run = root.join("runs/smoke/run-001");
    for copy in ["unfinished", "foreign", "truncated", "nan", "weights-dir"] {
        let to = root.join("runs/smoke").join(copy);
        std::fs::create_dir(&to).unwrap();
        for file in ["config.json", "model.bpk"] {
            std::fs::copy(run.join(file), to.join(file)).unwrap();
        }
    }
    std::fs::remove_file(root.join("runs/smoke/unfinished/model.bpk")).unwrap();
    let weights = root.join("runs/smoke/weights-dir/model.bpk");
    std::fs::remove_file(&weights).unwrap();
    std::fs::create_dir(&weights).unwrap();
    let foreign = root.join("runs/smoke/foreign/config.json");
    let text = std::fs::read_to_string(&foreign).unwrap();
    std::fs::write(&foreign, text.replace("\"filters\": 8", "\"filters\": 16")).unwrap();
    let weights = root.join("runs/smoke/truncated/model.bpk");
    let bytes = std::fs::read(&weights).unwrap();
    std::fs::write(&weights, &bytes[..bytes.len() / 2]).unwrap();
    // 400 bytes of the weights overwritten with 0xff: NaN as f32.
    let weights = root.join("runs/smoke/nan/model.bpk");
    let mut bytes = std::fs::read(&weights).unwrap();
    let end = bytes.len();
    bytes[end - 400..].fill(0xff);
    std::fs::write(&weights, &bytes).unwrap();

    onnx_fixtures(root);

    write("not-image.png", b"just some text");
    write("empty.png", b"");
    write("zero.png", &png_header(0, 0));
    write("huge.png", &png_header(20_000, 20_000));
    // A whole PNG of 8192x8192 black pixels: 67 M pixels in 100 KB or so.
    let mut bomb = Vec::new();
    image::GrayImage::new(8192, 8192)
        .write_to(
            &mut std::io::Cursor::new(&mut bomb),
            image::ImageFormat::Png,
        )
        .unwrap();
    write("bomb.png", &bomb);
    write(
        "animated.gif",
        b"GIF89a\x01\x00\x01\x00\x00\x00\x00!\xff\x0bNETSCAPE2.0\x03\x01\x00\x00\x00;",
    );
}

/// ONNX models of the smoke run, damaged in each way `trainer import` refuses.
fn onnx_fixtures(root: &Path) {
    use exchange::proto::{AttributeProto, AttributeType, ModelProto, StringStringEntryProto};
    use prost::Message;

    trainer(root, &["export", "--run", "runs/smoke", "-o", "smoke.onnx"]).ok();
    let bytes = std::fs::read(root.join("smoke.onnx")).unwrap();
    std::fs::write(root.join("truncated.onnx"), &bytes[..bytes.len() / 2]).unwrap();
    std::fs::write(root.join("not-onnx.onnx"), b"just some text").unwrap();
    let variant = |name: &str, edit: &dyn Fn(&mut ModelProto)| {
        let mut model = ModelProto::decode(&*bytes).unwrap();
        edit(&mut model);
        std::fs::write(root.join(name), model.encode_to_vec()).unwrap();
    };
    let conv = |model: &mut ModelProto| {
        let graph = model.graph.as_mut().unwrap();
        graph
            .node
            .iter()
            .position(|node| node.op_type == "Conv")
            .unwrap()
    };
    variant("lstm.onnx", &|model| {
        let index = conv(model);
        model.graph.as_mut().unwrap().node[index].op_type = "LSTM".into();
    });
    variant("dilated.onnx", &|model| {
        let index = conv(model);
        model.graph.as_mut().unwrap().node[index]
            .attribute
            .push(AttributeProto {
                name: "dilations".into(),
                r#type: AttributeType::Ints as i32,
                ints: vec![2, 2],
                ..AttributeProto::default()
            });
    });
    variant("colour.onnx", &|model| {
        let input = &mut model.graph.as_mut().unwrap().input[0];
        let shape = input.r#type.as_mut().unwrap().tensor_type.as_mut().unwrap();
        let dims = &mut shape.shape.as_mut().unwrap().dim;
        dims[1].dim_value = Some(3);
        dims[2].dim_value = Some(32);
        dims[3].dim_value = Some(32);
    });
    let external = |location: &'static str| {
        move |model: &mut ModelProto| {
            let graph = model.graph.as_mut().unwrap();
            let weight = graph
                .initializer
                .iter_mut()
                .find(|tensor| tensor.name == "0.weight")
                .unwrap();
            weight.raw_data.clear();
            weight.data_location = 1;
            weight.external_data = vec![StringStringEntryProto {
                key: "location".into(),
                value: location.into(),
            }];
        }
    };
    variant("outside.onnx", &external("../weights.data"));
    variant("no-data.onnx", &external("missing.data"));
    variant("branching.onnx", &|model| {
        let graph = model.graph.as_mut().unwrap();
        let last = graph.node.len() - 1;
        graph.node[last].input[0] = "pixels".into();
    });
}

#[test]
fn every_bad_input_in_the_table_gets_its_line() {
    let dir = tempfile::tempdir().unwrap();
    fixtures(dir.path());
    let rows = table();
    assert!(
        rows.len() >= 35,
        "the table lists every bad input ({} rows)",
        rows.len()
    );
    let mut wrong = Vec::new();
    for Row {
        env,
        args,
        expected,
    } in &rows
    {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: Vec<(&str, &str)> = env.iter().map(|(n, v)| (n.as_str(), v.as_str())).collect();
        let run = trainer_with_env(dir.path(), &args, &env);
        let lines: Vec<&str> = run
            .stderr
            .lines()
            .filter(|l| !l.trim().is_empty())
            .collect();
        let clean = matches!(run.code, Some(code) if code != 0)
            && !run.stderr.contains("panicked")
            && lines.len() == 1;
        if !clean || lines[0] != expected {
            wrong.push(format!(
                "trainer {}\n  expected: {expected}\n  got ({:?}): {}",
                args.join(" "),
                run.code,
                run.stderr.trim()
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} row(s) differ:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
    // What the refused `--output`s stood on is still there, unchanged.
    #[cfg(unix)]
    {
        use std::os::unix::fs::FileTypeExt;
        let kind = |name: &str| {
            std::fs::symlink_metadata(dir.path().join(name))
                .unwrap()
                .file_type()
        };
        assert!(kind("fifo.png").is_fifo());
        assert!(kind("link.png").is_symlink());
        assert!(kind("a-dir.png").is_dir());
        assert_eq!(
            std::fs::read(dir.path().join("target.png")).unwrap(),
            b"the link's target"
        );
    }
}
