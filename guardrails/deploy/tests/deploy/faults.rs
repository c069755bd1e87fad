//! Deploy faults no emulator produces (moto runs every StackSet operation synchronously and never
//! reports a concurrent Organizations write), with aws-smithy-mocks: another operation in progress
//! is waited out and the call retried under the same OperationId; a failed operation reports each
//! failed account and Region with its reason; AccessDenied names the permission; a concurrent
//! Organizations modification is retried; a central function stack that rolls back names each
//! failed resource.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_cloudformation::Client;
use aws_sdk_cloudformation::operation::create_stack_instances::{
    CreateStackInstancesError, CreateStackInstancesOutput,
};
use aws_sdk_cloudformation::operation::describe_stack_set_operation::DescribeStackSetOperationOutput;
use aws_sdk_cloudformation::operation::list_stack_set_operation_results::ListStackSetOperationResultsOutput;
use aws_sdk_cloudformation::operation::list_stack_set_operations::ListStackSetOperationsOutput;
use aws_sdk_cloudformation::types::{
    StackSetOperation, StackSetOperationResultStatus, StackSetOperationResultSummary,
    StackSetOperationStatus, StackSetOperationSummary,
};
use aws_smithy_mocks::{Rule, RuleMode, mock, mock_client};
use aws_smithy_types::error::ErrorMetadata;
use guardrails_deploy::cfn::{OperationLog, Polling, Quiet, StackSetError, StackSets};
use guardrails_deploy::settings::Rollout;
use guardrails_deploy::stackset::{DesiredStackSet, StackStep};

fn operation(
    status: StackSetOperationStatus,
    reason: Option<&str>,
) -> DescribeStackSetOperationOutput {
    DescribeStackSetOperationOutput::builder()
        .stack_set_operation(
            StackSetOperation::builder()
                .status(status)
                .set_status_reason(reason.map(str::to_owned))
                .build(),
        )
        .build()
}

fn no_results() -> ListStackSetOperationResultsOutput {
    ListStackSetOperationResultsOutput::builder().build()
}

fn stack_sets(rules: &[&Rule]) -> StackSets {
    let client: Client = mock_client!(aws_sdk_cloudformation, RuleMode::Sequential, rules);
    let mut s = StackSets::new(client);
    s.polling = Polling {
        first: Duration::from_millis(1),
        max: Duration::from_millis(2),
        timeout: Duration::from_secs(5),
    };
    s
}

fn desired() -> DesiredStackSet {
    DesiredStackSet {
        template: "{}".into(),
        parameters: Default::default(),
        regions: vec!["eu-west-1".into()],
        targets: vec!["ou-ab12-11111111".into()],
    }
}

fn deploy_step() -> StackStep {
    StackStep::CreateInstances {
        ou: "ou-ab12-11111111".into(),
        regions: vec!["eu-west-1".into()],
    }
}

#[tokio::test]
async fn operation_in_progress_is_waited_out_then_retried_with_the_same_operation_id() {
    let first_id = Arc::new(Mutex::new(String::new()));
    let seen = first_id.clone();
    let busy = mock!(Client::create_stack_instances)
        .match_requests(move |r| {
            *seen.lock().unwrap() = r.operation_id().unwrap_or_default().to_owned();
            true
        })
        .then_error(|| {
            CreateStackInstancesError::generic(
                ErrorMetadata::builder()
                    .code("OperationInProgressException")
                    .message("Another Operation on StackSet is in progress")
                    .build(),
            )
        });
    let running = mock!(Client::list_stack_set_operations).then_output(|| {
        ListStackSetOperationsOutput::builder()
            .summaries(
                StackSetOperationSummary::builder()
                    .operation_id("someone-elses")
                    .status(StackSetOperationStatus::Running)
                    .build(),
            )
            .build()
    });
    let still = mock!(Client::describe_stack_set_operation)
        .match_requests(|r| r.operation_id() == Some("someone-elses"))
        .then_output(|| operation(StackSetOperationStatus::Running, None));
    let results_1 = mock!(Client::list_stack_set_operation_results).then_output(no_results);
    let over = mock!(Client::describe_stack_set_operation)
        .match_requests(|r| r.operation_id() == Some("someone-elses"))
        .then_output(|| operation(StackSetOperationStatus::Succeeded, None));
    let results_2 = mock!(Client::list_stack_set_operation_results).then_output(no_results);
    let expected = first_id.clone();
    let retried = mock!(Client::create_stack_instances)
        .match_requests(move |r| r.operation_id() == Some(expected.lock().unwrap().as_str()))
        .then_output(|| CreateStackInstancesOutput::builder().build());
    let ours = mock!(Client::describe_stack_set_operation)
        .then_output(|| operation(StackSetOperationStatus::Succeeded, None));
    let results_3 = mock!(Client::list_stack_set_operation_results).then_output(no_results);
    let s = stack_sets(&[
        &busy, &running, &still, &results_1, &over, &results_2, &retried, &ours, &results_3,
    ]);
    let done = s
        .writer()
        .apply(
            &[deploy_step()],
            &desired(),
            &Rollout::default(),
            &OperationLog::default(),
            &Quiet,
        )
        .await
        .unwrap();
    assert_eq!(done.len(), 1);
    assert_eq!(
        retried.num_calls(),
        1,
        "retried once, under the same operation id"
    );
    assert!(first_id.lock().unwrap().starts_with("cmk-"));
}

