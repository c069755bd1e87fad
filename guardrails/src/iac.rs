//! The embedded Rego engine (regorus) running the very policies teams import into Conftest:
//! input detection and parsing (Terraform plan JSON, CloudFormation JSON/YAML), evaluation of the
//! `deny`/`warn` rules, and a runner for the `*_test.rego` files.

use std::collections::HashMap;
use std::path::Path;

use serde_json::{Map, Value};

pub use crate::locate::Lines;
pub use crate::suppress::Suppression;

use crate::render::Artifact;

/// What kind of document an input is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputType {
    /// `terraform show -json` output.
    Plan,
    /// A CloudFormation template.
    Cloudformation,
    /// A Terraform `.tf` file, in the shape conftest gives its policies.
    Hcl,
}

/// Errors of loading inputs or policies, naming the file.
#[derive(Debug, thiserror::Error)]
pub enum IacError {
    /// The file cannot be read.
    #[error("{path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file does not parse, or is of no known kind.
    #[error("{path}: {message}")]
    Input {
        /// The file.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// The Rego engine failed (a policy that does not compile, or an evaluation error).
    #[error("rego: {0}")]
    Engine(String),
    /// A suppression that cannot be used (no reason, malformed).
    #[error(transparent)]
    Suppression(#[from] crate::suppress::SuppressionError),
}

/// Findings of one input.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Findings {
    /// `deny` messages (each starts with `[CONTROL-ID]`).
    pub deny: Vec<String>,
    /// `warn` messages.
    pub warn: Vec<String>,
}

/// One `test_*` rule and whether it held.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TestResult {
    /// The test file.
    pub file: String,
    /// The rule name.
    pub name: String,
    /// Whether it evaluated to true.
    pub passed: bool,
}

/// The generated Rego policies, loaded into regorus.
pub struct PolicySet {
    files: Vec<(String, String)>,
    /// The policies without their tests, parsed once per input kind (see [`slot`]); each
    /// evaluation runs on a copy.
    rules: [std::sync::OnceLock<Result<regorus::Engine, String>>; 4],
    /// Copies already prepared by an evaluation (regorus prepares an engine on its first
    /// evaluation and clears its state on each): reused, so a file costs its evaluation only.
    idle: [std::sync::Mutex<Vec<regorus::Engine>>; 4],
}

/// The generated rule files of each input kind: an engine for one kind leaves the other kinds'
/// files out (their rules would only find nothing to judge). Other files are always loaded.
const KIND_FILES: [(InputType, &str); 3] = [
    (InputType::Plan, "cmk_terraform.rego"),
    (InputType::Hcl, "cmk_terraform_hcl.rego"),
    (InputType::Cloudformation, "cmk_cloudformation.rego"),
];

/// The engine slot of an input kind: 0 for every rule file, else one per kind.
fn slot(kind: Option<InputType>) -> usize {
    match kind {
        None => 0,
        Some(InputType::Plan) => 1,
        Some(InputType::Hcl) => 2,
        Some(InputType::Cloudformation) => 3,
    }
}

/// Whether `path` is a generated rule file of a kind other than `kind`.
fn other_kinds_file(path: &str, kind: Option<InputType>) -> bool {
    let name = Path::new(path)
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or_default();
    kind.is_some_and(|k| {
        KIND_FILES
            .iter()
            .any(|(other, file)| *other != k && *file == name)
    })
}

/// The package of the checker's own rule that gathers `deny` and `warn` (not a generated file).
const FINDINGS_PACKAGE: &str = "cmk_checker_findings";

fn engine_err(e: impl std::fmt::Display) -> IacError {
    IacError::Engine(e.to_string())
}

impl PolicySet {
    /// The `.rego` artifacts among `artifacts` (tests included, they are inert for `deny`/`warn`).
    pub fn from_artifacts(artifacts: &[Artifact]) -> PolicySet {
        PolicySet {
            files: artifacts
                .iter()
                .filter(|a| a.path.ends_with(".rego"))
                .map(|a| (a.path.clone(), a.content.clone()))
                .collect(),
            rules: Default::default(),
            idle: Default::default(),
        }
    }

