//! Accepted findings, each with a reason: inline (a Terraform comment, a CloudFormation resource's
//! `Metadata`) or in a baseline file. A suppressed finding is still reported, marked with its
//! reason; it only stops failing the check. A suppression without a reason is an error.

use std::collections::HashMap;
use std::path::Path;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::locate::Lines;

/// Where a suppression comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum Source {
    /// A comment or `Metadata` beside the resource (SARIF `inSource`).
    Inline,
    /// A baseline file (SARIF `external`).
    Baseline,
}

/// Why a finding is accepted.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Suppression {
    /// Inline or baseline.
    pub source: Source,
    /// The reason given.
    pub reason: String,
}

/// A suppression that cannot be used, naming the file and where.
#[derive(Debug, thiserror::Error)]
#[error("{file}:{line}: {problem}")]
pub struct SuppressionError {
    /// The file holding it.
    pub file: String,
    /// Its line (1-based; 0 when unknown).
    pub line: usize,
    /// What is wrong.
    pub problem: String,
}

/// The marker of an inline Terraform suppression: `# guardrails:skip=CMK-KINESIS-CREATE <reason>`
/// (or `//`), inside the resource block or on the lines right above it.
pub const MARKER: &str = "guardrails:skip=";

/// Inline suppressions of a Terraform file, by resource address (`type.name`) and control id.
pub fn terraform(
    file: &str,
    text: &str,
    blocks: &HashMap<String, Lines>,
) -> Result<HashMap<(String, String), String>, SuppressionError> {
    let lines: Vec<&str> = text.lines().collect();
    let mut out = HashMap::new();
    for (address, at) in blocks {
        // The block's own lines, and the comment lines directly above it.
        let mut first = at.start.max(1);
        while first > 1 && lines.get(first - 2).is_some_and(|l| is_comment(l)) {
            first -= 1;
        }
        for n in first..=at.end.min(lines.len()) {
            let Some(line) = lines.get(n - 1) else {
                continue;
            };
            let Some((_, rest)) = line.split_once(MARKER) else {
                continue;
            };
            if !is_comment_part(line) {
                continue;
            }
            let (control, reason) = rest
                .trim()
                .split_once(char::is_whitespace)
                .unwrap_or((rest.trim(), ""));
            let reason = reason.trim();
            if reason.is_empty() {
                return Err(SuppressionError {
                    file: file.to_owned(),
                    line: n,
                    problem: format!(
                        "`{MARKER}{control}` has no reason: write one after the control id"
                    ),
                });
            }
            out.insert((address.clone(), control.to_owned()), reason.to_owned());
        }
    }
    Ok(out)
}

fn is_comment(line: &str) -> bool {
    let t = line.trim_start();
    t.starts_with('#') || t.starts_with("//")
}

/// Whether the marker on `line` sits in a comment (`#` or `//` before it).
fn is_comment_part(line: &str) -> bool {
    let before = line.split_once(MARKER).map_or("", |(b, _)| b);
    before.contains('#') || before.contains("//")
}

/// Inline suppressions of a CloudFormation template: each resource's
/// `Metadata.guardrails.skip: [{id: CMK-..., reason: ...}]`, by logical id and control id.
pub fn cloudformation(
    file: &str,
    template: &Value,
    at: &HashMap<String, Lines>,
) -> Result<HashMap<(String, String), String>, SuppressionError> {
    let mut out = HashMap::new();
    let Some(resources) = template.get("Resources").and_then(Value::as_object) else {
        return Ok(out);
    };
    for (id, resource) in resources {
        let Some(skip) = resource.pointer("/Metadata/guardrails/skip") else {
            continue;
        };
        let line = at.get(id).map_or(0, |l| l.start);
        let bad = |problem: String| SuppressionError {
            file: file.to_owned(),
            line,
            problem: format!("{id}: Metadata.guardrails.skip: {problem}"),
        };
        let Some(entries) = skip.as_array() else {
            return Err(bad("expected a list of {id, reason}".to_owned()));
        };
        for entry in entries {
            let control = entry.get("id").and_then(Value::as_str);
            let reason = entry.get("reason").and_then(Value::as_str).map(str::trim);
            match (control, reason) {
                (Some(control), Some(reason)) if !reason.is_empty() => {
                    out.insert((id.clone(), control.to_owned()), reason.to_owned());
                }
                (Some(control), _) => return Err(bad(format!("{control} has no reason"))),
                (None, _) => return Err(bad("an entry has no id".to_owned())),
            }
        }
    }
    Ok(out)
}

/// A baseline file: accepted findings with their reasons.
#[derive(Clone, Debug, Default, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Baseline {
    /// Format version, 1.
    pub version: u32,
    /// The accepted findings.
    pub accepted: Vec<Accepted>,
}

/// One accepted finding of a baseline.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Accepted {
    /// The file, as the checker names it.
    pub file: String,
    /// The control id.
    pub control: String,
    /// The resource (logical id, `type.name` or plan address).
    pub resource: String,
    /// Why it is accepted.
    pub reason: String,
}

impl Baseline {
    /// Reads a baseline; an entry without a reason is an error.
    pub fn load(path: &Path) -> Result<Baseline, SuppressionError> {
        let file = path.display().to_string();
        let bad = |line: usize, problem: String| SuppressionError {
            file: file.clone(),
            line,
            problem,
        };
        let text = std::fs::read_to_string(path).map_err(|e| bad(0, e.to_string()))?;
        let baseline: Baseline = serde_json::from_str(&text)
            .map_err(|e| bad(e.line(), format!("not a baseline: {e}")))?;
        if baseline.version != 1 {
            return Err(bad(0, format!("version {} (expected 1)", baseline.version)));
        }
        for (i, a) in baseline.accepted.iter().enumerate() {
            if a.reason.trim().is_empty() {
                return Err(bad(
                    0,
                    format!(
                        "accepted[{i}] ({} {} in {}) has no reason",
                        a.control, a.resource, a.file
                    ),
                ));
            }
        }
        Ok(baseline)
    }

    /// The reason this finding is accepted, if it is.
    pub fn reason(&self, file: &str, control: &str, resource: &str) -> Option<&str> {
        self.accepted
            .iter()
            .find(|a| a.file == file && a.control == control && a.resource == resource)
            .map(|a| a.reason.as_str())
    }
}
