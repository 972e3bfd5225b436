//! Progress display: indicatif bars on a terminal (one for the grid, one for
//! the current run), one plain line per finished run on stderr otherwise,
//! nothing with `--quiet`.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::results::records::RunSummary;
use crate::train::RunObserver;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Bars,
    Lines,
    Quiet,
}

impl Mode {
    /// Bars only when stdout is a terminal.
    pub fn detect(quiet: bool) -> Mode {
        if quiet {
            Mode::Quiet
        } else if std::io::stdout().is_terminal() {
            Mode::Bars
        } else {
            Mode::Lines
        }
    }
}

pub struct GridProgress {
    mode: Mode,
    multi: MultiProgress,
    grid: ProgressBar,
    total: usize,
    done: usize,
}

impl GridProgress {
    pub fn new(mode: Mode, total: usize) -> Self {
        let multi = MultiProgress::with_draw_target(if mode == Mode::Bars {
            ProgressDrawTarget::stdout()
        } else {
            ProgressDrawTarget::hidden()
        });
        let grid = multi.add(ProgressBar::new(total as u64));
        grid.set_style(
            ProgressStyle::with_template("grid {bar:30.cyan/blue} {pos}/{len} runs  {elapsed_precise} (eta {eta})")
                .expect("valid template"),
        );
        grid.enable_steady_tick(Duration::from_millis(250));
        Self { mode, multi, grid, total, done: 0 }
    }

    /// A bar for one run; it reports epochs (`unit`: or evaluations, for
    /// training by steps) as they finish.
    pub fn start_run(&self, run_id: &str, epochs: usize, unit: &str) -> RunProgress {
        let bar = self.multi.insert_before(&self.grid, ProgressBar::new(epochs as u64));
        let template = format!("{{prefix:.bold}} {{bar:30}} {unit} {{pos}}/{{len}}  {{msg}}  (eta {{eta}})");
        bar.set_style(ProgressStyle::with_template(&template).expect("valid template"));
        bar.set_prefix(run_id.to_string());
        RunProgress { bar }
    }

    pub fn finish_run(&mut self, run: RunProgress, summary: &RunSummary) {
        self.done += 1;
        run.bar.finish_and_clear();
        self.grid.inc(1);
        let line = format!(
            "[{}/{}] {}  test acc {:.4}  test loss {:.4}  best val acc {:.4} (epoch {})  {}{:.1}s",
            self.done,
            self.total,
            summary.run_id,
            summary.test_accuracy,
            summary.test_loss,
            summary.best_val_accuracy,
            summary.best_val_epoch,
            if summary.diverged { "DIVERGED  " } else { "" },
            summary.wall_seconds
        );
        match self.mode {
            Mode::Bars => self.multi.println(line).unwrap_or(()),
            Mode::Lines => eprintln!("{line}"),
            Mode::Quiet => {}
        }
    }

    /// A run whose results were already in the folder.
    pub fn skip_run(&mut self, summary: &RunSummary) {
        self.done += 1;
        self.grid.inc(1);
        let line = format!(
            "[{}/{}] {}  already finished, skipped (--force trains it again)",
            self.done, self.total, summary.run_id
        );
        match self.mode {
            Mode::Bars => self.multi.println(line).unwrap_or(()),
            Mode::Lines => eprintln!("{line}"),
            Mode::Quiet => {}
        }
    }

    /// A note on stderr, except with `--quiet`.
    pub fn note(&self, message: &str) {
        if self.mode != Mode::Quiet {
            self.multi.suspend(|| eprintln!("{message}"));
        }
    }

    /// A warning, on stderr in every mode (`--quiet` included).
    pub fn warn(&self, message: &str) {
        self.multi.suspend(|| eprintln!("warning: {message}"));
    }

    pub fn finish(&self) {
        self.grid.finish_and_clear();
    }
}

pub struct RunProgress {
    bar: ProgressBar,
}

impl RunObserver for RunProgress {
    fn epoch_done(&mut self, epoch: usize, _epochs: usize, train_loss: f64, val_accuracy: f64) {
        self.bar.set_position(epoch as u64);
        self.bar.set_message(format!("loss {train_loss:.4}  val acc {val_accuracy:.4}"));
    }
}
