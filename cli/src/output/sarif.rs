//! SARIF 2.1.0 logs built from the typed model of `serde-sarif` (generated from the OASIS schema)
//! and written as a stream: the log's opening and the tool first, then each result as it is made,
//! so a scan of any size is written in flat memory. `scan` and `iac check` both write through
//! [`Log`]; a test validates what they write against the schema.

use std::io::Write;

use serde_sarif::sarif::{
    ArtifactLocation, Location, LogicalLocation, Message, MultiformatMessageString,
    PhysicalLocation, PropertyBag, Region, ReportingDescriptor, Result as SarifResult, ResultLevel,
    Suppression, Tool, ToolComponent,
};

/// Where SARIF viewers find the schema.
pub const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// A SARIF log with one run, written as its results arrive.
pub struct Log<W: Write> {
    out: W,
    results: u64,
}

impl<W: Write> Log<W> {
    /// Writes the log's opening and `driver` (the tool and its rules) to `out`.
    pub fn start(mut out: W, driver: ToolComponent) -> anyhow::Result<Log<W>> {
        let tool = Tool::builder().driver(driver).build();
        write!(
            out,
            r#"{{"$schema":{},"version":"2.1.0","runs":[{{"tool":"#,
            serde_json::to_string(SCHEMA)?
        )?;
        serde_json::to_writer(&mut out, &tool)?;
        out.write_all(br#","results":["#)?;
        Ok(Log { out, results: 0 })
    }

    /// Writes one result.
    pub fn result(&mut self, result: &SarifResult) -> anyhow::Result<()> {
        self.out
            .write_all(if self.results == 0 { b"\n" } else { b",\n" })?;
        serde_json::to_writer(&mut self.out, result)?;
        self.results += 1;
        Ok(())
    }

    /// Closes the results, the run and the log; returns the writer.
    pub fn finish(mut self) -> anyhow::Result<W> {
        self.out.write_all(b"\n]}]}\n")?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// cmk-guardrails as a SARIF tool component, with `rules`.
pub fn driver(rules: Vec<ReportingDescriptor>) -> ToolComponent {
    ToolComponent::builder()
        .name("cmk-guardrails")
        .version(env!("CARGO_PKG_VERSION"))
        .information_uri("https://github.com/cmk-guardrails")
        .rules(rules)
        .build()
}

/// A rule: its id, an optional name and a one-line description.
pub fn rule(id: &str, name: Option<String>, description: String) -> ReportingDescriptor {
    let short = MultiformatMessageString::builder()
        .text(description)
        .build();
    match name {
        Some(name) => ReportingDescriptor::builder()
            .id(id)
            .name(name)
            .short_description(short)
            .build(),
        None => ReportingDescriptor::builder()
            .id(id)
            .short_description(short)
            .build(),
    }
}

/// Where a result is: a file (with lines, when known) and the resource inside it, or only a
/// resource (a cloud resource has no file).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Place<'a> {
    /// A line range of a file.
    File {
        /// The file, as given on the command line.
        uri: &'a str,
        /// First and last line, 1-based.
        lines: Option<(u64, u64)>,
        /// The resource's address in the file.
        resource: &'a str,
    },
    /// A resource with no file: its fully qualified name and its short name.
    Resource {
        /// E.g. `account/Region/type/id`.
        qualified: String,
        /// E.g. the resource id.
        name: &'a str,
    },
}

/// How a finding was accepted, when it was.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Suppressed<'a> {
    /// By a comment in the file.
    InSource(&'a str),
    /// By a baseline file.
    External(&'a str),
}

/// One result.
pub struct Finding<'a> {
    /// The rule.
    pub rule: &'a str,
    /// `error` fails the check, `warning` does not.
    pub level: ResultLevel,
    /// What is wrong.
    pub message: &'a str,
    /// Where.
    pub place: Place<'a>,
    /// Accepted, with the reason.
    pub suppressed: Option<Suppressed<'a>>,
    /// Extra properties (e.g. `moduleSource`).
    pub properties: Vec<(&'static str, serde_json::Value)>,
}

impl Finding<'_> {
    /// The SARIF result.
    pub fn to_result(&self) -> SarifResult {
        let location = match &self.place {
            Place::File {
                uri,
                lines,
                resource,
            } => {
                let artifact = ArtifactLocation::builder().uri(*uri).build();
                let physical = match lines {
                    Some((start, end)) => PhysicalLocation::builder()
                        .artifact_location(artifact)
                        .region(
                            Region::builder()
                                .start_line(*start as i64)
                                .end_line(*end as i64)
                                .build(),
                        )
                        .build(),
                    None => PhysicalLocation::builder()
                        .artifact_location(artifact)
                        .build(),
                };
                Location::builder()
                    .physical_location(physical)
                    .logical_locations(vec![
                        LogicalLocation::builder()
                            .fully_qualified_name(*resource)
                            .build(),
                    ])
                    .build()
            }
            Place::Resource { qualified, name } => Location::builder()
                .logical_locations(vec![
                    LogicalLocation::builder()
                        .fully_qualified_name(qualified.as_str())
                        .name(*name)
                        .kind("resource")
                        .build(),
                ])
                .build(),
        };
        let suppressions = self.suppressed.map(|s| {
            let (kind, reason) = match s {
                Suppressed::InSource(reason) => ("inSource", reason),
                Suppressed::External(reason) => ("external", reason),
            };
            vec![
                Suppression::builder()
                    .kind(serde_json::Value::from(kind))
                    .justification(reason)
                    .build(),
            ]
        });
        let properties = (!self.properties.is_empty()).then(|| {
            PropertyBag::builder()
                .additional_properties(
                    self.properties
                        .iter()
                        .map(|(k, v)| ((*k).to_owned(), v.clone()))
                        .collect::<std::collections::BTreeMap<_, _>>(),
                )
                .build()
        });
        let message = Message::builder().text(self.message).build();
        let mut result = SarifResult::builder()
            .rule_id(self.rule)
            .level(self.level)
            .message(message)
            .locations(vec![location])
            .build();
        result.suppressions = suppressions;
        result.properties = properties;
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    /// A log holding one result of every shape the commands write.
    fn every_shape() -> Value {
        let rules = vec![
            rule("CMK-REQUIRED", None, "must use CMKs".into()),
            rule(
                "CMK-SQS-CREATE",
                Some("CmkSqsCreate".into()),
                "Prevents x".into(),
            ),
        ];
        let mut log = Log::start(Vec::new(), driver(rules)).unwrap();
        let findings = [
            Finding {
                rule: "CMK-REQUIRED",
                level: ResultLevel::Error,
                message: "queue uses the AWS-owned key (SSE-SQS). Fix: \"x\"",
                place: Place::Resource {
                    qualified: "111122223333/us-east-1/AWS::SQS::Queue/https://q".into(),
                    name: "https://q",
                },
                suppressed: None,
                properties: vec![],
            },
            Finding {
                rule: "CMK-SQS-CREATE",
                level: ResultLevel::Warning,
                message: "m",
                place: Place::File {
                    uri: "main.tf",
                    lines: Some((3, 9)),
                    resource: "aws_sqs_queue.q",
                },
                suppressed: Some(Suppressed::InSource("load test")),
                properties: vec![("moduleSource", Value::from("./mod"))],
            },
            Finding {
                rule: "CMK-SQS-CREATE",
                level: ResultLevel::Error,
                message: "m",
                place: Place::File {
                    uri: "plan.json",
                    lines: None,
                    resource: "aws_sqs_queue.q",
                },
                suppressed: Some(Suppressed::External("accepted")),
                properties: vec![],
            },
        ];
        for f in &findings {
            log.result(&f.to_result()).unwrap();
        }
        serde_json::from_slice(&log.finish().unwrap()).unwrap()
    }

    #[test]
    fn every_shape_is_valid_sarif_2_1_0() {
        let log = every_shape();
        cmk_integration_tests::sarif::validate(&log).unwrap();
        let results = log["runs"][0]["results"].as_array().unwrap();
        assert_eq!(results.len(), 3);
        assert_eq!(results[1]["suppressions"][0]["kind"], "inSource");
        assert_eq!(
            results[1]["locations"][0]["physicalLocation"]["region"]["startLine"],
            3
        );
        assert_eq!(results[1]["properties"]["moduleSource"], "./mod");
        assert_eq!(results[2]["suppressions"][0]["kind"], "external");
        assert_eq!(
            log["runs"][0]["tool"]["driver"]["rules"][1]["name"],
            "CmkSqsCreate"
        );
    }

    #[test]
    fn the_schema_test_rejects_what_is_not_sarif() {
        let mut log = every_shape();
        log["runs"][0]["results"][0]["level"] = Value::from("fatal");
        let err = cmk_integration_tests::sarif::validate(&log).unwrap_err();
        assert!(err.contains("level"), "{err}");
        let mut log = every_shape();
        log["runs"][0]["results"][0]
            .as_object_mut()
            .unwrap()
            .remove("message");
        assert!(cmk_integration_tests::sarif::validate(&log).is_err());
    }
}