#[tokio::test]
async fn a_failed_operation_names_each_failed_account_and_region() {
    let submit = mock!(Client::create_stack_instances)
        .then_output(|| CreateStackInstancesOutput::builder().build());
    let failed = mock!(Client::describe_stack_set_operation).then_output(|| {
        operation(
            StackSetOperationStatus::Failed,
            Some("The Operation failed: failure tolerance exceeded"),
        )
    });
    let results = mock!(Client::list_stack_set_operation_results).then_output(|| {
        ListStackSetOperationResultsOutput::builder()
            .summaries(
                StackSetOperationResultSummary::builder()
                    .account("111111111111")
                    .region("eu-west-1")
                    .status(StackSetOperationResultStatus::Failed)
                    .status_reason("ResourceLogicalId:RuleFunction, ResourceType:AWS::Lambda::Function, ResourceStatusReason:S3 Error Code: NoSuchBucket")
                    .build(),
            )
            .summaries(
                StackSetOperationResultSummary::builder()
                    .account("222222222222")
                    .region("eu-west-1")
                    .status(StackSetOperationResultStatus::Succeeded)
                    .build(),
            )
            .build()
    });
    let s = stack_sets(&[&submit, &failed, &results]);
    let err = s
        .writer()
        .apply(
            &[deploy_step()],
            &desired(),
            &Rollout::default(),
            &OperationLog::default(),
            &Quiet,
        )
        .await
        .unwrap_err();
    let StackSetError::OperationFailed {
        failures, status, ..
    } = &err
    else {
        panic!("{err}");
    };
    assert_eq!(status, "FAILED");
    assert_eq!(failures.len(), 2, "{failures:?}");
    assert!(
        failures[1].starts_with("111111111111/eu-west-1: FAILED"),
        "{failures:?}"
    );
    assert!(err.to_string().contains("NoSuchBucket"), "{err}");
    assert!(!err.to_string().contains("222222222222"), "{err}");
}

#[tokio::test]
async fn access_denied_names_the_missing_permission() {
    let denied = mock!(Client::create_stack_instances).then_error(|| {
        CreateStackInstancesError::generic(
            ErrorMetadata::builder()
                .code("AccessDeniedException")
                .message("User is not authorized")
                .build(),
        )
    });
    let s = stack_sets(&[&denied]);
    let err = s
        .writer()
        .apply(
            &[deploy_step()],
            &desired(),
            &Rollout::default(),
            &OperationLog::default(),
            &Quiet,
        )
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("needs cloudformation:CreateStackInstances"),
        "{err}"
    );
}

