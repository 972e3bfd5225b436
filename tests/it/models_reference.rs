//! The layers of the residual and normalised kinds against PyTorch
//! (tests/data/models_torch.csv, written by scripts/models_reference.py with
//! PyTorch 2.15 in float32): batch norm's training and evaluation outputs,
//! running statistics and gradients, layer norm, residual blocks with each
//! shortcut, whole ResNets, a plain network, a residual MLP and a batch-norm
//! MLP, all on the same deterministic weights and inputs (`fill`, as the
//! script defines it).
//!
//! Tolerance: 2e-5 of the larger of 1 and the reference tensor's largest
//! magnitude. PyTorch's own float32 results differ from a float64 rerun by
//! up to 1.2e-6 of that scale in a block and 5e-6 in ResNet-8 (the script's
//! docstring), so a tighter absolute bound would test rounding, not the layers.

use std::collections::HashMap;

use actbench::activation::ActivationKind;
use actbench::config::values::Count;
use actbench::model::norm::Norm;
use actbench::model::resnet::{Block, BlockShape};
use actbench::model::settings::{InitScheme, Model, ModelKind, NormKind, Shortcut};
use actbench::model::{Apply, Inputs, Mode, Network, NetworkSpec};
use actbench::train::metrics::parameter_names;
use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::optim::GradientsParams;
use burn::tensor::{Device, Int, Tensor, TensorData};

struct Reference {
    shape: Vec<usize>,
    values: Vec<f64>,
}

fn reference() -> HashMap<(String, String, String), Reference> {
    let mut rows = HashMap::new();
    let mut reader = csv::Reader::from_path("tests/data/models_torch.csv").unwrap();
    for record in reader.records() {
        let r = record.unwrap();
        let shape = r[3].split('x').map(|d| d.parse().unwrap()).collect();
        let values = r[4].split(' ').map(|v| v.parse().unwrap()).collect();
        rows.insert((r[0].to_string(), r[1].to_string(), r[2].to_string()), Reference { shape, values });
    }
    rows
}

/// The script's `fill`: element i is `offset + scale * sin(0.37 i + h)` in
/// float64, rounded once to float32, with h = (sum of the name's bytes % 97) * 0.1.
fn fill(name: &str, n: usize, scale: f64, offset: f64) -> Vec<f32> {
    let h = (name.bytes().map(|b| b as u64).sum::<u64>() % 97) as f64 * 0.1;
    (0..n).map(|i| (offset + scale * (0.37 * i as f64 + h).sin()) as f32).collect()
}

/// Every trained parameter set by its PyTorch name as the script sets it;
/// running statistics left at PyTorch's start (0 and 1). Burn keeps a linear
/// weight as `[in, out]`, PyTorch as `[out, in]`: filled in PyTorch's order,
/// then transposed.
struct FillByName {
    path: Vec<Option<String>>,
}

impl ModuleMapper for FillByName {
    fn enter_module(&mut self, name: &str, container: &str) {
        self.path.push((!container.starts_with("Enum:")).then(|| name.to_string()));
    }
    fn exit_module(&mut self, _: &str, _: &str) {
        self.path.pop();
    }
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let name = self.path.iter().flatten().cloned().collect::<Vec<_>>().join(".");
        if name.ends_with("running_mean") || name.ends_with("running_var") {
            return param;
        }
        let value = param.val();
        let dims = value.dims();
        let device = value.device();
        let n: usize = dims.iter().product();
        let (values, torch_dims): (Vec<f32>, Vec<usize>) = match D {
            // A GPT's embeddings: the same layout in both, no transpose.
            2 if is_embedding(&name) => (fill(&name, n, 0.5, 0.0), dims.to_vec()),
            // Linear weight: PyTorch [out, in], fan-in `in`.
            2 => (fill(&name, n, 1.0 / (dims[0] as f64).sqrt(), 0.0), vec![dims[1], dims[0]]),
            // Convolution weight [out, in, k, k]: fan-in in * k * k.
            4 => (fill(&name, n, 1.0 / ((dims[1] * dims[2] * dims[3]) as f64).sqrt(), 0.0), dims.to_vec()),
            // 1-D: a norm's scale (around 1) or any bias.
            _ if name.ends_with("weight") => (fill(&name, n, 0.1, 1.0), dims.to_vec()),
            _ => (fill(&name, n, 0.1, 0.0), dims.to_vec()),
        };
        let torch = Tensor::<D>::from_data(TensorData::new(values, torch_dims), &device);
        let tensor = if D == 2 && !is_embedding(&name) { torch.transpose() } else { torch };
        Param::initialized(param.id, tensor.require_grad())
    }
}

