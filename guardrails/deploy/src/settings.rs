//! Deploy settings (`guardrails.toml`): Regions, exemptions, rule parameters, controls and
//! StackSet operation preferences. Bad or unknown settings are errors naming the key and the
//! file line, found before any AWS call.

use std::collections::BTreeSet;
use std::path::Path;

use serde::Deserialize;

use guardrails::catalogue::CONTROLS;

/// StackSet operation preferences (they do not apply to automatic deployments).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Rollout {
    /// Accounts deployed at once per Region.
    #[serde(default = "one")]
    pub max_concurrent: u32,
    /// Failed accounts tolerated per Region before the operation stops.
    #[serde(default)]
    pub failure_tolerance: u32,
    /// Deploy Regions one after the other (`true`) or in parallel.
    #[serde(default = "yes")]
    pub sequential_regions: bool,
}

fn one() -> u32 {
    1
}

fn yes() -> bool {
    true
}

impl Default for Rollout {
    fn default() -> Rollout {
        Rollout {
            max_concurrent: 1,
            failure_tolerance: 0,
            sequential_regions: true,
        }
    }
}

/// The Config rule's parameters, as deployed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RuleSettings {
    /// `allowedKeyArns`.
    #[serde(default)]
    pub allowed_key_arns: Vec<String>,
    /// `allowedKeyAccounts`.
    #[serde(default)]
    pub allowed_key_accounts: Vec<String>,
    /// `exemptTag`.
    #[serde(default)]
    pub exempt_tag: Option<String>,
    /// `requireKeyRotation`.
    #[serde(default)]
    pub require_key_rotation: bool,
}

/// Where the member accounts' Lambda reads the rule's code (built by `scripts/build-lambda`).
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Code {
    /// S3 bucket; readable by the organization (bucket policy with `aws:PrincipalOrgID`).
    pub bucket: String,
    /// S3 key of the zip.
    #[serde(default = "default_code_key")]
    pub key: String,
    /// `true`: read from `<bucket>-<region>` in each Region (Lambda reads code only from a
    /// bucket in its own Region).
    #[serde(default)]
    pub bucket_region_suffix: bool,
}

fn default_code_key() -> String {
    "cmk-guardrails/rule.zip".to_owned()
}

/// Where the rule's function runs.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// One function per Region in the deploying account, published by deploy; members get the
    /// rules and a role the function assumes.
    #[default]
    Central,
    /// A function in every member account and Region, reading its code from `[code]` (for
    /// organisations that forbid cross-account invocation).
    PerAccount,
}

/// Everything `guardrails deploy` needs besides the target OUs.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Settings {
    /// Central function (default) or a function per member account.
    #[serde(default)]
    pub mode: Mode,
    /// Regions the Config rule is deployed to. Left out (and no `--region`), deploy uses the
    /// configured Region ([`Settings::default_regions`]).
    #[serde(default)]
    pub regions: Vec<String>,
    /// Principal ARN patterns exempt from every SCP Deny.
    #[serde(default = "default_break_glass")]
    pub break_glass: Vec<String>,
    /// Control ids to deploy; empty means all.
    #[serde(default)]
    pub controls: Vec<String>,
    /// Rule parameters.
    #[serde(default)]
    pub rule: RuleSettings,
    /// StackSet operation preferences.
    #[serde(default)]
    pub rollout: Rollout,
    /// Central mode: create the organization aggregator `status` reads compliance from.
    #[serde(default = "yes")]
    pub aggregator: bool,
    /// The rule's code location in `per-account` mode; required by its `deploy` (not by `status`
    /// or `destroy`).
    #[serde(default)]
    pub code: Option<Code>,
}

fn default_break_glass() -> Vec<String> {
    vec![guardrails::render::scp::DEFAULT_BREAK_GLASS.to_owned()]
}

