//! KMS key references, key facts, the [`KeyResolver`] trait and the customer-managed classification.
//!
//! This is where "is this key customer-managed?" is decided. Strings alone cannot decide it: an
//! AWS-managed key referenced by key id or key ARN looks exactly like a CMK. Only the reserved
//! `alias/aws/` prefix is conclusive without a call; everything else is resolved.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};

use serde::Deserialize;

use crate::arn::Partition;

/// KMS reserves this alias prefix for AWS-managed keys; customers cannot create such aliases.
pub const AWS_MANAGED_ALIAS_PREFIX: &str = "alias/aws/";

/// A service whose AWS-managed key the rule knows. Each service can only use its own AWS-managed key
/// (the key policy pins `kms:ViaService`), which is what makes decision by elimination possible.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Service {
    /// Amazon Kinesis Data Streams (`aws/kinesis`).
    Kinesis,
    /// AWS Secrets Manager (`aws/secretsmanager`).
    SecretsManager,
    /// Amazon DynamoDB (`aws/dynamodb`).
    DynamoDb,
    /// Amazon SQS (`aws/sqs`).
    Sqs,
    /// Amazon SNS (`aws/sns`).
    Sns,
    /// Amazon S3 (`aws/s3`).
    S3,
}

impl Service {
    /// The alias of the service's AWS-managed key in every account and Region.
    pub const fn aws_managed_alias(self) -> &'static str {
        match self {
            Service::Kinesis => "alias/aws/kinesis",
            Service::SecretsManager => "alias/aws/secretsmanager",
            Service::DynamoDb => "alias/aws/dynamodb",
            Service::Sqs => "alias/aws/sqs",
            Service::Sns => "alias/aws/sns",
            Service::S3 => "alias/aws/s3",
        }
    }
}

/// The partition, Region and account of a KMS ARN.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ArnScope {
    /// `aws`, `aws-cn`, `aws-us-gov`, ...
    pub partition: Partition,
    /// Region the key lives in.
    pub region: String,
    /// 12-digit account that owns the key.
    pub account: String,
}

/// Every form a KMS key reference can take, parsed (see resource-shapes.md §3).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum KeyRef {
    /// `1234abcd-12ab-34cd-56ef-1234567890ab` or a multi-Region `mrk-…` id.
    KeyId(String),
    /// `alias/prod-data`, `alias/aws/kinesis`.
    AliasName(String),
    /// `arn:aws:kms:us-east-1:111122223333:key/<id>`.
    KeyArn(KeyArn),
    /// `arn:aws:kms:us-east-1:111122223333:alias/<name>`; `alias` keeps the `alias/` prefix.
    AliasArn {
        /// Partition, Region and account of the ARN.
        scope: ArnScope,
        /// The alias name part, `alias/...`.
        alias: String,
    },
}

/// A string that is not a KMS key reference.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("`{value}` is not a KMS key reference: {problem}")]
pub struct KeyRefError {
    /// The offending text.
    pub value: String,
    /// What is wrong with it.
    pub problem: &'static str,
}

fn is_key_id(s: &str) -> bool {
    !s.is_empty() && s.len() <= 256 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn is_alias_name(s: &str) -> bool {
    s.strip_prefix("alias/").is_some_and(|rest| {
        !rest.is_empty()
            && rest.len() <= 250
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'-'))
    })
}

impl KeyRef {
    /// Parses a key id, alias name, key ARN or alias ARN exactly as written (no trimming).
    ///
    /// ```
    /// use cmk_core::KeyRef;
    /// let key = KeyRef::parse("arn:aws:kms:eu-west-1:111122223333:alias/aws/dynamodb").unwrap();
    /// assert!(key.is_aws_managed_alias());
    /// assert!(KeyRef::parse("alias/").is_err());
    /// ```
    pub fn parse(value: &str) -> Result<KeyRef, KeyRefError> {
        let err = |problem| KeyRefError {
            value: value.to_owned(),
            problem,
        };
        if value.starts_with("arn:") {
            let (partition, [service, region, account, resource]) =
                crate::arn::split(value).map_err(err)?;
            if service != "kms" {
                return Err(err("the ARN is not a KMS ARN"));
            }
            if region.is_empty() {
                return Err(err("the ARN has no Region"));
            }
            if account.len() != 12 {
                return Err(err("the ARN's account is not 12 digits"));
            }
            let scope = ArnScope {
                partition,
                region: region.to_owned(),
                account: account.to_owned(),
            };
            if let Some(id) = resource.strip_prefix("key/") {
                if !is_key_id(id) {
                    return Err(err("malformed key id in the ARN"));
                }
                return Ok(KeyRef::KeyArn(KeyArn {
                    scope,
                    key_id: id.to_owned(),
                }));
            }
            if is_alias_name(resource) {
                return Ok(KeyRef::AliasArn {
                    scope,
                    alias: resource.to_owned(),
                });
            }
            return Err(err("the ARN names neither `key/<id>` nor `alias/<name>`"));
        }
        if value.starts_with("alias/") {
            return if is_alias_name(value) {
                Ok(KeyRef::AliasName(value.to_owned()))
            } else {
                Err(err("malformed alias name"))
            };
        }
        if is_key_id(value) {
            Ok(KeyRef::KeyId(value.to_owned()))
        } else {
            Err(err("expected a key id, key ARN, alias name or alias ARN"))
        }
    }

