//! The scan's output layer: verdicts are written as they arrive (`json`, `sarif`, `csv` stream;
//! `text` prints the summary first, so its NON_COMPLIANT rows wait in a temporary file), and
//! counted per account, Region, service and key for the summary and the HTML report. Memory holds
//! the counts only, never the verdicts: a scan of any size prints in flat memory.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Seek, Write};

use anyhow::Context;
use cmk_core::Compliance;
use cmk_rule::handler::Judged;
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

pub mod html;

/// `scan --output`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum ScanFormat {
    /// A summary per account and Region, then the NON_COMPLIANT resources.
    Text,
    /// One JSON array of verdicts.
    Json,
    /// SARIF 2.1.0 (NON_COMPLIANT resources as results).
    Sarif,
    /// CSV with a header row, one verdict per row.
    Csv,
}

/// One verdict as the reports show it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    /// Account of the resource.
    pub account: String,
    /// Region of the resource.
    pub region: String,
    /// `AWS::Kinesis::Stream`, ...
    pub resource_type: String,
    /// Config's resource id.
    pub resource_id: String,
    /// `COMPLIANT`, `NON_COMPLIANT` or `NOT_APPLICABLE`.
    pub compliance_type: String,
    /// The rule's annotation.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub annotation: Option<String>,
    /// Key ARNs the verdict resolved, the resource's own first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub keys: Vec<String>,
}

impl From<Judged> for Finding {
    fn from(j: Judged) -> Finding {
        Finding {
            account: j.account_id,
            region: j.region,
            resource_type: j.evaluation.compliance_resource_type,
            resource_id: j.evaluation.compliance_resource_id,
            compliance_type: j.evaluation.compliance_type.to_string(),
            annotation: j.evaluation.annotation,
            keys: j.keys,
        }
    }
}

impl Finding {
    fn is_non_compliant(&self) -> bool {
        self.compliance_type == Compliance::NonCompliant.to_string()
    }

    /// The annotation split into what is wrong and the fix (`... Fix: <command>`).
    pub fn problem_and_fix(&self) -> (&str, &str) {
        let text = self.annotation.as_deref().unwrap_or_default();
        match text.split_once(" Fix: ") {
            Some((problem, fix)) => (problem, fix),
            None => (text, ""),
        }
    }

    /// The key the chart by key files the resource under: its own resolved key, else none.
    pub fn key_label(&self) -> &str {
        self.keys.first().map_or(NO_KEY, String::as_str)
    }
}

/// The chart label of resources whose verdict looked up no key: unencrypted, on the service's
/// default (AWS-owned, or the AWS-managed key by default), or `alias/aws/...` by name.
pub const NO_KEY: &str = "(no key looked up)";

/// Counts of verdicts by compliance.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Tally {
    /// COMPLIANT.
    pub compliant: u64,
    /// NON_COMPLIANT.
    pub non_compliant: u64,
    /// NOT_APPLICABLE.
    pub not_applicable: u64,
}

impl Tally {
    fn add(&mut self, f: &Finding) {
        match f.compliance_type.as_str() {
            "COMPLIANT" => self.compliant += 1,
            "NON_COMPLIANT" => self.non_compliant += 1,
            _ => self.not_applicable += 1,
        }
    }

    /// Every verdict counted.
    pub fn total(&self) -> u64 {
        self.compliant + self.non_compliant + self.not_applicable
    }
}

/// The counts of a scan, per dimension.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Summary {
    /// All verdicts.
    pub total: Tally,
    /// Per (account, Region).
    pub by_place: BTreeMap<(String, String), Tally>,
    /// Per account.
    pub by_account: BTreeMap<String, Tally>,
    /// Per Region.
    pub by_region: BTreeMap<String, Tally>,
    /// Per resource type.
    pub by_service: BTreeMap<String, Tally>,
    /// Per key ([`Finding::key_label`]).
    pub by_key: BTreeMap<String, Tally>,
}