/// A settings problem, with the file and line when known.
#[derive(Debug, thiserror::Error)]
pub enum SettingsError {
    /// The file cannot be read.
    #[error("{file}: {source}")]
    Read {
        /// The file.
        file: String,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// TOML syntax, an unknown key or a value of the wrong type.
    #[error("{file}:{line}: {message}")]
    Invalid {
        /// The file.
        file: String,
        /// 1-based line.
        line: usize,
        /// What is wrong (names the key).
        message: String,
    },
}

fn is_region(r: &str) -> bool {
    let parts: Vec<&str> = r.split('-').collect();
    parts.len() >= 3
        && parts.iter().all(|p| {
            !p.is_empty()
                && p.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
        })
        && parts
            .last()
            .is_some_and(|p| p.bytes().all(|b| b.is_ascii_digit()))
}

impl Settings {
    /// Reads and validates a settings file.
    pub fn load(path: &Path) -> Result<Settings, SettingsError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|source| SettingsError::Read {
            file: file.clone(),
            source,
        })?;
        Settings::parse(&file, &text)
    }

    /// Parses and validates settings text; `file` names it in errors.
    ///
    /// ```
    /// let err = guardrails_deploy::settings::Settings::parse("g.toml", "regions = [\"eu-west-1\"]\nregoins = []\n").unwrap_err();
    /// assert!(err.to_string().starts_with("g.toml:2:"), "{err}");
    /// ```
    pub fn parse(file: &str, text: &str) -> Result<Settings, SettingsError> {
        let line_of = |offset: usize| text[..offset.min(text.len())].matches('\n').count() + 1;
        let invalid = |line: usize, message: String| SettingsError::Invalid {
            file: file.to_owned(),
            line,
            message,
        };
        let settings: Settings = toml::from_str(text).map_err(|e| {
            let line = e.span().map_or(1, |s| line_of(s.start));
            // toml names unknown keys itself; for a wrong type, name the key set on that line.
            let key = text
                .lines()
                .nth(line - 1)
                .and_then(|l| l.split_once('='))
                .map(|(k, _)| k.trim())
                .filter(|k| !k.is_empty() && !e.message().contains(&format!("`{k}`")));
            match key {
                Some(k) => invalid(line, format!("`{k}`: {}", e.message())),
                None => invalid(line, e.message().to_owned()),
            }
        })?;
        // Left out, `regions` means the configured Region; written empty, it is a mistake.
        let written = toml::from_str::<toml::Table>(text).is_ok_and(|t| t.contains_key("regions"));
        if written && settings.regions.is_empty() {
            let line = text
                .lines()
                .position(|l| l.trim_start().starts_with("regions"))
                .map_or(1, |i| i + 1);
            return Err(invalid(
                line,
                "`regions` is empty: list at least one Region, or leave it out to deploy to the configured Region".to_owned(),
            ));
        }
        // Semantic checks name the key and point at the line that sets it.
        if let Err(p) = settings.validate() {
            let line = text
                .lines()
                .position(|l| {
                    !p.value.is_empty() && l.contains(&p.value) && !l.trim_start().starts_with('#')
                })
                .or_else(|| {
                    text.lines()
                        .position(|l| l.trim_start().starts_with(p.line_key))
                })
                .map_or(1, |i| i + 1);
            return Err(invalid(line, p.message));
        }
        Ok(settings)
    }
}

/// A semantic problem in settings: the message names the key; `value` and `line_key` locate it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// What is wrong, naming the key.
    pub message: String,
    /// The offending value as written (to find its line), or empty.
    pub value: String,
    /// How the line setting the key starts.
    pub line_key: &'static str,
}

impl Settings {
    /// Settings with defaults everywhere and these Regions (when there is no settings file).
    pub fn with_regions(regions: Vec<String>) -> Settings {
        Settings {
            mode: Mode::Central,
            regions,
            break_glass: default_break_glass(),
            controls: Vec::new(),
            rule: RuleSettings::default(),
            rollout: Rollout::default(),
            aggregator: true,
            code: None,
        }
    }

    /// With no Regions set (by the file or flags), deploys to `configured`, the Region of the
    /// caller's AWS configuration; returns whether it did. No Region anywhere is an error.
    pub fn default_regions(&mut self, configured: Option<&str>) -> Result<bool, Problem> {
        if !self.regions.is_empty() {
            return Ok(false);
        }
        let Some(region) = configured.filter(|r| !r.is_empty()) else {
            return Err(Problem {
                message: "no Region to deploy to: set `regions` in guardrails.toml, pass --region, or configure a Region (AWS_REGION, or `region` in the AWS profile)".to_owned(),
                value: String::new(),
                line_key: "regions",
            });
        };
        self.regions = vec![region.to_owned()];
        self.validate().map(|()| true)
    }

    /// The semantic checks (after flags override the file, too).
    pub fn validate(&self) -> Result<(), Problem> {
        let problem = |message: String, value: &str, line_key: &'static str| Problem {
            message,
            value: value.to_owned(),
            line_key,
        };
        for r in &self.regions {
            if !is_region(r) {
                return Err(problem(
                    format!("`regions`: `{r}` is not a Region name"),
                    r,
                    "regions",
                ));
            }
        }
        let known: BTreeSet<&str> = CONTROLS.iter().map(|c| c.id).collect();
        for c in &self.controls {
            if !known.contains(c.as_str()) {
                return Err(problem(
                    format!(
                        "`controls`: unknown control `{c}` (known: {})",
                        known.iter().copied().collect::<Vec<_>>().join(", ")
                    ),
                    c,
                    "controls",
                ));
            }
        }
        for p in &self.break_glass {
            if !p.starts_with("arn:") {
                return Err(problem(
                    format!("`break-glass`: `{p}` is not a principal ARN pattern"),
                    p,
                    "break-glass",
                ));
            }
        }
        // The rule's own parser decides what it accepts: deploy exactly what it will run with.
        if let Err(e) = cmk_params_check(&self.rule_parameters()) {
            return Err(problem(format!("[rule]: {e}"), "", "[rule]"));
        }
        if self.rollout.max_concurrent == 0 {
            return Err(problem(
                "`rollout.max-concurrent` must be at least 1".to_owned(),
                "",
                "max-concurrent",
            ));
        }
        if let Some(code) = &self.code {
            if self.mode == Mode::Central {
                return Err(problem(
                    "`[code]` is for `mode = \"per-account\"`: in the default central mode deploy publishes the rule's code itself".to_owned(),
                    "",
                    "[code]",
                ));
            }
            let valid_bucket = (3..=63).contains(&code.bucket.len())
                && code.bucket.bytes().all(|b| {
                    b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.'
                });
            if !valid_bucket {
                return Err(problem(
                    format!("`code.bucket`: `{}` is not an S3 bucket name", code.bucket),
                    &code.bucket,
                    "bucket",
                ));
            }
            if code.key.is_empty() {
                return Err(problem("`code.key` is empty".to_owned(), "", "key"));
            }
        }
        Ok(())
    }

    /// The rule's `InputParameters`, as the rule reads them.
    pub fn rule_parameters(&self) -> String {
        let rule = &self.rule;
        serde_json::json!({
            "allowedKeyArns": rule.allowed_key_arns.join(","),
            "allowedKeyAccounts": rule.allowed_key_accounts.join(","),
            "exemptTag": rule.exempt_tag.clone().unwrap_or_default(),
            "requireKeyRotation": rule.require_key_rotation.to_string(),
        })
        .to_string()
    }
}

