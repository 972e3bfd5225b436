//! Random mutations of valid files of the newer features, in the style of
//! the results reader's fuzz test: configs with formulas, sweeps, tuning
//! and a search; `--set` overrides; claims files checked against a real
//! results folder. Never a panic, never a case past a few seconds, every
//! rejection one line naming the file, and what is accepted is well formed:
//! a config that loads again as itself and a grid whose run ids are
//! distinct; a claims outcome with one verdict per claim.

use std::path::Path;
use std::sync::mpsc;
use std::time::Duration;

use actbench::config::Config;
use rand::{Rng, SeedableRng};

use crate::common::{TempDir, actbench};

/// Valid files, each exercising several of the newer keys at once.
const CONFIGS: &[&str] = &[
    r#"activations = ["relu", { name = "swish_beta", formula = "x * sigmoid(beta * x)", beta = 1.0, learn = ["beta"] }, { formula = "max(x, 0.1 * x)", lr = [0.1, 0.01] }]
[experiment]
seeds = 2
[model]
hidden = [16, 16]
[training]
epochs = 3
lr = [0.05, 0.01]
[sweep]
"model.hidden" = [[8], [16, 16]]
"training.optimizer" = ["sgd", "adam"]
[tuning]
tune = ["training.lr", "model.hidden"]
"#,
    r#"activations = ["relu"]
[experiment]
seeds = 3
[training]
epochs = 9
lr = 0.05
[search]
unary = ["x", "-x", "tanh(x)", "sin(x)", "max(x, 0)", "x^2"]
binary = ["a + b", "a * b", "max(a, b)", "a * sigmoid(b)"]
units = 1
candidates = 16
rungs = [1, 3, 9]
keep = 0.33
seeds = 1
finalists = 2
baselines = ["relu", { formula = "x * tanh(softplus(x))", name = "mish_f" }]
"#,
    r#"activations = ["elu", { name = "elu", alpha = 2.0, init = "he" }, { name = "prelu", learn_per = "unit" }, { name = "pade", formula = "(a0 + a1 * x) / (1 + abs(b1 * x))", a0 = 0.0, a1 = 1.0, b1 = 0.5, learn = ["a0", "a1", "b1"], learn_per = "unit" }]
[data]
dataset = "digits"
[model]
kind = "cnn"
channels = [4]
hidden = []
[training]
epochs = 2
patience = 2
[sweep]
"model.init" = ["he", "glorot"]
"model.dropout" = [0.0, 0.25]
"#,
    r#"activations = ["relu", "gelu"]
[model]
kind = "resmlp"
width = 32
blocks = 2
norm = "layer"
[training]
epochs = 4
lr = [0.1, 0.03, 0.01]
[tuning]
tune = ["training.lr"]
halving = { eta = 3, min_epochs = 1 }
"#,
];

const CLAIMS: &str = r#"[[claim]]
claim = "relu learns"
activation = "relu"
metric = "test_accuracy"
at_least = 0.1
paper = 0.9

[[claim]]
activation = "tanh"
metric = "test_accuracy"
seeds = "share"
where = { at_least = 0.05 }
between = [0.0, 1.0]

[[claim]]
better = "relu"
worse = "tanh"
metric = "test_accuracy"
p_below = 0.5

[[claim]]
activation = "relu"
metric = "grad_ratio"
step = 1
seeds = "max"
at_most = 1000.0
"#;

/// What a mutation writes in place of a bare word or number: values at
/// the edges, of the right type or not.
const VALUES: &[&str] = &[
    "0",
    "-1",
    "1e308",
    "-1e308",
    "1e-320",
    "nan",
    "inf",
    "-inf",
    "9223372036854775807",
    "1000000000000",
    "0.5",
    "1.5",
    "[]",
    "[[]]",
    "{}",
    "\"\"",
    "\"x\"",
    "\"relu\"",
    "true",
    "[1, 1]",
    "[1e9]",
    "[3, 1]",
    "\"x / 0\"",
    "\"exp(exp(exp(x)))\"",
    "\"relu-lr0.1\"",
    "\"unit\"",
    "\"share\"",
    "[\"training.lr\"]",
    "[\"zz\"]",
];
/// ...in place of a word inside a string (a name, a formula, a key).
const WORDS: &[&str] = &[
    "x",
    "relu",
    "tanh",
    "nan",
    "beta",
    "zz",
    "sigmoid",
    "model.width",
    "training.lr",
    "a",
    "b",
    "1e9",
    "max",
    "-",
    "relu-lr0",
    "x ^ 1e9",
    "((x",
    "\\u001b[2J",
    "\\u0000",
    "\\n",
    "leaky_relu-slope1",
    "formula_01b041b0",
];
/// ...anywhere: broken syntax, and whole keys of every feature.
const SYNTAX: &[&str] = &[
    "\u{0}",
    "\u{1b}[2J",
    "\n",
    "\r",
    "\t",
    "\"",
    "'",
    "[",
    "]",
    "{",
    "}",
    ",",
    "=",
    "#",
    ".",
    "\\",
    "\nname = \"relu\"\n",
    "\nlearn = [\"zz\"]\n",
    "\n[sweep]\n\"model.hidden\" = [[8], [8]]\n",
    "\n[tuning]\ntune = [\"training.lr\"]\n",
    "\n[search]\n",
    "\ncandidates = 1000000000000\n",
    "\nunits = 3\n",
    "\nwhere = { at_least = nan }\n",
    "\n[[claim]]\n",
    "\nepoch = 0\n",
    "\nstep = 99999999\n",
    "\nactivation = \"nonexistent\"\n",
    "\nat = { \"model.hidden\" = [8] }\n",
];