impl Summary {
    /// Counts one verdict.
    pub fn add(&mut self, f: &Finding) {
        self.total.add(f);
        self.by_place
            .entry((f.account.clone(), f.region.clone()))
            .or_default()
            .add(f);
        self.by_account.entry(f.account.clone()).or_default().add(f);
        self.by_region.entry(f.region.clone()).or_default().add(f);
        self.by_service
            .entry(f.resource_type.clone())
            .or_default()
            .add(f);
        self.by_key
            .entry(f.key_label().to_owned())
            .or_default()
            .add(f);
    }
}

/// NON_COMPLIANT findings kept on disk, one JSON line each, for the reports that list them after
/// the summary. The file is anonymous: the system removes it when it is dropped.
pub struct Spool {
    file: BufWriter<File>,
    /// Findings written.
    pub len: u64,
}

impl Spool {
    /// An empty spool in the system's temporary directory.
    pub fn new() -> anyhow::Result<Spool> {
        let file = tempfile::tempfile().context("a temporary file for the NON_COMPLIANT list")?;
        Ok(Spool {
            file: BufWriter::new(file),
            len: 0,
        })
    }

    fn push(&mut self, f: &Finding) -> anyhow::Result<()> {
        serde_json::to_writer(&mut self.file, f)?;
        self.file.write_all(b"\n")?;
        self.len += 1;
        Ok(())
    }

    /// Reads the findings back from the start, in the order written (any number of times).
    pub fn read(&mut self) -> anyhow::Result<impl Iterator<Item = anyhow::Result<Finding>>> {
        self.file.flush()?;
        // The clone shares the file and its offset: rewound, it reads from the first line.
        let mut file = self.file.get_ref().try_clone()?;
        file.rewind()?;
        Ok(BufReader::new(file).lines().map(|line| {
            let line = line?;
            Ok(serde_json::from_str(&line)?)
        }))
    }
}

/// Writes one scan's verdicts as they arrive.
pub struct Writer<W: Write> {
    format: ScanFormat,
    out: W,
    written: u64,
    /// The counts so far.
    pub summary: Summary,
    /// NON_COMPLIANT findings for `text` and the HTML report.
    spool: Option<Spool>,
}

impl<W: Write> Writer<W> {
    /// A writer of `format` to `out`; `spool` when the HTML report needs the NON_COMPLIANT list.
    pub fn new(format: ScanFormat, mut out: W, html: bool) -> anyhow::Result<Writer<W>> {
        let spool = if format == ScanFormat::Text || html {
            Some(Spool::new()?)
        } else {
            None
        };
        match format {
            ScanFormat::Json => out.write_all(b"[")?,
            // Everything before the results; `finish` closes the array, the run and the log.
            ScanFormat::Sarif => write!(
                out,
                r#"{{"$schema":"https://json.schemastore.org/sarif-2.1.0.json","version":"2.1.0","runs":[{{"tool":{},"results":["#,
                sarif_tool()
            )?,
            ScanFormat::Csv => out.write_all(&csv_line(&CSV_HEADER)?)?,
            ScanFormat::Text => {}
        }
        Ok(Writer {
            format,
            out,
            written: 0,
            summary: Summary::default(),
            spool,
        })
    }

    /// Writes (or spools) one verdict and counts it.
    pub fn add(&mut self, f: Finding) -> anyhow::Result<()> {
        self.summary.add(&f);
        let separator = if self.written == 0 { "\n" } else { ",\n" };
        match self.format {
            ScanFormat::Json => {
                self.out.write_all(separator.as_bytes())?;
                serde_json::to_writer(&mut self.out, &f)?;
                self.written += 1;
            }
            ScanFormat::Sarif if f.is_non_compliant() => {
                self.out.write_all(separator.as_bytes())?;
                serde_json::to_writer(&mut self.out, &sarif_result(&f))?;
                self.written += 1;
            }
            ScanFormat::Csv => self.out.write_all(&csv_line(&[
                &f.account,
                &f.region,
                &f.resource_type,
                &f.resource_id,
                &f.compliance_type,
                f.annotation.as_deref().unwrap_or_default(),
                &f.keys.join(" "),
            ])?)?,
            ScanFormat::Sarif | ScanFormat::Text => {}
        }
        if f.is_non_compliant()
            && let Some(spool) = &mut self.spool
        {
            spool.push(&f)?;
        }
        Ok(())
    }

