//! Prometheus text exposition format (version 0.0.4), the writing half only: one family's
//! `# HELP` and `# TYPE` lines, then its samples, each `name{label="value",...} number`.
//!
//! Invariants the format asks for and this writer keeps: a family's samples follow its header
//! without another family in between (callers write one family at a time), help text escapes
//! `\` and newline, label values escape `\`, `"` and newline. Label names and metric names are
//! `&'static str` chosen in this crate, never client input, so they need no checking here.
//!
//! Nothing ends the output (no OpenMetrics `# EOF`), so anyone may append further families —
//! the HTTP gateway adds its push-delivery metrics after [`super::render`] this way — and the
//! whole stays valid as long as family names differ.

use std::fmt::Write;

/// The family types Wharf exposes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Counter,
    Gauge,
    Histogram,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Counter => "counter",
            Kind::Gauge => "gauge",
            Kind::Histogram => "histogram",
        }
    }
}

/// Writes the `# HELP` and `# TYPE` lines that open a family.
pub fn header(out: &mut String, name: &str, kind: Kind, help: &str) {
    out.push_str("# HELP ");
    out.push_str(name);
    out.push(' ');
    for c in help.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out.push_str("\n# TYPE ");
    out.push_str(name);
    out.push(' ');
    out.push_str(kind.name());
    out.push('\n');
}

/// A sample value: integers are written exactly, floats in Rust's shortest round-trip form,
/// which Prometheus parses (`inf`/`NaN` are spelled the Prometheus way).
pub trait Value {
    fn write_to(&self, out: &mut String);
}

impl Value for u64 {
    fn write_to(&self, out: &mut String) {
        let _ = write!(out, "{self}");
    }
}

impl Value for i64 {
    fn write_to(&self, out: &mut String) {
        let _ = write!(out, "{self}");
    }
}

impl Value for f64 {
    fn write_to(&self, out: &mut String) {
        if self.is_nan() {
            out.push_str("NaN");
        } else if self.is_infinite() {
            out.push_str(if *self > 0.0 { "+Inf" } else { "-Inf" });
        } else {
            let _ = write!(out, "{self}");
        }
    }
}

/// Writes one sample line. `name` may carry a suffix the family's type implies (`_bucket`,
/// `_sum`, `_count` of a histogram).
pub fn sample(out: &mut String, name: &str, labels: &[(&str, &str)], value: impl Value) {
    out.push_str(name);
    if !labels.is_empty() {
        out.push('{');
        for (i, (label, v)) in labels.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            out.push_str(label);
            out.push_str("=\"");
            escape_label_value(out, v);
            out.push('"');
        }
        out.push('}');
    }
    out.push(' ');
    value.write_to(out);
    out.push('\n');
}

/// Label values may be any UTF-8 (group ids come from clients); the format escapes exactly
/// backslash, double quote and line feed.
fn escape_label_value(out: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_escapes_backslash_and_newline_in_help() {
        let mut out = String::new();
        header(&mut out, "wharf_x_total", Kind::Counter, "a \\ b\nc \"q\"");
        assert_eq!(
            out,
            "# HELP wharf_x_total a \\\\ b\\nc \"q\"\n# TYPE wharf_x_total counter\n"
        );
    }

    #[test]
    fn sample_escapes_quote_backslash_newline_in_label_values() {
        let mut out = String::new();
        sample(
            &mut out,
            "wharf_lag",
            &[("group", "a\"b\\c\nd"), ("partition", "0")],
            5i64,
        );
        assert_eq!(out, "wharf_lag{group=\"a\\\"b\\\\c\\nd\",partition=\"0\"} 5\n");
    }

    #[test]
    fn sample_without_labels_has_no_braces() {
        let mut out = String::new();
        sample(&mut out, "wharf_connections_open", &[], 3i64);
        assert_eq!(out, "wharf_connections_open 3\n");
    }

    #[test]
    fn sample_writes_floats_prometheus_style() {
        let mut out = String::new();
        sample(&mut out, "a", &[], 0.25f64);
        sample(&mut out, "b", &[], 1.0f64);
        sample(&mut out, "c", &[], f64::INFINITY);
        sample(&mut out, "d", &[], f64::NAN);
        assert_eq!(out, "a 0.25\nb 1\nc +Inf\nd NaN\n");
    }

    #[test]
    fn sample_keeps_non_ascii_label_values_verbatim() {
        let mut out = String::new();
        sample(&mut out, "g", &[("group", "zürich-✓")], 1u64);
        assert_eq!(out, "g{group=\"zürich-✓\"} 1\n");
    }
}
