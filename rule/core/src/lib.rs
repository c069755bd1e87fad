//! `cmk-core`: the pure evaluation core of the cmk-guardrails Config rule.
//!
//! A configuration item goes in, a [`Verdict`] comes out. The only question the core cannot answer
//! by itself ("who manages this key, what state is it in, is rotation on?") is asked through the
//! [`KeyResolver`] trait; the Lambda answers it with a cached `kms:DescribeKey`, tests answer it
//! from a map ([`FakeKeys`]). There are no AWS SDK types, no network and no clock in this crate.
//!
//! ```
//! use cmk_core::{evaluate, ConfigEvent, Compliance, FakeKeys, InvokingEvent, RuleParams};
//!
//! let event = ConfigEvent::from_slice(br#"{
//!   "invokingEvent": "{\"messageType\":\"ConfigurationItemChangeNotification\",\"configurationItem\":{\"configurationItemCaptureTime\":\"2026-01-05T09:59:58.123Z\",\"awsAccountId\":\"111122223333\",\"configurationItemStatus\":\"OK\",\"resourceType\":\"AWS::Kinesis::Stream\",\"resourceId\":\"orders\",\"awsRegion\":\"us-east-1\",\"configuration\":{\"StreamEncryption\":{\"EncryptionType\":\"KMS\",\"KeyId\":\"alias/aws/kinesis\"}}}}",
//!   "resultToken": "TESTMODE", "eventLeftScope": false }"#).unwrap();
//! let InvokingEvent::Change { item, .. } = event.invoking_event().unwrap() else { unreachable!() };
//! let verdict = futures_lite_block_on(evaluate(&item, &RuleParams::default(), &FakeKeys::default())).unwrap();
//! assert_eq!(verdict.compliance, Compliance::NonCompliant); // AWS-managed alias: no KMS call needed
//! # fn futures_lite_block_on<F: std::future::Future>(f: F) -> F::Output {
//! #     tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(f)
//! # }
//! ```
#![cfg_attr(
    not(test),
    deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)
)]

pub mod annotation;
pub mod arn;
pub mod evaluation;
pub mod event;
pub mod key;
pub mod params;
pub mod resources;
pub mod tags;
pub mod verdict;

pub use arn::{Arn, Partition};
pub use evaluation::{Compliance, Evaluation};
pub use event::{ConfigEvent, ConfigItem, EventError, InvokingEvent, ItemStatus, ParseError};
pub use key::{
    Described, FakeKeys, KeyArn, KeyFacts, KeyLookup, KeyManager, KeyRef, KeyResolver, KeyState,
    ResolveError, Rotation, Service,
};
pub use params::{ParamError, RuleParams};
pub use verdict::{EvalError, Undetermined, Verdict, evaluate};
