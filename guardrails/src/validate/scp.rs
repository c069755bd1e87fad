//! Offline SCP validation against AWS's service catalogue ([`crate::iam`]). Every finding has a
//! stable code, a severity, the file and the JSON path of what is wrong.

use std::collections::HashSet;

use serde::Serialize;
use serde_json::{Map, Value};

use crate::iam::IamCatalogue;
use crate::render::scp::{DEFAULT_BREAK_GLASS, SCP_MAX_BYTES, STACKSETS_EXECUTION_ROLE};

/// How bad a finding is; `error` makes `guardrails scp validate` exit 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// AWS would reject the policy, or it does not do what it says.
    Error,
    /// Legal, but likely a mistake.
    Warning,
}

/// Stable finding codes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Code {
    /// Not JSON, or not a JSON object.
    MalformedJson,
    /// Minified UTF-8 size over 5,120 bytes.
    SizeExceeded,
    /// `Version` missing or not `2012-10-17`.
    InvalidVersion,
    /// `Statement` missing, or a statement that is not an object.
    InvalidStatement,
    /// An element SCPs do not have.
    UnknownElement,
    /// A required element (Action/NotAction, Resource/NotResource, Effect) is missing or doubled.
    MissingElement,
    /// `Effect` is not `Allow` or `Deny`.
    InvalidEffect,
    /// `Principal`/`NotPrincipal`, which SCPs forbid.
    PrincipalNotAllowed,
    /// An action (or wildcard) that matches no action of the catalogue.
    UnknownAction,
    /// A condition key AWS does not define for any action of the statement.
    UnknownConditionKey,
    /// A condition key valid for only some of the statement's actions.
    ConditionKeyPartial,
    /// An unknown condition operator.
    UnknownOperator,
    /// An operator that does not fit the key's type.
    OperatorTypeMismatch,
    /// A Deny with `ForAllValues:` on a key that may be absent: true when absent, denies too much.
    ForallvaluesDenyTrap,
    /// Two statements with one Sid.
    DuplicateSid,
    /// A Deny that does not exempt the break-glass principals.
    MissingBreakGlass,
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// The file the policy came from.
    pub file: String,
    /// Stable code.
    pub code: Code,
    /// Severity.
    pub severity: Severity,
    /// JSON path, e.g. `$.Statement[1].Condition.StringLike["secretsmanager:KmsKeyId"]`.
    pub path: String,
    /// What is wrong, in a sentence.
    pub message: String,
}

/// Validator options.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ValidateOptions {
    /// Principal patterns every Deny must exempt (empty: no check). By default the break-glass
    /// roles and the StackSets execution role, which SCPs would otherwise lock out.
    pub break_glass: Vec<String>,
}

impl Default for ValidateOptions {
    fn default() -> ValidateOptions {
        ValidateOptions {
            break_glass: vec![
                DEFAULT_BREAK_GLASS.to_owned(),
                STACKSETS_EXECUTION_ROLE.to_owned(),
            ],
        }
    }
}

const OPERATORS: &[&str] = &[
    "StringEquals",
    "StringNotEquals",
    "StringEqualsIgnoreCase",
    "StringNotEqualsIgnoreCase",
    "StringLike",
    "StringNotLike",
    "NumericEquals",
    "NumericNotEquals",
    "NumericLessThan",
    "NumericLessThanEquals",
    "NumericGreaterThan",
    "NumericGreaterThanEquals",
    "DateEquals",
    "DateNotEquals",
    "DateLessThan",
    "DateLessThanEquals",
    "DateGreaterThan",
    "DateGreaterThanEquals",
    "Bool",
    "BinaryEquals",
    "IpAddress",
    "NotIpAddress",
    "ArnEquals",
    "ArnLike",
    "ArnNotEquals",
    "ArnNotLike",
    "Null",
];

const STATEMENT_ELEMENTS: &[&str] = &[
    "Sid",
    "Effect",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Condition",
];

/// JSON-path segment for an object key: `.Key` for identifiers, `["key:with/colons"]` otherwise.
fn seg(key: &str) -> String {
    if !key.is_empty() && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
        format!(".{key}")
    } else {
        format!("[{}]", Value::String(key.to_owned()))
    }
}

struct Ctx<'a> {
    file: &'a str,
    findings: Vec<Finding>,
}