    /// True for `alias/aws/...` as a name or inside an alias ARN: AWS-managed, conclusively.
    pub fn is_aws_managed_alias(&self) -> bool {
        self.alias()
            .is_some_and(|a| a.starts_with(AWS_MANAGED_ALIAS_PREFIX))
    }

    /// The alias part (`alias/...`) of an alias name or alias ARN.
    pub fn alias(&self) -> Option<&str> {
        match self {
            KeyRef::AliasName(a) | KeyRef::AliasArn { alias: a, .. } => Some(a),
            _ => None,
        }
    }

    /// The key id part of a key id or key ARN.
    pub fn key_id(&self) -> Option<&str> {
        match self {
            KeyRef::KeyId(id) | KeyRef::KeyArn(KeyArn { key_id: id, .. }) => Some(id),
            _ => None,
        }
    }

    /// Partition, Region and account, when the reference is an ARN.
    pub fn scope(&self) -> Option<&ArnScope> {
        match self {
            KeyRef::KeyArn(KeyArn { scope, .. }) | KeyRef::AliasArn { scope, .. } => Some(scope),
            _ => None,
        }
    }

    /// The key ARN, for a key ARN reference.
    pub fn key_arn(&self) -> Option<&KeyArn> {
        match self {
            KeyRef::KeyArn(arn) => Some(arn),
            _ => None,
        }
    }

    /// The ARN form of this reference when resolved in `ctx` (ids and alias names resolve in the
    /// caller's account and Region; ARNs are already qualified).
    pub fn in_scope(&self, ctx: &ArnScope) -> KeyRef {
        match self {
            KeyRef::KeyId(id) => KeyRef::KeyArn(KeyArn::new(ctx, id.as_str())),
            KeyRef::AliasName(alias) => KeyRef::AliasArn {
                scope: ctx.clone(),
                alias: alias.clone(),
            },
            arn => arn.clone(),
        }
    }

    /// The full ARN this reference denotes when resolved in `ctx`, as text (see
    /// [`KeyRef::in_scope`]).
    pub fn qualified(&self, ctx: &ArnScope) -> String {
        match self {
            KeyRef::KeyId(id) => format!(
                "arn:{}:kms:{}:{}:key/{id}",
                ctx.partition, ctx.region, ctx.account
            ),
            KeyRef::AliasName(alias) => format!(
                "arn:{}:kms:{}:{}:{alias}",
                ctx.partition, ctx.region, ctx.account
            ),
            arn => arn.to_string(),
        }
    }
}

impl fmt::Display for KeyRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyRef::KeyId(v) | KeyRef::AliasName(v) => f.write_str(v),
            KeyRef::KeyArn(arn) => arn.fmt(f),
            KeyRef::AliasArn { scope, alias } => write!(
                f,
                "arn:{}:kms:{}:{}:{alias}",
                scope.partition, scope.region, scope.account
            ),
        }
    }
}

/// A key ARN, `arn:<partition>:kms:<region>:<account>:key/<key id>`: how DescribeKey names a key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KeyArn {
    /// Partition, Region and account of the key.
    pub scope: ArnScope,
    /// The key id (`1234abcd-…` or a multi-Region `mrk-…`).
    pub key_id: String,
}

impl KeyArn {
    /// The key `key_id` in `scope`.
    pub fn new(scope: &ArnScope, key_id: impl Into<String>) -> KeyArn {
        KeyArn {
            scope: scope.clone(),
            key_id: key_id.into(),
        }
    }

