//! The central function's view of an organisation: an event of another account is evaluated with
//! that account's credentials. The function assumes the member's execution role (the rule
//! parameter `executionRoleName`, default [`cmk_core::params::DEFAULT_EXECUTION_ROLE`]) and makes
//! every call of the event with it (KMS, Config, the services, PutEvaluations with the member's
//! result token), so the evaluations land in the member's account.
//!
//! Credentials are cached per account and renewed once less than [`RENEW_BEFORE`] of them is
//! left; each renewal builds that account's handler afresh (its key cache lives 5 minutes anyway).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_config::SdkConfig;
use aws_sdk_sts::config::Credentials;
use cmk_core::RuleParams;

use super::{AwsHandler, source_error};
use crate::handler::{Failed, HandlerError};

/// Credentials with less than this left are renewed before an invocation starts: Lambda's longest
/// invocation (15 minutes) and a minute of margin, so no call of a sweep outlives them.
pub const RENEW_BEFORE: Duration = Duration::from_secs(16 * 60);

/// The session name the member sees in CloudTrail.
pub const SESSION_NAME: &str = "cmk-guardrails";

/// Sets up a newly built handler (sweep rates, key cache age) like the function's own.
pub type Setup<P> = Box<dyn Fn(&mut AwsHandler<P>) + Send + Sync>;

/// Makes a handler's evaluation sink from its SDK configuration.
pub type MakeSink<P> = fn(&SdkConfig) -> P;

struct Member<P> {
    handler: Arc<AwsHandler<P>>,
    expires: SystemTime,
}

/// Hands each event the handler of the account it came from.
pub struct Members<P> {
    base: SdkConfig,
    sts: aws_sdk_sts::Client,
    /// The function's own identity (its role's ARN): given, or asked of STS once when first needed.
    identity: tokio::sync::OnceCell<cmk_core::Arn>,
    own: Arc<AwsHandler<P>>,
    sink: MakeSink<P>,
    setup: Setup<P>,
    cache: tokio::sync::Mutex<HashMap<String, Member<P>>>,
    /// Events of the function's own account also go through the member role (the central
    /// function, whose own role may only assume member roles).
    assume_own: bool,
}

impl<P> Members<P> {
    /// The function's own handler, built from `base`, for events of its own account; members'
    /// handlers for the others.
    pub fn new(base: SdkConfig, sink: MakeSink<P>, setup: Setup<P>) -> Members<P> {
        let mut own = super::handler(&base, sink(&base));
        setup(&mut own);
        Members {
            sts: aws_sdk_sts::Client::new(&base),
            base,
            identity: tokio::sync::OnceCell::new(),
            own: Arc::new(own),
            sink,
            setup,
            cache: tokio::sync::Mutex::new(HashMap::new()),
            assume_own: false,
        }
    }

    /// With `true`, an event of the function's own account is evaluated through the member role
    /// of that account too, as every other account's (the central function: a delegated
    /// administrator below a target OU has the member role like any member).
    pub fn assume_own_account(mut self, assume: bool) -> Members<P> {
        self.assume_own = assume;
        self
    }

    /// Uses `sts` for GetCallerIdentity and AssumeRole instead of a client of the base
    /// configuration (tests inject faults through it).
    pub fn with_sts(mut self, sts: aws_sdk_sts::Client) -> Members<P> {
        self.sts = sts;
        self
    }

    /// Tells the function who it is without asking STS (in Lambda: the invoked function's ARN,
    /// which names its account and partition). The first identity given or found stays.
    pub fn know_identity(&self, arn: &str) {
        if let Ok(arn) = arn.parse::<cmk_core::Arn>() {
            let _ = self.identity.set(arn);
        }
    }

    async fn identity(&self) -> Result<&cmk_core::Arn, HandlerError> {
        self.identity
            .get_or_try_init(|| async {
                let out = self.sts.get_caller_identity().send().await.map_err(|e| {
                    HandlerError::Fetch(source_error("sts:GetCallerIdentity", "", &e))
                })?;
                let arn = out.arn().unwrap_or_default();
                arn.parse::<cmk_core::Arn>().map_err(|e| {
                    HandlerError::Fetch(crate::handler::SourceError {
                        operation: "sts:GetCallerIdentity",
                        detail: format!("the caller's ARN `{arn}` does not read: {e}"),
                        retryable: false,
                    })
                })
            })
            .await
    }

    /// The handler for `event`: the function's own for its own account (or an event that names
    /// no account, or parameters, the handler then refuses), else the member's, assuming its
    /// role when there are no fresh credentials for it.
    pub async fn handler_for(
        &self,
        event: &cmk_core::ConfigEvent,
    ) -> Result<Arc<AwsHandler<P>>, Box<Failed>> {
        let Some(account) = event.account_id.as_deref() else {
            return Ok(self.own.clone());
        };
        let identity = self.identity().await.map_err(Failed::early)?;
        if account == identity.account() && !self.assume_own {
            return Ok(self.own.clone());
        }
        let Ok(params) = RuleParams::parse(event.rule_parameters.as_deref()) else {
            return Ok(self.own.clone());
        };
        // A member is in the function's partition: roles are not assumed across partitions.
        let role_arn = format!(
            "arn:{}:iam::{account}:role/{}",
            identity.partition,
            params.execution_role()
        );
        let mut cache = self.cache.lock().await;
        if let Some(member) = cache.get(account) {
            let left = member
                .expires
                .duration_since(SystemTime::now())
                .unwrap_or_default();
            if left > RENEW_BEFORE {
                return Ok(member.handler.clone());
            }
        }
        let member = self
            .assume(account, &role_arn)
            .await
            .map_err(Failed::early)?;
        let handler = member.handler.clone();
        cache.insert(account.to_owned(), member);
        Ok(handler)
    }

    async fn assume(&self, account: &str, role_arn: &str) -> Result<Member<P>, HandlerError> {
        let failed = |source| HandlerError::Member {
            account: account.to_owned(),
            role_arn: role_arn.to_owned(),
            source,
        };
        let out = self
            .sts
            .assume_role()
            .role_arn(role_arn)
            .role_session_name(SESSION_NAME)
            .send()
            .await
            .map_err(|e| failed(source_error("sts:AssumeRole", "", &e)))?;
        let missing = |what: &str| {
            failed(crate::handler::SourceError {
                operation: "sts:AssumeRole",
                detail: format!("the response has no {what}"),
                retryable: false,
            })
        };
        let c = out.credentials().ok_or_else(|| missing("Credentials"))?;
        let expires = SystemTime::try_from(*c.expiration()).map_err(|_| missing("Expiration"))?;
        let credentials = Credentials::new(
            c.access_key_id(),
            c.secret_access_key(),
            Some(c.session_token().to_owned()),
            Some(expires),
            "cmk-guardrails-member",
        );
        let sdk = self
            .base
            .to_builder()
            .credentials_provider(aws_sdk_sts::config::SharedCredentialsProvider::new(
                credentials,
            ))
            .build();
        let mut handler = super::handler(&sdk, (self.sink)(&sdk));
        (self.setup)(&mut handler);
        tracing::info!(
            account,
            role = role_arn,
            "assumed the member's execution role"
        );
        Ok(Member {
            handler: Arc::new(handler),
            expires,
        })
    }
}
