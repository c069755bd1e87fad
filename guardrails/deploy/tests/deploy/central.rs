//! The central mode through the engine against the emulator, every client recorded: a dry-run
//! plan and `status` (plan + aggregator) send only reading operations, judged by each operation's
//! kind (Describe, List, Get, Head), and a second deploy right after the first has nothing to do.

use std::time::Duration;

use aws_sdk_cloudformation::types::CallAs;
use cmk_integration_tests::calls::Calls;
use cmk_integration_tests::emulator::Emulator;
use cmk_integration_tests::organization::Organization as HandMade;
use guardrails_deploy::artifact;
use guardrails_deploy::central::{Regional, RegionalClients};
use guardrails_deploy::cfn::{OperationLog, Polling, Quiet, StackSets};
use guardrails_deploy::engine::Engine;
use guardrails_deploy::org::Organization;
use guardrails_deploy::settings::Settings;

#[tokio::test]
async fn dry_run_and_status_send_only_reads_and_a_second_deploy_has_nothing_to_do() {
    let management = Emulator::new_account();
    let sdk = Emulator::shared().sdk(&management, "us-east-1").await;
    let calls = Calls::default();
    let orgs = aws_sdk_organizations::Client::from_conf(
        aws_sdk_organizations::config::Builder::from(&sdk)
            .interceptor(calls.clone())
            .build(),
    );
    let by_hand = HandMade::create(&management, orgs.clone()).await;
    let sandbox = by_hand.ou(&by_hand.root, "Sandbox").await;
    by_hand.account("one", &sandbox).await;
    by_hand.account("two", &sandbox).await;
    let cfn = aws_sdk_cloudformation::Client::from_conf(
        aws_sdk_cloudformation::config::Builder::from(&sdk)
            .interceptor(calls.clone())
            .build(),
    );
    let org = Organization(orgs);
    let caller = org.caller(&management, "aws").await.unwrap();
    let (sdk2, calls2) = (sdk.clone(), calls.clone());
    let regional = RegionalClients(std::sync::Arc::new(move |region: &str| {
        let plain = Regional::new(&sdk2, region);
        let cfn = plain
            .cfn
            .config()
            .to_builder()
            .interceptor(calls2.clone())
            .build();
        let s3 = plain
            .s3
            .config()
            .to_builder()
            .interceptor(calls2.clone())
            .build();
        Regional {
            cfn: aws_sdk_cloudformation::Client::from_conf(cfn),
            s3: aws_sdk_s3::Client::from_conf(s3),
            polling: (Duration::from_millis(10), Duration::from_millis(50)),
            ..plain
        }
    }));
    let engine = Engine {
        org,
        stacks: StackSets {
            client: cfn,
            call_as: CallAs::SelfValue,
            polling: Polling {
                first: Duration::from_millis(10),
                max: Duration::from_millis(50),
                timeout: Duration::from_secs(30),
            },
        },
        caller,
        sdk: sdk.clone(),
        regional,
        // This test binary stands in for the guardrails executable.
        package: Some(artifact::package(&std::env::current_exe().unwrap()).unwrap()),
    };
    let settings = Settings::parse("test.toml", "regions = [\"us-east-1\"]\n").unwrap();
    let ous = vec!["Sandbox".to_owned()];

    calls.clear();
    let plan = engine.plan(&settings, &ous).await.unwrap();
    assert!(!plan.is_empty());
    assert_eq!(
        calls.mutating(),
        Vec::<String>::new(),
        "a dry run only reads: {:?}",
        calls.all()
    );
    assert!(
        calls
            .all()
            .iter()
            .any(|c| c == "HeadObject" || c == "DescribeStacks"),
        "{:?}",
        calls.all()
    );

    engine
        .writer()
        .apply(&plan, &settings, &OperationLog::default(), &Quiet)
        .await
        .unwrap();
    let wrote = calls.mutating();
    for op in [
        "CreateStack",
        "PutObject",
        "CreateStackSet",
        "CreateStackInstances",
    ] {
        assert!(wrote.iter().any(|w| w == op), "{op} in {wrote:?}");
    }

    calls.clear();
    let again = engine.plan(&settings, &ous).await.unwrap();
    assert!(again.is_empty(), "{:?}", again.lines());
    let mut status = again.status(&engine.caller);
    engine
        .compliance(&again, &settings, &mut status)
        .await
        .unwrap();
    assert_eq!(status.compliance.len(), 2, "{status:?}");
    // (The aggregator's Config client is the engine's own and not recorded here.)
    assert_eq!(
        calls.mutating(),
        Vec::<String>::new(),
        "status only reads: {:?}",
        calls.all()
    );
}