fn pick<'a>(rng: &mut impl Rng, from: &[&'a str]) -> &'a str {
    from[rng.random_range(0..from.len())]
}

/// The numbers and strings of a TOML text, as (start, end, is a string).
fn values_in(chars: &[char]) -> Vec<(usize, usize, bool)> {
    let mut spans = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '"' {
            let end = chars[i + 1..].iter().position(|c| *c == '"' || *c == '\n').map(|j| i + 1 + j);
            if let Some(end) = end.filter(|e| chars[*e] == '"') {
                spans.push((i, end + 1, true));
                i = end + 1;
                continue;
            }
        } else if c.is_ascii_digit() && (i == 0 || !(chars[i - 1].is_alphanumeric() || chars[i - 1] == '_')) {
            let start = if i > 0 && chars[i - 1] == '-' { i - 1 } else { i };
            let mut end = i;
            while end < chars.len()
                && (chars[end].is_ascii_alphanumeric() || matches!(chars[end], '.' | '+' | '-' | '_'))
            {
                end += 1;
            }
            spans.push((start, end, false));
            i = end;
            continue;
        }
        i += 1;
    }
    spans
}

fn mutate(text: &str, rng: &mut impl Rng) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    let times = if rng.random_bool(0.6) { 1 } else { rng.random_range(2..4) };
    for _ in 0..times {
        let at = rng.random_range(0..=chars.len());
        match rng.random_range(0..20) {
            // Delete a short span.
            0..=2 => {
                let end = (at + rng.random_range(1..6)).min(chars.len());
                chars.drain(at..end);
            }
            // Insert broken syntax or a whole key.
            3..=5 => {
                chars.splice(at..at, pick(rng, SYNTAX).chars());
            }
            // Replace a number or a string by a value: the syntax mostly holds, the meaning not.
            6..=15 => {
                let spans = values_in(&chars);
                if !spans.is_empty() {
                    let (a, b, string) = spans[rng.random_range(0..spans.len())];
                    let piece = if string && rng.random_bool(0.6) {
                        format!("\"{}\"", pick(rng, WORDS))
                    } else {
                        pick(rng, VALUES).to_string()
                    };
                    chars.splice(a..b, piece.chars());
                }
            }
            // Repeat a line (a key or a list entry twice).
            16..=18 => {
                let text: String = chars.iter().collect();
                let lines: Vec<&str> = text.lines().collect();
                if !lines.is_empty() {
                    let i = rng.random_range(0..lines.len());
                    let mut out: Vec<&str> = lines.clone();
                    out.insert(i, lines[i]);
                    chars = (out.join("\n") + "\n").chars().collect();
                }
            }
            // Cut the file.
            _ => chars.truncate(at),
        }
    }
    chars.into_iter().collect()
}

/// `f` in a thread of its own: its result, or a failure naming `what` when
/// it panics or runs past the limit.
fn bounded<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        let _ = tx.send(f());
    });
    match rx.recv_timeout(Duration::from_secs(10)) {
        Ok(v) => {
            worker.join().expect("sent, so it did not panic");
            v
        }
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("past 10 s: {what:?}"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("panicked: {what:?}"),
    }
}

/// An accepted config is well formed: it loads again as itself, and no
/// two runs of its grid share an id (a folder), without case.
fn well_formed(config: &Config, what: &str) {
    let again = Config::parse(&config.to_toml(), Path::new("again.toml"), "fuzz")
        .unwrap_or_else(|e| panic!("accepted, but does not load again: {e}\n{what:?}"));
    assert_eq!(&again, config, "{what:?}");
    if let Some(search) = &config.search {
        let mut finals = config.clone();
        finals.activations = search.baselines.clone();
        assert!(Config::parse(&finals.to_toml(), Path::new("finals.toml"), "fuzz").is_ok(), "{what:?}");
    }
    let lrs: usize = config.activations.iter().map(|a| a.lr.as_ref().unwrap_or(&config.training.lr).0.len()).sum();
    if lrs * config.sweep.len().max(1) * config.experiment.seeds.0.len() > 100_000 {
        return; // a grid that large is `run`'s budget check's to refuse
    }
    let mut ids: Vec<String> = actbench::grid::expand(config).into_iter().map(|r| r.id.to_lowercase()).collect();
    let n = ids.len();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), n, "two runs share an id: {what:?}");
}