/// Validates rule parameters the way the rule will (a subset kept here to avoid depending on the
/// rule crate: allow-list entries and account ids).
fn cmk_params_check(json: &str) -> Result<(), String> {
    let v: serde_json::Value = serde_json::from_str(json).map_err(|e| e.to_string())?;
    for account in v["allowedKeyAccounts"]
        .as_str()
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.is_empty())
    {
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!(
                "`allowed-key-accounts`: `{account}` is not a 12-digit account id"
            ));
        }
    }
    for key in v["allowedKeyArns"]
        .as_str()
        .unwrap_or_default()
        .split(',')
        .filter(|s| !s.is_empty())
    {
        if !(key.starts_with("arn:")
            || key.starts_with("alias/")
            || key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        {
            return Err(format!(
                "`allowed-key-arns`: `{key}` is not a key ARN, alias or key id"
            ));
        }
        if key.starts_with("alias/aws/") || key.contains(":alias/aws/") {
            return Err(format!("`allowed-key-arns`: `{key}` is an AWS-managed key"));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_full_file_parses() {
        let s = Settings::parse(
            "g.toml",
            r#"
regions = ["eu-west-1", "us-east-1"]
break-glass = ["arn:aws:iam::*:role/admin/*"]
controls = ["CMK-SECRETS-CREATE"]

[rule]
allowed-key-accounts = ["111122223333"]
require-key-rotation = true

[rollout]
max-concurrent = 5
failure-tolerance = 1
"#,
        )
        .unwrap();
        assert_eq!(s.regions.len(), 2);
        assert_eq!(s.rollout.max_concurrent, 5);
        assert!(s.rollout.sequential_regions);
        assert!(s.rule.require_key_rotation);
    }

    #[test]
    fn regions_left_out_are_the_configured_region() {
        let mut s = Settings::parse("g.toml", "controls = [\"CMK-SECRETS-CREATE\"]\n").unwrap();
        assert!(s.regions.is_empty());
        let err = s.clone().default_regions(None).unwrap_err();
        assert!(
            err.message.contains("no Region to deploy to"),
            "{}",
            err.message
        );
        assert!(s.default_regions(Some("eu-west-1")).unwrap());
        assert_eq!(s.regions, ["eu-west-1"]);
        // Set Regions are kept.
        assert!(!s.default_regions(Some("us-east-1")).unwrap());
        assert_eq!(s.regions, ["eu-west-1"]);
        let mut bad = Settings::with_regions(Vec::new());
        assert!(bad.default_regions(Some("Europe")).is_err());
    }

    #[test]
    fn errors_name_the_key_and_the_line() {
        let cases = [
            (
                "regions = [\"eu-west-1\"]\n\n[rollout]\nmax-concurent = 2\n",
                4,
                "max-concurent",
            ),
            ("regions = [\"eu-west-1\", \"Europe\"]\n", 1, "Europe"),
            (
                "regions = [\"eu-west-1\"]\ncontrols = [\n  \"CMK-NOPE\",\n]\n",
                3,
                "CMK-NOPE",
            ),
            (
                "regions = [\"eu-west-1\"]\n[rule]\nallowed-key-accounts = [\"12\"]\n",
                2,
                "allowed-key-accounts",
            ),
            ("regions = \"eu-west-1\"\n", 1, "regions"),
            ("regions = []\n", 1, "regions"),
            ("controls = []\nregions = [\n]\n", 2, "leave it out"),
        ];
        for (text, line, needle) in cases {
            let err = Settings::parse("g.toml", text).unwrap_err().to_string();
            assert!(
                err.starts_with(&format!("g.toml:{line}:")),
                "{text:?}: {err}"
            );
            assert!(err.contains(needle), "{text:?}: {err}");
        }
    }
}