    /// Parses a key ARN; an alias ARN, key id or alias name is an error.
    pub fn parse(value: &str) -> Result<KeyArn, KeyRefError> {
        match KeyRef::parse(value)? {
            KeyRef::KeyArn(arn) => Ok(arn),
            _ => Err(KeyRefError {
                value: value.to_owned(),
                problem: "expected a key ARN (`arn:…:kms:…:key/<id>`)",
            }),
        }
    }

    /// Whether both name one multi-Region key (`mrk-` id) in the same or another Region: same
    /// partition, account and key id.
    pub fn same_multi_region_key(&self, other: &KeyArn) -> bool {
        self.key_id.starts_with("mrk-")
            && self.key_id == other.key_id
            && self.scope.partition == other.scope.partition
            && self.scope.account == other.scope.account
    }
}

impl<'de> Deserialize<'de> for KeyArn {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<KeyArn, D::Error> {
        let text = String::deserialize(d)?;
        KeyArn::parse(&text).map_err(serde::de::Error::custom)
    }
}

impl fmt::Display for KeyArn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = &self.scope;
        write!(
            f,
            "arn:{}:kms:{}:{}:key/{}",
            s.partition, s.region, s.account, self.key_id
        )
    }
}

/// `KeyManager` from `kms:DescribeKey`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum KeyManager {
    /// AWS-managed (`aws/<service>`).
    #[serde(rename = "AWS")]
    Aws,
    /// Customer-managed (a CMK).
    #[serde(rename = "CUSTOMER")]
    Customer,
}

/// `KeyState` from `kms:DescribeKey`.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(from = "String")]
pub enum KeyState {
    /// `Creating`
    Creating,
    /// `Enabled`
    Enabled,
    /// `Disabled`
    Disabled,
    /// `PendingDeletion`
    PendingDeletion,
    /// `PendingImport`
    PendingImport,
    /// `PendingReplicaDeletion`
    PendingReplicaDeletion,
    /// `Unavailable`
    Unavailable,
    /// `Updating`
    Updating,
    /// A state this version does not know; never guessed into a verdict.
    Other(String),
}

impl From<String> for KeyState {
    fn from(s: String) -> Self {
        KeyState::parse(&s)
    }
}

impl KeyState {
    /// Maps the KMS spelling; unknown values become [`KeyState::Other`].
    pub fn parse(s: &str) -> KeyState {
        match s {
            "Creating" => KeyState::Creating,
            "Enabled" => KeyState::Enabled,
            "Disabled" => KeyState::Disabled,
            "PendingDeletion" => KeyState::PendingDeletion,
            "PendingImport" => KeyState::PendingImport,
            "PendingReplicaDeletion" => KeyState::PendingReplicaDeletion,
            "Unavailable" => KeyState::Unavailable,
            "Updating" => KeyState::Updating,
            other => KeyState::Other(other.to_owned()),
        }
    }

    /// The KMS spelling.
    pub fn as_str(&self) -> &str {
        match self {
            KeyState::Creating => "Creating",
            KeyState::Enabled => "Enabled",
            KeyState::Disabled => "Disabled",
            KeyState::PendingDeletion => "PendingDeletion",
            KeyState::PendingImport => "PendingImport",
            KeyState::PendingReplicaDeletion => "PendingReplicaDeletion",
            KeyState::Unavailable => "Unavailable",
            KeyState::Updating => "Updating",
            KeyState::Other(s) => s,
        }
    }

    /// States in which the service cannot use the key, so the data becomes unreadable.
    pub fn is_unusable(&self) -> bool {
        matches!(
            self,
            KeyState::Disabled
                | KeyState::PendingDeletion
                | KeyState::PendingReplicaDeletion
                | KeyState::Unavailable
                | KeyState::PendingImport
        )
    }
}

/// What `kms:DescribeKey` says about a key.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyFacts {
    /// The key ARN (never an alias).
    pub arn: KeyArn,
    /// Who manages the key.
    pub manager: KeyManager,
    /// The key state.
    pub state: KeyState,
}

impl KeyFacts {
    /// The key id part of [`KeyFacts::arn`].
    pub fn key_id(&self) -> &str {
        &self.arn.key_id
    }

    /// The account that owns the key.
    pub fn account(&self) -> &str {
        &self.arn.scope.account
    }
}

/// The answer to a lookup that KMS could give.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Described {
    /// The key (or the alias's target) exists.
    Found(KeyFacts),
    /// `NotFoundException`: the key or alias does not exist.
    NotFound,
}