    /// Closes the output (and, for `text`, prints the summary and the NON_COMPLIANT list);
    /// returns the counts and the NON_COMPLIANT spool for the HTML report.
    pub fn finish(mut self) -> anyhow::Result<(Summary, Option<Spool>)> {
        match self.format {
            ScanFormat::Json => self.out.write_all(b"\n]\n")?,
            ScanFormat::Sarif => self.out.write_all(b"\n]}]}\n")?,
            ScanFormat::Csv => {}
            ScanFormat::Text => {
                let spool = self.spool.take();
                let spool = self.text(spool)?;
                self.spool = spool;
            }
        }
        self.out.flush()?;
        Ok((self.summary, self.spool))
    }

    fn text(&mut self, spool: Option<Spool>) -> anyhow::Result<Option<Spool>> {
        let Some(mut spool) = spool else {
            return Ok(None);
        };
        let mut rows = vec![[
            "ACCOUNT".to_owned(),
            "REGION".to_owned(),
            "RESOURCES".to_owned(),
            "COMPLIANT".to_owned(),
            "NON_COMPLIANT".to_owned(),
            "NOT_APPLICABLE".to_owned(),
        ]];
        for ((account, region), t) in &self.summary.by_place {
            rows.push([
                account.clone(),
                region.clone(),
                t.total().to_string(),
                t.compliant.to_string(),
                t.non_compliant.to_string(),
                t.not_applicable.to_string(),
            ]);
        }
        write_table(&mut self.out, &rows)?;
        if spool.len > 0 {
            writeln!(self.out, "\nNON_COMPLIANT:")?;
            // Two passes over the spool: widths first, then the rows, so memory stays flat.
            let header = [
                "ACCOUNT",
                "REGION",
                "RESOURCE TYPE",
                "RESOURCE ID",
                "ANNOTATION",
            ];
            let mut widths = header.map(str::len);
            let cells = |f: &Finding| {
                [
                    f.account.clone(),
                    f.region.clone(),
                    f.resource_type.clone(),
                    f.resource_id.clone(),
                    f.annotation.clone().unwrap_or_default(),
                ]
            };
            for f in spool.read()? {
                for (w, c) in widths.iter_mut().zip(cells(&f?)) {
                    *w = (*w).max(c.len());
                }
            }
            write_row(&mut self.out, &header.map(str::to_owned), &widths)?;
            for f in spool.read()? {
                write_row(&mut self.out, &cells(&f?), &widths)?;
            }
        }
        writeln!(
            self.out,
            "{} resource(s) evaluated, {} NON_COMPLIANT",
            self.summary.total.total(),
            self.summary.total.non_compliant
        )?;
        Ok(Some(spool))
    }
}

/// The CSV columns, in [`Finding`]'s JSON names.
const CSV_HEADER: [&str; 7] = [
    "account",
    "region",
    "resourceType",
    "resourceId",
    "complianceType",
    "annotation",
    "keys",
];

/// One CSV record (RFC 4180 quoting), line end included.
fn csv_line(fields: &[&str]) -> anyhow::Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    w.write_record(fields)?;
    Ok(w.into_inner().map_err(|e| e.into_error())?)
}

fn write_row(out: &mut impl Write, cells: &[String], widths: &[usize]) -> std::io::Result<()> {
    let last = cells.len() - 1;
    for (i, (cell, width)) in cells.iter().zip(widths).enumerate() {
        if i == last {
            writeln!(out, "{cell}")?;
        } else {
            write!(out, "{cell:<width$}  ")?;
        }
    }
    Ok(())
}

