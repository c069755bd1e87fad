//! The output layer: one `--output` type for every command ([`Format`]; each command accepts the
//! formats it can render, [`only`]) and one renderer per format: aligned text tables
//! ([`write_table`]), JSON documents and streamed arrays ([`json`], [`JsonArray`]), CSV records
//! ([`csv_line`]), SARIF logs ([`sarif`]). JUnit XML is `iac check`'s alone.

use std::io::Write;

use clap::ValueEnum;
use clap::builder::{PossibleValuesParser, TypedValueParser};
use cmk_core::Evaluation;
use cmk_core::evaluation::format_utc;
use serde::Serialize;

pub mod sarif;

/// `--output`, for every command.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// Lines and tables for people.
    Text,
    /// Machine-readable JSON.
    Json,
    /// SARIF 2.1.0, for code-scanning upload.
    Sarif,
    /// CSV with a header row.
    Csv,
    /// JUnit XML.
    Junitxml,
}

/// The formats of `evaluate`, `scp validate` and `status`.
pub const TEXT_JSON: &[Format] = &[Format::Text, Format::Json];

/// `--output`'s parser for a command that renders `allowed` only; another format is refused by
/// clap, which lists the ones the command has.
pub fn only(allowed: &'static [Format]) -> impl TypedValueParser<Value = Format> {
    PossibleValuesParser::new(allowed.iter().filter_map(|f| f.to_possible_value()))
        .try_map(|name: String| Format::from_str(&name, false))
}

/// Prints `value` as one pretty JSON document.
pub fn json(value: &impl Serialize) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    serde_json::to_writer_pretty(&mut out, value)?;
    writeln!(out)?;
    Ok(())
}

/// A JSON array written element by element (flat memory whatever its length).
pub struct JsonArray<W: Write> {
    out: W,
    written: u64,
    pretty: bool,
}

impl<W: Write> JsonArray<W> {
    /// An array on `out`; `pretty` indents each element.
    pub fn new(out: W, pretty: bool) -> JsonArray<W> {
        JsonArray {
            out,
            written: 0,
            pretty,
        }
    }

    /// Writes one element.
    pub fn push(&mut self, value: &impl Serialize) -> anyhow::Result<()> {
        self.out
            .write_all(if self.written == 0 { b"[\n" } else { b",\n" })?;
        if self.pretty {
            serde_json::to_writer_pretty(&mut self.out, value)?;
        } else {
            serde_json::to_writer(&mut self.out, value)?;
        }
        self.written += 1;
        Ok(())
    }

    /// Closes the array (`[]` when nothing was written); returns the writer.
    pub fn finish(mut self) -> anyhow::Result<W> {
        self.out
            .write_all(if self.written == 0 { b"[]\n" } else { b"\n]\n" })?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// One CSV record (RFC 4180 quoting), line end included.
pub fn csv_line(fields: &[&str]) -> anyhow::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(fields)?;
    Ok(w.into_inner().map_err(|e| e.into_error())?)
}

/// One table row: every cell but the last padded to its column's width.
pub fn write_row(out: &mut impl Write, cells: &[String], widths: &[usize]) -> std::io::Result<()> {
    let last = cells.len().saturating_sub(1);
    let mut line = String::new();
    for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
        if i == last {
            line.push_str(cell);
        } else {
            line.push_str(&format!("{cell:<width$}  "));
        }
    }
    writeln!(out, "{}", line.trim_end())
}

/// An aligned table: each column as wide as its widest cell, the last one unpadded.
pub fn write_table<const N: usize>(
    out: &mut impl Write,
    rows: &[[String; N]],
) -> std::io::Result<()> {
    let mut widths = [0; N];
    for row in rows {
        for (w, c) in widths.iter_mut().zip(row) {
            *w = (*w).max(c.len());
        }
    }
    for row in rows {
        write_row(out, row, &widths)?;
    }
    Ok(())
}

/// Prints evaluations to stdout: `text` as a table, `json` as PutEvaluations objects.
pub fn evaluations(format: Format, evaluations: &[Evaluation]) -> anyhow::Result<()> {
    match format {
        Format::Json => json(&evaluations),
        _ => Ok(std::io::stdout()
            .lock()
            .write_all(table(evaluations)?.as_bytes())?),
    }
}

/// Renders evaluations as an aligned table, one resource per line.
pub fn table(evaluations: &[Evaluation]) -> anyhow::Result<String> {
    let header = [
        "COMPLIANCE",
        "RESOURCE TYPE",
        "RESOURCE ID",
        "ORDERING TIMESTAMP",
        "ANNOTATION",
    ];
    let mut rows = vec![header.map(str::to_owned)];
    for e in evaluations {
        rows.push([
            e.compliance_type.to_string(),
            e.compliance_resource_type.clone(),
            e.compliance_resource_id.clone(),
            format_utc(e.ordering_timestamp)?,
            e.annotation.clone().unwrap_or_default(),
        ]);
    }
    let mut text = Vec::new();
    write_table(&mut text, &rows)?;
    let mut text = String::from_utf8(text)?;
    if evaluations.is_empty() {
        text.push_str("(no evaluations)\n");
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;
    use cmk_core::Compliance;

    #[test]
    fn a_json_array_is_valid_empty_or_not() {
        let empty = JsonArray::new(Vec::new(), true).finish().unwrap();
        assert!(
            serde_json::from_slice::<Vec<u8>>(&empty)
                .unwrap()
                .is_empty()
        );
        let mut array = JsonArray::new(Vec::new(), false);
        for n in [1, 2, 3] {
            array.push(&n).unwrap();
        }
        let three = array.finish().unwrap();
        assert_eq!(
            serde_json::from_slice::<Vec<u8>>(&three).unwrap(),
            [1, 2, 3]
        );
    }

    #[test]
    fn only_accepts_the_listed_formats() {
        use clap::builder::TypedValueParser;
        let cmd = clap::Command::new("t");
        let parser = only(TEXT_JSON);
        let parse = |v: &str| parser.parse_ref(&cmd, None, std::ffi::OsStr::new(v));
        assert_eq!(parse("json").unwrap(), Format::Json);
        assert!(parse("sarif").is_err());
    }

    #[test]
    fn table_aligns_columns_and_keeps_annotations() {
        let e = Evaluation {
            compliance_resource_type: "AWS::Kinesis::Stream".into(),
            compliance_resource_id: "orders".into(),
            compliance_type: Compliance::NonCompliant,
            annotation: Some("stream is not encrypted".into()),
            ordering_timestamp: time::OffsetDateTime::UNIX_EPOCH,
        };
        let t = table(&[e]).unwrap();
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(
            lines[0].find("RESOURCE TYPE"),
            lines[1].find("AWS::Kinesis::Stream")
        );
        assert!(lines[1].ends_with("stream is not encrypted"));
    }
}
