//! Samples gathered over the rounds and the table they end in: figure, value, floor, ratio,
//! goal — one Markdown row per figure, ready for BENCHMARKS.md.

use std::fmt::Write as _;

/// The figures that can be asked for by name on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Figure {
    Backlog,
    History,
    Latency,
    Outbox,
    Sweep,
    Deliver,
}

/// How a figure's numbers read, and which way is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// Messages per second: more is better; ratio = value / floor.
    PerSecond,
    /// Milliseconds: less is better; ratio = value / floor.
    Millis,
    /// Seconds: less is better; ratio = value / floor.
    Seconds,
    /// Megabytes: less is better; no floor.
    Megabytes,
}

impl Unit {
    fn show(self, value: f64) -> String {
        match self {
            Unit::PerSecond => format!("{value:.0} msg/s"),
            Unit::Millis if value < 1.0 => format!("{value:.3} ms"),
            Unit::Millis => format!("{value:.1} ms"),
            Unit::Seconds => format!("{value:.2} s"),
            Unit::Megabytes => format!("{value:.1} MB"),
        }
    }
}

/// One row: every round's value and floor.
#[derive(Debug)]
struct Row {
    figure: String,
    floor_name: String,
    goal: String,
    unit: Unit,
    values: Vec<f64>,
    floors: Vec<f64>,
    notes: Vec<String>,
}

#[derive(Debug, Default)]
pub struct Table {
    rows: Vec<Row>,
}

impl Table {
    /// Records one round of a figure (`floor` is `None` for figures without one). Rows keep
    /// the order in which figures were first recorded.
    pub fn record(
        &mut self,
        figure: &str,
        unit: Unit,
        value: f64,
        floor: Option<(&str, f64)>,
        goal: &str,
    ) {
        let position = self.rows.iter().position(|row| row.figure == figure);
        let row = match position {
            Some(index) => &mut self.rows[index],
            None => {
                self.rows.push(Row {
                    figure: figure.to_owned(),
                    floor_name: floor.map(|(name, _)| name.to_owned()).unwrap_or_default(),
                    goal: goal.to_owned(),
                    unit,
                    values: Vec::new(),
                    floors: Vec::new(),
                    notes: Vec::new(),
                });
                self.rows.last_mut().expect("just pushed")
            }
        };
        row.values.push(value);
        if let Some((_, floor)) = floor {
            row.floors.push(floor);
        }
        let shown = match floor {
            Some((name, floor)) => {
                format!("{} (floor, {name}: {})", unit.show(value), unit.show(floor))
            }
            None => unit.show(value),
        };
        println!("  {figure}: {shown}");
    }

    /// A remark on a row, shown in the table (e.g. a run that stopped short).
    pub fn note(&mut self, figure: &str, note: String) {
        println!("  {figure}: {note}");
        if let Some(row) = self.rows.iter_mut().find(|row| row.figure == figure) {
            row.notes.push(note);
        }
    }

    pub fn markdown(&self) -> String {
        let mut out = String::from(
            "| figure | value | floor, same run | ratio | goal |\n| --- | --- | --- | --- | --- |\n",
        );
        for row in &self.rows {
            let value = median(&row.values);
            let (floor, ratio) = match median(&row.floors) {
                Some(floor) if floor > 0.0 => {
                    let value = value.unwrap_or(f64::NAN);
                    (
                        format!("{}: {}", row.floor_name, row.unit.show(floor)),
                        format!("{:.2}", value / floor),
                    )
                }
                _ => ("—".to_owned(), "—".to_owned()),
            };
            let mut value = value.map_or_else(|| "—".to_owned(), |v| row.unit.show(v));
            for note in &row.notes {
                let _ = write!(value, " ({note})");
            }
            let _ = writeln!(
                out,
                "| {} | {value} | {floor} | {ratio} | {} |",
                row.figure, row.goal
            );
        }
        out
    }
}

/// The middle value (the mean of the two middle ones for an even count).
pub fn median(values: &[f64]) -> Option<f64> {
    percentile(values, 50.0)
}

/// The `p`-th percentile by linear interpolation between closest ranks.
pub fn percentile(values: &[f64], p: f64) -> Option<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let rank = (p / 100.0).clamp(0.0, 1.0) * (sorted.len() - 1) as f64;
    let (low, high) = (rank.floor() as usize, rank.ceil() as usize);
    Some(sorted[low] + (sorted[high] - sorted[low]) * (rank - low as f64))
}

/// 1000000 → "1,000,000".
pub fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, digit) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(digit);
    }
    out
}