fn write_table<const N: usize>(out: &mut impl Write, rows: &[[String; N]]) -> std::io::Result<()> {
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

/// The SARIF run's `tool`.
fn sarif_tool() -> Value {
    json!({"driver": {
        "name": "cmk-guardrails",
        "version": env!("CARGO_PKG_VERSION"),
        "rules": [{"id": "CMK-REQUIRED", "shortDescription": {"text": format!(
            "{} must use customer-managed KMS keys",
            guardrails::render::cfn::rule_subjects()
        )}}],
    }})
}

fn sarif_result(f: &Finding) -> Value {
    json!({
        "ruleId": "CMK-REQUIRED",
        "level": "error",
        "message": {"text": f.annotation.clone().unwrap_or_else(|| "not encrypted with a customer-managed KMS key".to_owned())},
        "locations": [{"logicalLocations": [{
            "fullyQualifiedName": format!("{}/{}/{}/{}", f.account, f.region, f.resource_type, f.resource_id),
            "name": f.resource_id,
            "kind": "resource",
        }]}],
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A stream's verdict whose annotation carries a quote, a comma and a fix.
    pub(crate) fn finding(account: &str, id: &str, compliance: &str) -> Finding {
        Finding {
            account: account.to_owned(),
            region: "eu-west-1".to_owned(),
            resource_type: "AWS::Kinesis::Stream".to_owned(),
            resource_id: id.to_owned(),
            compliance_type: compliance.to_owned(),
            annotation: Some(format!(
                "stream {id}, \"quoted\", is not encrypted. Fix: aws kinesis start-stream-encryption"
            )),
            keys: vec![],
        }
    }

    fn written(format: ScanFormat, findings: &[Finding]) -> (String, Summary) {
        let mut out = Vec::new();
        let mut w = Writer::new(format, &mut out, false).unwrap();
        for f in findings {
            w.add(f.clone()).unwrap();
        }
        let (summary, _) = w.finish().unwrap();
        (String::from_utf8(out).unwrap(), summary)
    }

    fn three() -> Vec<Finding> {
        vec![
            finding("111111111111", "a", "NON_COMPLIANT"),
            finding("111111111111", "b", "COMPLIANT"),
            finding("222222222222", "c", "NON_COMPLIANT"),
        ]
    }

    #[test]
    fn json_streams_one_valid_array() {
        let (text, _) = written(ScanFormat::Json, &three());
        let list: Vec<Finding> = serde_json::from_str(&text).unwrap();
        assert_eq!(list, three());
        let (empty, _) = written(ScanFormat::Json, &[]);
        assert!(
            serde_json::from_str::<Vec<Value>>(&empty)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn sarif_streams_the_non_compliant_results_only() {
        let (text, _) = written(ScanFormat::Sarif, &three());
        let log: Value = serde_json::from_str(&text).unwrap();
        let results = log["runs"][0]["results"].as_array().unwrap();
        assert_eq!(results.len(), 2);
        assert_eq!(
            results[1]["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
            "222222222222/eu-west-1/AWS::Kinesis::Stream/c"
        );
        assert_eq!(log["runs"][0]["tool"]["driver"]["name"], "cmk-guardrails");
        let (empty, _) = written(ScanFormat::Sarif, &[]);
        let log: Value = serde_json::from_str(&empty).unwrap();
        assert_eq!(log["runs"][0]["results"], json!([]));
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let (text, _) = written(ScanFormat::Csv, &three());
        let mut reader = csv::Reader::from_reader(text.as_bytes());
        assert_eq!(
            reader.headers().unwrap().iter().collect::<Vec<_>>(),
            CSV_HEADER
        );
        let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        assert_eq!(rows.len(), 3);
        assert_eq!(&rows[0][5], three()[0].annotation.as_deref().unwrap());
    }

    #[test]
    fn text_prints_the_summary_per_place_then_the_non_compliant_resources() {
        let (text, summary) = written(ScanFormat::Text, &three());
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].starts_with("ACCOUNT"), "{text}");
        assert!(lines[1].starts_with("111111111111  eu-west-1  2"), "{text}");
        let list = text.split("NON_COMPLIANT:\n").nth(1).expect(&text);
        assert!(
            list.contains("stream a,") && list.contains("stream c,"),
            "{text}"
        );
        assert!(!list.contains("stream b,"), "{text}");
        assert!(
            text.ends_with("3 resource(s) evaluated, 2 NON_COMPLIANT\n"),
            "{text}"
        );
        assert_eq!(summary.by_account["111111111111"].total(), 2);
        assert_eq!(summary.total.non_compliant, 2);
    }

    #[test]
    fn the_annotation_splits_into_problem_and_fix() {
        let f = finding("1", "a", "NON_COMPLIANT");
        let (problem, fix) = f.problem_and_fix();
        assert!(problem.ends_with("is not encrypted."));
        assert_eq!(fix, "aws kinesis start-stream-encryption");
    }
}
