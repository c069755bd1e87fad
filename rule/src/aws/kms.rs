//! [`KmsKeyResolver`]: the core's [`KeyResolver`] answered by a cached `kms:DescribeKey`.
//!
//! The resolver lives as long as the Lambda container, so a warm container asks KMS once per
//! distinct key. Alias, key id and ARN forms of one key share the cache entry once resolved: a key
//! id is cached under its qualified key ARN, and every answer is also cached under the key ARN it
//! returned. Errors other than NotFound are not cached, so the next invocation tries again.
//!
//! Across invocations ([`KeyResolver::start_invocation`]): a sweep, or the re-evaluation after a
//! key changed, asks KMS afresh (one DescribeKey per key per invocation), so a key disabled or
//! scheduled for deletion since is seen at once. A change notification may reuse a key's facts
//! (cached by key ARN or key id) at most [`DEFAULT_MAX_AGE`] old. NotFound, AccessDenied and
//! alias answers (an alias can be pointed at another key at any time) are never reused from an
//! earlier invocation. Errors are not cached at all.
//!
//! A key named by ARN first and by alias later would cost a second DescribeKey (the first answer
//! does not say which aliases point at the key). So when an alias misses the cache while keys of
//! the same account and Region are cached, the resolver reads that Region's aliases once with
//! `kms:ListAliases` (entries matched by full alias ARN, so only the resource's own account counts)
//! and reuses the cached key: a sweep asks DescribeKey exactly once per distinct key. A cold
//! lookup by alias (one change notification) still costs a single DescribeKey.
//!
//! KMS is always asked with the fully qualified ARN of the reference in the *resource's* account
//! and Region, never with a bare id or alias name, which KMS would resolve in the caller's account:
//! run with another account's credentials, that would classify the wrong key.

use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use aws_sdk_kms::Client;
use aws_sdk_kms::config::Region;
use aws_sdk_kms::types::KeyManagerType;
use cmk_core::KeyResolver;
use cmk_core::key::{
    Described, KeyArn, KeyFacts, KeyLookup, KeyManager, KeyState, ResolveError, Reuse, Rotation,
};

use super::{describe_error, error_code, is_transient};

/// Alias ARN → target key id, of one Region of the caller's account.
type AliasTargets = HashMap<String, String>;

const NOT_FOUND: &str = "NotFoundException";
const ACCESS_DENIED: &str = "AccessDeniedException";
const UNSUPPORTED: &str = "UnsupportedOperationException";

/// How old a key's facts a change notification may reuse from an earlier invocation.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(5 * 60);

/// One cached answer: when it was fetched, in which invocation, and whether a later invocation
/// may reuse it (a found key's facts or rotation, by key ARN or key id; never NotFound or an alias).
#[derive(Clone, Debug)]
struct Entry<T> {
    value: T,
    at: Instant,
    invocation: u64,
    lasting: bool,
}

/// Cached `kms:DescribeKey` and `kms:GetKeyRotationStatus`, one KMS client per Region.
#[derive(Debug)]
pub struct KmsKeyResolver {
    base: Client,
    max_age: Duration,
    invocation: AtomicU64,
    reuse: Mutex<Reuse>,
    clients: Mutex<HashMap<String, Client>>,
    described: Mutex<HashMap<String, Entry<Described>>>,
    rotation: Mutex<HashMap<String, Entry<Rotation>>>,
    /// Per Region: alias ARN → target key id, from ListAliases (this invocation's only).
    aliases: Mutex<HashMap<String, Entry<AliasTargets>>>,
}

impl KmsKeyResolver {
    /// A resolver whose per-Region clients are derived from `client`'s configuration
    /// (credentials, endpoint, retries, interceptors).
    pub fn new(client: Client) -> KmsKeyResolver {
        KmsKeyResolver {
            base: client,
            max_age: DEFAULT_MAX_AGE,
            invocation: AtomicU64::new(0),
            // Until told otherwise (a library caller that never starts an invocation), fresh.
            reuse: Mutex::new(Reuse::Fresh),
            clients: Mutex::default(),
            described: Mutex::default(),
            rotation: Mutex::default(),
            aliases: Mutex::default(),
        }
    }

