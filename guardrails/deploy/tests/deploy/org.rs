//! The whole organisation rollout against the emulator (moto with the launcher's StackSet and
//! Organizations patches), through the same engine the `deploy`, `status` and `destroy` commands
//! use: plan, dry-run call count, first deploy, idempotent second run, drift, automatic
//! deployment, interrupted runs, destroy, limits and the caller's role.

use std::collections::BTreeSet;
use std::time::Duration;

use aws_sdk_cloudformation::types::CallAs;
use cmk_integration_tests::calls::Calls;
use cmk_integration_tests::emulator::Emulator;
use cmk_integration_tests::organization::Organization as HandMade;
use guardrails_deploy::cfn::{OperationLog, Pending, Polling, Quiet, StackSets};
use guardrails_deploy::engine::{DeployError, Engine};
use guardrails_deploy::org::{Organization, Role};
use guardrails_deploy::plan::PlanError;
use guardrails_deploy::settings::Settings;
use guardrails_deploy::stackset::STACK_SET_NAME;

const REGIONS: [&str; 2] = ["us-east-1", "eu-west-1"];

struct World {
    management: String,
    orgs: aws_sdk_organizations::Client,
    /// The same organization, for changes made by hand.
    by_hand: HandMade,
    cfn: aws_sdk_cloudformation::Client,
    calls: Calls,
    engine: Engine,
    sandbox: String,
    security: String,
    /// Directly in Sandbox.
    sandbox_account: String,
    /// In Sandbox/Team (two levels below the target).
    team_account: String,
    /// In Workloads (above the target: never deployed to).
    workloads_account: String,
    team: String,
    settings: Settings,
}

fn settings(bucket: &str, exempt: &str) -> Settings {
    Settings::parse(
        "test.toml",
        &format!(
            "mode = \"per-account\"\nregions = [\"us-east-1\", \"eu-west-1\"]\n[rule]\nexempt-tag = \"{exempt}\"\n[code]\nbucket = \"{bucket}\"\nkey = \"rule.zip\"\n"
        ),
    )
    .unwrap()
}

async fn world() -> World {
    let management = Emulator::new_account();
    let sdk = Emulator::shared().sdk(&management, "us-east-1").await;
    let calls = Calls::default();
    let orgs = aws_sdk_organizations::Client::from_conf(
        aws_sdk_organizations::config::Builder::from(&sdk)
            .interceptor(calls.clone())
            .build(),
    );
    let cfn = aws_sdk_cloudformation::Client::from_conf(
        aws_sdk_cloudformation::config::Builder::from(&sdk)
            .interceptor(calls.clone())
            .build(),
    );
    let by_hand = HandMade::create(&management, orgs.clone()).await;
    let root = by_hand.root.clone();
    let workloads = by_hand.ou(&root, "Workloads").await;
    let sandbox = by_hand.ou(&workloads, "Sandbox").await;
    let team = by_hand.ou(&sandbox, "Team").await;
    let security = by_hand.ou(&root, "Security").await;
    let sandbox_account = by_hand.account("sb", &sandbox).await;
    let team_account = by_hand.account("team", &team).await;
    let workloads_account = by_hand.account("wl", &workloads).await;
    let bucket = format!("cmk-rule-code-{management}");
    Emulator::shared().put_object(
        &bucket,
        "rule.zip",
        b"PK\x05\x06\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0",
    );
    let org = Organization(orgs.clone());
    let caller = org.caller(&management, "aws").await.unwrap();
    assert_eq!(caller.role, Role::Management);
    let engine = Engine {
        org,
        stacks: StackSets {
            client: cfn.clone(),
            call_as: CallAs::SelfValue,
            polling: Polling {
                first: Duration::from_millis(10),
                max: Duration::from_millis(50),
                timeout: Duration::from_secs(30),
            },
        },
        caller,
        sdk: sdk.clone(),
        regional: guardrails_deploy::central::RegionalClients::from_sdk(&sdk),
        package: None,
    };
    calls.clear();
    World {
        management,
        orgs,
        by_hand,
        cfn,
        calls,
        engine,
        sandbox,
        security,
        sandbox_account,
        team_account,
        workloads_account,
        team,
        settings: settings(&bucket, "cmk-exempt"),
    }
}