/// A GPT's token and position embeddings, kept `[rows, width]` by both.
fn is_embedding(name: &str) -> bool {
    name == "wte" || name == "wpe"
}

/// `module` with its parameters filled, named under `prefix` (the twin's
/// name of the module: `bn` for a lone batch norm, empty for a network).
fn filled<M: Module>(module: M, prefix: &str) -> M {
    let path = if prefix.is_empty() { Vec::new() } else { vec![Some(prefix.to_string())] };
    module.map(&mut FillByName { path })
}

/// Every trained parameter's gradient in PyTorch's layout, by name.
fn gradients<M: Module>(module: &M, grads: &GradientsParams) -> HashMap<String, Vec<f32>> {
    struct Collect<'a> {
        grads: &'a GradientsParams,
        found: Vec<(Vec<f32>, Vec<usize>)>,
    }
    impl ModuleVisitor for Collect<'_> {
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let value = param.val();
            if !value.is_require_grad() {
                return;
            }
            let g = self.grads.get::<D>(param.id).expect("every parameter has a gradient");
            let dims = g.dims().to_vec();
            self.found.push((g.into_data().convert::<f32>().try_to_vec::<f32>().unwrap(), dims));
        }
    }
    let mut collect = Collect { grads, found: Vec::new() };
    module.visit(&mut collect);
    parameter_names(module)
        .into_iter()
        .zip(collect.found)
        .map(|(name, (values, dims))| {
            // Burn's linear weight [in, out] read back in PyTorch's [out, in].
            let values = match dims[..] {
                [rows, cols] if !is_embedding(&name) => {
                    (0..rows * cols).map(|k| values[(k % rows) * cols + k / rows]).collect()
                }
                _ => values,
            };
            (name, values)
        })
        .collect()
}

/// A tensor's values on the host.
fn host<const D: usize>(t: Tensor<D>) -> Vec<f32> {
    t.into_data().convert::<f32>().try_to_vec::<f32>().unwrap()
}

struct Case<'a> {
    name: &'a str,
    reference: &'a HashMap<(String, String, String), Reference>,
    failures: Vec<String>,
    checked: usize,
    /// Of the larger of 1 and the reference tensor's largest magnitude.
    tolerance: f64,
}

impl<'a> Case<'a> {
    fn new(name: &'a str, reference: &'a HashMap<(String, String, String), Reference>) -> Self {
        Case { name, reference, failures: Vec::new(), checked: 0, tolerance: 2e-5 }
    }

