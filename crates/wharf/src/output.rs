//! How the command-line tools print: aligned tables for people, JSON for scripts.
//!
//! Every tool builds a serializable report and a [`Table`] from it; `--output` picks which is
//! printed. Tables pad each column to its widest cell and separate columns with two spaces, like
//! the Kafka shell tools. JSON is one document, pretty-printed, except where a tool streams
//! (consume prints one object per line).

use std::io::Write;

use anyhow::{Context, Result};
use clap::{Args, ValueEnum};
use serde::Serialize;

/// Output format of a command-line tool.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// Aligned columns for reading.
    #[default]
    Table,
    /// JSON for scripts and tests.
    Json,
}

/// Flags every Kafka-client subcommand takes.
#[derive(Args, Debug, Clone)]
pub struct ClientArgs {
    /// Broker to bootstrap from (any Kafka-compatible broker).
    #[arg(
        long,
        global = true,
        default_value = "127.0.0.1:9092",
        env = "WHARF_BOOTSTRAP_SERVER"
    )]
    pub bootstrap_server: String,
    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = Format::Table)]
    pub output: Format,
}

/// Client id of the command-line tools in request headers.
pub const CLIENT_ID: &str = "wharf-cli";

/// Longest wait for a connection or for any one response. Kafka's clients default to 30 s
/// (request.timeout.ms); Produce with acks=all and CreateTopics may legitimately take up to
/// their own 30 s server-side timeouts, so the tools wait a little longer than those.
pub const REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(40);

/// A table: a header row and data rows of the same width.
pub struct Table {
    header: Vec<&'static str>,
    rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(header: &[&'static str]) -> Self {
        Table {
            header: header.to_vec(),
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        debug_assert_eq!(cells.len(), self.header.len(), "row width matches the header");
        self.rows.push(cells);
    }

    /// The table as text, one line per row, trailing spaces trimmed.
    pub fn render(&self) -> String {
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.len()).collect();
        for row in &self.rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let mut out = String::new();
        let header: Vec<String> = self.header.iter().map(|h| h.to_string()).collect();
        for row in std::iter::once(&header).chain(&self.rows) {
            let mut line = String::new();
            for (i, (cell, w)) in row.iter().zip(&widths).enumerate() {
                if i > 0 {
                    line.push_str("  ");
                }
                line.push_str(cell);
                line.push_str(&" ".repeat(w - cell.chars().count()));
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
        out
    }
}

/// Prints `report` as JSON, or `table()` as text.
pub fn print<T: Serialize>(format: Format, report: &T, table: impl FnOnce() -> String) -> Result<()> {
    let text = match format {
        Format::Json => {
            let mut s = serde_json::to_string_pretty(report).context("serializing the report")?;
            s.push('\n');
            s
        }
        Format::Table => table(),
    };
    let mut stdout = std::io::stdout().lock();
    stdout.write_all(text.as_bytes()).context("writing to stdout")?;
    stdout.flush().context("writing to stdout")
}

/// A number, or "-" when absent (as kafka-consumer-groups.sh prints a missing offset).
pub fn or_dash<T: ToString>(value: Option<T>) -> String {
    value.map_or_else(|| "-".to_owned(), |v| v.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_pads_columns_to_the_widest_cell() {
        let mut t = Table::new(&["TOPIC", "P"]);
        t.row(vec!["a".into(), "10".into()]);
        t.row(vec!["longer".into(), "1".into()]);
        assert_eq!(t.render(), "TOPIC   P\na       10\nlonger  1\n");
    }
}
