//! An SDK interceptor that records the name of every operation a client sends, tells the
//! mutating ones apart, tracks how many of one operation were awaiting their answer at once, and
//! can fail one chosen operation once (an interrupted deploy).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeDeserializationInterceptorContextRef, BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// A client of the SDK crate `$sdk` built from `$conf` (an `SdkConfig`) whose calls `$calls`
/// records: `counted_client!(aws_sdk_kms, &sdk, calls)`.
#[macro_export]
macro_rules! counted_client {
    ($sdk:ident, $conf:expr, $calls:expr) => {
        $sdk::Client::from_conf(
            $sdk::config::Builder::from($conf)
                .interceptor($calls.clone())
                .build(),
        )
    };
}

#[derive(Debug, Clone, Default)]
pub struct Calls {
    sent: Arc<Mutex<Vec<String>>>,
    fail: Arc<Mutex<Option<String>>>,
    /// Per operation: requests sent and not yet answered, and the most there ever were.
    in_flight: Arc<Mutex<BTreeMap<String, (usize, usize)>>>,
}

impl Intercept for Calls {
    fn name(&self) -> &'static str {
        "Calls"
    }

    fn read_before_transmit(
        &self,
        _: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(m) = cfg.load::<Metadata>() else {
            return Ok(());
        };
        let mut fail = self.fail.lock().unwrap();
        if fail.as_deref() == Some(m.name()) {
            *fail = None;
            return Err(format!("injected failure: {} interrupted", m.name()).into());
        }
        self.sent.lock().unwrap().push(m.name().to_owned());
        let mut in_flight = self.in_flight.lock().unwrap();
        let (now, most) = in_flight.entry(m.name().to_owned()).or_default();
        *now += 1;
        *most = (*most).max(*now);
        Ok(())
    }

    fn read_before_deserialization(
        &self,
        _: &BeforeDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(m) = cfg.load::<Metadata>()
            && let Some((now, _)) = self.in_flight.lock().unwrap().get_mut(m.name())
        {
            *now = now.saturating_sub(1);
        }
        Ok(())
    }
}

impl Calls {
    /// Every operation sent so far, in order.
    pub fn all(&self) -> Vec<String> {
        self.sent.lock().unwrap().clone()
    }

    /// Every operation sent since the last `take`, in order; forgets them.
    pub fn take(&self) -> Vec<String> {
        std::mem::take(&mut *self.sent.lock().unwrap())
    }

    /// The operations that change something (anything but Describe*, List*, Get*, Head*).
    pub fn mutating(&self) -> Vec<String> {
        self.all()
            .into_iter()
            .filter(|n| {
                !["List", "Describe", "Get", "Head"]
                    .iter()
                    .any(|p| n.starts_with(p))
            })
            .collect()
    }

    /// The most requests of `operation` that were sent and not yet answered at one time.
    pub fn most_in_flight(&self, operation: &str) -> usize {
        self.in_flight
            .lock()
            .unwrap()
            .get(operation)
            .map_or(0, |(_, most)| *most)
    }

    pub fn clear(&self) {
        self.sent.lock().unwrap().clear();
        self.in_flight.lock().unwrap().clear();
    }

    /// The next `operation` fails before it is sent (and is not recorded).
    pub fn fail_next(&self, operation: &str) {
        *self.fail.lock().unwrap() = Some(operation.to_owned());
    }
}