impl Ctx<'_> {
    fn add(&mut self, code: Code, severity: Severity, path: &str, message: impl Into<String>) {
        self.findings.push(Finding {
            file: self.file.to_owned(),
            code,
            severity,
            path: path.to_owned(),
            message: message.into(),
        });
    }
    fn error(&mut self, code: Code, path: &str, message: impl Into<String>) {
        self.add(code, Severity::Error, path, message);
    }
    fn warn(&mut self, code: Code, path: &str, message: impl Into<String>) {
        self.add(code, Severity::Warning, path, message);
    }
}

/// Strings of an element that may be a string or an array of strings, with their paths.
fn strings<'v>(value: &'v Value, path: &str) -> Vec<(String, Option<&'v str>)> {
    match value {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("{path}[{i}]"), v.as_str()))
            .collect(),
        other => vec![(path.to_owned(), other.as_str())],
    }
}

/// Validates one SCP document.
///
/// ```
/// use guardrails::validate::scp::{validate_scp, Code, ValidateOptions};
/// let cat = guardrails::iam::catalogue().unwrap();
/// let f = validate_scp("p.json", r#"{"Version":"2012-10-17","Statement":{"Effect":"Deny","Action":"kinesis:NoSuch","Resource":"*"}}"#, cat, &ValidateOptions { break_glass: vec![] });
/// assert_eq!(f[0].code, Code::UnknownAction);
/// ```
pub fn validate_scp(
    file: &str,
    text: &str,
    cat: &IamCatalogue,
    opts: &ValidateOptions,
) -> Vec<Finding> {
    let mut ctx = Ctx {
        file,
        findings: Vec::new(),
    };
    let doc: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(e) => {
            ctx.error(Code::MalformedJson, "$", format!("not valid JSON: {e}"));
            return ctx.findings;
        }
    };
    let Some(top) = doc.as_object() else {
        ctx.error(Code::MalformedJson, "$", "the policy must be a JSON object");
        return ctx.findings;
    };
    let size = doc.to_string().len();
    if size > SCP_MAX_BYTES {
        ctx.error(
            Code::SizeExceeded,
            "$",
            format!(
                "minified size is {size} bytes, {} over the {SCP_MAX_BYTES}-byte SCP limit",
                size - SCP_MAX_BYTES
            ),
        );
    }
    match top.get("Version") {
        Some(Value::String(v)) if v == "2012-10-17" => {}
        Some(v) => ctx.error(
            Code::InvalidVersion,
            "$.Version",
            format!("Version is {v}; SCPs need \"2012-10-17\""),
        ),
        None => ctx.error(
            Code::InvalidVersion,
            "$.Version",
            "Version is missing; SCPs need \"2012-10-17\"",
        ),
    }
    for key in top.keys() {
        if !matches!(key.as_str(), "Version" | "Statement" | "Id") {
            ctx.error(
                Code::UnknownElement,
                &format!("${}", seg(key)),
                format!("`{key}` is not a policy element"),
            );
        }
    }
    let statements: Vec<(String, &Value)> = match top.get("Statement") {
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, s)| (format!("$.Statement[{i}]"), s))
            .collect(),
        Some(one @ Value::Object(_)) => vec![("$.Statement".to_owned(), one)],
        Some(_) => {
            ctx.error(
                Code::InvalidStatement,
                "$.Statement",
                "Statement must be an object or an array of objects",
            );
            return ctx.findings;
        }
        None => {
            ctx.error(
                Code::InvalidStatement,
                "$.Statement",
                "Statement is missing",
            );
            return ctx.findings;
        }
    };
    let mut sids = HashSet::new();
    for (path, st) in statements {
        let Some(st) = st.as_object() else {
            ctx.error(
                Code::InvalidStatement,
                &path,
                "a statement must be a JSON object",
            );
            continue;
        };
        statement(&mut ctx, &path, st, cat, opts, &mut sids);
    }
    ctx.findings
}

