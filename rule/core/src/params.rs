//! Rule parameters (`ruleParameters`): all optional, all validated before anything is evaluated.
//! An unknown name or a bad value fails the invocation and nothing is put.

use std::collections::BTreeSet;

use serde_json::{Map, Value};

use crate::key::KeyRef;

/// Comma-separated key ARNs, alias ARNs, alias names or key ids that are the only acceptable CMKs.
pub const ALLOWED_KEY_ARNS: &str = "allowedKeyArns";
/// Comma-separated 12-digit account ids whose keys are accepted.
pub const ALLOWED_KEY_ACCOUNTS: &str = "allowedKeyAccounts";
/// `Key` or `Key=Value`: a resource carrying this tag is NOT_APPLICABLE.
pub const EXEMPT_TAG: &str = "exemptTag";
/// `true`/`false`: a CMK without automatic rotation is NON_COMPLIANT.
pub const REQUIRE_KEY_ROTATION: &str = "requireKeyRotation";

/// The IAM role name the central function assumes in a member account to evaluate that account's
/// resources (default [`DEFAULT_EXECUTION_ROLE`]).
pub const EXECUTION_ROLE_NAME: &str = "executionRoleName";
/// The member role's name when `executionRoleName` is not set: the role `guardrails deploy`
/// creates in every member account.
pub const DEFAULT_EXECUTION_ROLE: &str = "cmk-guardrails-member";

const KNOWN: [&str; 5] = [
    ALLOWED_KEY_ARNS,
    ALLOWED_KEY_ACCOUNTS,
    EXEMPT_TAG,
    REQUIRE_KEY_ROTATION,
    EXECUTION_ROLE_NAME,
];

/// The tag that exempts a resource.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExemptTag {
    /// Tag key.
    pub key: String,
    /// Required value; `None` means any value.
    pub value: Option<String>,
}

/// Validated rule parameters.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RuleParams {
    /// `allowedKeyArns`; empty means any CMK.
    pub allowed_keys: Vec<KeyRef>,
    /// `allowedKeyAccounts`; empty means any account.
    pub allowed_accounts: BTreeSet<String>,
    /// `exemptTag`.
    pub exempt_tag: Option<ExemptTag>,
    /// `requireKeyRotation`.
    pub require_rotation: bool,
    /// `executionRoleName`; `None` means [`DEFAULT_EXECUTION_ROLE`].
    pub execution_role: Option<String>,
}

/// A parameter that cannot be accepted.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ParamError {
    /// `ruleParameters` is not a JSON object.
    #[error("ruleParameters is not a JSON object of parameters: {0}")]
    NotAnObject(String),
    /// A parameter name the rule does not know (often a typo).
    #[error("unknown rule parameter `{name}` (known: {known})")]
    Unknown {
        /// The unknown name.
        name: String,
        /// The names the rule knows.
        known: String,
    },
    /// A known parameter with a value that cannot be used.
    #[error("rule parameter `{name}` has invalid value `{value}`: {problem}")]
    Invalid {
        /// Parameter name.
        name: &'static str,
        /// The offending value (or list entry).
        value: String,
        /// What is wrong.
        problem: String,
    },
}