    fn get(&self, name: &str, role: &str) -> &'a Reference {
        self.reference
            .get(&(self.name.to_string(), name.to_string(), role.to_string()))
            .unwrap_or_else(|| panic!("{}: no `{name}` `{role}` in the reference", self.name))
    }

    fn shape(&self, name: &str, role: &str) -> Vec<usize> {
        self.get(name, role).shape.clone()
    }

    /// `got` against the reference's values of (`name`, `role`).
    fn compare(&mut self, name: &str, role: &str, got: &[f32]) {
        let want = self.get(name, role);
        assert_eq!(got.len(), want.values.len(), "{}: {name} {role}: length", self.name);
        let scale = want.values.iter().fold(1.0f64, |m, v| m.max(v.abs()));
        let worst = got
            .iter()
            .zip(&want.values)
            .map(|(&g, &w)| (g as f64 - w).abs())
            .enumerate()
            .fold((0, 0.0f64), |(bi, b), (i, d)| if d > b { (i, d) } else { (bi, b) });
        self.checked += got.len();
        if worst.1 > self.tolerance * scale {
            self.failures.push(format!(
                "{} {name} {role}[{}]: {} against torch {} (scale {scale})",
                self.name, worst.0, got[worst.0], want.values[worst.0]
            ));
        }
    }

    /// A gradient against the reference's `grad_stats` (l2, sum, v[0],
    /// v[n/3], v[n/2], v[n-1]), for the cases too large to store whole.
    fn compare_stats(&mut self, name: &str, got: &[f32]) {
        let want = &self.get(name, "grad_stats").values;
        let n = got.len();
        let l2 = got.iter().map(|&g| (g as f64).powi(2)).sum::<f64>().sqrt();
        let sum = got.iter().map(|&g| g as f64).sum::<f64>();
        let picks = [got[0], got[n / 3], got[n / 2], got[n - 1]].map(|v| v as f64);
        let scale = want[0].max(1e-3);
        let mut bad = Vec::new();
        if (l2 - want[0]).abs() > 1e-4 * scale {
            bad.push(format!("l2 {l2} against {}", want[0]));
        }
        if (sum - want[1]).abs() > 2e-5 * (n as f64).sqrt() * scale {
            bad.push(format!("sum {sum} against {}", want[1]));
        }
        for (i, (&g, &w)) in picks.iter().zip(&want[2..]).enumerate() {
            if (g - w).abs() > 1e-4 * scale.max(1.0) {
                bad.push(format!("value {i} {g} against {w}"));
            }
        }
        self.checked += 1;
        if !bad.is_empty() {
            self.failures.push(format!("{} {name}: {}", self.name, bad.join("; ")));
        }
    }

    fn input<const D: usize>(&self, shape: &[usize], pass: usize, device: &Device) -> Tensor<D> {
        let n = shape.iter().product();
        let values = fill("input", n, 1.5, 0.5 * pass as f64);
        Tensor::<D>::from_data(TensorData::new(values, shape.to_vec()), device)
    }

    /// `(out * fill("upstream")).sum()`: the script's loss for the layer cases.
    fn sum_loss<const D: usize>(out: Tensor<D>) -> Tensor<1> {
        let dims = out.dims();
        let n = dims.iter().product();
        let upstream = Tensor::<D>::from_data(TensorData::new(fill("upstream", n, 1.0, 0.0), dims), &out.device());
        (out * upstream).sum()
    }

    fn finish(self) -> (Vec<String>, usize) {
        (self.failures, self.checked)
    }
}

const TRAIN: Mode = Mode::Train { seed: 0, step: 1 };

fn norm_case<const D: usize>(case: &mut Case, kind: NormKind, features: usize, passes: usize, device: &Device) {
    let module = if kind == NormKind::Batch { "bn" } else { "norm" };
    let norm = filled(Norm::new(kind, features, device).unwrap(), module);
    let shape = case.shape("-", "output");
    // Passes before the last only move the running statistics.
    for t in 0..passes {
        let x = case.input::<D>(&shape, t, device).require_grad();
        let out = norm.forward(x.clone(), TRAIN);
        if let Norm::Batch(bn) = &norm {
            case.compare(module, &format!("running_mean.{t}"), &host(bn.running_mean.value_sync()));
            case.compare(module, &format!("running_var.{t}"), &host(bn.running_var.value_sync()));
        }
        if t + 1 == passes {
            case.compare("-", "output", &host(out.clone()));
            let grads = Case::sum_loss(out).backward();
            case.compare("input", "grad", &host(x.grad(&grads).unwrap()));
            let named = gradients(&norm, &GradientsParams::from_grads(grads, &norm));
            for p in ["weight", "bias"] {
                case.compare(&format!("{module}.{p}"), "grad", &named[p]);
            }
        }
    }
    if kind == NormKind::Batch {
        let out = norm.forward(case.input::<D>(&shape, 0, device), Mode::Eval);
        case.compare("-", "eval_output", &host(out));
    }
}