/// Automatic rotation (`kms:GetKeyRotationStatus`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum Rotation {
    /// Rotation is on.
    Enabled,
    /// Rotation is off.
    Disabled,
    /// The key cannot rotate automatically (imported material, custom key store, asymmetric).
    Unsupported,
}

/// "Could not tell". Never means "AWS-managed".
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ResolveError {
    /// `AccessDeniedException` (typically a key policy that does not delegate to IAM).
    #[error("access denied to {key}: {detail}")]
    Denied {
        /// The reference that was looked up.
        key: String,
        /// What KMS said.
        detail: String,
    },
    /// Any other failure: throttling, 5xx or network failure after the retries were exhausted
    /// (`retryable`), or an answer that asking again will not change (`KMSInvalidStateException`,
    /// expired credentials, an unknown error code, a malformed answer).
    #[error("{key} could not be resolved: {detail}")]
    Unavailable {
        /// The reference that was looked up.
        key: String,
        /// What went wrong.
        detail: String,
        /// Whether a later attempt may get an answer.
        retryable: bool,
    },
}

impl ResolveError {
    /// Whether asking again later may get an answer (throttling, outage) rather than the same
    /// refusal (a key policy that denies us).
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            ResolveError::Unavailable {
                retryable: true,
                ..
            }
        )
    }
}

/// One question to KMS: a reference plus the account and Region it is resolved in.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KeyLookup {
    /// The reference as stored in the resource.
    pub key: KeyRef,
    /// Where ids and alias names resolve: the resource's account and Region, or the ARN's own.
    pub scope: ArnScope,
}

impl KeyLookup {
    /// A lookup of `key` for a resource in `resource_scope`; an ARN carries its own Region.
    pub fn new(key: KeyRef, resource_scope: &ArnScope) -> KeyLookup {
        let scope = key
            .scope()
            .cloned()
            .unwrap_or_else(|| resource_scope.clone());
        KeyLookup { key, scope }
    }

    /// The fully qualified ARN of the reference (see [`KeyRef::qualified`]).
    pub fn qualified(&self) -> String {
        self.key.qualified(&self.scope)
    }
}

/// How much a resolver may reuse from earlier invocations; answers are always reused within one.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reuse {
    /// Ask KMS afresh: a sweep, or the re-evaluation after a key changed.
    Fresh,
    /// A change notification: a key's facts (by key ARN) may come from an earlier invocation
    /// within the resolver's maximum age. NotFound, AccessDenied and alias lookups never do.
    Recent,
}

/// What the core needs to know about a key. The shell answers with a cached DescribeKey;
/// tests answer from a map. `Err` means "could not tell". It never means "AWS-managed".
pub trait KeyResolver: Sync {
    /// Called once at the start of every invocation, before any lookup.
    fn start_invocation(&self, _reuse: Reuse) {}

    /// `kms:DescribeKey` for the lookup.
    fn describe(
        &self,
        lookup: &KeyLookup,
    ) -> impl Future<Output = Result<Described, ResolveError>> + Send;

    /// `kms:GetKeyRotationStatus` for a customer-managed key, by key ARN.
    fn rotation(
        &self,
        key_arn: &KeyArn,
    ) -> impl Future<Output = Result<Rotation, ResolveError>> + Send;
}

/// One canned answer of [`FakeKeys`].
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
#[serde(untagged, deny_unknown_fields)]
pub enum FakeAnswer {
    /// The key exists; `rotation` defaults to disabled.
    Key {
        /// The key facts.
        #[serde(flatten)]
        facts: KeyFacts,
        /// Automatic rotation.
        #[serde(default = "rotation_disabled")]
        rotation: Rotation,
    },
    /// An error or NotFound.
    Error {
        /// `NotFound`, `AccessDenied` or `Throttled`.
        error: FakeError,
    },
}

fn rotation_disabled() -> Rotation {
    Rotation::Disabled
}

/// Canned failures for [`FakeKeys`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
pub enum FakeError {
    /// `NotFoundException`.
    NotFound,
    /// `AccessDeniedException`.
    AccessDenied,
    /// Throttling that outlasted the retries.
    Throttled,
}