    /// An engine holding the policies, and their `*_test.rego` files when `with_tests`. Without
    /// the tests it is the checker's: findings a template's `Metadata` accepts are reported (and
    /// marked suppressed by [`check_file`]) rather than dropped as conftest drops them.
    fn engine(
        &self,
        with_tests: bool,
        kind: Option<InputType>,
    ) -> Result<regorus::Engine, IacError> {
        let mut engine = regorus::Engine::new();
        if !with_tests {
            engine
                .add_data(
                    regorus::Value::from_json_str(r#"{"cmk": {"report_suppressed": true}}"#)
                        .map_err(engine_err)?,
                )
                .map_err(engine_err)?;
        }
        let mut main_files = Vec::new();
        for (path, text) in &self.files {
            if with_tests || !(path.ends_with("_test.rego") || other_kinds_file(path, kind)) {
                let package = engine
                    .add_policy(path.clone(), text.clone())
                    .map_err(engine_err)?;
                if package == "data.main" {
                    main_files.push(path);
                }
            }
        }
        // One rule holding both results, so one evaluation computes what `deny` and `warn`
        // share (the targets, each key's status) once. A rule no file declares is empty, as
        // conftest treats it.
        let mut results = Vec::new();
        for rule in ["deny", "warn"] {
            let mut declared = false;
            for path in &main_files {
                declared |= engine
                    .has_declared_rule_rooted_at(path, rule)
                    .map_err(engine_err)?;
            }
            results.push(if declared {
                format!("{rule} := x if {{ x := data.main.{rule} }} else := set()\n")
            } else {
                format!("{rule} := set()\n")
            });
        }
        engine
            .add_policy(
                "cmk_checker.rego".to_owned(),
                format!(
                    "package {FINDINGS_PACKAGE}\nimport rego.v1\nfindings := [deny, warn]\n{}{}",
                    results[0], results[1]
                ),
            )
            .map_err(engine_err)?;
        Ok(engine)
    }

    /// The messages of one result (`deny` or `warn`): a set or array of strings, or of objects
    /// with a `msg` string as conftest also accepts; anything else is an error naming the rule.
    fn messages(value: &regorus::Value, rule: &str) -> Result<Vec<String>, IacError> {
        let items: Vec<&regorus::Value> = match value {
            regorus::Value::Set(set) => set.iter().collect(),
            regorus::Value::Array(array) => array.iter().collect(),
            other => {
                return Err(IacError::Engine(format!(
                    "data.main.{rule} must be a set of messages, not {other}"
                )));
            }
        };
        let mut out = Vec::with_capacity(items.len());
        for item in items {
            let message = match item {
                regorus::Value::String(s) => Some(s.to_string()),
                regorus::Value::Object(fields) => fields
                    .get(&regorus::Value::from("msg"))
                    .and_then(|m| m.as_string().ok())
                    .map(|m| m.to_string()),
                _ => None,
            };
            out.push(message.ok_or_else(|| {
                IacError::Engine(format!(
                    "data.main.{rule} holds {item}: a message must be a string or an object with a `msg` string"
                ))
            })?);
        }
        out.sort();
        Ok(out)
    }

    /// Evaluates `data.main.deny` and `data.main.warn` on `input`.
    pub fn evaluate(&self, input: &Value) -> Result<Findings, IacError> {
        self.evaluate_as(None, input)
    }

    /// [`PolicySet::evaluate`] for an input known to be of `kind`: only that kind's rule files
    /// (and every file that is not one of the generated kind files) are loaded.
    pub fn evaluate_as(
        &self,
        kind: Option<InputType>,
        input: &Value,
    ) -> Result<Findings, IacError> {
        let at = slot(kind);
        let pooled = self.idle[at]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .pop();
        let mut engine = match pooled {
            Some(engine) => engine,
            None => self.rules[at]
                .get_or_init(|| self.engine(false, kind).map_err(|e| e.to_string()))
                .clone()
                .map_err(IacError::Engine)?,
        };
        engine.set_input(regorus::Value::from(input.clone()));
        let both = engine
            .eval_rule(format!("data.{FINDINGS_PACKAGE}.findings"))
            .map_err(engine_err)?;
        let (deny, warn) = match both.as_array() {
            Ok(pair) if pair.len() == 2 => (&pair[0], &pair[1]),
            _ => {
                return Err(IacError::Engine(format!(
                    "the checker's findings rule gave {both}, not [deny, warn]"
                )));
            }
        };
        let findings = Findings {
            deny: Self::messages(deny, "deny")?,
            warn: Self::messages(warn, "warn")?,
        };
        self.idle[at]
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(engine);
        Ok(findings)
    }

    /// Runs every `test_*` rule of the `*_test.rego` files (regorus has no test runner).
    pub fn run_tests(&self) -> Result<Vec<TestResult>, IacError> {
        let mut engine = self.engine(true, None)?;
        let mut results = Vec::new();
        for (path, text) in self.files.iter().filter(|(p, _)| p.ends_with("_test.rego")) {
            for line in text.lines() {
                let Some(name) = line
                    .strip_suffix(" if {")
                    .filter(|n| n.starts_with("test_"))
                else {
                    continue;
                };
                let value = engine
                    .eval_rule(format!("data.main.{name}"))
                    .map_err(engine_err)?;
                results.push(TestResult {
                    file: path.clone(),
                    name: name.to_owned(),
                    passed: value == regorus::Value::from(true),
                });
            }
        }
        Ok(results)
    }
}

/// Turns YAML short-form intrinsics into their JSON form: `!Ref X` → `{"Ref": "X"}`,
/// `!GetAtt A.B` → `{"Fn::GetAtt": ["A", "B"]}`, `!Sub ...` → `{"Fn::Sub": ...}`.
fn yaml_to_json(v: yaml_serde::Value) -> Result<Value, String> {
    use yaml_serde::Value as Y;
    Ok(match v {
        Y::Null => Value::Null,
        Y::Bool(b) => Value::Bool(b),
        Y::Number(n) => serde_json::to_value(&n).map_err(|e| e.to_string())?,
        Y::String(s) => Value::String(s),
        Y::Sequence(items) => Value::Array(
            items
                .into_iter()
                .map(yaml_to_json)
                .collect::<Result<_, _>>()?,
        ),
        Y::Mapping(m) => {
            let mut out = Map::new();
            for (k, v) in m {
                let key = match k {
                    Y::String(s) => s,
                    other => yaml_serde::to_string(&other)
                        .map_err(|e| e.to_string())?
                        .trim()
                        .to_owned(),
                };
                out.insert(key, yaml_to_json(v)?);
            }
            Value::Object(out)
        }
        Y::Tagged(t) => {
            let tag = t.tag.to_string();
            let name = tag.trim_start_matches('!');
            let inner = yaml_to_json(t.value)?;
            let (key, value) = match name {
                "Ref" | "Condition" => (name.to_owned(), inner),
                "GetAtt" => (
                    "Fn::GetAtt".to_owned(),
                    match inner {
                        Value::String(s) => match s.split_once('.') {
                            Some((a, b)) => Value::Array(vec![
                                Value::String(a.to_owned()),
                                Value::String(b.to_owned()),
                            ]),
                            None => Value::String(s),
                        },
                        other => other,
                    },
                ),
                other => (format!("Fn::{other}"), inner),
            };
            let mut m = Map::new();
            m.insert(key, value);
            Value::Object(m)
        }
    })
}

/// A Terraform body in the shape conftest (hcl2json) produces: blocks become arrays under their
/// type and labels (`resource.<type>.<name>[...]`), nested blocks arrays, and every expression
/// that is not a literal a `"${...}"` string.
fn hcl_to_json(body: hcl::Body) -> Value {
    let mut out = Map::new();
    for structure in body {
        match structure {
            hcl::Structure::Attribute(a) => {
                out.insert(a.key.to_string(), expression_json(a.expr));
            }
            hcl::Structure::Block(b) => {
                let mut path = vec![b.identifier.to_string()];
                path.extend(b.labels.iter().map(|l| l.as_str().to_owned()));
                insert_block(&mut out, &path, hcl_to_json(b.body));
            }
        }
    }
    Value::Object(out)
}

fn insert_block(map: &mut Map<String, Value>, path: &[String], block: Value) {
    let Some((first, rest)) = path.split_first() else {
        return;
    };
    if rest.is_empty() {
        let slot = map
            .entry(first.clone())
            .or_insert_with(|| Value::Array(Vec::new()));
        if let Value::Array(items) = slot {
            items.push(block);
        }
        return;
    }
    let slot = map
        .entry(first.clone())
        .or_insert_with(|| Value::Object(Map::new()));
    if let Value::Object(inner) = slot {
        insert_block(inner, rest, block);
    }
}

fn expression_json(expr: hcl::Expression) -> Value {
    use hcl::Expression as E;
    match expr {
        E::Null => Value::Null,
        E::Bool(b) => Value::Bool(b),
        E::Number(n) => serde_json::from_str(&n.to_string()).unwrap_or(Value::Null),
        E::String(s) => Value::String(s),
        E::Array(items) => Value::Array(items.into_iter().map(expression_json).collect()),
        E::Object(object) => Value::Object(
            object
                .into_iter()
                .map(|(k, v)| {
                    let key = match k {
                        hcl::ObjectKey::Identifier(id) => id.to_string(),
                        hcl::ObjectKey::Expression(e) => match expression_json(e) {
                            Value::String(s) => s,
                            other => other.to_string(),
                        },
                        other => format!("{other:?}"),
                    };
                    (key, expression_json(v))
                })
                .collect(),
        ),
        E::TemplateExpr(t) => Value::String(match *t {
            hcl::TemplateExpr::QuotedString(s) => s,
            hcl::TemplateExpr::Heredoc(h) => h.template,
        }),
        other => Value::String(format!("${{{other}}}")),
    }
}

/// Whether `value` looks like `terraform show -json` output (a plan without changes has no
/// `resource_changes`, but always a `format_version`).
fn is_plan_shaped(value: &Value) -> bool {
    value.get("resource_changes").is_some()
        || value.get("terraform_version").is_some()
        || value.get("format_version").is_some_and(Value::is_string)
}

/// Reads an input file and tells what it is (or uses `forced`); a forced type the document does
/// not have is an error.
pub fn load_input(path: &Path, forced: Option<InputType>) -> Result<(InputType, Value), IacError> {
    let text = std::fs::read_to_string(path).map_err(|source| IacError::Read {
        path: path.display().to_string(),
        source,
    })?;
    parse_input(path, &text, forced)
}

/// Parses the text of the input file `path` (see [`load_input`]).
pub fn parse_input(
    path: &Path,
    text: &str,
    forced: Option<InputType>,
) -> Result<(InputType, Value), IacError> {
    parse_and_locate(path, text, forced, false).map(|(kind, value, _)| (kind, value))
}

/// [`parse_input`], and with `locate` the line range of each resource (an HCL file is parsed once
/// for both).
fn parse_and_locate(
    path: &Path,
    text: &str,
    forced: Option<InputType>,
    locate: bool,
) -> Result<(InputType, Value, HashMap<String, Lines>), IacError> {
    let name = path.display().to_string();
    let bad = |message: String| IacError::Input {
        path: name.clone(),
        message,
    };
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default();
    if ext == "tf" || forced == Some(InputType::Hcl) {
        let body =
            hcl_edit::parser::parse_body(text).map_err(|e| bad(format!("not valid HCL: {e}")))?;
        let at = if locate {
            crate::locate::terraform(text, &body)
        } else {
            HashMap::new()
        };
        return Ok((InputType::Hcl, hcl_to_json(body.into()), at));
    }
    let value: Value = match serde_json::from_str(text) {
        Ok(v) => v,
        Err(json_err) if ext == "json" => return Err(bad(format!("not valid JSON: {json_err}"))),
        Err(_) => {
            let yaml: yaml_serde::Value = yaml_serde::from_str(text)
                .map_err(|e| bad(format!("not valid JSON or YAML: {e}")))?;
            yaml_to_json(yaml).map_err(bad)?
        }
    };
    let detected = if is_plan_shaped(&value) {
        Some(InputType::Plan)
    } else if value.get("Resources").is_some_and(Value::is_object) {
        Some(InputType::Cloudformation)
    } else {
        None
    };
    // A forced type still needs the document's shape: the rules would find nothing to judge in
    // anything else, and a silent pass is a wrong verdict.
    match (forced, detected) {
        (Some(InputType::Plan), _) if !is_plan_shaped(&value) => Err(bad(
            "--input-type plan, but this is not `terraform show -json` output (no format_version or resource_changes)".to_owned(),
        )),
        (Some(InputType::Cloudformation), _) if !value.get("Resources").is_some_and(Value::is_object) => {
            Err(bad(
                "--input-type cloudformation, but this is not a CloudFormation template (no Resources object)".to_owned(),
            ))
        }
        (Some(kind), _) | (None, Some(kind)) => {
            let at = if locate && kind == InputType::Cloudformation {
                crate::locate::cloudformation(text)
            } else {
                HashMap::new()
            };
            Ok((kind, value, at))
        }
        (None, None) => Err(bad(
            "neither a Terraform plan (resource_changes) nor a CloudFormation template (Resources)".to_owned(),
        )),
    }
}

/// `deny` or `warn`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// A `deny` rule: fails the check unless suppressed.
    Deny,
    /// A `warn` rule: reported, never fails.
    Warn,
}

