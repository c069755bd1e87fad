//! Service Control Policies from the catalogue: one Deny statement per SCP fact of a control,
//! each carrying the exemptions, packed into as few minified policies (≤ 5,120 bytes) as possible,
//! since an OU has only 5 SCP slots.

use serde_json::{Map, Value, json};

use super::{Artifact, RenderError};
use crate::catalogue::{Control, ScpDeny};

/// AWS's limit on one SCP, measured as minified UTF-8 bytes (stricter than characters).
pub const SCP_MAX_BYTES: usize = 5_120;
/// Direct SCP attachments allowed per root, OU or account.
pub const SCP_SLOTS: usize = 5;
/// Default break-glass principals: roles under this path are exempt from every Deny.
pub const DEFAULT_BREAK_GLASS: &str = "arn:aws*:iam::*:role/cmk-breakglass/*";
/// The execution role of SERVICE_MANAGED StackSets: a normal role, so SCPs apply to it.
pub const STACKSETS_EXECUTION_ROLE: &str = "arn:aws*:iam::*:role/stacksets-exec-*";
/// Output folder, relative to the repository root.
pub const DIR: &str = "policies/scp";
/// Default tag (`<tag>=true`) marking the customer-managed keys the key-protection SCP covers.
pub const DEFAULT_PROTECTED_KEY_TAG: &str = "cmk-guardrails:protected";

/// Options of the SCP generator.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ScpOptions {
    /// Principal ARN patterns exempt from every Deny (break-glass).
    pub break_glass: Vec<String>,
    /// Further exempt principal patterns (StackSets execution role, Control Tower, ...).
    pub exempt: Vec<String>,
    /// Key-protection statements cover keys tagged `<tag>=true` (and the tag itself is guarded);
    /// `None` protects every key in the account.
    pub protected_key_tag: Option<String>,
    /// File name prefix: `<prefix>-1.json`, ...
    pub name_prefix: String,
}

impl Default for ScpOptions {
    fn default() -> ScpOptions {
        ScpOptions {
            break_glass: vec![DEFAULT_BREAK_GLASS.to_owned()],
            exempt: vec![STACKSETS_EXECUTION_ROLE.to_owned()],
            protected_key_tag: Some(DEFAULT_PROTECTED_KEY_TAG.to_owned()),
            name_prefix: "cmk-guardrails".to_owned(),
        }
    }
}

impl ScpOptions {
    /// Every exempt principal pattern, break-glass first.
    pub fn exempt_principals(&self) -> Vec<&str> {
        self.break_glass
            .iter()
            .chain(&self.exempt)
            .map(String::as_str)
            .collect()
    }
}

fn values(v: &[&str]) -> Value {
    match v {
        [one] => Value::String((*one).to_owned()),
        many => Value::Array(
            many.iter()
                .map(|s| Value::String((*s).to_owned()))
                .collect(),
        ),
    }
}