impl World {
    async fn deploy(&self, settings: &Settings, ous: &[&str]) -> Vec<String> {
        let ous: Vec<String> = ous.iter().map(|s| (*s).to_owned()).collect();
        let plan = self.engine.plan(settings, &ous).await.unwrap();
        self.engine
            .writer()
            .apply(&plan, settings, &OperationLog::default(), &Quiet)
            .await
            .unwrap()
    }

    async fn instances(&self) -> BTreeSet<(String, String)> {
        let out = self
            .cfn
            .list_stack_instances()
            .stack_set_name(STACK_SET_NAME)
            .send()
            .await
            .unwrap();
        out.summaries()
            .iter()
            .map(|i| {
                (
                    i.account().unwrap().to_owned(),
                    i.region().unwrap().to_owned(),
                )
            })
            .collect()
    }

    async fn attached(&self, target: &str) -> Vec<String> {
        self.by_hand.attached(target).await
    }

    async fn our_policies(&self) -> Vec<String> {
        let scps = self.by_hand.scps().await;
        scps.into_iter()
            .map(|(name, _)| name)
            .filter(|n| n.starts_with("cmk-guardrails-"))
            .collect()
    }

    /// The Config rules the stack set created in a member account, with their exemptTag.
    async fn member_rules(&self, account: &str, region: &str) -> Vec<(String, String)> {
        let sdk = Emulator::shared().sdk(account, region).await;
        let out = aws_sdk_config::Client::new(&sdk)
            .describe_config_rules()
            .send()
            .await
            .unwrap();
        out.config_rules()
            .iter()
            .map(|r| {
                let params: serde_json::Value =
                    serde_json::from_str(r.input_parameters().unwrap_or("{}")).unwrap();
                (
                    r.config_rule_name().unwrap().to_owned(),
                    params["exemptTag"].as_str().unwrap_or_default().to_owned(),
                )
            })
            .collect()
    }
}

fn pairs(accounts: &[&String]) -> BTreeSet<(String, String)> {
    accounts
        .iter()
        .flat_map(|a| REGIONS.iter().map(move |r| ((*a).clone(), (*r).to_owned())))
        .collect()
}

#[tokio::test]
async fn first_deploy_reaches_nested_accounts_and_a_second_run_has_nothing_to_do() {
    let w = world().await;

    // Dry run: the whole plan, from reads only.
    let plan = w
        .engine
        .plan(&w.settings, &["sandbox".to_owned()])
        .await
        .unwrap();
    assert_eq!(plan.targets[0].path, "Root/Workloads/Sandbox");
    let lines = plan.lines().join("\n");
    for expected in [
        "activate trusted access",
        "enable the SERVICE_CONTROL_POLICY type",
        "+ create SCP cmk-guardrails-1",
        "+ attach SCP cmk-guardrails-1",
        "+ create stack set cmk-guardrails-config-rule",
        "+ deploy the Config rule to",
    ] {
        assert!(
            lines.contains(expected),
            "{expected:?} missing from:\n{lines}"
        );
    }
    assert_eq!(
        w.calls.mutating(),
        Vec::<String>::new(),
        "a dry run only reads"
    );

    let done = w
        .engine
        .writer()
        .apply(&plan, &w.settings, &OperationLog::default(), &Quiet)
        .await
        .unwrap();
    assert_eq!(done.len(), plan.lines().len());
    assert!(
        w.attached(&w.sandbox)
            .await
            .contains(&"cmk-guardrails-1".to_owned())
    );
    // Every account below the OU at any depth, in every Region; not above it, not management.
    assert_eq!(
        w.instances().await,
        pairs(&[&w.sandbox_account, &w.team_account])
    );
    let described = w
        .cfn
        .describe_stack_set()
        .stack_set_name(STACK_SET_NAME)
        .send()
        .await
        .unwrap();
    let set = described.stack_set().unwrap();
    assert_eq!(set.permission_model().unwrap().as_str(), "SERVICE_MANAGED");
    assert_eq!(set.auto_deployment().unwrap().enabled(), Some(true));
    // The rule really exists in the nested member account, with the settings' parameters.
    let rules = w.member_rules(&w.team_account, "eu-west-1").await;
    assert!(
        rules.contains(&("cmk-required".to_owned(), "cmk-exempt".to_owned())),
        "{rules:?}"
    );
    assert!(
        w.member_rules(&w.workloads_account, "eu-west-1")
            .await
            .is_empty()
    );
    assert!(w.member_rules(&w.management, "us-east-1").await.is_empty());

    // Second run: nothing to do, no mutating call.
    w.calls.clear();
    let again = w
        .engine
        .plan(&w.settings, &["Root/Workloads/Sandbox".to_owned()])
        .await
        .unwrap();
    assert!(again.is_empty(), "{:?}", again.lines());
    let status = again.status(&w.engine.caller);
    assert!(status.in_sync);
    assert_eq!(status.targets[0].accounts, 2);
    assert_eq!(status.targets[0].instances.get("CURRENT"), Some(&4));
    assert_eq!(status.targets[0].scps["cmk-guardrails-1"], "attached");
    assert_eq!(w.calls.mutating(), Vec::<String>::new());
}