impl Level {
    /// `deny` / `warn`.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Deny => "deny",
            Level::Warn => "warn",
        }
    }
}

/// One finding of one file, located and, when accepted, with its suppression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// Deny or warn.
    pub level: Level,
    /// The control id (`CMK-KINESIS-CREATE`).
    pub control: String,
    /// The policy's message.
    pub message: String,
    /// The resource: logical id, `type.name`, or the plan's address.
    pub resource: String,
    /// The resource's lines in the file (HCL and CloudFormation; a plan has none).
    pub lines: Option<Lines>,
    /// For a plan's resource inside a module: the module's `source` as the plan's configuration
    /// records it (`./modules/stream`), the nearest one for nested modules. A plan records no
    /// file names or lines.
    pub module_source: Option<String>,
    /// Why it is accepted, when it is.
    pub suppressed: Option<Suppression>,
}

/// The control id and the resource a policy message is about: `[ID] <resource> (Type)...`,
/// `[ID] <resource> replica ...`, `[ID] <resource>: ...`.
pub fn subject(message: &str) -> (&str, &str) {
    let Some((id, rest)) = message.strip_prefix('[').and_then(|m| m.split_once("] ")) else {
        return ("", "");
    };
    let end = [" (", " replica ", ": "]
        .iter()
        .filter_map(|sep| rest.find(sep))
        .min()
        .unwrap_or(rest.len());
    (id, &rest[..end])
}