impl RuleParams {
    /// Parses `ruleParameters` as Config sends it: absent, `""` and `"{}"` mean no parameters.
    ///
    /// ```
    /// let p = cmk_core::RuleParams::parse(Some(r#"{"allowedKeyAccounts":"111122223333, 444455556666"}"#)).unwrap();
    /// assert_eq!(p.allowed_accounts.len(), 2);
    /// assert!(cmk_core::RuleParams::parse(Some(r#"{"alowedKeyArns":"x"}"#)).is_err());
    /// ```
    pub fn parse(text: Option<&str>) -> Result<RuleParams, ParamError> {
        let text = text.map(str::trim).unwrap_or_default();
        if text.is_empty() {
            return Ok(RuleParams::default());
        }
        let map: Map<String, Value> =
            serde_json::from_str(text).map_err(|e| ParamError::NotAnObject(e.to_string()))?;
        let mut params = RuleParams::default();
        for (name, value) in &map {
            let Some(&known) = KNOWN.iter().find(|k| **k == name) else {
                return Err(ParamError::Unknown {
                    name: name.clone(),
                    known: KNOWN.join(", "),
                });
            };
            let text = scalar(known, value)?;
            match known {
                ALLOWED_KEY_ARNS => params.allowed_keys = allowed_keys(&text)?,
                ALLOWED_KEY_ACCOUNTS => params.allowed_accounts = allowed_accounts(&text)?,
                EXEMPT_TAG => params.exempt_tag = exempt_tag(&text)?,
                EXECUTION_ROLE_NAME => params.execution_role = role_name(&text)?,
                _ => params.require_rotation = boolean(known, &text)?,
            }
        }
        Ok(params)
    }
}

fn invalid(name: &'static str, value: &str, problem: impl Into<String>) -> ParamError {
    ParamError::Invalid {
        name,
        value: value.to_owned(),
        problem: problem.into(),
    }
}

/// Config's console stores every value as a string; a JSON bool is accepted for the flag too.
fn scalar(name: &'static str, value: &Value) -> Result<String, ParamError> {
    match value {
        Value::String(s) => Ok(s.trim().to_owned()),
        Value::Bool(b) => Ok(b.to_string()),
        other => Err(invalid(name, &other.to_string(), "expected a string")),
    }
}

fn entries(text: &str) -> impl Iterator<Item = &str> {
    text.split(',').map(str::trim)
}

fn allowed_keys(text: &str) -> Result<Vec<KeyRef>, ParamError> {
    if text.is_empty() {
        return Ok(Vec::new());
    }
    entries(text)
        .map(|entry| {
            let key =
                KeyRef::parse(entry).map_err(|e| invalid(ALLOWED_KEY_ARNS, entry, e.problem))?;
            if key.is_aws_managed_alias() {
                return Err(invalid(
                    ALLOWED_KEY_ARNS,
                    entry,
                    "AWS-managed keys are never acceptable; list customer-managed keys",
                ));
            }
            Ok(key)
        })
        .collect()
}

fn allowed_accounts(text: &str) -> Result<BTreeSet<String>, ParamError> {
    if text.is_empty() {
        return Ok(BTreeSet::new());
    }
    entries(text)
        .map(|entry| {
            if entry.len() == 12 && entry.bytes().all(|b| b.is_ascii_digit()) {
                Ok(entry.to_owned())
            } else {
                Err(invalid(
                    ALLOWED_KEY_ACCOUNTS,
                    entry,
                    "expected a 12-digit account id",
                ))
            }
        })
        .collect()
}

fn exempt_tag(text: &str) -> Result<Option<ExemptTag>, ParamError> {
    if text.is_empty() {
        return Ok(None);
    }
    let (key, value) = match text.split_once('=') {
        Some((k, v)) => (k.trim(), Some(v.trim().to_owned())),
        None => (text, None),
    };
    if key.is_empty() {
        return Err(invalid(EXEMPT_TAG, text, "expected `Key` or `Key=Value`"));
    }
    Ok(Some(ExemptTag {
        key: key.to_owned(),
        value,
    }))
}

impl RuleParams {
    /// The role name assumed in a member account.
    pub fn execution_role(&self) -> &str {
        self.execution_role
            .as_deref()
            .unwrap_or(DEFAULT_EXECUTION_ROLE)
    }
}

/// An IAM role name: 1 to 64 of `A-Z a-z 0-9 + = , . @ _ -` (IAM's CreateRole `RoleName`).
fn role_name(text: &str) -> Result<Option<String>, ParamError> {
    if text.is_empty() {
        return Ok(None);
    }
    let valid = text.len() <= 64
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"+=,.@_-".contains(&b));
    if !valid {
        return Err(invalid(
            EXECUTION_ROLE_NAME,
            text,
            "expected an IAM role name (1-64 of A-Z a-z 0-9 + = , . @ _ -), not a path or ARN",
        ));
    }
    Ok(Some(text.to_owned()))
}

