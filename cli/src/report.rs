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

use crate::output::sarif::{self, Place};
use crate::output::{Format, JsonArray, csv_line, write_row, write_table};

pub mod html;

/// The formats `scan` renders.
pub const SCAN_FORMATS: &[Format] = &[Format::Text, Format::Json, Format::Sarif, Format::Csv];

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

/// Where the verdicts go, per format.
enum Sink<W: Write> {
    Json(JsonArray<W>),
    Sarif(sarif::Log<W>),
    Csv(W),
    /// The summary and the NON_COMPLIANT list, printed at the end.
    Text(W),
}

/// Writes one scan's verdicts as they arrive.
pub struct Writer<W: Write> {
    sink: Sink<W>,
    /// The counts so far.
    pub summary: Summary,
    /// NON_COMPLIANT findings for `text` and the HTML report.
    spool: Option<Spool>,
}

impl<W: Write> Writer<W> {
    /// A writer of `format` (one of [`SCAN_FORMATS`]) to `out`; `html` when the HTML report
    /// needs the NON_COMPLIANT list.
    pub fn new(format: Format, mut out: W, html: bool) -> anyhow::Result<Writer<W>> {
        let sink = match format {
            Format::Json => Sink::Json(JsonArray::new(out, false)),
            Format::Sarif => Sink::Sarif(sarif::Log::start(out, sarif_driver())?),
            Format::Csv => {
                out.write_all(&csv_line(&CSV_HEADER)?)?;
                Sink::Csv(out)
            }
            Format::Text => Sink::Text(out),
            Format::Junitxml => anyhow::bail!("scan does not write JUnit XML"),
        };
        let spool = if matches!(sink, Sink::Text(_)) || html {
            Some(Spool::new()?)
        } else {
            None
        };
        Ok(Writer {
            sink,
            summary: Summary::default(),
            spool,
        })
    }

    /// Writes (or spools) one verdict and counts it.
    pub fn add(&mut self, f: Finding) -> anyhow::Result<()> {
        self.summary.add(&f);
        match &mut self.sink {
            Sink::Json(array) => array.push(&f)?,
            Sink::Sarif(log) if f.is_non_compliant() => log.result(&sarif_result(&f))?,
            Sink::Csv(out) => out.write_all(&csv_line(&[
                &f.account,
                &f.region,
                &f.resource_type,
                &f.resource_id,
                &f.compliance_type,
                f.annotation.as_deref().unwrap_or_default(),
                &f.keys.join(" "),
            ])?)?,
            Sink::Sarif(_) | Sink::Text(_) => {}
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
        match self.sink {
            Sink::Json(array) => {
                array.finish()?;
            }
            Sink::Sarif(log) => {
                log.finish()?;
            }
            Sink::Csv(mut out) => out.flush()?,
            Sink::Text(mut out) => {
                if let Some(spool) = &mut self.spool {
                    text(&mut out, &self.summary, spool)?;
                }
                out.flush()?;
            }
        }
        Ok((self.summary, self.spool))
    }
}

/// The `text` report: a summary line per account and Region, the NON_COMPLIANT resources from
/// the spool, and the totals.
fn text(out: &mut impl Write, summary: &Summary, spool: &mut Spool) -> anyhow::Result<()> {
    let mut rows = vec![[
        "ACCOUNT".to_owned(),
        "REGION".to_owned(),
        "RESOURCES".to_owned(),
        "COMPLIANT".to_owned(),
        "NON_COMPLIANT".to_owned(),
        "NOT_APPLICABLE".to_owned(),
    ]];
    for ((account, region), t) in &summary.by_place {
        rows.push([
            account.clone(),
            region.clone(),
            t.total().to_string(),
            t.compliant.to_string(),
            t.non_compliant.to_string(),
            t.not_applicable.to_string(),
        ]);
    }
    write_table(out, &rows)?;
    if spool.len > 0 {
        writeln!(out, "\nNON_COMPLIANT:")?;
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
        write_row(out, &header.map(str::to_owned), &widths)?;
        for f in spool.read()? {
            write_row(out, &cells(&f?), &widths)?;
        }
    }
    writeln!(
        out,
        "{} resource(s) evaluated, {} NON_COMPLIANT",
        summary.total.total(),
        summary.total.non_compliant
    )?;
    Ok(())
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

/// The scan's SARIF tool: one rule, a CMK for every registered type.
fn sarif_driver() -> serde_sarif::sarif::ToolComponent {
    sarif::driver(vec![sarif::rule(
        "CMK-REQUIRED",
        None,
        format!(
            "{} must use customer-managed KMS keys",
            guardrails::render::cfn::rule_subjects()
        ),
    )])
}

/// A NON_COMPLIANT verdict as a SARIF result: the resource is a logical location (no file).
fn sarif_result(f: &Finding) -> serde_sarif::sarif::Result {
    sarif::Finding {
        rule: "CMK-REQUIRED",
        level: serde_sarif::sarif::ResultLevel::Error,
        message: f
            .annotation
            .as_deref()
            .unwrap_or("not encrypted with a customer-managed KMS key"),
        place: Place::Resource {
            qualified: format!(
                "{}/{}/{}/{}",
                f.account, f.region, f.resource_type, f.resource_id
            ),
            name: &f.resource_id,
        },
        suppressed: None,
        properties: vec![],
    }
    .to_result()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use serde_json::{Value, json};

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

    fn written(format: Format, findings: &[Finding]) -> (String, Summary) {
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
        let (text, _) = written(Format::Json, &three());
        let list: Vec<Finding> = serde_json::from_str(&text).unwrap();
        assert_eq!(list, three());
        let (empty, _) = written(Format::Json, &[]);
        assert!(
            serde_json::from_str::<Vec<Value>>(&empty)
                .unwrap()
                .is_empty()
        );
    }

    #[test]
    fn sarif_streams_the_non_compliant_results_only() {
        let (text, _) = written(Format::Sarif, &three());
        let log: Value = serde_json::from_str(&text).unwrap();
        cmk_integration_tests::sarif::validate(&log).unwrap();
        let results = log["runs"][0]["results"].as_array().unwrap();
        assert_eq!(results.len(), 2);
        assert_eq!(
            results[1]["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
            "222222222222/eu-west-1/AWS::Kinesis::Stream/c"
        );
        assert_eq!(log["runs"][0]["tool"]["driver"]["name"], "cmk-guardrails");
        let (empty, _) = written(Format::Sarif, &[]);
        let log: Value = serde_json::from_str(&empty).unwrap();
        assert_eq!(log["runs"][0]["results"], json!([]));
    }

    #[test]
    fn csv_quotes_what_needs_quoting() {
        let (text, _) = written(Format::Csv, &three());
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
        let (text, summary) = written(Format::Text, &three());
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