#[tokio::test]
async fn drift_is_reported_and_the_next_deploy_repairs_it() {
    let w = world().await;
    w.deploy(&w.settings, &["sandbox"]).await;
    let ous = ["sandbox".to_owned()];

    // By hand: the SCP edited, and the rule's parameters changed in the settings.
    let id = w
        .engine
        .plan(&w.settings, &ous)
        .await
        .unwrap()
        .observed
        .ours["cmk-guardrails-1"]
        .id
        .clone();
    w.orgs
        .update_policy()
        .policy_id(&id)
        .content(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    let changed = settings(
        &w.settings.code.as_ref().unwrap().bucket,
        "another-exempt-tag",
    );
    let plan = w.engine.plan(&changed, &ous).await.unwrap();
    let status = plan.status(&w.engine.caller);
    assert!(!status.in_sync);
    assert_eq!(
        status.targets[0].scps["cmk-guardrails-1"],
        "content differs"
    );
    let drift = status.drift.join("\n");
    assert!(drift.contains("~ update SCP cmk-guardrails-1"), "{drift}");
    assert!(drift.contains("parameter ExemptTag"), "{drift}");

    w.engine
        .writer()
        .apply(&plan, &changed, &OperationLog::default(), &Quiet)
        .await
        .unwrap();
    assert!(w.engine.plan(&changed, &ous).await.unwrap().is_empty());
    assert!(
        w.member_rules(&w.sandbox_account, "us-east-1")
            .await
            .contains(&("cmk-required".to_owned(), "another-exempt-tag".to_owned()))
    );
    assert_eq!(w.our_policies().await, vec!["cmk-guardrails-1".to_owned()]);

    // Detached by hand: reported, then re-attached (not duplicated).
    w.orgs
        .detach_policy()
        .policy_id(&id)
        .target_id(&w.sandbox)
        .send()
        .await
        .unwrap();
    let plan = w.engine.plan(&changed, &ous).await.unwrap();
    assert_eq!(
        plan.status(&w.engine.caller).targets[0].scps["cmk-guardrails-1"],
        "detached"
    );
    w.engine
        .writer()
        .apply(&plan, &changed, &OperationLog::default(), &Quiet)
        .await
        .unwrap();
    assert!(w.engine.plan(&changed, &ous).await.unwrap().is_empty());
    assert_eq!(w.our_policies().await, vec!["cmk-guardrails-1".to_owned()]);
}

#[tokio::test]
async fn an_account_joining_the_ou_is_covered_without_a_deploy() {
    let w = world().await;
    w.deploy(&w.settings, &["sandbox"]).await;
    let late = w.by_hand.account("late", &w.team).await;
    assert!(w.instances().await.is_superset(&pairs(&[&late])));
    let plan = w
        .engine
        .plan(&w.settings, &["sandbox".to_owned()])
        .await
        .unwrap();
    assert!(plan.is_empty(), "{:?}", plan.lines());
    assert_eq!(plan.status(&w.engine.caller).targets[0].accounts, 3);
}

#[tokio::test]
async fn an_interrupted_deploy_converges_on_the_next_run() {
    let w = world().await;
    let ous = ["sandbox".to_owned()];
    let log = OperationLog::default();

    // First run dies at the attachment: the policy exists, nothing is attached.
    w.calls.fail_next("AttachPolicy");
    let plan = w.engine.plan(&w.settings, &ous).await.unwrap();
    let err = w
        .engine
        .writer()
        .apply(&plan, &w.settings, &log, &Quiet)
        .await;
    assert!(err.unwrap_err().to_string().contains("AttachPolicy"));
    // Second run dies at the instances: SCP attached, stack set created.
    w.calls.fail_next("CreateStackInstances");
    let plan = w.engine.plan(&w.settings, &ous).await.unwrap();
    let lines = plan.lines().join("\n");
    assert!(!lines.contains("create SCP"), "{lines}");
    assert!(lines.contains("+ attach SCP"), "{lines}");
    let err = w
        .engine
        .writer()
        .apply(&plan, &w.settings, &log, &Quiet)
        .await;
    assert!(
        err.unwrap_err()
            .to_string()
            .contains("CreateStackInstances")
    );
    // Third run finishes the job.
    let plan = w.engine.plan(&w.settings, &ous).await.unwrap();
    let lines = plan.lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(lines[0].starts_with("+ deploy the Config rule"));
    w.engine
        .writer()
        .apply(&plan, &w.settings, &log, &Quiet)
        .await
        .unwrap();
    assert!(w.engine.plan(&w.settings, &ous).await.unwrap().is_empty());
    // Nothing duplicated.
    assert_eq!(w.our_policies().await, vec!["cmk-guardrails-1".to_owned()]);
    let sets = w.cfn.list_stack_sets().send().await.unwrap();
    let ours = sets
        .summaries()
        .iter()
        .filter(|s| s.stack_set_name() == Some(STACK_SET_NAME))
        .count();
    assert_eq!(ours, 1);
    assert_eq!(
        w.instances().await,
        pairs(&[&w.sandbox_account, &w.team_account])
    );
}

#[tokio::test]
async fn an_operation_left_pending_is_resumed_not_repeated() {
    let w = world().await;
    w.deploy(&w.settings, &["sandbox"]).await;
    let dir = std::env::temp_dir().join(format!("cmk-resume-{}", w.management));
    std::fs::create_dir_all(&dir).unwrap();
    let log = OperationLog(Some(dir.join("operation.json")));
    // A run recorded its operation id, submitted it, and was killed before polling it.
    let pending = Pending {
        stack_set: STACK_SET_NAME.to_owned(),
        operation_id: "cmk-interrupted-1".to_owned(),
        what: "- delete the Config rule instances".to_owned(),
        submitted: 0,
    };
    log.record(&pending).unwrap();
    w.cfn
        .delete_stack_instances()
        .stack_set_name(STACK_SET_NAME)
        .deployment_targets(
            aws_sdk_cloudformation::types::DeploymentTargets::builder()
                .organizational_unit_ids(&w.sandbox)
                .build(),
        )
        .regions("eu-west-1")
        .retain_stacks(false)
        .operation_id("cmk-interrupted-1")
        .send()
        .await
        .unwrap();
    w.calls.clear();
    let resumed = w.engine.stacks.resume(&log, &Quiet).await.unwrap();
    assert_eq!(resumed.as_deref(), Some("cmk-interrupted-1"));
    assert_eq!(
        log.pending().unwrap(),
        None,
        "finished operations leave the log"
    );
    assert_eq!(
        w.calls.mutating(),
        Vec::<String>::new(),
        "resuming only polls"
    );
    // The next plan repairs what the interrupted operation removed.
    let plan = w
        .engine
        .plan(&w.settings, &["sandbox".to_owned()])
        .await
        .unwrap();
    assert_eq!(
        plan.lines(),
        vec![format!(
            "+ deploy the Config rule to {} in eu-west-1",
            w.sandbox
        )]
    );
    w.engine
        .writer()
        .apply(&plan, &w.settings, &log, &Quiet)
        .await
        .unwrap();
    assert_eq!(
        w.instances().await,
        pairs(&[&w.sandbox_account, &w.team_account])
    );
    std::fs::remove_dir_all(dir).unwrap();
}

#[tokio::test]
async fn destroy_removes_exactly_what_was_deployed() {
    let w = world().await;
    w.deploy(&w.settings, &["sandbox", "security"]).await;
    // Someone else's SCP on Sandbox.
    let foreign = w
        .by_hand
        .policy(
            "team-policy",
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:DeleteBucket","Resource":"*"}]}"#,
        )
        .await;
    w.by_hand.attach(&foreign, &w.sandbox).await;

    let destroy = |ous: &'static [&'static str]| {
        let w = &w;
        async move {
            let ous: Vec<String> = ous.iter().map(|s| (*s).to_owned()).collect();
            let plan = w.engine.destroy_plan(&w.settings, &ous).await.unwrap();
            let lines = plan.lines();
            w.engine
                .writer()
                .destroy(&plan, &w.settings, &OperationLog::default(), &Quiet)
                .await
                .unwrap();
            lines
        }
    };
    // Sandbox only: its instances and attachment go; Security keeps both the SCP and the
    // stack set.
    let lines = destroy(&["sandbox"]).await;
    assert!(
        lines.iter().any(|l| l.starts_with("- detach SCP")),
        "{lines:?}"
    );
    assert!(
        !lines.iter().any(|l| l.contains("delete stack set")),
        "{lines:?}"
    );
    assert!(w.instances().await.is_empty());
    assert_eq!(
        w.attached(&w.sandbox).await,
        vec!["FullAWSAccess".to_owned(), "team-policy".to_owned()]
    );
    assert!(
        w.attached(&w.security)
            .await
            .contains(&"cmk-guardrails-1".to_owned())
    );
    assert_eq!(w.our_policies().await, vec!["cmk-guardrails-1".to_owned()]);
    assert!(
        w.member_rules(&w.team_account, "us-east-1")
            .await
            .is_empty()
    );

    // Security too: now nothing of ours is left anywhere.
    let lines = destroy(&["security"]).await;
    assert!(
        lines.iter().any(|l| l.contains("delete stack set")),
        "{lines:?}"
    );
    assert!(w.our_policies().await.is_empty());
    assert!(
        w.cfn
            .describe_stack_set()
            .stack_set_name(STACK_SET_NAME)
            .send()
            .await
            .is_err()
    );
    assert_eq!(
        w.attached(&w.security).await,
        vec!["FullAWSAccess".to_owned()]
    );
    // And a destroy of nothing is nothing.
    assert!(destroy(&["sandbox"]).await.is_empty());
}

