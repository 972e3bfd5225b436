//! The experiment file: one TOML document, every key with a documented
//! default (README "Config reference"), unknown keys and wrong types rejected
//! with the file and line.

mod error;
mod overrides;
pub mod sweep;
mod values;

pub use error::{ConfigError, line_column};
pub use sweep::{MAX_POINTS, Sweep, leaf, show};
pub use values::{ActivationEntry, Count, Fraction, InitScheme, KernelSizes, LearningRates, NonNegative, Seeds};

pub use crate::data::{DatasetKind, Normalize};

use std::path::Path;

use serde::{Deserialize, Serialize};

/// A whole experiment file. Field order is the order of the resolved config
/// written next to the results.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// The activations to compare (a top-level key: write it above the first `[section]`).
    #[serde(default = "default_activations", deserialize_with = "values::entries")]
    pub activations: Vec<ActivationEntry>,
    #[serde(default)]
    pub experiment: Experiment,
    #[serde(default)]
    pub data: Data,
    #[serde(default)]
    pub model: Model,
    #[serde(default)]
    pub training: Training,
    #[serde(default)]
    pub logging: Logging,
    #[serde(default)]
    pub report: Report,
    #[serde(default)]
    pub check: Check,
    /// Keys to vary, each with its values: every combination is a point of the grid.
    #[serde(default, skip_serializing_if = "Sweep::is_empty")]
    pub sweep: Sweep,
    /// Choose each activation's setting of the tuned keys on validation data.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tuning: Option<Tuning>,
    /// Search a space of formulas on this experiment as the proxy task (src/search/).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub search: Option<Search>,
}

/// `[search]`: a space of activations built from "core units" b(u1(x), u2(x))
/// (Ramachandran, Zoph and Le 2017), trained by successive halving on the
/// rest of the file, the finalists then compared with the baselines.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Search {
    /// Unary functions, formulas in `x`.
    pub unary: Vec<String>,
    /// Binary functions, formulas in `a` and `b`.
    pub binary: Vec<String>,
    /// Core units per candidate: 1 (b(u1(x), u2(x))) or 2 (b2(u3(core1), u4(x))).
    pub units: Count,
    /// Candidates trained (sampled from the space with `seed`; all when it is smaller).
    pub candidates: Count,
    /// Epochs each rung of successive halving trains to, increasing.
    pub rungs: Vec<Count>,
    /// Share of the candidates still in that goes on after each rung.
    pub keep: Fraction,
    /// Seeds per candidate during the search.
    pub seeds: Count,
    /// Best candidates of the last rung retrained with `experiment.seeds` against the baselines.
    pub finalists: Count,
    /// Activations the finalists are compared with (entries as in `activations`).
    #[serde(deserialize_with = "values::entries")]
    pub baselines: Vec<ActivationEntry>,
    /// Seed of the candidates' sampling.
    pub seed: u64,
}

impl Default for Search {
    fn default() -> Self {
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect();
        Self {
            // Ramachandran, Zoph and Le 2017, Table 1: a subset of its unary and binary functions.
            unary: strings(&[
                "x",
                "-x",
                "abs(x)",
                "x^2",
                "x^3",
                "sqrt(abs(x))",
                "exp(x)",
                "sin(x)",
                "cos(x)",
                "tanh(x)",
                "sigmoid(x)",
                "softplus(x)",
                "erf(x)",
                "atan(x)",
                "asinh(x)",
                "max(x, 0)",
                "min(x, 0)",
            ]),
            binary: strings(&["a + b", "a - b", "a * b", "max(a, b)", "min(a, b)", "a * sigmoid(b)"]),
            units: Count(1),
            candidates: Count(200),
            rungs: vec![Count(1), Count(3), Count(9)],
            keep: Fraction(0.33),
            seeds: Count(2),
            finalists: Count(5),
            baselines: ["relu", "silu", "gelu"]
                .into_iter()
                .map(|n| ActivationEntry::try_from(toml::Value::String(n.into())).expect("known names"))
                .collect(),
            seed: 0,
        }
    }
}