/// A [`KeyResolver`] answering from canned answers, each filed under the fully qualified ARN of
/// its reference; it counts the calls it receives.
///
/// References given as key ids or alias names are qualified in the fake's home account and Region
/// when they are added, and lookups match by qualified ARN only: a lookup made in the wrong
/// account, Region or partition finds nothing. A reference it does not know is an
/// [`ResolveError::Unavailable`], so a test that forgets a key cannot pass by accident.
#[derive(Debug)]
pub struct FakeKeys {
    home: ArnScope,
    answers: HashMap<String, FakeAnswer>,
    calls: AtomicUsize,
}

impl Default for FakeKeys {
    /// No keys; ids and alias names added later are qualified in `aws`, `us-east-1`,
    /// `111122223333` (the account AWS's documentation uses).
    fn default() -> FakeKeys {
        FakeKeys::at(ArnScope {
            partition: Partition::Aws,
            region: "us-east-1".to_owned(),
            account: "111122223333".to_owned(),
        })
    }
}

impl FakeKeys {
    /// No keys; ids and alias names added later are qualified in `home`.
    pub fn at(home: ArnScope) -> FakeKeys {
        FakeKeys {
            home,
            answers: HashMap::new(),
            calls: AtomicUsize::new(0),
        }
    }

    /// A fake at `home` with these answers, keyed by reference text.
    pub fn new(
        home: ArnScope,
        answers: HashMap<String, FakeAnswer>,
    ) -> Result<FakeKeys, KeyRefError> {
        let mut fake = FakeKeys::at(home);
        for (reference, answer) in answers {
            fake.insert(&reference, answer)?;
        }
        Ok(fake)
    }

    fn insert(&mut self, reference: &str, answer: FakeAnswer) -> Result<(), KeyRefError> {
        let qualified = KeyRef::parse(reference)?.qualified(&self.home);
        self.answers.insert(qualified, answer);
        Ok(())
    }

    /// Adds a key reachable by `reference` and by its key ARN. A `reference` that is not a key
    /// reference is filed under its text, where no lookup can find it.
    pub fn with_key(mut self, reference: &str, facts: KeyFacts, rotation: Rotation) -> FakeKeys {
        let answer = FakeAnswer::Key { facts, rotation };
        if let FakeAnswer::Key { facts, .. } = &answer {
            self.answers.insert(facts.arn.to_string(), answer.clone());
        }
        if self.insert(reference, answer.clone()).is_err() {
            self.answers.insert(reference.to_owned(), answer);
        }
        self
    }

    /// Adds a canned failure for `reference` (see [`FakeKeys::with_key`]).
    pub fn with_error(mut self, reference: &str, error: FakeError) -> FakeKeys {
        let answer = FakeAnswer::Error { error };
        if self.insert(reference, answer.clone()).is_err() {
            self.answers.insert(reference.to_owned(), answer);
        }
        self
    }

    /// How many `describe` and `rotation` calls were made.
    pub fn calls(&self) -> usize {
        self.calls.load(Ordering::Relaxed)
    }

    fn answer(&self, shown: &str, qualified: &str) -> Result<&FakeAnswer, ResolveError> {
        self.calls.fetch_add(1, Ordering::Relaxed);
        self.answers
            .get(qualified)
            .ok_or_else(|| ResolveError::Unavailable {
                key: shown.to_owned(),
                detail: format!("FakeKeys has no answer for {qualified}"),
                retryable: false,
            })
    }
}

fn fake_error(key: &str, error: FakeError) -> Result<Described, ResolveError> {
    match error {
        FakeError::NotFound => Ok(Described::NotFound),
        FakeError::AccessDenied => Err(ResolveError::Denied {
            key: key.to_owned(),
            detail: "AccessDeniedException".to_owned(),
        }),
        FakeError::Throttled => Err(ResolveError::Unavailable {
            key: key.to_owned(),
            detail: "ThrottlingException after retries".to_owned(),
            retryable: true,
        }),
    }
}

impl KeyResolver for FakeKeys {
    async fn describe(&self, lookup: &KeyLookup) -> Result<Described, ResolveError> {
        let reference = lookup.key.to_string();
        match self.answer(&reference, &lookup.qualified())? {
            FakeAnswer::Key { facts, .. } => Ok(Described::Found(facts.clone())),
            FakeAnswer::Error { error } => fake_error(&reference, *error),
        }
    }

    async fn rotation(&self, key_arn: &KeyArn) -> Result<Rotation, ResolveError> {
        let arn = key_arn.to_string();
        match self.answer(&arn, &arn)? {
            FakeAnswer::Key { rotation, .. } => Ok(*rotation),
            FakeAnswer::Error {
                error: FakeError::NotFound,
            } => Err(ResolveError::Unavailable {
                key: arn,
                detail: "NotFoundException".to_owned(),
                retryable: false,
            }),
            FakeAnswer::Error { error } => fake_error(&arn, *error).map(|_| Rotation::Disabled),
        }
    }
}