fn statement(
    ctx: &mut Ctx<'_>,
    path: &str,
    st: &Map<String, Value>,
    cat: &IamCatalogue,
    opts: &ValidateOptions,
    sids: &mut HashSet<String>,
) {
    for key in st.keys() {
        let at = format!("{path}{}", seg(key));
        if key == "Principal" || key == "NotPrincipal" {
            ctx.error(
                Code::PrincipalNotAllowed,
                &at,
                format!("SCPs cannot use `{key}`; use an aws:PrincipalArn condition"),
            );
        } else if !STATEMENT_ELEMENTS.contains(&key.as_str()) {
            ctx.error(
                Code::UnknownElement,
                &at,
                format!("`{key}` is not a statement element"),
            );
        }
    }
    if let Some(sid) = st.get("Sid") {
        match sid.as_str() {
            Some(s) if !sids.insert(s.to_owned()) => {
                ctx.error(
                    Code::DuplicateSid,
                    &format!("{path}.Sid"),
                    format!("Sid `{s}` is used by another statement"),
                );
            }
            Some(s) if !s.bytes().all(|b| b.is_ascii_alphanumeric()) => {
                ctx.error(
                    Code::InvalidStatement,
                    &format!("{path}.Sid"),
                    format!("Sid `{s}` may only hold letters and digits"),
                );
            }
            Some(_) => {}
            None => ctx.error(
                Code::InvalidStatement,
                &format!("{path}.Sid"),
                "Sid must be a string",
            ),
        }
    }
    let deny = match st.get("Effect").and_then(Value::as_str) {
        Some("Deny") => true,
        Some("Allow") => false,
        _ => {
            let shown = st
                .get("Effect")
                .map_or("missing".to_owned(), Value::to_string);
            ctx.error(
                Code::InvalidEffect,
                &format!("{path}.Effect"),
                format!("Effect is {shown}; it must be \"Allow\" or \"Deny\""),
            );
            false
        }
    };
    for (a, b) in [("Action", "NotAction"), ("Resource", "NotResource")] {
        match (st.contains_key(a), st.contains_key(b)) {
            (true, true) => ctx.error(
                Code::MissingElement,
                path,
                format!("a statement has either {a} or {b}, not both"),
            ),
            (false, false) => ctx.error(
                Code::MissingElement,
                path,
                format!("a statement needs {a} or {b}"),
            ),
            _ => {}
        }
    }
    // The actions the statement names, for condition-key checks (None: any action).
    let mut named: Option<Vec<(String, String)>> = None;
    for (element, is_action) in [("Action", true), ("NotAction", false)] {
        let Some(value) = st.get(element) else {
            continue;
        };
        let mut matched = Vec::new();
        let mut wildcard_all = false;
        for (at, entry) in strings(value, &format!("{path}.{element}")) {
            let Some(entry) = entry else {
                ctx.error(Code::UnknownAction, &at, "an action must be a string");
                continue;
            };
            if entry == "*" {
                wildcard_all = true;
                continue;
            }
            match cat.actions_matching(entry) {
                None => ctx.error(
                    Code::UnknownAction,
                    &at,
                    format!("`{entry}`: unknown service prefix"),
                ),
                Some(found) if found.is_empty() => {
                    ctx.error(
                        Code::UnknownAction,
                        &at,
                        format!("`{entry}` matches no action of the service"),
                    );
                }
                Some(found) => {
                    matched.extend(found.into_iter().map(|(p, a)| (p.to_owned(), a.to_owned())))
                }
            }
        }
        if is_action && !wildcard_all {
            named = Some(matched);
        }
    }
    if let Some(cond) = st.get("Condition") {
        condition(
            ctx,
            &format!("{path}.Condition"),
            cond,
            cat,
            named.as_deref(),
            deny,
        );
    }
    if deny && !opts.break_glass.is_empty() {
        let exempted: Vec<&str> = st
            .get("Condition")
            .and_then(Value::as_object)
            .into_iter()
            .flat_map(|c| c.iter())
            .filter(|(op, _)| {
                // StringNotEquals matches no wildcard, so a pattern there exempts nobody.
                matches!(op.as_str(), "ArnNotLike" | "ArnNotEquals" | "StringNotLike")
            })
            .filter_map(|(_, block)| block.as_object())
            .flat_map(|block| block.iter())
            .filter(|(k, _)| k.eq_ignore_ascii_case("aws:PrincipalArn"))
            .flat_map(|(_, v)| match v {
                Value::Array(items) => items.iter().filter_map(Value::as_str).collect::<Vec<_>>(),
                other => other.as_str().into_iter().collect(),
            })
            .collect();
        let missing: Vec<&String> = opts
            .break_glass
            .iter()
            .filter(|p| !exempted.contains(&p.as_str()))
            .collect();
        if !missing.is_empty() {
            ctx.warn(
                Code::MissingBreakGlass,
                path,
                format!("this Deny does not exempt the break-glass principals {missing:?} (ArnNotLike aws:PrincipalArn)"),
            );
        }
    }
}