fn boolean(name: &'static str, text: &str) -> Result<bool, ParamError> {
    match text.to_ascii_lowercase().as_str() {
        "true" => Ok(true),
        "false" | "" => Ok(false),
        _ => Err(invalid(name, text, "expected `true` or `false`")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_execution_role_is_a_role_name_with_a_default() {
        let default = RuleParams::parse(None).unwrap();
        assert_eq!(default.execution_role(), DEFAULT_EXECUTION_ROLE);
        let named = RuleParams::parse(Some(r#"{"executionRoleName":"audit-reader"}"#)).unwrap();
        assert_eq!(named.execution_role(), "audit-reader");
        for bad in [
            "arn:aws:iam::111122223333:role/x",
            "team/reader",
            &"r".repeat(65),
        ] {
            let text = format!(r#"{{"executionRoleName":"{bad}"}}"#);
            let err = RuleParams::parse(Some(&text)).unwrap_err();
            assert!(err.to_string().contains("executionRoleName"), "{err}");
        }
    }

    #[test]
    fn absent_empty_and_empty_object_mean_defaults() {
        for text in [None, Some(""), Some("  "), Some("{}")] {
            assert_eq!(RuleParams::parse(text).unwrap(), RuleParams::default());
        }
    }

    #[test]
    fn all_parameters_parse() {
        let p = RuleParams::parse(Some(
            r#"{"allowedKeyArns":"alias/prod-data, arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab","allowedKeyAccounts":"111122223333","exemptTag":"cmk-exempt=true","requireKeyRotation":"TRUE"}"#,
        ))
        .unwrap();
        assert_eq!(p.allowed_keys.len(), 2);
        assert_eq!(
            p.allowed_keys[0],
            KeyRef::AliasName("alias/prod-data".into())
        );
        assert!(p.allowed_accounts.contains("111122223333"));
        assert_eq!(
            p.exempt_tag,
            Some(ExemptTag {
                key: "cmk-exempt".into(),
                value: Some("true".into())
            })
        );
        assert!(p.require_rotation);
    }

    #[test]
    fn unknown_parameter_is_named() {
        let err = RuleParams::parse(Some(r#"{"allowedKeys":"alias/x"}"#)).unwrap_err();
        assert!(err.to_string().contains("`allowedKeys`"), "{err}");
    }

    #[test]
    fn bad_values_name_parameter_and_value() {
        let cases = [
            (
                r#"{"allowedKeyAccounts":"1111"}"#,
                "allowedKeyAccounts",
                "1111",
            ),
            (
                r#"{"allowedKeyArns":"alias/ok,,alias/b"}"#,
                "allowedKeyArns",
                "``",
            ),
            (
                r#"{"allowedKeyArns":"alias/aws/kinesis"}"#,
                "allowedKeyArns",
                "alias/aws/kinesis",
            ),
            (
                r#"{"allowedKeyArns":"arn:aws:s3:::bucket"}"#,
                "allowedKeyArns",
                "arn:aws:s3:::bucket",
            ),
            (
                r#"{"requireKeyRotation":"yes"}"#,
                "requireKeyRotation",
                "yes",
            ),
            (r#"{"requireKeyRotation":1}"#, "requireKeyRotation", "1"),
            (r#"{"exemptTag":"=v"}"#, "exemptTag", "=v"),
        ];
        for (text, name, value) in cases {
            let err = RuleParams::parse(Some(text)).unwrap_err().to_string();
            assert!(err.contains(name) && err.contains(value), "{text}: {err}");
        }
    }

    #[test]
    fn non_object_is_rejected() {
        assert!(matches!(
            RuleParams::parse(Some("[1]")),
            Err(ParamError::NotAnObject(_))
        ));
    }
}