#[tokio::test]
async fn the_five_policy_limit_stops_the_deploy_before_any_change() {
    let w = world().await;
    for i in 0..4 {
        let id = w
            .by_hand
            .policy(
                &format!("existing-{i}"),
                r#"{"Version":"2012-10-17","Statement":[]}"#,
            )
            .await;
        w.by_hand.attach(&id, &w.sandbox).await;
    }
    w.calls.clear();
    let err = w
        .engine
        .plan(&w.settings, &["sandbox".to_owned()])
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            DeployError::Plan(PlanError::TooManyPolicies {
                attached: 5,
                adding: 1,
                ..
            })
        ),
        "{err}"
    );
    assert_eq!(w.calls.mutating(), Vec::<String>::new());
}

#[tokio::test]
async fn a_member_account_is_detected_as_delegated_administrator() {
    let w = world().await;
    let member = Emulator::shared()
        .sdk(&w.sandbox_account, "us-east-1")
        .await;
    let engine = Engine::connect(&member).await.unwrap();
    assert_eq!(engine.caller.role, Role::DelegatedAdmin);
    assert_eq!(engine.caller.management_account, w.management);
    assert_eq!(engine.stacks.call_as, CallAs::DelegatedAdmin);
    let management = Emulator::shared().sdk(&w.management, "us-east-1").await;
    assert_eq!(
        Engine::connect(&management).await.unwrap().caller.role,
        Role::Management
    );
}