    /// Lets change notifications reuse key facts up to `max_age` old instead of
    /// [`DEFAULT_MAX_AGE`] (`Duration::ZERO`: never across invocations).
    pub fn with_max_age(mut self, max_age: Duration) -> KmsKeyResolver {
        self.set_max_age(max_age);
        self
    }

    /// [`KmsKeyResolver::with_max_age`] on a resolver in place.
    pub fn set_max_age(&mut self, max_age: Duration) {
        self.max_age = max_age;
    }

    /// Number of distinct references and keys cached so far.
    pub fn cached(&self) -> usize {
        lock(&self.described).len()
    }

    fn client(&self, region: &str) -> Client {
        if self.base.config().region().map(Region::as_ref) == Some(region) {
            return self.base.clone();
        }
        lock(&self.clients)
            .entry(region.to_owned())
            .or_insert_with(|| {
                let conf = self
                    .base
                    .config()
                    .to_builder()
                    .region(Region::new(region.to_owned()))
                    .build();
                Client::from_conf(conf)
            })
            .clone()
    }

    fn entry<T>(&self, value: T, lasting: bool) -> Entry<T> {
        Entry {
            value,
            at: Instant::now(),
            invocation: self.invocation.load(Ordering::Relaxed),
            lasting,
        }
    }

    /// Caches `answer` under each name; only a found key's facts under a key ARN or key id last
    /// beyond this invocation.
    fn remember(&self, names: &[&str], answer: &Described) {
        let found = matches!(answer, Described::Found(_));
        let mut cache = lock(&self.described);
        for name in names {
            let by_key = name.contains(":key/");
            let entry = self.entry(answer.clone(), found && by_key);
            cache.insert((*name).to_owned(), entry);
        }
    }

    /// Whether a key of this account and Region is cached (an alias may point at it).
    fn has_keys_in(&self, scope: &cmk_core::key::ArnScope) -> bool {
        let prefix = format!(
            "arn:{}:kms:{}:{}:key/",
            scope.partition, scope.region, scope.account
        );
        lock(&self.described)
            .iter()
            .any(|(k, e)| k.starts_with(&prefix) && self.usable(e))
    }

    /// The key id an alias ARN targets, from one ListAliases listing of its Region (cached);
    /// `None` when the alias is not listed or the listing fails.
    async fn alias_target(&self, region: &str, alias_arn: &str) -> Option<String> {
        if let Some(map) = self.fresh(&self.aliases, region) {
            return map.get(alias_arn).cloned();
        }
        let mut map = HashMap::new();
        let mut pages = self
            .client(region)
            .list_aliases()
            .limit(100)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            match page {
                Ok(page) => {
                    for a in page.aliases() {
                        if let (Some(arn), Some(target)) = (a.alias_arn(), a.target_key_id()) {
                            map.insert(arn.to_owned(), target.to_owned());
                        }
                    }
                }
                Err(err) => {
                    tracing::info!(error = %describe_error(&err), "kms:ListAliases failed; aliases are described one by one");
                    break;
                }
            }
        }
        let target = map.get(alias_arn).cloned();
        let entry = self.entry(map, false);
        lock(&self.aliases).insert(region.to_owned(), entry);
        target
    }

    /// Whether a cached answer may be used now: fetched in this invocation, or a lasting one
    /// within the maximum age when this invocation allows reuse.
    fn usable<T>(&self, entry: &Entry<T>) -> bool {
        entry.invocation == self.invocation.load(Ordering::Relaxed)
            || (entry.lasting
                && *lock(&self.reuse) == Reuse::Recent
                && entry.at.elapsed() <= self.max_age)
    }

    fn fresh<T: Clone>(&self, cache: &Mutex<HashMap<String, Entry<T>>>, name: &str) -> Option<T> {
        lock(cache)
            .get(name)
            .filter(|e| self.usable(e))
            .map(|e| e.value.clone())
    }
}