fn condition(
    ctx: &mut Ctx<'_>,
    path: &str,
    cond: &Value,
    cat: &IamCatalogue,
    actions: Option<&[(String, String)]>,
    deny: bool,
) {
    let Some(cond) = cond.as_object() else {
        ctx.error(
            Code::InvalidStatement,
            path,
            "Condition must be an object of operators",
        );
        return;
    };
    // Keys guarded by `Null: {key: "false"}`, which makes a ForAllValues Deny safe.
    let null_guarded: Vec<String> = cond
        .get("Null")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter(|(_, v)| v.as_str() == Some("false") || v.as_bool() == Some(false))
                .map(|(k, _)| k.to_ascii_lowercase())
                .collect()
        })
        .unwrap_or_default();
    for (operator, block) in cond {
        let op_path = format!("{path}{}", seg(operator));
        let (set, rest) = match operator.split_once(':') {
            Some((set @ ("ForAnyValue" | "ForAllValues"), rest)) => (Some(set), rest),
            _ => (None, operator.as_str()),
        };
        let base = rest.strip_suffix("IfExists").unwrap_or(rest);
        if !OPERATORS.contains(&base) || (base == "Null" && rest != "Null") {
            ctx.error(
                Code::UnknownOperator,
                &op_path,
                format!("`{operator}` is not a condition operator"),
            );
            continue;
        }
        let Some(block) = block.as_object() else {
            ctx.error(
                Code::InvalidStatement,
                &op_path,
                "an operator maps condition keys to values",
            );
            continue;
        };
        for key in block.keys() {
            let at = format!("{op_path}{}", seg(key));
            let Some(kind) = cat.key_type(key) else {
                ctx.error(
                    Code::UnknownConditionKey,
                    &at,
                    format!("`{key}` is not a condition key AWS defines"),
                );
                continue;
            };
            if let Some(actions) = actions.filter(|a| !a.is_empty()) {
                let valid = actions
                    .iter()
                    .filter(|(p, a)| cat.key_valid_for(key, p, a))
                    .count();
                if valid == 0 {
                    ctx.error(
                        Code::UnknownConditionKey,
                        &at,
                        format!("`{key}` is not available for any action of this statement, so the condition never matches"),
                    );
                } else if valid < actions.len() {
                    ctx.warn(
                        Code::ConditionKeyPartial,
                        &at,
                        format!(
                            "`{key}` is available for only {valid} of the statement's {} actions",
                            actions.len()
                        ),
                    );
                }
            }
            let multi = kind.starts_with("ArrayOf");
            if base != "Null" {
                if multi && set.is_none() {
                    ctx.warn(
                        Code::OperatorTypeMismatch,
                        &at,
                        format!("`{key}` is multivalued: use ForAnyValue: or ForAllValues:"),
                    );
                } else if !multi && set.is_some() {
                    ctx.warn(
                        Code::OperatorTypeMismatch,
                        &at,
                        format!(
                            "`{key}` is single-valued: drop the {} prefix",
                            set.unwrap_or_default()
                        ),
                    );
                }
                let family_ok = match base {
                    b if b.starts_with("Arn") => kind.contains("ARN") || kind.contains("String"),
                    b if b.starts_with("Numeric") => kind.contains("Numeric"),
                    b if b.starts_with("Date") => kind.contains("Date"),
                    "Bool" => kind.contains("Bool"),
                    "IpAddress" | "NotIpAddress" => kind.contains("IPAddress"),
                    _ => true,
                };
                if !family_ok {
                    ctx.warn(
                        Code::OperatorTypeMismatch,
                        &at,
                        format!("`{operator}` does not fit `{key}` of type {kind}"),
                    );
                }
            }
            if deny
                && set == Some("ForAllValues")
                && !null_guarded.contains(&key.to_ascii_lowercase())
            {
                ctx.error(
                    Code::ForallvaluesDenyTrap,
                    &at,
                    format!("a Deny with ForAllValues on `{key}` is true when the key is absent and denies every such request; use ForAnyValue: or add Null {{\"{key}\": \"false\"}}"),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::CONTROLS;
    use crate::iam::catalogue;
    use crate::render::scp::{ScpOptions, render_scps};

    #[test]
    fn generated_scps_validate_clean() {
        let cat = catalogue().unwrap();
        for a in render_scps(CONTROLS, &ScpOptions::default()).unwrap() {
            let findings = validate_scp(&a.path, &a.content, cat, &ValidateOptions::default());
            assert!(findings.is_empty(), "{findings:#?}");
        }
    }

    #[test]
    fn paths_quote_keys_with_colons() {
        assert_eq!(seg("Statement"), ".Statement");
        assert_eq!(seg("kms:ResourceAliases"), "[\"kms:ResourceAliases\"]");
    }
}