#[test]
fn norms_equal_pytorch() {
    let device = Device::flex().autodiff();
    let reference = reference();
    let mut failures = Vec::new();
    let mut checked = 0;
    for (name, kind, features, passes, dims) in [
        ("bn2d", NormKind::Batch, 4, 3, 4),
        ("bn1d", NormKind::Batch, 5, 3, 2),
        ("layernorm", NormKind::Layer, 10, 1, 2),
        ("groupnorm1", NormKind::Layer, 4, 1, 4),
    ] {
        let mut case = Case::new(name, &reference);
        match dims {
            2 => norm_case::<2>(&mut case, kind, features, passes, &device),
            _ => norm_case::<4>(&mut case, kind, features, passes, &device),
        }
        let (f, c) = case.finish();
        failures.extend(f);
        checked += c;
    }
    assert!(checked > 500, "{checked}");
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn residual_blocks_equal_pytorch() {
    let device = Device::flex().autodiff();
    let reference = reference();
    let mut failures = Vec::new();
    for (name, shortcut) in
        [("block_a_relu", Some(Shortcut::A)), ("block_b_relu", Some(Shortcut::B)), ("block_none_relu", None)]
    {
        let mut case = Case::new(name, &reference);
        let relu = ActivationKind::with("relu", &[]).unwrap();
        let mut rng = actbench::maths::rng::stream(0, actbench::maths::rng::Stream::Init);
        let shape = BlockShape { channels: [8, 16], stride: 2 };
        let block = Block::new(shape, shortcut, NormKind::Batch, relu, InitScheme::Pytorch, &mut rng, &device);
        let block = filled(block, "");
        let x = case.input::<4>(&[4, 8, 6, 6], 0, &device).require_grad();
        let out = block.forward(x.clone(), TRAIN, &mut Apply);
        case.compare("-", "output", &host(out.clone()));
        let grads = Case::sum_loss(out).backward();
        case.compare("input", "grad", &host(x.grad(&grads).unwrap()));
        let named = gradients(&block, &GradientsParams::from_grads(grads, &block));
        assert!(named.len() >= 6, "{name}: {:?}", named.keys());
        for (parameter, values) in &named {
            case.compare(parameter, "grad", values);
        }
        let mut norms = vec![("bn1", block.bn1.as_ref()), ("bn2", block.bn2.as_ref())];
        if let Some(p) = &block.shortcut {
            norms.push(("shortcut.bn", p.bn.as_ref()));
        }
        for (module, norm) in norms {
            let Some(Norm::Batch(bn)) = norm else { panic!("{name}: {module} is batch norm") };
            case.compare(module, "running_mean", &host(bn.running_mean.value_sync()));
            case.compare(module, "running_var", &host(bn.running_var.value_sync()));
        }
        failures.extend(case.finish().0);
    }
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}

/// A whole network of `model` on `[batch, features]` inputs, one training
/// step's forward and backward with cross-entropy, then evaluation.
fn network_case(case: &mut Case, model: Model, activation: &str, inputs: Inputs, batch: usize, stats: bool) {
    let device = Device::flex().autodiff();
    let spec = NetworkSpec {
        model,
        inputs,
        activation: ActivationKind::with(activation, &[]).unwrap(),
        init: InitScheme::Pytorch,
    };
    let network = filled(Network::new(&spec, 0, &device), "");
    let x = case.input::<2>(&[batch, inputs.features], 0, &device);
    let labels: Vec<i64> = (0..batch).map(|j| (j % inputs.classes) as i64).collect();
    let y = Tensor::<1, Int>::from_data(TensorData::new(labels, [batch]), &device);
    let logits = network.forward(x.clone(), TRAIN);
    case.compare("-", "output", &host(logits.clone()));
    let loss = CrossEntropyLossConfig::new().init(&device).forward(logits, y);
    case.compare("-", "loss", &host(loss.clone()));
    let grads = GradientsParams::from_grads(loss.backward(), &network);
    let named = gradients(&network, &grads);
    for (parameter, values) in &named {
        if stats {
            case.compare_stats(parameter, values);
        } else {
            case.compare(parameter, "grad", values);
        }
    }
    let expected = case.reference.keys().filter(|(c, _, role)| c == case.name && role.starts_with("grad")).count();
    assert_eq!(named.len(), expected, "{}: every parameter of the twin, and no other", case.name);
    if case.reference.contains_key(&(case.name.to_string(), "-".into(), "eval_output".into())) {
        case.compare("-", "eval_output", &host(network.forward(x, Mode::Eval)));
    }
}

#[test]
fn networks_equal_pytorch() {
    let reference = reference();
    let image = |c: usize| Inputs { features: c * 64, image: Some([c, 8, 8]), classes: 10 };
    let resnet = |kind, depth, shortcut| Model { kind, depth: Some(Count(depth)), shortcut, ..Model::default() };
    let cases = [
        ("resnet20_a_relu", resnet(ModelKind::Resnet, 20, Some(Shortcut::A)), "relu", image(3), 4, true),
        ("resnet8_b_tanh", resnet(ModelKind::Resnet, 8, Some(Shortcut::B)), "tanh", image(1), 4, true),
        ("plain8_relu", resnet(ModelKind::Plain, 8, None), "relu", image(1), 4, true),
        (
            "resmlp_gelu",
            Model { kind: ModelKind::Resmlp, width: Some(Count(16)), blocks: Some(Count(2)), ..Model::default() },
            "gelu",
            Inputs { features: 12, image: None, classes: 5 },
            6,
            false,
        ),
        (
            "mlp_bn_sigmoid",
            Model { hidden: vec![Count(10), Count(10)], norm: Some(NormKind::Batch), ..Model::default() },
            "sigmoid",
            Inputs { features: 12, image: None, classes: 5 },
            6,
            false,
        ),
    ];
    let mut failures = Vec::new();
    for (name, model, activation, inputs, batch, stats) in cases {
        let mut case = Case::new(name, &reference);
        network_case(&mut case, model, activation, inputs, batch, stats);
        failures.extend(case.finish().0);
    }
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}

/// The `gpt` kind against nanoGPT's architecture in PyTorch: logits, loss
/// and every parameter's gradient (the token embedding's through both its
/// uses, input and tied output) to 1e-5 of each tensor's scale, plain and
/// gated, with and without biases, on a full block and a shorter window.
#[test]
fn gpt_equals_pytorch() {
    use actbench::model::settings::Ffn;
    let reference = reference();
    let device = Device::flex().autodiff();
    let gpt = |width, heads, ffn, bias| Model {
        kind: ModelKind::Gpt,
        width: Some(Count(width)),
        heads: Some(Count(heads)),
        layers: Some(Count(2)),
        block_size: Some(Count(8)),
        ffn: Some(ffn),
        bias: Some(bias),
        ..Model::default()
    };
    let cases = [
        ("gpt_plain_gelu", gpt(16, 2, Ffn::Plain, true), "gelu", 3, 8),
        ("gpt_gated_silu_nobias", gpt(12, 3, Ffn::Gated, false), "silu", 2, 6),
    ];
    let mut failures = Vec::new();
    for (name, model, activation, batch, t) in cases {
        let mut case = Case::new(name, &reference);
        case.tolerance = 1e-5;
        let vocab = 11;
        let spec = NetworkSpec {
            model,
            inputs: Inputs { features: 0, image: None, classes: vocab },
            activation: ActivationKind::with(activation, &[]).unwrap(),
            init: InitScheme::Gpt2,
        };
        let network = filled(Network::new(&spec, 0, &device), "");
        let ids: Vec<f32> =
            (0..batch).flat_map(|b| (0..t).map(move |i| ((7 * b + 3 * i + 1) % vocab) as f32)).collect();
        let targets: Vec<i64> =
            (0..batch).flat_map(|b| (0..t).map(move |i| ((5 * b + 2 * i + 3) % vocab) as i64)).collect();
        let x = Tensor::<2>::from_data(TensorData::new(ids, [batch, t]), &device);
        let y = Tensor::<1, Int>::from_data(TensorData::new(targets, [batch * t]), &device);
        let logits = network.forward(x, TRAIN);
        assert_eq!(logits.dims(), [batch * t, vocab]);
        case.compare("-", "output", &host(logits.clone()));
        let loss = CrossEntropyLossConfig::new().init(&device).forward(logits, y);
        case.compare("-", "loss", &host(loss.clone()));
        let grads = GradientsParams::from_grads(loss.backward(), &network);
        let named = gradients(&network, &grads);
        for (parameter, values) in &named {
            case.compare(parameter, "grad", values);
        }
        let expected = reference.keys().filter(|(c, _, role)| c == name && role == "grad").count();
        assert_eq!(named.len(), expected, "{name}: every parameter of the twin, and no other");
        failures.extend(case.finish().0);
    }
    assert!(failures.is_empty(), "{} mismatches:\n{}", failures.len(), failures.join("\n"));
}