#[tokio::test]
async fn a_concurrent_organizations_change_is_retried() {
    use aws_sdk_organizations::operation::attach_policy::{AttachPolicyError, AttachPolicyOutput};
    use guardrails_deploy::org::Organization;
    use guardrails_deploy::plan::{Observed, Step};

    let attach = mock!(aws_sdk_organizations::Client::attach_policy)
        .sequence()
        .error(|| {
            AttachPolicyError::generic(
                ErrorMetadata::builder()
                    .code("ConcurrentModificationException")
                    .message("AWS Organizations can't complete your request because it conflicts with another attempt to modify the same entity")
                    .build(),
            )
        })
        .output(|| AttachPolicyOutput::builder().build())
        .build();
    let client: aws_sdk_organizations::Client =
        mock_client!(aws_sdk_organizations, RuleMode::MatchAny, &[&attach]);
    let done = Organization(client)
        .writer()
        .apply(
            "r-ab12",
            &Observed::default(),
            &[Step::Attach {
                name: "cmk-guardrails-1".into(),
                target: "ou-ab12-11111111".into(),
            }],
        )
        .await
        .unwrap();
    assert_eq!(done.len(), 1);
    assert_eq!(attach.num_calls(), 2);
}

/// A central function stack whose creation rolls back (a failure CloudFormation reports after the
/// call succeeded: the emulator creates every stack at once) is an error naming the stack, the
/// Region, the final status and each failed resource with CloudFormation's reason.
#[tokio::test]
async fn a_rolled_back_central_stack_names_each_failed_resource() {
    use aws_sdk_cloudformation::operation::create_stack::CreateStackOutput;
    use aws_sdk_cloudformation::operation::describe_stack_events::DescribeStackEventsOutput;
    use aws_sdk_cloudformation::operation::describe_stacks::DescribeStacksOutput;
    use aws_sdk_cloudformation::types::{ResourceStatus, Stack, StackEvent, StackStatus};
    use guardrails_deploy::central::{CentralStep, DesiredCentral, ObservedCentral, Regional};

    let stack = |status: StackStatus| {
        DescribeStacksOutput::builder()
            .stacks(
                Stack::builder()
                    .stack_name("cmk-guardrails-central")
                    .stack_status(status)
                    .creation_time(aws_smithy_types::DateTime::from_secs(0))
                    .build(),
            )
            .build()
    };
    let create = mock!(Client::create_stack).then_output(|| CreateStackOutput::builder().build());
    let progress =
        mock!(Client::describe_stacks).then_output(move || stack(StackStatus::CreateInProgress));
    let rolled_back =
        mock!(Client::describe_stacks).then_output(move || stack(StackStatus::RollbackComplete));
    let events = mock!(Client::describe_stack_events).then_output(|| {
        DescribeStackEventsOutput::builder()
            .stack_events(
                StackEvent::builder()
                    .stack_id("s")
                    .event_id("e1")
                    .stack_name("cmk-guardrails-central")
                    .timestamp(aws_smithy_types::DateTime::from_secs(0))
                    .logical_resource_id("RuleFunction")
                    .resource_status(ResourceStatus::CreateFailed)
                    .resource_status_reason("Resource handler returned message: \"Unzipped size must be smaller than 262144000 bytes\"")
                    .build(),
            )
            .build()
    });
    let cfn: Client = mock_client!(
        aws_sdk_cloudformation,
        RuleMode::Sequential,
        &[&create, &progress, &rolled_back, &events]
    );
    let sdk = aws_config::SdkConfig::builder()
        .behavior_version(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new("eu-west-1"))
        .build();
    let regional = Regional {
        cfn,
        polling: (Duration::from_millis(1), Duration::from_millis(2)),
        ..Regional::new(&sdk, "eu-west-1")
    };
    let desired = DesiredCentral {
        region: "eu-west-1".into(),
        bucket: "cmk-guardrails-code-999999999999-eu-west-1".into(),
        code_template: "{}".into(),
        package_key: "cmk-guardrails/rule-x.zip".into(),
        package_bytes: 1,
        function_template: "{}".into(),
        function_parameters: Default::default(),
        accounts: Default::default(),
    };
    let err = regional
        .writer()
        .apply(
            &[CentralStep::CreateFunction {
                region: "eu-west-1".into(),
                accounts: 0,
            }],
            &desired,
            &ObservedCentral::default(),
            None,
        )
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.starts_with("stack cmk-guardrails-central in eu-west-1 ended ROLLBACK_COMPLETE")
            && err.contains("RuleFunction: Resource handler returned message: \"Unzipped size"),
        "{err}"
    );
}