fn one_line(message: &str, file: &str, what: &str) {
    assert!(!message.contains('\n') && message.contains(file), "{what:?} -> {message}");
}

#[test]
fn mutated_configs_of_the_newer_features_never_panic_hang_or_pass_malformed() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(33);
    let (mut accepted, mut rejected) = (0, 0);
    for i in 0..6_000 {
        let text = mutate(CONFIGS[i % CONFIGS.len()], &mut rng);
        let shown = text.clone();
        let parsed =
            bounded(&shown, move || Config::parse(&text, Path::new("fuzz.toml"), "fuzz").map_err(|e| e.to_string()));
        match parsed {
            Ok(config) => {
                accepted += 1;
                well_formed(&config, &shown);
            }
            Err(message) => {
                rejected += 1;
                one_line(&message, "fuzz.toml", &shown);
            }
        }
    }
    println!("config fuzz of the newer features: {accepted} accepted, {rejected} rejected");
    assert!(accepted > 100 && rejected > 100, "{accepted} accepted, {rejected} rejected");
}

#[test]
fn mutated_set_overrides_never_panic_hang_or_pass_malformed() {
    let dir = TempDir::new();
    let path = dir.path().join("base.toml");
    std::fs::write(&path, CONFIGS[0]).unwrap();
    const SETS: &[&str] = &[
        "training.epochs=2",
        "training.lr=[0.1, 0.01]",
        "model.hidden=[32]",
        "sweep.model.hidden=[[8], [16]]",
        "sweep.training.optimizer=[\"sgd\"]",
        "tuning.tune=[\"training.lr\"]",
        "activations=[\"relu\", \"tanh\"]",
        "search.candidates=4",
        "experiment.seeds=3",
        "data.dataset=spirals",
    ];
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(34);
    let (mut accepted, mut rejected) = (0, 0);
    for _ in 0..600 {
        let sets: Vec<String> = (0..rng.random_range(1..4))
            .map(|_| {
                let set = SETS[rng.random_range(0..SETS.len())];
                if rng.random_bool(0.7) { mutate(set, &mut rng) } else { set.to_string() }
            })
            .collect();
        let (shown, path) = (format!("{sets:?}"), path.clone());
        match bounded(&shown, move || Config::load_with(&path, &sets).map_err(|e| e.to_string())) {
            Ok(config) => {
                accepted += 1;
                well_formed(&config, &shown);
            }
            Err(message) => {
                rejected += 1;
                assert!(!message.contains('\n'), "{shown} -> {message}");
                assert!(message.contains("--set") || message.contains("base.toml"), "{shown} -> {message}");
            }
        }
    }
    println!("--set fuzz: {accepted} accepted, {rejected} rejected");
    assert!(accepted > 30 && rejected > 30, "{accepted} accepted, {rejected} rejected");
}

#[test]
fn mutated_claims_files_never_panic_hang_or_pass_malformed() {
    let dir = TempDir::new();
    let config = dir.path().join("exp.toml");
    std::fs::write(
        &config,
        "activations = [\"relu\", \"tanh\"]\n[experiment]\nseeds = 2\n[model]\nhidden = [8]\n[training]\nepochs = 1\nbatch_size = 64\n[logging]\nevery_steps = 1\n",
    )
    .unwrap();
    let results = dir.path().join("results");
    let o = actbench()
        .args(["--config", config.to_str().unwrap(), "--out", results.to_str().unwrap(), "--quiet"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let claims = dir.path().join("claims.toml");
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(35);
    let (mut accepted, mut rejected) = (0, 0);
    for _ in 0..1_500 {
        let text = mutate(CLAIMS, &mut rng);
        std::fs::write(&claims, &text).unwrap();
        let (c, r) = (claims.clone(), results.clone());
        match bounded(&text, move || actbench::check::expect::check(&c, &r).map_err(|e| format!("{e:#}"))) {
            Ok(outcome) => {
                accepted += 1;
                let json = serde_json::to_value(&outcome).unwrap();
                let verdicts = json["claims"].as_array().map_or(0, Vec::len);
                let written = text.matches("[[claim]]").count();
                assert!(verdicts >= 1 && verdicts <= written, "{verdicts} verdicts of {written} claims: {text:?}");
            }
            Err(message) => {
                rejected += 1;
                one_line(&message, "claims.toml", &text);
            }
        }
    }
    println!("claims fuzz: {accepted} accepted, {rejected} rejected");
    assert!(accepted > 50 && rejected > 50, "{accepted} accepted, {rejected} rejected");
}