/// `[tuning]`: which keys each activation is tuned over, and how a setting is chosen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Tuning {
    /// `training.lr` and/or keys of `[sweep]`.
    pub tune: Vec<String>,
    /// The validation metric, averaged over seeds, that picks the setting.
    #[serde(default)]
    pub select: Select,
    /// Which epoch's value of that metric counts: the last, or each run's best.
    #[serde(default)]
    pub epoch: SelectEpoch,
    /// Successive halving: train every setting a few epochs, keep the best
    /// 1/eta, continue them, and so on up to `training.epochs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub halving: Option<Halving>,
}

/// `[tuning.halving]` (Jamieson and Talwalkar 2016): rungs of
/// `min_epochs`, `min_epochs x eta`, ... epochs, then `training.epochs`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Halving {
    /// Keep the best 1/eta of the settings (rounded up) after each rung.
    pub eta: Count,
    /// Epochs of the first rung.
    pub min_epochs: Count,
}

impl Halving {
    /// The epochs each rung trains to, the last being `epochs`.
    pub fn rungs(&self, epochs: usize) -> Vec<usize> {
        let mut rungs = Vec::new();
        let mut r = self.min_epochs.0;
        while r < epochs {
            rungs.push(r);
            r = r.saturating_mul(self.eta.0);
        }
        rungs.push(epochs);
        rungs
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Select {
    #[default]
    ValAccuracy,
    ValLoss,
}

impl Select {
    pub fn name(self) -> &'static str {
        match self {
            Select::ValAccuracy => "val_accuracy",
            Select::ValLoss => "val_loss",
        }
    }

    pub fn higher_is_better(self) -> bool {
        self == Select::ValAccuracy
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum SelectEpoch {
    #[default]
    Last,
    Best,
}

impl SelectEpoch {
    pub fn name(self) -> &'static str {
        match self {
            SelectEpoch::Last => "last",
            SelectEpoch::Best => "best",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Experiment {
    /// Names the results folder; defaults to the config file's stem.
    pub name: String,
    /// One run per seed (and activation, and learning rate).
    pub seeds: Seeds,
    /// Where training runs; `--backend` overrides it.
    pub backend: BackendKind,
}

impl Default for Experiment {
    fn default() -> Self {
        Self { name: String::new(), seeds: Seeds(vec![0]), backend: BackendKind::default() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum BackendKind {
    /// Burn's pure-Rust CPU backend (the faster CPU backend here; README "Backends").
    #[default]
    Flex,
    /// burn-ndarray (deprecated by Burn 0.22 in favour of flex, kept for comparison).
    Ndarray,
    /// wgpu: a GPU, or Mesa's lavapipe on a CPU-only machine (cargo feature `wgpu`).
    Wgpu,
    /// CUDA: the first NVIDIA GPU (cargo feature `cuda`).
    Cuda,
}

impl BackendKind {
    pub fn name(self) -> &'static str {
        match self {
            BackendKind::Flex => "flex",
            BackendKind::Ndarray => "ndarray",
            BackendKind::Wgpu => "wgpu",
            BackendKind::Cuda => "cuda",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Data {
    /// A name from the dataset table (data/catalog.rs).
    pub dataset: DatasetKind,
    /// Share of the samples held out for the final test accuracy (ignored
    /// by a dataset with its own test set).
    pub test_split: Fraction,
    /// Share of the samples held out for validation after every epoch: of
    /// the whole pool, or of the official training set where a dataset has
    /// its own test set (data::split; tested in data/mod.rs).
    pub validation_split: Fraction,
    /// Synthetic sets only: number of points generated.
    pub samples: Count,
    /// Synthetic sets only: standard deviation of the Gaussian noise added to each point.
    pub noise: NonNegative,
    /// Input scaling; absent = the dataset's usual one (written into the resolved config).
    pub normalize: Option<Normalize>,
    /// `standard` only: per-channel mean and standard deviation of the inputs;
    /// absent = measured on the training set (and written into the resolved config).
    pub mean: Option<Vec<f64>>,
    pub std: Option<Vec<f64>>,
    /// Image sets: random crop (4-pixel padding) and horizontal flip of every training batch.
    pub augment: bool,
}

impl Default for Data {
    fn default() -> Self {
        Self {
            dataset: DatasetKind::named("digits"),
            test_split: Fraction(0.2),
            validation_split: Fraction(0.1),
            samples: Count(1000),
            noise: NonNegative(0.1),
            normalize: None,
            mean: None,
            std: None,
            augment: false,
        }
    }
}

impl Data {
    /// The dataset as loaded (see `data::load`): a generated set drawn from `seed`.
    pub fn load(&self, data_dir: &Path, seed: u64) -> Result<crate::data::Source, crate::data::DataError> {
        crate::data::load(self.dataset, self.samples.0, self.noise.0, data_dir, seed)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Model {
    /// `mlp`, or `cnn` (convolution blocks before the hidden layers).
    pub kind: ModelKind,
    /// Widths of the hidden linear layers; the activation follows each of them.
    pub hidden: Vec<Count>,
    /// Weight initialisation; `auto` matches it to the activation.
    pub init: InitScheme,
    /// `cnn` only: output channels of each block (conv -> activation -> 2x2 pool).
    pub channels: Vec<Count>,
    /// `cnn` only: square kernel side, one for all blocks or one per block.
    pub kernel_size: KernelSizes,
    /// `cnn` only: `same` (zero padding keeps the size; odd kernels) or `valid` (none).
    pub padding: Padding,
    /// `cnn` only: `max` or `avg` pooling.
    pub pool: PoolKind,
}

impl Default for Model {
    fn default() -> Self {
        Self {
            kind: ModelKind::Mlp,
            hidden: vec![Count(64), Count(64)],
            init: InitScheme::Auto,
            channels: vec![Count(6), Count(16)],
            kernel_size: KernelSizes(vec![5]),
            padding: Padding::Same,
            pool: PoolKind::Max,
        }
    }
}

impl Model {
    /// Kernel side of each convolution block.
    pub fn kernel_sizes(&self) -> Vec<usize> {
        match self.kernel_size.0.as_slice() {
            [one] => vec![*one; self.channels.len()],
            many => many.to_vec(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum ModelKind {
    #[default]
    Mlp,
    Cnn,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Padding {
    #[default]
    Same,
    Valid,
}

impl Padding {
    pub fn name(self) -> &'static str {
        match self {
            Padding::Same => "same",
            Padding::Valid => "valid",
        }
    }
}

/// Pooling window and stride of every convolution block (LeNet's 2x2).
pub const POOL: usize = 2;

/// `[channels, height, width]` after each convolution block (conv, then
/// POOL x POOL pooling) of `image`, or the first block (0-based) whose
/// output would be empty: the config check and the model share it.
pub fn conv_shapes(
    image: [usize; 3],
    channels: &[usize],
    kernel_sizes: &[usize],
    padding: Padding,
) -> Result<Vec<[usize; 3]>, usize> {
    let [_, mut h, mut w] = image;
    let mut shapes = Vec::with_capacity(channels.len());
    for (i, (&c, &k)) in channels.iter().zip(kernel_sizes).enumerate() {
        if padding == Padding::Valid {
            if h < k || w < k {
                return Err(i);
            }
            (h, w) = (h - k + 1, w - k + 1);
        }
        (h, w) = (h / POOL, w / POOL);
        if h == 0 || w == 0 {
            return Err(i);
        }
        shapes.push([c, h, w]);
    }
    Ok(shapes)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum PoolKind {
    #[default]
    Max,
    Avg,
}

impl PoolKind {
    pub fn name(self) -> &'static str {
        match self {
            PoolKind::Max => "max",
            PoolKind::Avg => "avg",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Training {
    pub epochs: Count,
    pub batch_size: Count,
    pub optimizer: OptimizerKind,
    /// A number, or a list to sweep (each value is a grid point).
    pub lr: LearningRates,
    /// `sgd_momentum` only.
    pub momentum: NonNegative,
    /// `sgd_momentum` only: Nesterov's variant.
    pub nesterov: bool,
    /// L2 penalty (sgd, sgd_momentum, adam) or decoupled decay (adamw).
    pub weight_decay: NonNegative,
    /// Adam and AdamW moment decay rates; PyTorch's defaults.
    pub beta1: Fraction,
    pub beta2: Fraction,
    /// Adam and AdamW denominator term; PyTorch's default (Burn's own is 1e-5).
    pub epsilon: NonNegative,
    /// Rescales all gradients together when their global L2 norm exceeds
    /// this (torch.nn.utils.clip_grad_norm_); absent = no clipping.
    pub grad_clip_norm: Option<NonNegative>,
    /// Flush subnormal floats to zero on the training threads (src/denormals.rs);
    /// absent = true.
    pub flush_denormals: Option<bool>,
    /// Early stopping: stop once this many epochs pass without a better
    /// validation accuracy, and measure the test split with the model of the
    /// best epoch (the UvA tutorial's recipe); absent = train every epoch.
    pub patience: Option<Count>,
}

impl Training {
    pub fn flush_denormals(&self) -> bool {
        self.flush_denormals.unwrap_or(true)
    }
}

impl Default for Training {
    fn default() -> Self {
        Self {
            epochs: Count(10),
            batch_size: Count(32),
            optimizer: OptimizerKind::Sgd,
            lr: LearningRates(vec![0.01]),
            momentum: NonNegative(0.9),
            nesterov: false,
            weight_decay: NonNegative(0.0),
            beta1: Fraction(0.9),
            beta2: Fraction(0.999),
            epsilon: NonNegative(1e-8),
            grad_clip_norm: None,
            flush_denormals: None,
            patience: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum OptimizerKind {
    #[default]
    Sgd,
    SgdMomentum,
    Adam,
    Adamw,
}

impl OptimizerKind {
    pub fn name(self) -> &'static str {
        match self {
            OptimizerKind::Sgd => "sgd",
            OptimizerKind::SgdMomentum => "sgd_momentum",
            OptimizerKind::Adam => "adam",
            OptimizerKind::Adamw => "adamw",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Logging {
    /// Record the per-step metrics (loss, gradient and weight norms) every
    /// this many optimizer steps; 0 records none.
    pub every_steps: usize,
    /// Record activation statistics (activations.csv) at initialisation and after every epoch.
    pub activation_stats: bool,
    /// Also record them every this many optimizer steps, and at
    /// initialisation, in activation_steps.csv (Glorot & Bengio's figures
    /// follow training this closely); 0 records none.
    pub activation_every_steps: usize,
    /// Validation samples in the fixed probe batch for those statistics.
    pub probe_samples: Count,
    /// Checkpoint a run in progress after an epoch once this many seconds
    /// have passed since the last checkpoint (0 = after every epoch).
    pub checkpoint_seconds: NonNegative,
}

impl Default for Logging {
    fn default() -> Self {
        Self {
            every_steps: 1,
            activation_stats: true,
            activation_every_steps: 0,
            probe_samples: Count(256),
            checkpoint_seconds: NonNegative(30.0),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Report {
    /// The activation (its label, e.g. "relu" or "leaky_relu(slope=0.1)")
    /// every other one is compared with; absent from the experiment = no comparison.
    pub baseline: String,
    /// Validation accuracy that counts as "converged" for epochs_to_target.
    pub target_accuracy: Fraction,
}

impl Default for Report {
    fn default() -> Self {
        Self { baseline: "relu".into(), target_accuracy: Fraction(0.9) }
    }
}

/// Tolerances of `actbench check` (read from the baseline's config).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Check {
    /// A drop of mean test accuracy smaller than this never counts.
    pub min_drop: Fraction,
    /// ...nor one within this many standard errors of the baseline's mean.
    pub standard_errors: NonNegative,
    /// Baseline orderings with a Welch p below this must hold in the current results.
    pub ranking_p: Fraction,
}

impl Default for Check {
    fn default() -> Self {
        Self { min_drop: Fraction(0.02), standard_errors: NonNegative(3.0), ranking_p: Fraction(0.01) }
    }
}

fn default_activations() -> Vec<ActivationEntry> {
    ["relu", "sigmoid"]
        .into_iter()
        .map(|name| ActivationEntry::try_from(toml::Value::String(name.into())).expect("known names"))
        .collect()
}

/// The longest experiment name, in characters: it names a folder, and file
/// systems allow 255 bytes per name.
pub const MAX_NAME_CHARS: usize = 100;

/// Whether `name` can name the results folder on every common file system;
/// the error quotes it escaped (a NUL or a newline is never printed).
fn check_folder_name(name: &str) -> Result<(), String> {
    let quoted = format!("{name:?}");
    let chars = name.chars().count();
    let why = if chars > MAX_NAME_CHARS {
        format!("is {chars} characters long; keep it to {MAX_NAME_CHARS}")
    } else if name.chars().any(char::is_control) {
        format!("{quoted} holds a control character (a NUL, a newline, ...)")
    } else if name.contains(['/', '\\', '<', '>', ':', '"', '|', '?', '*']) || name == "." || name == ".." {
        format!("{quoted} cannot name a folder")
    } else if name.trim() != name || name.starts_with('.') {
        format!("{quoted} starts or ends with a space, or starts with a dot")
    } else {
        return Ok(());
    };
    Err(format!("{why}: use letters, digits, `-` and `_`, e.g. \"relu_vs_sigmoid\""))
}

impl Config {
    /// Reads, parses and validates an experiment file.
    pub fn load(path: &Path) -> Result<Self, ConfigError> {
        let text =
            std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("experiment");
        Self::parse(&text, path, stem)
    }

    /// Reads an experiment file with command-line overrides applied, each
    /// `dotted.key=value` (`--set training.epochs=2`): the value is TOML
    /// (`2`, `1e-3`, `[128, 128]`, `true`, `"adam"`) or else a bare word taken
    /// as a string (`adam`). Each override is type-checked on its own, so an
    /// error names it; the checks across keys then run on the whole.
    pub fn load_with(path: &Path, overrides: &[String]) -> Result<Self, ConfigError> {
        if overrides.is_empty() {
            return Self::load(path);
        }
        let text =
            std::fs::read_to_string(path).map_err(|source| ConfigError::Read { path: path.to_path_buf(), source })?;
        let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("experiment");
        let mut table: toml::Table = toml::from_str(&text).map_err(|e| ConfigError::from_toml(path, &text, &e))?;
        for arg in overrides {
            let set_error = |message: String| ConfigError::Set { arg: error::shorten_quoted(arg), message };
            let (key, value) = overrides::parse(arg).map_err(set_error)?;
            let mut alone = toml::Table::new();
            overrides::apply(&mut alone, &key, value.clone()).map_err(set_error)?;
            let alone = toml::to_string(&alone).map_err(|e| set_error(e.to_string()))?;
            // Types and key names only: the checks across keys need the whole config.
            if let Err(ConfigError::Parse { message, .. }) = Self::parse(&alone, path, stem) {
                return Err(set_error(message));
            }
            overrides::apply(&mut table, &key, value).map_err(set_error)?;
        }
        let merged = toml::to_string(&table)
            .map_err(|e| ConfigError::Set { arg: overrides.join(" "), message: e.to_string() })?;
        Self::parse(&merged, path, stem).map_err(|e| match e {
            ConfigError::Parse { message, .. } => ConfigError::Set { arg: overrides.join(" "), message },
            other => other,
        })
    }

    /// Parses and validates TOML text; `origin` names it in errors, `stem`
    /// is the default experiment name.
    pub fn parse(text: &str, origin: &Path, stem: &str) -> Result<Self, ConfigError> {
        let mut config: Config = toml::from_str(text).map_err(|e| ConfigError::from_toml(origin, text, &e))?;
        config.sweep.order_as_in(text);
        if config.experiment.name.is_empty() {
            config.experiment.name = stem.to_string();
        }
        config.validate(origin).map_err(|(key, message)| ConfigError::Invalid {
            path: origin.to_path_buf(),
            key,
            message: error::shorten_quoted(&message),
        })?;
        Ok(config)
    }

    /// Checks that span several keys (single values check themselves); with
    /// a sweep, every point is checked as a file of its own instead.
    fn validate(&self, origin: &Path) -> Result<(), (String, String)> {
        self.validate_tuning()?;
        self.validate_search()?;
        if self.sweep.is_empty() {
            return self.validate_point();
        }
        self.sweep.check_keys()?;
        self.check_sweep_values(origin)?;
        self.sweep.check()?;
        self.try_points(origin).map(|_| ())
    }

    /// A search's space must parse; its stages are one plain grid each.
    fn validate_search(&self) -> Result<(), (String, String)> {
        let Some(search) = &self.search else { return Ok(()) };
        let fail = |key: &str, msg: String| Err((format!("search.{key}"), msg));
        for (list, key, vars, uses_x) in
            [(&search.unary, "unary", &["x"][..], true), (&search.binary, "binary", &["a", "b"][..], false)]
        {
            if list.is_empty() {
                return fail(
                    key,
                    format!("lists no function: e.g. [{}]", if uses_x { "\"x\", \"tanh(x)\"" } else { "\"a + b\"" }),
                );
            }
            for (i, text) in list.iter().enumerate() {
                let params: &[&str] = if uses_x { &[] } else { vars };
                if let Err(e) = crate::activation::formula::check_expression(text, params, uses_x) {
                    return fail(&format!("{key}[{i}]"), format!("`{text}`: {e}"));
                }
                if list[..i].contains(text) {
                    return fail(&format!("{key}[{i}]"), format!("lists `{text}` twice"));
                }
            }
        }
        if !(1..=2).contains(&search.units.0) {
            return fail("units", format!("is {}; a candidate has 1 or 2 core units", search.units.0));
        }
        if search.rungs.is_empty() {
            return fail("rungs", "lists no rung: e.g. [1, 3, 9] (epochs per rung)".into());
        }
        if let Some(w) = search.rungs.windows(2).find(|w| w[1].0 <= w[0].0) {
            return fail("rungs", format!("must increase: {} is followed by {}", w[0].0, w[1].0));
        }
        if search.keep.0 <= 0.0 {
            return fail("keep", "is 0: keep a share in (0, 1) of the candidates after each rung, e.g. 0.33".into());
        }
        if search.baselines.is_empty() {
            return fail("baselines", "lists no activation to compare the finalists with: e.g. [\"relu\"]".into());
        }
        let clash = |key: &str| {
            Err((
                key.to_string(),
                "cannot go with [search], whose candidates train by successive halving: remove it".into(),
            ))
        };
        if !self.sweep.is_empty() {
            return clash("sweep");
        }
        if self.tuning.is_some() {
            return clash("tuning");
        }
        if self.training.patience.is_some() {
            return clash("training.patience");
        }
        if self.training.lr.0.len() > 1 {
            return Err(("training.lr".into(), "lists several rates, which [search] cannot tune: give one".into()));
        }
        Ok(())
    }

    fn validate_tuning(&self) -> Result<(), (String, String)> {
        let Some(tuning) = &self.tuning else { return Ok(()) };
        let keys = self.sweep.keys();
        if tuning.tune.is_empty() {
            return Err(("tuning.tune".into(), "lists no key: e.g. [\"training.lr\"]".into()));
        }
        for (i, key) in tuning.tune.iter().enumerate() {
            if key != "training.lr" && !keys.contains(key) {
                return Err((
                    format!("tuning.tune[{i}]"),
                    format!("`{key}` is not swept: tune `training.lr` or a key of [sweep] ({})", keys.join(", ")),
                ));
            }
            if tuning.tune[..i].contains(key) {
                return Err((format!("tuning.tune[{i}]"), format!("lists `{key}` twice")));
            }
        }
        if let Some(halving) = &tuning.halving {
            if self.training.patience.is_some() || keys.iter().any(|k| k == "training.patience") {
                return Err((
                    "training.patience".into(),
                    "cannot go with [tuning.halving]: both stop runs early; keep one".into(),
                ));
            }
            if halving.eta.0 < 2 {
                return Err(("tuning.halving.eta".into(), "must be at least 2 (keep the best 1/eta)".into()));
            }
            if halving.min_epochs.0 >= self.training.epochs.0 && !keys.iter().any(|k| k == "training.epochs") {
                return Err((
                    "tuning.halving.min_epochs".into(),
                    format!(
                        "({}) must be below training.epochs ({}): the first rung trains fewer epochs than the last",
                        halving.min_epochs.0, self.training.epochs.0
                    ),
                ));
            }
        }
        Ok(())
    }

    /// Each swept value on its own, as if written in its section: types and key names.
    fn check_sweep_values(&self, origin: &Path) -> Result<(), (String, String)> {
        for (key, values) in &self.sweep.0 {
            let path = overrides::split_key(key).map_err(|why| (format!("sweep.\"{key}\""), why))?;
            for (i, value) in values.iter().enumerate() {
                let mut alone = toml::Table::new();
                let name = format!("sweep.\"{key}\"[{i}]");
                overrides::apply(&mut alone, &path, value.clone()).map_err(|why| (name.clone(), why))?;
                let text = toml::to_string(&alone).map_err(|e| (name.clone(), e.to_string()))?;
                if let Err(ConfigError::Parse { message, .. }) = Self::parse(&text, origin, "sweep") {
                    let message = message.strip_prefix(&format!("key `{key}`: ")).unwrap_or(&message).to_string();
                    return Err((name, format!("{message} (each item of a sweep list is one whole value of the key)")));
                }
            }
        }
        Ok(())
    }

    /// The config of every sweep point (the first key varying slowest), each
    /// without `[sweep]` and `[tuning]`; a config without a sweep is its one
    /// point. Every point was checked when the file was read.
    pub fn points(&self) -> Vec<Config> {
        self.try_points(Path::new("config")).expect("the points are checked when the config is read")
    }

    fn try_points(&self, origin: &Path) -> Result<Vec<Config>, (String, String)> {
        let mut base = self.clone();
        base.sweep = Sweep::default();
        base.tuning = None;
        if self.sweep.is_empty() {
            return Ok(vec![base]);
        }
        let table = toml::Table::try_from(&base).map_err(|e| ("sweep".to_string(), e.to_string()))?;
        let mut points = Vec::with_capacity(self.sweep.len());
        for point in self.sweep.points() {
            let mut table = table.clone();
            for ((key, values), &i) in self.sweep.0.iter().zip(&point) {
                let path = overrides::split_key(key).map_err(|why| (format!("sweep.\"{key}\""), why))?;
                overrides::apply(&mut table, &path, values[i].clone())
                    .map_err(|why| (format!("sweep.\"{key}\""), why))?;
            }
            let at = || {
                let keys = self.sweep.keys();
                let shown = self.sweep.shown(&point);
                keys.iter().zip(&shown).map(|(k, v)| format!("{k} = {v}")).collect::<Vec<_>>().join(", ")
            };
            let text = toml::to_string(&table).map_err(|e| ("sweep".to_string(), e.to_string()))?;
            match Self::parse(&text, origin, &self.experiment.name) {
                Ok(config) => points.push(config),
                Err(ConfigError::Invalid { key, message, .. }) => {
                    return Err((key, format!("{message} (at the sweep point {})", at())));
                }
                Err(other) => return Err(("sweep".into(), format!("{other} (at the sweep point {})", at()))),
            }
        }
        Ok(points)
    }

    /// The checks of one point (a config without a sweep).
    fn validate_point(&self) -> Result<(), (String, String)> {
        let fail = |key: &str, msg: String| Err((key.to_string(), msg));
        if self.activations.is_empty() {
            return fail("activations", "lists no activation: name at least one, e.g. [\"relu\", \"sigmoid\"]".into());
        }
        if let Err(why) = check_folder_name(&self.experiment.name) {
            return fail("experiment.name", why);
        }
        let held_out = self.data.test_split.0 + self.data.validation_split.0;
        if held_out >= 0.9 {
            return fail(
                "data.validation_split",
                format!("together with data.test_split holds out {held_out:.2} of the data: keep the sum below 0.9"),
            );
        }
        self.validate_data()?;
        self.validate_model()?;
        let mut labels: Vec<String> = self.activations.iter().map(ActivationEntry::label).collect();
        labels.sort();
        if let Some(dup) = labels.windows(2).find(|w| w[0] == w[1]) {
            return fail("activations", format!("lists `{}` twice: each entry must differ", dup[0]));
        }
        Ok(())
    }

    fn validate_data(&self) -> Result<(), (String, String)> {
        let fail = |key: &str, msg: String| Err((key.to_string(), msg));
        let data = &self.data;
        let dataset = data.dataset.name();
        if data.augment && data.dataset.image().is_none() {
            return fail("data.augment", format!("needs an image dataset; `{dataset}` is not one: remove the key"));
        }
        // A share of 0 holds out no sample: the accuracy measured on it would be NaN.
        if data.test_split.0 == 0.0 && !data.dataset.has_own_test_set() {
            return fail(
                "data.test_split",
                format!("is 0, which leaves `{dataset}` (no test set of its own) nothing to test on: use e.g. 0.2"),
            );
        }
        if data.validation_split.0 == 0.0 {
            return fail(
                "data.validation_split",
                "is 0, but every epoch's validation accuracy and the activation statistics are measured on it: use e.g. 0.1".into(),
            );
        }
        let standard = data.normalize.unwrap_or(data.dataset.default_normalize()) == Normalize::Standard;
        for (key, values) in [("data.mean", &data.mean), ("data.std", &data.std)] {
            let Some(values) = values else { continue };
            if !standard {
                return fail(key, "applies to `normalize = \"standard\"` only: remove it or set data.normalize".into());
            }
            let want = data.dataset.channels();
            if values.len() != want {
                return fail(key, format!("lists {} values; `{dataset}` needs {want} (one per channel)", values.len()));
            }
            if values.iter().any(|v| !v.is_finite()) || (key == "data.std" && values.iter().any(|v| *v <= 0.0)) {
                return fail(key, "must hold finite numbers (std > 0)".into());
            }
        }
        Ok(())
    }

    fn validate_model(&self) -> Result<(), (String, String)> {
        let fail = |key: &str, msg: String| Err((key.to_string(), msg));
        let model = &self.model;
        match model.kind {
            ModelKind::Mlp if model.hidden.is_empty() => {
                return fail("model.hidden", "lists no hidden layer: an MLP needs at least one, e.g. [64, 64]".into());
            }
            ModelKind::Mlp => return Ok(()),
            ModelKind::Cnn => {}
        }
        let Some(image) = self.data.dataset.image() else {
            return fail(
                "model.kind",
                format!("`cnn` needs an image dataset; `{}` is not one: use `mlp`", self.data.dataset.name()),
            );
        };
        if model.channels.is_empty() {
            return fail("model.channels", "lists no convolution block: a CNN needs at least one, e.g. [6, 16]".into());
        }
        let kernels = &model.kernel_size.0;
        if kernels.len() != 1 && kernels.len() != model.channels.len() {
            return fail(
                "model.kernel_size",
                format!(
                    "lists {} sizes for {} blocks: give one for all, or one per block",
                    kernels.len(),
                    model.channels.len()
                ),
            );
        }
        if model.padding == Padding::Same && kernels.iter().any(|k| k % 2 == 0) {
            return fail("model.kernel_size", "must be odd with `padding = \"same\"`, e.g. 3 or 5".into());
        }
        let channels: Vec<usize> = model.channels.iter().map(|c| c.0).collect();
        if let Err(block) = conv_shapes(image, &channels, &model.kernel_sizes(), model.padding) {
            let [_, h, w] = image;
            return fail(
                "model.channels",
                format!(
                    "block {} would shrink the {h}x{w} images of `{}` to nothing: use fewer blocks, smaller kernels or `padding = \"same\"`",
                    block + 1,
                    self.data.dataset.name()
                ),
            );
        }
        Ok(())
    }

    /// The resolved config as TOML, every default written out.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("a config always serialises")
    }
}

#[cfg(test)]
mod tests;
