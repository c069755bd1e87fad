//! Config rule events as Config sends them to the rule (`invokingEvent` and `ruleParameters` are
//! JSON strings), for the tests that run the rule's handler or the `guardrails evaluate` binary.

use serde_json::{Value, json};

/// The periodic (`ScheduledNotification`) event of the rule `rule` in `account` and `region`: the
/// sweep of every resource, its evaluations put with `token` (`TESTMODE` puts nothing to keep).
pub fn periodic(account: &str, region: &str, rule: &str, token: &str) -> Value {
    let invoking = json!({"awsAccountId": account, "notificationCreationTime": "2026-01-05T10:00:00.000Z",
        "messageType": "ScheduledNotification", "recordVersion": "1.0"});
    json!({
        "invokingEvent": invoking.to_string(), "ruleParameters": "{}", "resultToken": token,
        "eventLeftScope": false, "accountId": account, "configRuleName": rule, "version": "1.0",
        "configRuleArn": format!("arn:aws:config:{region}:{account}:config-rule/config-rule-cmk01"),
    })
}
