use std::path::Path;

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
    assert_eq!(c.activations[0].kind, ActivationKind::Relu);
    assert_eq!(c.activations[1].kind, ActivationKind::LeakyRelu { slope: 0.1 });
    assert_eq!(c.activations[1].lr, Some(LearningRates(vec![0.05])));
    assert_eq!(c.activations[2].kind, ActivationKind::Silu { beta: 1.0 });
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
