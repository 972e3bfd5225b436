use std::path::Path;

use super::values::{Count, LearningRates};
use super::*;
use crate::activation::ActivationKind;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new("exp.toml"), "exp")
}

fn error(text: &str) -> String {
    let msg = parse(text).unwrap_err().to_string();
    assert!(!msg.contains('\n'), "errors are one line: {msg}");
    msg
}

#[test]
fn an_empty_file_is_all_defaults() {
    let c = parse("").unwrap();
    assert_eq!(c.experiment.name, "exp");
    assert_eq!(c.experiment.seeds.0, vec![0]);
    assert_eq!(c.training.lr.0, vec![0.01]);
    assert_eq!(c.activations.len(), 2);
    assert_eq!(c.model.hidden, vec![Count(64), Count(64)]);
}

#[test]
fn activations_are_names_or_tables() {
    let c = parse(r#"activations = ["relu", { name = "leaky_relu", slope = 0.1, lr = 0.05 }, "swish"]"#).unwrap();
    assert_eq!(c.activations[0].kind, ActivationKind::with("relu", &[]).unwrap());
    assert_eq!(c.activations[1].kind, ActivationKind::with("leaky_relu", &[("slope", 0.1)]).unwrap());
    assert_eq!(c.activations[1].lr, Some(LearningRates(vec![0.05])));
    assert_eq!(c.activations[2].kind, ActivationKind::with("silu", &[]).unwrap());
}

#[test]
fn unknown_key_names_file_line_and_key() {
    let msg = error("[training]\nepochs = 2\nlearning_rate = 0.1\n");
    assert!(msg.starts_with("exp.toml:3:"), "{msg}");
    assert!(msg.contains("learning_rate"), "{msg}");
}

#[test]
fn wrong_type_names_the_key() {
    let msg = error("[training]\nepochs = \"ten\"\n");
    assert!(msg.starts_with("exp.toml:2:"), "{msg}");
    assert!(msg.contains("training.epochs"), "{msg}");
}

#[test]
fn unknown_activation_suggests_the_closest_name() {
    let msg = error("activations = [\"relu\", \"sigmiod\"]\n");
    assert!(msg.starts_with("exp.toml:1:"), "{msg}");
    assert!(msg.contains("did you mean `sigmoid`"), "{msg}");
    assert!(msg.contains("known: identity, step"), "{msg}");
}

#[test]
fn bad_values_name_their_key() {
    for (text, key, what) in [
        ("[training]\nlr = 0\n", "training.lr", "> 0"),
        ("[training]\nlr = [0.1, -1]\n", "training.lr", "> 0"),
        ("[training]\nepochs = 0\n", "training.epochs", "at least 1"),
        ("[model]\nhidden = [32, 0]\n", "model.hidden", "at least 1"),
        ("[data]\ntest_split = 1.5\n", "data.test_split", "[0, 1)"),
    ] {
        let msg = error(text);
        assert!(msg.contains(key) && msg.contains(what), "{text:?}: {msg}");
        assert!(msg.starts_with("exp.toml:2:"), "{msg}");
    }
}

#[test]
fn cross_key_checks_name_the_key() {
    let msg = error("activations = []\n");
    assert!(msg.contains("`activations`") && msg.contains("at least one"), "{msg}");
    let msg = error("[model]\nhidden = []\n");
    assert!(msg.contains("model.hidden"), "{msg}");
    let msg = error("activations = [\"relu\", \"relu\"]\n");
    assert!(msg.contains("twice"), "{msg}");
}

#[test]
fn activations_below_a_section_get_a_hint() {
    let msg = error("[training]\nepochs = 2\nactivations = [\"relu\"]\n");
    assert!(msg.contains("top-level key"), "{msg}");
}

#[test]
fn the_resolved_config_parses_back_to_itself() {
    let c = parse(
        r#"activations = ["relu", { name = "elu", alpha = 0.5, init = "he" }]
        [experiment]
        name = "x"
        seeds = [3, 4]
        [training]
        lr = [0.1, 0.01]
        grad_clip_norm = 1.0"#,
    )
    .unwrap();
    let again = parse(&c.to_toml()).unwrap();
    assert_eq!(c, again);
}

#[test]
fn every_activation_with_every_parameter_round_trips() {
    // Non-default values for every parameter, plus the entry keys lr and init.
    let mut entries = Vec::new();
    for info in crate::activation::catalog::CATALOG {
        let params: Vec<String> = info
            .params
            .iter()
            .map(|p| match p.default {
                crate::activation::catalog::ParamDefault::Float(v) => format!("{} = {}", p.name, v - 0.5),
                crate::activation::catalog::ParamDefault::Bool(b) => format!("{} = {}", p.name, !b),
            })
            .collect();
        let mut fields = vec![format!("name = \"{}\"", info.name)];
        fields.extend(params);
        entries.push(format!("{{ {} }}", fields.join(", ")));
        entries.push(format!("{{ name = \"{}\", lr = 0.5, init = \"lecun\" }}", info.name));
    }
    let text = format!("activations = [{}]\n", entries.join(", "));
    let c = parse(&text).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(c.activations.len(), 2 * crate::activation::catalog::CATALOG.len());
    assert_eq!(parse(&c.to_toml()).unwrap(), c);
}

#[test]
fn cnn_and_data_keys_are_checked_against_the_dataset() {
    let ok = parse("[data]\ndataset = \"cifar10\"\naugment = true\n[model]\nkind = \"cnn\"\nkernel_size = [5, 3]\n")
        .unwrap();
    assert_eq!(ok.model.kernel_sizes(), vec![5, 3]);
    assert_eq!(parse("[model]\nkind = \"cnn\"\n").unwrap().model.kernel_sizes(), vec![5, 5]);
    let cases = [
        ("[data]\ndataset = \"spirals\"\n[model]\nkind = \"cnn\"\n", "model.kind", "needs an image dataset"),
        ("[model]\nkind = \"cnn\"\nkernel_size = 4\n", "model.kernel_size", "must be odd"),
        ("[model]\nkind = \"cnn\"\nkernel_size = [5, 3, 3]\n", "model.kernel_size", "3 sizes for 2 blocks"),
        ("[model]\nkind = \"cnn\"\nchannels = []\n", "model.channels", "no convolution block"),
        // digits are 8x8: three 2x2 pools leave 1x1, a fourth nothing.
        (
            "[model]\nkind = \"cnn\"\nchannels = [4, 4, 4, 4]\nkernel_size = 3\n",
            "model.channels",
            "block 4 would shrink the 8x8",
        ),
        ("[model]\nkind = \"cnn\"\npadding = \"valid\"\n", "model.channels", "block 2 would shrink"),
        ("[data]\ndataset = \"xor\"\naugment = true\n", "data.augment", "needs an image dataset"),
        (
            "[data]\nnormalize = \"symmetric\"\nmean = [0.5]\n",
            "data.mean",
            "applies to `normalize = \"standard\"` only",
        ),
        ("[data]\ndataset = \"cifar10\"\nmean = [0.5]\n", "data.mean", "lists 1 values; `cifar10` needs 3"),
        ("[data]\ndataset = \"mnist\"\nstd = [0.0]\n", "data.std", "std > 0"),
    ];
    for (text, key, want) in cases {
        let msg = error(text);
        assert!(msg.contains(&format!("`{key}`")) && msg.contains(want), "{text:?}: {msg}");
    }
}

#[test]
fn flush_denormals_defaults_to_true_and_stays_out_of_the_resolved_file() {
    let c = parse("").unwrap();
    assert!(c.training.flush_denormals());
    // Absent, it is not written: the config hash of existing runs is unchanged.
    assert!(!c.to_toml().contains("flush_denormals"));
    let off = parse("[training]\nflush_denormals = false").unwrap();
    assert!(!off.training.flush_denormals());
    assert!(off.to_toml().contains("flush_denormals = false"));
    let msg = error("[training]\nflush_denormals = \"yes\"");
    assert!(msg.contains("training.flush_denormals") && msg.contains("boolean"), "{msg}");
}

#[test]
fn values_that_would_train_nonsense_are_rejected() {
    for (text, key, what) in [
        ("[training]\nlr = [0.05, 0.05]\n", "training.lr", "twice"),
        ("[training]\nlr = [1, 1.0]\n", "training.lr", "twice"),
        ("activations = [{ name = \"relu\", lr = [0.1, 0.2, 0.1] }]\n", "activations", "twice"),
        ("activations = [{ name = \"leaky_relu\", slope = nan }]\n", "activations", "finite"),
        ("activations = [{ name = \"hard_tanh\", min = nan }]\n", "activations", "finite"),
        ("activations = [{ name = \"elu\", alpha = inf }]\n", "activations", "finite"),
        ("activations = [{ name = \"softplus\", threshold = -inf }]\n", "activations", "finite"),
        ("[data]\ntest_split = 0.0\n", "data.test_split", "nothing to test on"),
        ("[data]\ndataset = \"spirals\"\ntest_split = 0\n", "data.test_split", "nothing to test on"),
        ("[data]\nvalidation_split = 0.0\n", "data.validation_split", "is 0"),
        ("activations = [{ name = \"elu\", learn_per = \"unit\" }]\n", "activations[0]", "`elu` learns no parameter"),
        ("activations = [{ name = \"prelu\", learn_per = \"channel\" }]\n", "activations[0]", "\"layer\""),
        ("activations = [{ formula = \"x\", learn_per = \"unit\" }]\n", "activations[0]", "needs `learn`"),
    ] {
        let msg = error(text);
        assert!(msg.contains(key) && msg.contains(what), "{text:?}: {msg}");
    }
    // A dataset with its own test set takes no test share (it would be ignored).
    let msg = error("[data]\ndataset = \"mnist\"\ntest_split = 0.0\n");
    assert!(msg.contains("data.test_split") && msg.contains("has its own test set"), "{msg}");
}

#[test]
fn a_huge_name_is_cut_in_the_error() {
    let name = "q".repeat(100_000);
    let msg = error(&format!("activations = [\"{name}\"]\n"));
    assert!(msg.len() < 1000, "{} characters", msg.len());
    assert!(msg.contains("(100000 characters)") && msg.contains("known: identity"), "{msg}");
    let msg = error(&format!("[data]\ndataset = \"{name}\"\n"));
    assert!(msg.len() < 1000 && msg.contains("data.dataset"), "{msg}");
}

#[test]
fn an_experiment_name_must_be_able_to_name_a_folder() {
    for (name, said) in [
        ("a".repeat(300), "300 characters long"),
        ("a\\u0000b".into(), "control character"),
        ("a\\nb".into(), "control character"),
        ("runs/../x".into(), "cannot name a folder"),
        ("a:b".into(), "cannot name a folder"),
        ("..".into(), "cannot name a folder"),
        (" x".into(), "starts or ends with a space"),
        (".hidden".into(), "starts with a dot"),
    ] {
        let msg = error(&format!("[experiment]\nname = \"{name}\"\n"));
        assert!(msg.contains("experiment.name") && msg.contains(said), "{name}: {msg}");
        assert!(!msg.contains('\0') && msg.len() < 300, "{msg}");
    }
    for good in ["relu_vs_sigmoid", "mnist-cnn 2", "étude_α"] {
        assert_eq!(parse(&format!("[experiment]\nname = \"{good}\"\n")).unwrap().experiment.name, good);
    }
}
