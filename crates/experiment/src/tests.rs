//! The experiment file end to end: parsing, defaults, validation and
//! `--set`, against the shipped configs and arbitrary input.

use std::path::Path;

use data::PixelScaling;

use crate::error::{invalid, shorten};
use crate::*;

fn parse(text: &str) -> Result<Experiment, String> {
    toml::from_str::<ExperimentFile>(text)
        .map_err(|err| err.message().to_owned())
        .and_then(|file| file.validate().map_err(|err| err.to_string()))
}

/// Every key the default experiment writes, dotted as `--set` takes it
/// (`training.epochs`, `model.layers[0].filters`).
fn keys() -> Vec<String> {
    fn walk(prefix: &str, table: &toml::Table, out: &mut Vec<String>) {
        for (key, value) in table {
            let dotted = match prefix {
                "" => key.clone(),
                _ => format!("{prefix}.{key}"),
            };
            match value {
                toml::Value::Table(table) => walk(&dotted, table, out),
                toml::Value::Array(items) if items.iter().all(toml::Value::is_table) => {
                    out.push(dotted.clone());
                    for (index, item) in items.iter().enumerate() {
                        if let Some(table) = item.as_table() {
                            walk(&format!("{dotted}[{index}]"), table, out);
                        }
                    }
                }
                _ => out.push(dotted),
            }
        }
    }
    let mut out = Vec::new();
    walk(
        "",
        &toml::Table::try_from(ExperimentFile::default()).unwrap(),
        &mut out,
    );
    out
}

/// Values of every TOML type, edge cases among them.
fn value() -> impl proptest::strategy::Strategy<Value = String> {
    use proptest::prelude::*;
    prop_oneof![
        any::<i64>().prop_map(|v| v.to_string()),
        any::<u64>().prop_map(|v| v.to_string()),
        any::<f64>().prop_map(|v| format!("{v:e}")),
        prop::sample::select(vec![
            "nan", "inf", "-inf", "0", "-1", "1e308", "[]", "{}", "true"
        ])
        .prop_map(str::to_owned),
        "[a-z_]{0,12}".prop_map(|s| format!("\"{s}\"")),
        prop::sample::select(vec!["step", "cosine", "constant", "linear", "exponential"])
            .prop_map(|kind| format!("{{type=\"{kind}\"}}")),
    ]
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(256))]

    /// Any text is an experiment or a typed error, never a panic.
    #[test]
    fn any_text_is_an_experiment_or_an_error(text in "\\PC{0,300}") {
        let _ = parse(&text);
    }

    /// Any value at any key, through `--set` and through a file, is
    /// checked or refused, never a panic (overflow, huge allocation).
    #[test]
    fn any_value_of_any_key_is_checked_or_refused(
        picks in proptest::collection::vec((proptest::prelude::any::<proptest::sample::Index>(), value()), 1..5)
    ) {
        let keys = keys();
        let assignments: Vec<Assignment> = picks
            .into_iter()
            .map(|(index, value)| Assignment {
                key: keys[index.index(keys.len())].clone(),
                value,
            })
            .collect();
        if let Ok(file) = ExperimentFile::default().set(&assignments) {
            let _ = file.validate();
        }
    }
}

#[test]
fn a_long_value_is_shortened_in_its_error() {
    let name = "n".repeat(50 << 20);
    let line = invalid("name", &name, "must be short").to_string();
    assert!(line.len() < 200, "{} characters", line.len());
    assert!(
        line.ends_with(&format!("({} characters): must be short", 50 << 20)),
        "{line}"
    );
    assert_eq!(shorten("1e-3"), "1e-3");
}

#[test]
fn an_empty_file_is_the_notebook() {
    let experiment = parse("").unwrap();
    assert_eq!(experiment.file, ExperimentFile::default());
    assert_eq!(experiment.file.training.epochs, 3);
    assert_eq!(experiment.file.training.batch_size, 32);
    assert_eq!(experiment.file.optimizer.epsilon, 1e-7);
    assert_eq!(experiment.file.data.scaling, PixelScaling::Raw);
    assert_eq!(experiment.num_params(), 13_610);
}

#[test]
fn unknown_keys_are_refused() {
    let err = parse("[training]\nepochz = 3\n").unwrap_err();
    assert!(err.contains("unknown field `epochz`"), "{err}");
    let err = parse("colour = 1\n").unwrap_err();
    assert!(err.contains("unknown field `colour`"), "{err}");
}

#[test]
fn wrong_types_are_refused() {
    let err = parse("[training]\nepochs = \"three\"\n").unwrap_err();
    assert!(err.contains("invalid type"), "{err}");
    let err = parse("[data]\nscaling = \"log\"\n").unwrap_err();
    assert!(err.contains("unknown variant `log`"), "{err}");
}

