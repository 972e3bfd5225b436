//! Generated configs, valid and broken: parsing never panics, and every
//! rejection is a one-line message that names the file.

use std::path::Path;

use actbench::config::Config;
use rand::{Rng, SeedableRng};

const KEYS: &[&str] = &[
    "activations",
    "[experiment]",
    "name",
    "seeds",
    "backend",
    "[data]",
    "dataset",
    "test_split",
    "validation_split",
    "samples",
    "noise",
    "[model]",
    "kind",
    "hidden",
    "init",
    "[training]",
    "epochs",
    "batch_size",
    "optimizer",
    "lr",
    "momentum",
    "nesterov",
    "weight_decay",
    "grad_clip_norm",
    "patience",
    "[logging]",
    "every_steps",
    "activation_stats",
    "activation_every_steps",
    "[report]",
    "baseline",
    "[check]",
    "min_drop",
    "bogus",
    "[[activations]]",
];
const VALUES: &[&str] = &[
    "1",
    "0",
    "-1",
    "0.5",
    "1e9",
    "-0.0",
    "nan",
    "inf",
    "\"relu\"",
    "\"sigmiod\"",
    "\"\"",
    "true",
    "[]",
    "[0, 1]",
    "[64, 0]",
    "[\"relu\", \"tanh\"]",
    "[{ name = \"leaky_relu\", slope = 0.1 }]",
    "[{ name = \"elu\", alpha = \"x\" }]",
    "{ name = \"relu\" }",
    "\"digits\"",
    "\"spirals\"",
    "\"adam\"",
    "\"flex\"",
    "[1.5, 2]",
    "9999999999999999999",
    "\"he\"",
    "[[1]]",
    "{",
    "\"unterminated",
    "'lit'",
    "1979-05-27",
];

fn generate(rng: &mut impl Rng) -> String {
    let mut text = String::new();
    for _ in 0..rng.random_range(0..12) {
        let key = KEYS[rng.random_range(0..KEYS.len())];
        if key.starts_with('[') {
            text.push_str(key);
        } else {
            let value = VALUES[rng.random_range(0..VALUES.len())];
            text.push_str(&format!("{key} = {value}"));
        }
        text.push('\n');
        if rng.random_bool(0.05) {
            // Raw byte-level damage.
            let cut = rng.random_range(0..=text.len());
            text.truncate(cut);
            while !text.is_char_boundary(text.len()) {
                text.pop();
            }
        }
    }
    text
}

#[test]
fn twenty_thousand_generated_configs_never_panic() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(2);
    let (mut accepted, mut rejected) = (0, 0);
    for _ in 0..20_000 {
        let text = generate(&mut rng);
        match Config::parse(&text, Path::new("fuzz.toml"), "fuzz") {
            Ok(config) => {
                accepted += 1;
                // What was accepted round-trips.
                let again = Config::parse(&config.to_toml(), Path::new("again.toml"), "fuzz").unwrap();
                assert_eq!(config, again, "{text}");
            }
            Err(e) => {
                rejected += 1;
                let msg = e.to_string();
                assert!(msg.starts_with("fuzz.toml") && !msg.contains('\n'), "{text:?} -> {msg}");
            }
        }
    }
    println!("config fuzz: {accepted} accepted, {rejected} rejected, 0 panics");
    assert!(accepted > 100 && rejected > 100, "{accepted} accepted, {rejected} rejected");
}
