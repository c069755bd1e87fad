//! The Config rule Lambda (`bootstrap`, built by `scripts/build-lambda`): JSON logs, then
//! [`cmk_rule::lambda::serve`].
// The handler future (SDK calls nested in the sweep) is deeper than rustc's default layout limit.
#![recursion_limit = "256"]

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    cmk_rule::lambda::init_logging();
    cmk_rule::lambda::serve().await
}
