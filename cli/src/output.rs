//! Output formats shared by the subcommands.

use std::io::Write;

use cmk_core::Evaluation;
use cmk_core::evaluation::format_utc;

/// `--output`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// A readable table.
    Text,
    /// Machine-readable JSON.
    Json,
}

/// Prints evaluations to stdout.
pub fn evaluations(format: Format, evaluations: &[Evaluation]) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match format {
        Format::Json => {
            serde_json::to_writer_pretty(&mut out, evaluations)?;
            writeln!(out)?;
        }
        Format::Text => out.write_all(table(evaluations)?.as_bytes())?,
    }
    Ok(())
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
    let mut widths = [0usize; 4];
    for row in &rows {
        for (w, cell) in widths.iter_mut().zip(row.iter()) {
            *w = (*w).max(cell.len());
        }
    }
    let mut text = String::new();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            if i < widths.len() {
                text.push_str(&format!("{cell:<width$}  ", width = widths[i]));
            } else {
                text.push_str(cell);
            }
        }
        text.truncate(text.trim_end().len());
        text.push('\n');
    }
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
