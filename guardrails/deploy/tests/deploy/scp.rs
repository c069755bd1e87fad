//! The SCP part of `deploy` against the emulator's Organizations: nested OUs and name resolution,
//! first deploy, idempotent second run, dry-run with zero mutating calls, drift repaired, a
//! same-named policy we did not create left alone, and the 5-policy limit.

use aws_sdk_organizations::Client;
use cmk_integration_tests::calls::Calls;
use cmk_integration_tests::emulator::Emulator;
use cmk_integration_tests::organization::Organization as HandMade;
use guardrails::catalogue::CONTROLS;
use guardrails::render::scp::{ScpOptions, render_scps};
use guardrails_deploy::org::{OrgError, Organization};
use guardrails_deploy::plan::{Desired, Step, plan};

struct Org {
    client: Client,
    calls: Calls,
    root: String,
    by_hand: HandMade,
}

async fn organization() -> Org {
    let account = Emulator::new_account();
    let sdk = Emulator::shared().sdk(&account, "us-east-1").await;
    let calls = Calls::default();
    let client = Client::from_conf(
        aws_sdk_organizations::config::Builder::from(&sdk)
            .interceptor(calls.clone())
            .build(),
    );
    let by_hand = HandMade::create(&account, client.clone()).await;
    let root = by_hand.root.clone();
    let workloads = by_hand.ou(&root, "Workloads").await;
    by_hand.ou(&workloads, "Sandbox").await;
    by_hand.ou(&workloads, "Prod").await;
    by_hand.ou(&root, "Security").await;
    calls.clear();
    Org {
        client,
        calls,
        root,
        by_hand,
    }
}

fn desired(target: &str) -> Desired {
    let scps = render_scps(CONTROLS, &ScpOptions::default()).unwrap();
    Desired {
        scps: scps
            .iter()
            .map(|a| {
                let name = a
                    .path
                    .rsplit('/')
                    .next()
                    .unwrap()
                    .trim_end_matches(".json")
                    .to_owned();
                (name, a.content.trim_end().to_owned())
            })
            .collect(),
        targets: vec![target.to_owned()],
    }
}

async fn plan_for(
    org: &Organization,
    want: &Desired,
) -> (Vec<Step>, guardrails_deploy::plan::Observed) {
    let (_, enabled) = org.tree().await.unwrap();
    let names: Vec<String> = want.scps.iter().map(|(n, _)| n.clone()).collect();
    let observed = org.observe(&names, &want.targets, enabled).await.unwrap();
    (plan(want, &observed).unwrap(), observed)
}

#[tokio::test]
async fn first_deploy_then_nothing_to_do_and_dry_run_never_writes() {
    let o = organization().await;
    let org = Organization(o.client.clone());
    let (tree, _) = org.tree().await.unwrap();
    let sandbox = tree.resolve("sandbox").unwrap();
    assert_eq!(
        tree.path(&sandbox),
        "Root/Workloads/Sandbox",
        "nested OU found below the first level"
    );
    let want = desired(&sandbox);

    // Dry run: observe and plan only.
    let (steps, observed) = plan_for(&org, &want).await;
    assert!(
        matches!(
            steps.as_slice(),
            [Step::EnableScps, Step::Create { .. }, Step::Attach { .. }]
        ),
        "{steps:?}"
    );
    assert!(
        o.calls.mutating().is_empty(),
        "dry run wrote: {:?}",
        o.calls.mutating()
    );

    org.writer()
        .apply(&o.root, &observed, &steps)
        .await
        .unwrap();
    let attached = o
        .client
        .list_policies_for_target()
        .target_id(&sandbox)
        .filter(aws_sdk_organizations::types::PolicyType::ServiceControlPolicy)
        .send()
        .await
        .unwrap();
    assert!(
        attached
            .policies()
            .iter()
            .any(|p| p.name() == Some("cmk-guardrails-1"))
    );

    o.calls.clear();
    let (steps, _) = plan_for(&org, &want).await;
    assert!(steps.is_empty(), "second run: {steps:?}");
    assert!(o.calls.mutating().is_empty());
}

#[tokio::test]
async fn a_hand_edited_or_detached_policy_is_repaired_in_place() {
    let o = organization().await;
    let org = Organization(o.client.clone());
    let (tree, _) = org.tree().await.unwrap();
    let target = tree.resolve("Root/Workloads/Prod").unwrap();
    let want = desired(&target);
    let (steps, observed) = plan_for(&org, &want).await;
    org.writer()
        .apply(&o.root, &observed, &steps)
        .await
        .unwrap();
    let id = org
        .observe(&["cmk-guardrails-1".into()], &[], true)
        .await
        .unwrap()
        .ours["cmk-guardrails-1"]
        .id
        .clone();

    o.client
        .update_policy()
        .policy_id(&id)
        .content(r#"{"Version":"2012-10-17","Statement":[]}"#)
        .send()
        .await
        .unwrap();
    o.client
        .detach_policy()
        .policy_id(&id)
        .target_id(&target)
        .send()
        .await
        .unwrap();
    let (steps, observed) = plan_for(&org, &want).await;
    assert!(
        matches!(steps.as_slice(), [Step::Update { id: u, .. }, Step::Attach { .. }] if *u == id),
        "{steps:?}"
    );
    org.writer()
        .apply(&o.root, &observed, &steps)
        .await
        .unwrap();
    assert!(plan_for(&org, &want).await.0.is_empty());
    let all = o
        .client
        .list_policies()
        .filter(aws_sdk_organizations::types::PolicyType::ServiceControlPolicy)
        .send()
        .await
        .unwrap();
    assert_eq!(
        all.policies()
            .iter()
            .filter(|p| p.name() == Some("cmk-guardrails-1"))
            .count(),
        1,
        "never duplicated"
    );
}

#[tokio::test]
async fn a_same_named_policy_we_did_not_create_is_left_alone() {
    let o = organization().await;
    o.client
        .create_policy()
        .name("cmk-guardrails-1")
        .description("someone else's")
        .r#type(aws_sdk_organizations::types::PolicyType::ServiceControlPolicy)
        .content(r#"{"Version":"2012-10-17","Statement":[]}"#)
        .send()
        .await
        .unwrap();
    let org = Organization(o.client.clone());
    let err = org
        .observe(&["cmk-guardrails-1".into()], &[], true)
        .await
        .unwrap_err();
    assert!(matches!(err, OrgError::NotOurs { .. }), "{err}");
}

#[tokio::test]
async fn the_five_policy_limit_stops_the_plan_before_any_change() {
    let o = organization().await;
    let org = Organization(o.client.clone());
    let (tree, _) = org.tree().await.unwrap();
    let target = tree.resolve("security").unwrap();
    for i in 0..4 {
        let empty = r#"{"Version":"2012-10-17","Statement":[]}"#;
        let id = o.by_hand.policy(&format!("other-{i}"), empty).await;
        o.by_hand.attach(&id, &target).await;
    }
    let want = desired(&target);
    let (_, enabled) = org.tree().await.unwrap();
    let observed = org
        .observe(&["cmk-guardrails-1".into()], &want.targets, enabled)
        .await
        .unwrap();
    let err = plan(&want, &observed).unwrap_err();
    assert!(err.to_string().contains("limit of 5"), "{err}");
}