/// `module.<name>.` address prefixes of a plan's module calls (nested ones too) and the `source`
/// each call names, longest prefix first.
fn module_sources(plan: &Value) -> Vec<(String, String)> {
    fn walk(module: &Value, prefix: &str, out: &mut Vec<(String, String)>) {
        let Some(calls) = module.get("module_calls").and_then(Value::as_object) else {
            return;
        };
        for (name, call) in calls {
            let here = format!("{prefix}module.{name}.");
            if let Some(source) = call.get("source").and_then(Value::as_str) {
                out.push((here.clone(), source.to_owned()));
            }
            if let Some(inner) = call.get("module") {
                walk(inner, &here, out);
            }
        }
    }
    let mut out = Vec::new();
    if let Some(root) = plan.pointer("/configuration/root_module") {
        walk(root, "", &mut out);
    }
    out.sort_by_key(|(prefix, _)| std::cmp::Reverse(prefix.len()));
    out
}

/// Checks one file: its findings, located, with inline suppressions applied. A suppression
/// without a reason is an error naming the file and line.
pub fn check_file(
    policies: &PolicySet,
    path: &Path,
    forced: Option<InputType>,
) -> Result<Vec<Finding>, IacError> {
    let name = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| IacError::Read {
        path: name.clone(),
        source,
    })?;
    let (kind, input, at) = parse_and_locate(path, &text, forced, true)?;
    let inline = match kind {
        InputType::Hcl => crate::suppress::terraform(&name, &text, &at)?,
        InputType::Cloudformation => crate::suppress::cloudformation(&name, &input, &at)?,
        InputType::Plan => HashMap::new(),
    };
    let modules = match kind {
        InputType::Plan => module_sources(&input),
        _ => Vec::new(),
    };
    let found = policies.evaluate_as(Some(kind), &input)?;
    let all = found
        .deny
        .into_iter()
        .map(|m| (Level::Deny, m))
        .chain(found.warn.into_iter().map(|m| (Level::Warn, m)));
    Ok(all
        .map(|(level, message)| {
            let (control, resource) = subject(&message);
            let (control, resource) = (control.to_owned(), resource.to_owned());
            let suppressed = inline
                .get(&(resource.clone(), control.clone()))
                .map(|reason| Suppression {
                    source: crate::suppress::Source::Inline,
                    reason: reason.clone(),
                });
            let module_source = modules
                .iter()
                .find(|(prefix, _)| resource.starts_with(prefix.as_str()))
                .map(|(_, source)| source.clone());
            Finding {
                level,
                lines: at.get(&resource).copied(),
                module_source,
                control,
                resource,
                message,
                suppressed,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::CONTROLS;
    use crate::render::rego::render_rego;

    fn custom(rego: &str) -> PolicySet {
        PolicySet::from_artifacts(&[Artifact {
            path: "custom.rego".to_owned(),
            content: rego.to_owned(),
        }])
    }

    #[test]
    fn custom_policies_may_omit_a_rule_and_give_conftest_message_objects() {
        let only_deny = custom(
            "package main\nimport rego.v1\ndeny contains {\"msg\": sprintf(\"[X] %s\", [input.n])} if input.n\n",
        );
        let findings = only_deny.evaluate(&serde_json::json!({"n": "a"})).unwrap();
        assert_eq!(findings.deny, ["[X] a"]);
        assert!(findings.warn.is_empty());
        // Nothing matches: empty, on a pooled engine too.
        let none = only_deny.evaluate(&serde_json::json!({})).unwrap();
        assert_eq!(none, Findings::default());

        let only_warn = custom("package main\nimport rego.v1\nwarn contains \"w\" if true\n");
        let findings = only_warn.evaluate(&serde_json::json!({})).unwrap();
        assert_eq!(
            (findings.deny.len(), findings.warn),
            (0, vec!["w".to_owned()])
        );
    }

    #[test]
    fn a_message_that_is_neither_text_nor_msg_is_an_error_naming_the_rule() {
        let numbers = custom("package main\nimport rego.v1\nwarn contains 7 if true\n");
        let err = numbers.evaluate(&serde_json::json!({})).unwrap_err();
        assert!(err.to_string().contains("data.main.warn holds 7"), "{err}");
        let scalar = custom("package main\nimport rego.v1\ndeny := 3\n");
        let err = scalar.evaluate(&serde_json::json!({})).unwrap_err();
        assert!(
            err.to_string().contains("data.main.deny must be a set"),
            "{err}"
        );
    }

    #[test]
    fn nested_modules_name_their_own_source() {
        let plan = serde_json::json!({"configuration": {"root_module": {"module_calls": {
            "app": {"source": "./app", "module": {"module_calls": {
                "db": {"source": "git::https://example.com/db.git", "module": {}}}}}}}}});
        let sources = module_sources(&plan);
        let find = |address: &str| {
            sources
                .iter()
                .find(|(p, _)| address.starts_with(p.as_str()))
                .map(|(_, s)| s.as_str())
        };
        assert_eq!(
            find("module.app.module.db.aws_dynamodb_table.t"),
            Some("git::https://example.com/db.git")
        );
        assert_eq!(find("module.app.aws_kinesis_stream.s"), Some("./app"));
        assert_eq!(find("aws_kinesis_stream.s"), None);
    }

    #[test]
    fn a_forced_input_type_the_document_does_not_have_is_an_error() {
        let dir = std::env::temp_dir().join(format!("cmk-iac-forced-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // A cfn-guard test suite and a KICS result list: neither is a template nor a plan.
        let suite = dir.join("suite_tests.yaml");
        std::fs::write(
            &suite,
            "- name: t\n  input:\n    Resources: {}\n  expectations:\n    rules: {}\n",
        )
        .unwrap();
        let results = dir.join("expected.json");
        std::fs::write(
            &results,
            r#"[{"queryName": "x", "severity": "HIGH", "line": 3}]"#,
        )
        .unwrap();
        for (path, forced, needle) in [
            (&suite, InputType::Cloudformation, "no Resources object"),
            (
                &results,
                InputType::Plan,
                "not `terraform show -json` output",
            ),
            (&results, InputType::Cloudformation, "no Resources object"),
        ] {
            let err = load_input(path, Some(forced)).unwrap_err().to_string();
            assert!(err.contains(needle), "{err}");
        }
        // A plan with no changes has no resource_changes, but it is a plan.
        let empty = dir.join("empty-plan.json");
        std::fs::write(&empty, r#"{"format_version": "1.2", "planned_values": {}}"#).unwrap();
        assert_eq!(load_input(&empty, None).unwrap().0, InputType::Plan);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn generated_rego_tests_pass_in_regorus() {
        let results = PolicySet::from_artifacts(&render_rego(CONTROLS))
            .run_tests()
            .unwrap();
        assert!(results.len() >= 30);
        let failed: Vec<_> = results.iter().filter(|r| !r.passed).collect();
        assert!(failed.is_empty(), "{failed:#?}");
    }

    #[test]
    fn hcl_becomes_the_conftest_shape() {
        let body = hcl::parse(
            r#"
resource "aws_dynamodb_table" "t" {
  name = "t"
  server_side_encryption {
    enabled     = true
    kms_key_arn = aws_kms_key.main.arn
  }
  replica { region_name = "eu-west-1" }
  replica { region_name = "ap-south-1" }
}
data "aws_kms_alias" "d" { name = "alias/aws/dynamodb" }
"#,
        )
        .unwrap();
        let v = hcl_to_json(body);
        let t = &v["resource"]["aws_dynamodb_table"]["t"][0];
        assert_eq!(t["server_side_encryption"][0]["enabled"], true);
        assert_eq!(
            t["server_side_encryption"][0]["kms_key_arn"],
            "${aws_kms_key.main.arn}"
        );
        assert_eq!(t["replica"].as_array().unwrap().len(), 2);
        assert_eq!(
            v["data"]["aws_kms_alias"]["d"][0]["name"],
            "alias/aws/dynamodb"
        );
    }

    #[test]
    fn yaml_short_forms_become_intrinsics() {
        let y: yaml_serde::Value =
            yaml_serde::from_str("a: !Ref Key\nb: !GetAtt Key.Arn\nc: !Sub 'x-${AWS::Region}'\n")
                .unwrap();
        let v = yaml_to_json(y).unwrap();
        assert_eq!(v["a"], serde_json::json!({"Ref": "Key"}));
        assert_eq!(v["b"], serde_json::json!({"Fn::GetAtt": ["Key", "Arn"]}));
        assert_eq!(v["c"], serde_json::json!({"Fn::Sub": "x-${AWS::Region}"}));
    }
}