#[test]
fn out_of_range_values_name_their_key() {
    for (text, key) in [
        ("[training]\nepochs = 0", "training.epochs"),
        ("[training]\nbatch_size = 0", "training.batch_size"),
        (
            "[training]\neval_batch_size = 0",
            "training.eval_batch_size",
        ),
        (
            "[optimizer]\nlearning_rate = -0.1",
            "optimizer.learning_rate",
        ),
        (
            "[optimizer]\nlearning_rate = nan",
            "optimizer.learning_rate",
        ),
        ("[optimizer]\nbeta1 = 1.0", "optimizer.beta1"),
        ("[optimizer]\nbeta2 = -0.5", "optimizer.beta2"),
        ("[optimizer]\nepsilon = 0.0", "optimizer.epsilon"),
        ("[training]\nepochs = 1000000", "training.epochs"),
        ("[training]\nbatch_size = 99999999", "training.batch_size"),
        ("[data]\ntrain_size = 0", "data.train_size"),
        ("[data]\nvalidation_split = 1.0", "data.validation_split"),
        ("[data]\nvalidation_split = -0.1", "data.validation_split"),
        (
            "[training.early_stopping]\nmin_delta = -1.0",
            "training.early_stopping.min_delta",
        ),
        (
            "[training.early_stopping]\npatience = 100000",
            "training.early_stopping.patience",
        ),
        ("name = \"../escape\"", "name"),
    ] {
        let err = parse(text).unwrap_err();
        assert!(
            err.starts_with(&format!("config key `{key}`")),
            "{text}: {err}"
        );
    }
}

/// `[[model.layers]]`: the notebook's layers written out are the
/// default; a bad list is one line naming the layer's index and key.
#[test]
fn layer_lists_are_read_and_checked_by_index() {
    let notebook = "[[model.layers]]\ntype = \"conv2d\"\nfilters = 8\nkernel_size = 3\n\
            [[model.layers]]\ntype = \"max_pool2d\"\npool_size = 2\n\
            [[model.layers]]\ntype = \"flatten\"\n\
            [[model.layers]]\ntype = \"dense\"\nunits = 10\nactivation = \"softmax\"\n";
    assert_eq!(parse(notebook).unwrap().file, ExperimentFile::default());
    let flatten = "[[model.layers]]\ntype = \"flatten\"\n";
    let last = "[[model.layers]]\ntype = \"dense\"\nunits = 10\n";
    for (layers, message) in [
        (
            "[[model.layers]]\ntype = \"conv3d\"\n".to_owned(),
            "model.layers[0]: unknown variant `conv3d`, expected one of `conv2d`, `max_pool2d`, `avg_pool2d`, `flatten`, `dropout`, `dense`, `batch_norm`",
        ),
        (
            format!("{flatten}[[model.layers]]\ntype = \"dense\"\nunitz = 10\n"),
            "model.layers[1]: unknown field `unitz`, expected `units` or `activation`",
        ),
        (
            format!("{flatten}[[model.layers]]\ntype = \"dense\"\n"),
            "model.layers[1]: missing field `units`",
        ),
        (
            format!(
                "{flatten}[[model.layers]]\ntype = \"dense\"\nunits = 10\nactivation = \"gelu\"\n"
            ),
            "model.layers[1]: unknown variant `gelu`, expected one of `linear`, `relu`, `sigmoid`, `tanh`, `softmax`",
        ),
        (
            last.to_owned(),
            "model.layers[0] (dense): type needs flat features: put a flatten layer before it",
        ),
        (
            format!(
                "[[model.layers]]\ntype = \"conv2d\"\nfilters = 4\nkernel_size = 30\n{flatten}{last}"
            ),
            "model.layers[0] (conv2d): kernel_size 30 is larger than its 28x28 input",
        ),
        (
            format!("{flatten}[[model.layers]]\ntype = \"dense\"\nunits = 12\n"),
            "model.layers[1] (dense): units 12: the last layer must have 10, one per class",
        ),
    ] {
        let err = parse(&layers).unwrap_err();
        assert!(err.ends_with(message), "{layers}: {err}");
    }
}

/// The defaults live once: the notebook's config file spells them all out
/// and must agree with them, key by key.
#[test]
fn the_notebook_config_is_the_built_in_default() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs/notebook.toml");
    let file = ExperimentFile::load(&path).unwrap();
    assert_eq!(file, ExperimentFile::default());
    let text = std::fs::read_to_string(&path).unwrap();
    let table: toml::Table = toml::from_str(&text).unwrap();
    let default = toml::Table::try_from(ExperimentFile::default()).unwrap();
    assert_eq!(
        table, default,
        "configs/notebook.toml lists every key of the default"
    );
}

#[test]
fn the_shipped_configs_are_valid() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs");
    let mut seen = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        ExperimentFile::load(&path)
            .and_then(ExperimentFile::validate)
            .unwrap_or_else(|err| panic!("{err}"));
        seen += 1;
    }
    assert!(seen >= 3);
}