/// A poisoned lock only means another task panicked mid-insert; the map itself is still valid.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl KeyResolver for KmsKeyResolver {
    fn start_invocation(&self, reuse: Reuse) {
        self.invocation.fetch_add(1, Ordering::Relaxed);
        *lock(&self.reuse) = reuse;
        // Drop what no later invocation may use, so the cache does not grow without bound.
        let max_age = self.max_age;
        lock(&self.described).retain(|_, e| e.lasting && e.at.elapsed() <= max_age);
        lock(&self.rotation).retain(|_, e| e.lasting && e.at.elapsed() <= max_age);
        lock(&self.aliases).clear();
    }

    async fn describe(&self, lookup: &KeyLookup) -> Result<Described, ResolveError> {
        let qualified = lookup.qualified();
        if let Some(hit) = self.fresh(&self.described, &qualified) {
            return Ok(hit);
        }
        // An alias of a key that may be cached already: find its target instead of asking.
        let mut ask = qualified.clone();
        if lookup.key.alias().is_some()
            && self.has_keys_in(&lookup.scope)
            && let Some(target) = self.alias_target(&lookup.scope.region, &qualified).await
        {
            let s = &lookup.scope;
            ask = format!(
                "arn:{}:kms:{}:{}:key/{target}",
                s.partition, s.region, s.account
            );
            if let Some(hit) = self.fresh(&self.described, &ask) {
                self.remember(&[&qualified], &hit);
                return Ok(hit);
            }
        }
        let reference = lookup.key.to_string();
        let result = self
            .client(&lookup.scope.region)
            .describe_key()
            .key_id(&ask)
            .send()
            .await;
        let output = match result {
            Ok(output) => output,
            Err(err) => {
                let detail = describe_error(&err);
                return match error_code(&err) {
                    Some(NOT_FOUND) => {
                        self.remember(&[&qualified, &ask], &Described::NotFound);
                        Ok(Described::NotFound)
                    }
                    Some(ACCESS_DENIED) => Err(ResolveError::Denied {
                        key: reference,
                        detail,
                    }),
                    _ => Err(ResolveError::Unavailable {
                        key: reference,
                        detail,
                        retryable: is_transient(&err),
                    }),
                };
            }
        };
        // A malformed answer will be malformed again: not retryable.
        let unavailable = |detail: &str| ResolveError::Unavailable {
            key: reference.clone(),
            detail: detail.to_owned(),
            retryable: false,
        };
        let meta = output
            .key_metadata()
            .ok_or_else(|| unavailable("DescribeKey returned no KeyMetadata"))?;
        let arn_text = meta
            .arn()
            .ok_or_else(|| unavailable("DescribeKey returned no key ARN"))?;
        let arn = KeyArn::parse(arn_text).map_err(|e| {
            unavailable(&format!("DescribeKey returned an unreadable key ARN: {e}"))
        })?;
        let manager = match meta.key_manager() {
            Some(KeyManagerType::Aws) => KeyManager::Aws,
            Some(KeyManagerType::Customer) => KeyManager::Customer,
            other => {
                return Err(unavailable(&format!(
                    "DescribeKey returned an unknown KeyManager {other:?}"
                )));
            }
        };
        let state = meta
            .key_state()
            .map(|s| KeyState::parse(s.as_str()))
            .ok_or_else(|| unavailable("DescribeKey returned no KeyState"))?;
        let answer = Described::Found(KeyFacts {
            arn,
            manager,
            state,
        });
        self.remember(&[&qualified, &ask, arn_text], &answer);
        Ok(answer)
    }

    async fn rotation(&self, key_arn: &KeyArn) -> Result<Rotation, ResolveError> {
        let region = key_arn.scope.region.as_str();
        let key_arn = &key_arn.to_string();
        if let Some(hit) = self.fresh(&self.rotation, key_arn) {
            return Ok(hit);
        }
        let result = self
            .client(region)
            .get_key_rotation_status()
            .key_id(key_arn)
            .send()
            .await;
        let rotation = match result {
            Ok(out) if out.key_rotation_enabled() => Rotation::Enabled,
            Ok(_) => Rotation::Disabled,
            Err(err) => {
                let detail = describe_error(&err);
                let key = key_arn.to_owned();
                return match error_code(&err) {
                    Some(UNSUPPORTED) => Ok(Rotation::Unsupported),
                    Some(ACCESS_DENIED) => Err(ResolveError::Denied { key, detail }),
                    _ => Err(ResolveError::Unavailable {
                        key,
                        detail,
                        retryable: is_transient(&err),
                    }),
                };
            }
        };
        let entry = self.entry(rotation, true);
        lock(&self.rotation).insert(key_arn.to_owned(), entry);
        Ok(rotation)
    }
}
