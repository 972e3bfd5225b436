//! Aligned tables on stdout: columns of a fixed width, one space apart, and
//! the table `run` prints at the end (the test accuracy over seeds per
//! activation, sweep point and learning rate).

use std::fmt::Write;

use crate::maths::stats;
use crate::results::records::RunSummary;

/// One column: its heading and width, its cells padded on the left (numbers) or the right (names).
pub(super) struct Column {
    pub(super) head: &'static str,
    pub(super) width: usize,
    pub(super) right: bool,
}

impl Column {
    /// A column of names, padded on the right.
    pub(super) const fn left(head: &'static str, width: usize) -> Self {
        Column { head, width, right: false }
    }

    /// A column of numbers, padded on the left.
    pub(super) const fn right(head: &'static str, width: usize) -> Self {
        Column { head, width, right: true }
    }
}

/// Prints the headings of `columns` as one line.
pub(super) fn print_heading(columns: &[Column]) {
    let heads: Vec<&str> = columns.iter().map(|c| c.head).collect();
    print_row(columns, &heads);
}

/// Prints one line of `cells`, each padded to its column's width (a wider
/// cell is kept whole) and one space apart.
pub(super) fn print_row(columns: &[Column], cells: &[&str]) {
    let mut line = String::new();
    for (i, (column, cell)) in columns.iter().zip(cells).enumerate() {
        if i > 0 {
            line.push(' ');
        }
        let width = column.width;
        let _ = if column.right { write!(line, "{cell:>width$}") } else { write!(line, "{cell:<width$}") };
    }
    println!("{line}");
}

/// The columns of `print_summary`.
const SUMMARY: [Column; 6] = [
    Column::left("activation", 28),
    Column::right("lr", 8),
    Column::right("runs", 5),
    Column::right("test acc (mean±sd)", 18),
    Column::right("grad first/last", 16),
    Column::right("diverged", 9),
];

/// Mean (and spread over seeds) of the test accuracy per activation, sweep point and lr.
pub(super) fn print_summary(summaries: &[RunSummary]) {
    let mut groups: Vec<((String, f64), Vec<&RunSummary>)> = Vec::new();
    for s in summaries {
        let name = if s.sweep.is_empty() {
            s.activation.clone()
        } else {
            format!("{} @ {}", s.activation, s.sweep.join(", "))
        };
        let key = (name, s.lr);
        match groups.iter_mut().find(|(k, _)| *k == key) {
            Some((_, runs)) => runs.push(s),
            None => groups.push((key, vec![s])),
        }
    }
    print_heading(&SUMMARY);
    for ((activation, lr), runs) in groups {
        let accs: Vec<f64> = runs.iter().map(|r| r.test_accuracy).collect();
        let (mean, sd) = stats::mean_sd(&accs);
        let ratios: Vec<f64> = runs.iter().filter_map(|r| r.grad_ratio_first_last).collect();
        let ratio = if ratios.is_empty() { "-".to_string() } else { format!("{:.3e}", stats::mean_sd(&ratios).0) };
        let diverged = runs.iter().filter(|r| r.diverged).count();
        let cells = [
            activation,
            lr.to_string(),
            runs.len().to_string(),
            format!("{mean:.4} ± {sd:.4}"),
            ratio,
            diverged.to_string(),
        ];
        print_row(&SUMMARY, &cells.each_ref().map(String::as_str));
    }
}