/// How a referenced key was classified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum KeyClass {
    /// AWS-managed; `shown` is the alias or key ARN to name in the annotation.
    AwsManaged {
        /// Alias or key ARN.
        shown: String,
    },
    /// The key or alias does not exist.
    NotFound,
    /// Customer-managed.
    Customer(CustomerKey),
}

/// A customer-managed key, with its facts when KMS let us see them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CustomerKey {
    /// Facts from DescribeKey; `None` when the key is known to be a CMK but DescribeKey was denied.
    pub facts: Option<KeyFacts>,
    /// Why the key is a CMK without facts (for the annotation).
    pub unverified_because: Option<&'static str>,
}

/// A key that could not be classified: the resource gets no evaluation.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("key {key}: {reason}")]
pub struct Unclassified {
    /// The reference as stored in the resource.
    pub key: String,
    /// Why it could not be classified.
    pub reason: String,
    /// Whether asking again later may classify it.
    pub retryable: bool,
}

/// Classifies `key`, used by a resource of `service` in `resource_scope`.
///
/// `alias/aws/...` is AWS-managed without a call. Otherwise DescribeKey decides; when it is denied
/// the key is classified by elimination: a key ARN in another account, or a customer alias, is a CMK
/// (AWS-managed keys cannot be used cross-account, and customer aliases can only point to CMKs), and
/// a same-account key id or ARN is compared with the one AWS-managed key the service can use.
pub async fn classify(
    keys: &impl KeyResolver,
    key: &KeyRef,
    service: Service,
    resource_scope: &ArnScope,
) -> Result<KeyClass, Unclassified> {
    if key.is_aws_managed_alias() {
        return Ok(KeyClass::AwsManaged {
            shown: key.to_string(),
        });
    }
    let lookup = KeyLookup::new(key.clone(), resource_scope);
    let denied = match keys.describe(&lookup).await {
        Ok(Described::Found(facts)) => {
            return Ok(match facts.manager {
                KeyManager::Aws => KeyClass::AwsManaged {
                    shown: facts.arn.to_string(),
                },
                KeyManager::Customer => KeyClass::Customer(CustomerKey {
                    facts: Some(facts),
                    unverified_because: None,
                }),
            });
        }
        Ok(Described::NotFound) => return Ok(KeyClass::NotFound),
        Err(ResolveError::Denied { detail, .. }) => detail,
        Err(ResolveError::Unavailable {
            detail, retryable, ..
        }) => {
            return Err(Unclassified {
                key: key.to_string(),
                reason: format!("DescribeKey failed: {detail}"),
                retryable,
            });
        }
    };
    if lookup.scope.account != resource_scope.account {
        return Ok(KeyClass::Customer(CustomerKey {
            facts: None,
            unverified_because: Some("cross-account key, DescribeKey denied"),
        }));
    }
    if key.alias().is_some() {
        return Ok(KeyClass::Customer(CustomerKey {
            facts: None,
            unverified_because: Some("customer alias, DescribeKey denied"),
        }));
    }
    // Same-account key id or ARN that we may not describe: the only AWS-managed key this service
    // can use is its own alias/aws/<service> in this account and Region, so compare against it.
    let service_key = KeyLookup {
        key: KeyRef::AliasName(service.aws_managed_alias().to_owned()),
        scope: lookup.scope.clone(),
    };
    let key_arn = lookup.key.in_scope(&lookup.scope);
    match keys.describe(&service_key).await {
        Ok(Described::Found(aws)) if key_arn.key_arn() == Some(&aws.arn) => {
            Ok(KeyClass::AwsManaged {
                shown: format!("{} ({})", service.aws_managed_alias(), aws.arn),
            })
        }
        Ok(_) => Ok(KeyClass::Customer(CustomerKey {
            facts: None,
            unverified_because: Some("not the AWS-managed key, DescribeKey denied"),
        })),
        Err(e) => Err(Unclassified {
            key: key.to_string(),
            reason: format!(
                "DescribeKey denied ({denied}) and {} could not be resolved to eliminate it: {e}",
                service.aws_managed_alias()
            ),
            retryable: e.is_retryable(),
        }),
    }
}

#[cfg(test)]
#[path = "key_tests.rs"]
mod tests;
