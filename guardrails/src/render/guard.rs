//! CloudFormation Guard rules from the catalogue's CloudFormation key layouts, with Guard's own
//! test file (`cfn-guard test -r cmk.guard -t cmk_tests.yaml`). One rule per resource type:
//! absence and `alias/aws/*` fail; intrinsics (`Ref`, `Fn::GetAtt`, ...) are not strings and are
//! left to the Config rule, as are resolved key ARNs a hook sees.

use serde_json::{Value, json};

use super::Artifact;
use super::rego::{Expect, cloudformation_cases};
use super::scp::pretty;
use crate::catalogue::{Control, IacFormat, KeyLayout, Lit, Seg};

/// Output folder, relative to the repository root.
pub const DIR: &str = "policies/guard";

/// The Guard rule name of a layout: `CMK_KINESIS_CREATE_KINESIS_STREAM`.
pub fn rule_name(control: &Control, l: &KeyLayout) -> String {
    let ty = l
        .resource_type
        .trim_start_matches("AWS::")
        .replace("::", "_");
    format!("{}_{}", control.id.replace('-', "_"), ty).to_ascii_uppercase()
}

fn dotted(p: &[Seg]) -> String {
    p.iter()
        .map(|s| match s {
            Seg::K(k) => (*k).to_owned(),
            Seg::I(i) => i.to_string(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

fn guard_lit(l: &Lit) -> String {
    match l {
        Lit::Str(s) => format!("\"{s}\""),
        Lit::Bool(b) => b.to_string(),
    }
}

/// Clauses requiring a customer-managed key at `path`. Guard regex literals cannot hold an
/// escaped `/`, so the slash is written `\x2F`.
fn key_clauses(out: &mut String, indent: &str, path: &str, control: &Control, l: &KeyLayout) {
    let id = control.id;
    out.push_str(&format!(
        "{indent}{path} exists\n{indent}    <<[{id}] {}>>\n",
        l.absent
    ));
    // `KeyId:` with nothing after it (YAML) or `null` (JSON) is no key either.
    out.push_str(&format!(
        "{indent}when {path} exists {{\n{indent}    {path} !is_null\n{indent}        <<[{id}] {}>>\n{indent}}}\n",
        l.absent
    ));
    // Intrinsics (Ref, Fn::GetAtt, ...) are structs: only literal strings can be judged here. The
    // bare `aws/<service>` and `DefaultEncryptionKey` name the AWS-managed key too.
    out.push_str(&format!(
        "{indent}when {path} is_string {{\n\
         {indent}    {path} != \"\"\n{indent}        <<[{id}] {}>>\n\
         {indent}    {path} != /^alias\\x2Faws\\x2F/\n{indent}    {path} != /:alias\\x2Faws\\x2F/\n\
         {indent}    {path} != /^aws\\x2F/\n{indent}    {path} != \"DefaultEncryptionKey\"\n\
         {indent}        <<[{id}] uses an AWS-managed key ({}); use a customer-managed key>>\n{indent}}}\n",
        l.absent, l.aws_alias
    ));
}

/// How resources look in the input: a template (`Type`/`Properties`), or a hook's
/// resource-level input as one AWS page documents it (`ResourceType`/`ResourceProperties`; the
/// hook input shape is inconsistent in AWS's documentation, so both are checked).
#[derive(Clone, Copy)]
struct Shape {
    type_key: &'static str,
    properties: &'static str,
    suffix: &'static str,
}

const TEMPLATE: Shape = Shape {
    type_key: "Type",
    properties: "Properties",
    suffix: "",
};
const HOOK: Shape = Shape {
    type_key: "ResourceType",
    properties: "ResourceProperties",
    suffix: "_HOOK",
};

fn rule(control: &Control, l: &KeyLayout, shape: Shape) -> String {
    let name = format!("{}{}", rule_name(control, l), shape.suffix);
    let var = format!("resources_{}", name.to_ascii_lowercase());
    let (type_key, props) = (shape.type_key, shape.properties);
    let mut out = format!(
        "# {}: {}\nlet {var} = Resources.*[ {type_key} == '{}' ]\n\nrule {name} when %{var} !empty {{\n    %{var} {{\n",
        control.id, control.prevents, l.resource_type
    );
    if let Some(g) = l.gate {
        let values: Vec<String> = g.values.iter().map(guard_lit).collect();
        out.push_str(&format!(
            "        {props}.{} IN [{}]\n            <<[{}] {}>>\n",
            dotted(g.path),
            values.join(", "),
            control.id,
            g.message
        ));
    }
    if let Some(k) = l.key {
        key_clauses(
            &mut out,
            "        ",
            &format!("{props}.{}", dotted(k)),
            control,
            l,
        );
    }
    if let Some(r) = l.replicas {
        // One block per replica: a `[*]` path in a `when` holds only if it holds for every
        // element, so one intrinsic would let another replica's literal alias through.
        let list = format!("{props}.{}", dotted(r.list));
        out.push_str(&format!(
            "        when {list} exists {{\n            {list}[*] {{\n"
        ));
        key_clauses(&mut out, "                ", &dotted(r.key), control, l);
        out.push_str("            }\n        }\n");
    }
    out.push_str("    }\n}\n");
    out
}

fn layouts(controls: &[Control]) -> Vec<(&Control, &KeyLayout)> {
    controls
        .iter()
        .flat_map(|c| c.key_layouts().map(move |l| (c, l)))
        .filter(|(_, l)| l.format == IacFormat::CloudFormation)
        .collect()
}

/// Guard's test cases: the CloudFormation cases of the Rego tests, with the expected status of
/// this layout's rule (a warning in Rego is a pass for Guard, which cannot resolve intrinsics).
fn tests(controls: &[Control]) -> Value {
    let mut cases = Vec::new();
    for (c, l) in layouts(controls) {
        for case in cloudformation_cases(l) {
            let status = match case.expect {
                Expect::Deny(_) => "FAIL",
                Expect::Warn | Expect::Clean => "PASS",
            };
            let hook_input = hook_shaped(&case.input);
            cases.push(json!({
                "name": format!("{} {}", rule_name(c, l), case.name),
                "input": case.input,
                "expectations": {"rules": {rule_name(c, l): status}},
            }));
            // The hook sees one resource with resolved properties; an intrinsic stays a struct
            // here, as in the template case.
            cases.push(json!({
                "name": format!("{}{} {}", rule_name(c, l), HOOK.suffix, case.name),
                "input": hook_input,
                "expectations": {"rules": {format!("{}{}", rule_name(c, l), HOOK.suffix): status}},
            }));
        }
    }
    Value::Array(cases)
}

/// The same resources in the hook's `ResourceType`/`ResourceProperties` form.
fn hook_shaped(template: &Value) -> Value {
    let mut out = template.clone();
    if let Some(resources) = out.get_mut("Resources").and_then(Value::as_object_mut) {
        for r in resources.values_mut() {
            if let Some(m) = r.as_object_mut() {
                if let Some(t) = m.remove("Type") {
                    m.insert("ResourceType".into(), t);
                }
                if let Some(p) = m.remove("Properties") {
                    m.insert("ResourceProperties".into(), p);
                }
            }
        }
    }
    out
}

/// Renders the Guard rules and their test file.
pub fn render_guard(controls: &[Control]) -> Vec<Artifact> {
    let mut rules = String::from(
        "# cmk-guardrails: CloudFormation Guard rules requiring customer-managed KMS keys.\n\
         # Generated by `guardrails generate` from the control catalogue; do not edit.\n\
         # cfn-guard validate -r policies/guard/cmk.guard -d template.yaml\n",
    );
    for shape in [TEMPLATE, HOOK] {
        for (c, l) in layouts(controls) {
            rules.push('\n');
            rules.push_str(&rule(c, l, shape));
        }
    }
    // JSON is YAML: the test file stays byte-stable without a YAML writer.
    let tests = pretty(&tests(controls)) + "\n";
    vec![
        Artifact {
            path: format!("{DIR}/cmk.guard"),
            content: rules,
        },
        Artifact {
            path: format!("{DIR}/cmk_tests.yaml"),
            content: tests,
        },
    ]
}