/// One Deny statement with its exemptions.
pub fn statement(control: &Control, deny: &ScpDeny, index: usize, opts: &ScpOptions) -> Value {
    let mut condition: Map<String, Value> = Map::new();
    for c in deny.conditions {
        let block = condition
            .entry(c.operator.to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(block) = block {
            block.insert(c.key.to_owned(), values(c.values));
        }
    }
    if let (true, Some(tag)) = (deny.guards_protection_tag, &opts.protected_key_tag) {
        condition.insert(
            "ForAnyValue:StringEquals".to_owned(),
            json!({"aws:TagKeys": [tag]}),
        );
    }
    if let (true, Some(tag)) = (deny.on_protected_keys, &opts.protected_key_tag) {
        let block = condition
            .entry("StringEquals".to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(block) = block {
            block.insert(format!("aws:ResourceTag/{tag}"), json!("true"));
        }
    }
    let exempt = opts.exempt_principals();
    if !exempt.is_empty() {
        let block = condition
            .entry("ArnNotLike".to_owned())
            .or_insert_with(|| Value::Object(Map::new()));
        if let Value::Object(block) = block {
            block.insert("aws:PrincipalArn".to_owned(), values(&exempt));
        }
    }
    let sid = match index {
        0 => control.sid(),
        n => format!("{}{}", control.sid(), n + 1),
    };
    json!({
        "Sid": sid,
        "Effect": "Deny",
        "Action": values(deny.actions),
        "Resource": values(deny.resources),
        "Condition": condition,
    })
}

fn document(statements: &[Value]) -> Value {
    json!({"Version": "2012-10-17", "Statement": statements})
}

/// Minified JSON of a policy document with object keys sorted, so the bytes do not depend on
/// whether serde_json's `preserve_order` feature happens to be on in a build. Its byte length is
/// what AWS counts.
pub fn minify(doc: &Value) -> String {
    let mut out = String::new();
    write_canonical(doc, &mut out);
    out
}

/// JSON with object keys sorted and two-space indentation, byte-stable like [`minify`].
pub fn pretty(doc: &Value) -> String {
    let mut out = String::new();
    write(doc, &mut out, Some(0));
    out
}

fn write_canonical(v: &Value, out: &mut String) {
    write(v, out, None);
}

fn newline(out: &mut String, indent: Option<usize>) {
    if let Some(n) = indent {
        out.push('\n');
        out.push_str(&"  ".repeat(n));
    }
}

fn write(v: &Value, out: &mut String, indent: Option<usize>) {
    let inner = indent.map(|n| n + 1);
    match v {
        Value::Object(map) if !map.is_empty() => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, inner);
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                if indent.is_some() {
                    out.push(' ');
                }
                if let Some(value) = map.get(k) {
                    write(value, out, inner);
                }
            }
            newline(out, indent);
            out.push('}');
        }
        Value::Array(items) if !items.is_empty() => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                newline(out, inner);
                write(item, out, inner);
            }
            newline(out, indent);
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// Renders the SCP artifacts: statements in catalogue order, packed first-fit into as few
/// policies as fit in 5,120 bytes each.
///
/// ```
/// use guardrails::catalogue::CONTROLS;
/// use guardrails::render::scp::{render_scps, ScpOptions, SCP_MAX_BYTES};
/// let scps = render_scps(CONTROLS, &ScpOptions::default()).unwrap();
/// assert!(scps.iter().all(|a| a.content.trim_end().len() <= SCP_MAX_BYTES));
/// ```
pub fn render_scps(controls: &[Control], opts: &ScpOptions) -> Result<Vec<Artifact>, RenderError> {
    let mut statements = Vec::new();
    for control in controls {
        for (i, deny) in control.scp_denies().enumerate() {
            // The tag guard has nothing to guard when every key is protected.
            if deny.guards_protection_tag && opts.protected_key_tag.is_none() {
                continue;
            }
            statements.push((control.id, statement(control, deny, i, opts)));
        }
    }
    let mut bins: Vec<Vec<Value>> = Vec::new();
    for (id, st) in statements {
        if minify(&document(std::slice::from_ref(&st))).len() > SCP_MAX_BYTES {
            return Err(RenderError::TooLarge {
                control: id.to_owned(),
                bytes: minify(&document(&[st])).len(),
            });
        }
        let fits = bins.iter_mut().find(|bin| {
            let mut trial = (*bin).clone();
            trial.push(st.clone());
            minify(&document(&trial)).len() <= SCP_MAX_BYTES
        });
        match fits {
            Some(bin) => bin.push(st),
            None => bins.push(vec![st]),
        }
    }
    if bins.len() > SCP_SLOTS {
        return Err(RenderError::TooManyPolicies {
            policies: bins.len(),
        });
    }
    Ok(bins
        .iter()
        .enumerate()
        .map(|(i, bin)| Artifact {
            path: format!("{DIR}/{}-{}.json", opts.name_prefix, i + 1),
            content: minify(&document(bin)) + "\n",
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::CONTROLS;

    fn all() -> Vec<Value> {
        render_scps(CONTROLS, &ScpOptions::default())
            .unwrap()
            .iter()
            .flat_map(|a| {
                let doc: Value = serde_json::from_str(&a.content).unwrap();
                doc["Statement"].as_array().unwrap().clone()
            })
            .collect()
    }

    #[test]
    fn every_scp_fact_becomes_one_exempting_deny() {
        let statements = all();
        let facts: usize = CONTROLS.iter().map(|c| c.scp_denies().count()).sum();
        assert_eq!(statements.len(), facts);
        for st in &statements {
            assert_eq!(st["Effect"], "Deny");
            let exempt = &st["Condition"]["ArnNotLike"]["aws:PrincipalArn"];
            assert!(
                exempt
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|p| p == DEFAULT_BREAK_GLASS),
                "{st}"
            );
            assert!(
                exempt
                    .as_array()
                    .unwrap()
                    .iter()
                    .any(|p| p == STACKSETS_EXECUTION_ROLE),
                "{st}"
            );
        }
    }

    #[test]
    fn the_catalogue_fits_one_policy_slot() {
        let scps = render_scps(CONTROLS, &ScpOptions::default()).unwrap();
        assert_eq!(scps.len(), 1, "{scps:?}");
        assert_eq!(scps[0].content.lines().count(), 1, "minified: one line");
    }

    #[test]
    fn statements_are_packed_into_more_policies_when_they_do_not_fit() {
        let many: Vec<String> = (0..40)
            .map(|i| format!("arn:aws:iam::*:role/exempt-{i:03}/*"))
            .collect();
        let opts = ScpOptions {
            exempt: many,
            ..ScpOptions::default()
        };
        let scps = render_scps(CONTROLS, &opts).unwrap();
        assert!(scps.len() > 1);
        for a in &scps {
            assert!(
                a.content.trim_end().len() <= SCP_MAX_BYTES,
                "{} is {} bytes",
                a.path,
                a.content.len()
            );
        }
    }

    #[test]
    fn a_statement_too_large_for_any_policy_is_an_error_naming_the_control() {
        let many: Vec<String> = (0..400)
            .map(|i| format!("arn:aws:iam::*:role/exempt-{i:03}/*"))
            .collect();
        let opts = ScpOptions {
            exempt: many,
            ..ScpOptions::default()
        };
        let err = render_scps(CONTROLS, &opts).unwrap_err();
        assert!(err.to_string().contains("CMK-"), "{err}");
    }

    #[test]
    fn minify_sorts_keys_and_drops_whitespace() {
        let v: Value =
            serde_json::from_str(r#"{ "b": [1, {"d": true, "c": null}], "a": "x y" }"#).unwrap();
        assert_eq!(minify(&v), r#"{"a":"x y","b":[1,{"c":null,"d":true}]}"#);
    }

    #[test]
    fn protected_key_tag_scopes_only_key_protection() {
        let opts = ScpOptions {
            protected_key_tag: Some("cmk-protected".into()),
            ..ScpOptions::default()
        };
        let scps = render_scps(CONTROLS, &opts).unwrap();
        let text = &scps[0].content;
        assert_eq!(
            text.matches("aws:ResourceTag/cmk-protected").count(),
            1,
            "{text}"
        );
        assert!(
            text.contains(r#""aws:TagKeys":["cmk-protected"]"#),
            "tag guarded: {text}"
        );
        let all_keys = ScpOptions {
            protected_key_tag: None,
            ..ScpOptions::default()
        };
        let text = &render_scps(CONTROLS, &all_keys).unwrap()[0].content;
        assert!(
            !text.contains("aws:ResourceTag") && !text.contains("kms:UntagResource"),
            "{text}"
        );
    }
}