proptest::proptest! {
    /// Arbitrary text and arbitrary values for every key: an error or a
    /// checked experiment, never a panic.
    #[test]
    fn arbitrary_configs_never_panic(text in ".{0,400}") {
        let _ = parse(&text);
    }

    #[test]
    fn arbitrary_values_never_panic(
        epochs in proptest::prelude::any::<i64>(),
        batch in proptest::prelude::any::<u32>(),
        lr in proptest::prelude::any::<f64>(),
        beta in proptest::prelude::any::<f64>(),
        kernel in 0usize..64,
        pool in 0usize..64,
        filters in 0usize..1000,
        units in 0usize..100,
        kind in proptest::sample::select(vec!["conv2d", "max_pool2d", "avg_pool2d", "flatten", "dropout", "dense", "batch_norm"]),
    ) {
        let text = format!(
            "[training]\nepochs = {epochs}\nbatch_size = {batch}\n[optimizer]\nlearning_rate = {lr:?}\nbeta1 = {beta:?}\n\
             [[model.layers]]\ntype = \"conv2d\"\nkernel_size = {kernel}\nfilters = {filters}\n\
             [[model.layers]]\ntype = \"max_pool2d\"\npool_size = {pool}\n\
             [[model.layers]]\ntype = \"{kind}\"\n\
             [[model.layers]]\ntype = \"flatten\"\n\
             [[model.layers]]\ntype = \"dense\"\nunits = {units}\n"
        );
        if let Ok(experiment) = parse(&text) {
            proptest::prop_assert!(experiment.net.check().is_ok());
            proptest::prop_assert!(experiment.file.training.epochs >= 1);
        }
    }
}

fn assignments(texts: &[&str]) -> Vec<Assignment> {
    texts.iter().map(|text| text.parse().unwrap()).collect()
}

/// The error line of one `--set` on the default file.
fn set_error(text: &str) -> String {
    ExperimentFile::default()
        .set(&assignments(&[text]))
        .unwrap_err()
        .to_string()
}

#[test]
fn set_changes_any_key_as_the_file_would() {
    let file = ExperimentFile::default()
        .set(&assignments(&[
            "training.epochs=5",
            "optimizer.learning_rate = 1e-4",
            "data.scaling=unit",
            "name=\"sweep\"",
            "data.train_size=1000",
            "seed=7",
        ]))
        .unwrap();
    let from_toml: ExperimentFile = toml::from_str(
            "name = \"sweep\"\nseed = 7\n[training]\nepochs = 5\n[optimizer]\nlearning_rate = 1e-4\n[data]\nscaling = \"unit\"\ntrain_size = 1000\n",
        )
        .unwrap();
    assert_eq!(file, from_toml);
}

/// `model.layers[N].KEY` reaches into the layer list, as the errors name it.
#[test]
fn set_reaches_into_the_layer_list() {
    let file = ExperimentFile::default()
        .set(&assignments(&[
            "model.layers[0].filters=16",
            "model.layers[0].activation=relu",
            "model.layers[3]={type=\"dense\", units=10}",
        ]))
        .unwrap();
    let mut layers = model::LayerConfig::notebook();
    layers[0] = model::LayerConfig::Conv2d {
        filters: 16,
        kernel_size: 3,
        padding: model::Padding::Valid,
        strides: 1,
        activation: model::Activation::Relu,
    };
    layers[3] = model::LayerConfig::Dense {
        units: 10,
        activation: model::Activation::Linear,
    };
    assert_eq!(file.model.layers, layers);
    for (text, message) in [
        (
            "model.layers[4].units=3",
            "--set model.layers[4].units=3: `layers` has 4 items (from 0), so `layers[4]` names nothing",
        ),
        (
            "model.layers[x].units=3",
            "--set model.layers[x].units=3: `layers[x]`: the index must be a number",
        ),
        (
            "training[0].epochs=3",
            "--set training[0].epochs=3: `training` is not a list, so `training[0]` names nothing",
        ),
        (
            "model.layers[0].filterz=3",
            "--set model.layers[0].filterz=3: model.layers[0]: unknown field `filterz`",
        ),
    ] {
        let err = set_error(text);
        assert!(err.starts_with(message), "{text}: {err}");
    }
}

#[test]
fn set_refuses_unknown_keys_and_wrong_types() {
    for (text, message) in [
        (
            "training.epochz=3",
            "--set training.epochz=3: unknown field `epochz`",
        ),
        (
            "training.epochs=three",
            "--set training.epochs=three: invalid type: string \"three\", expected usize",
        ),
        (
            "training.epochs.x=1",
            "--set training.epochs.x=1: `epochs` is a value, not a section",
        ),
        ("colour=1", "--set colour=1: unknown field `colour`"),
        (
            "data.scaling=log",
            "--set data.scaling=log: unknown variant `log`",
        ),
    ] {
        let err = set_error(text);
        assert!(err.starts_with(message), "{text}: {err}");
    }
    assert!("=3".parse::<Assignment>().is_err());
    assert!("epochs".parse::<Assignment>().is_err());
}

#[test]
fn a_resolved_config_round_trips_through_json() {
    let file = parse("name = \"x\"\n[data]\ntrain_size = 100\nscaling = \"unit\"")
        .unwrap()
        .file;
    let json = serde_json::to_string(&file).unwrap();
    assert_eq!(serde_json::from_str::<ExperimentFile>(&json).unwrap(), file);
}
