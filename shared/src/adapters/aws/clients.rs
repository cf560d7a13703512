//! AWS client construction: one place for retry/timeout policy and per-operation call counts.
//!
//! Policy (deliberate, see README "AWS retry and timeouts"): standard retry mode, 4 attempts
//! with exponential backoff and jitter (SDK default base 1 s, max 20 s) — throttling storms are
//! absorbed, a dead endpoint fails within the Lambda timeout; 2 s connect timeout; 5 s per
//! attempt; 25 s per operation including retries.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_config::timeout::TimeoutConfig;
use aws_config::SdkConfig;
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, FinalizerInterceptorContextRef,
};
use aws_smithy_runtime_api::client::interceptors::{Intercept, SharedInterceptor};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

/// Counts AWS calls by operation name (e.g. `DescribeTargetHealth`; operations, not retries),
/// and throttled attempts (any service, retries included), for audit reports, metrics and
/// benchmarks.
#[derive(Debug, Clone, Default)]
pub struct CallCounter(Arc<Mutex<Counts>>);

#[derive(Debug, Default)]
struct Counts {
    calls: BTreeMap<String, u64>,
    throttles: u64,
}

/// The error codes AWS services answer when a caller is over its request rate: the list the
/// SDK's own retry classifier treats as throttling (`aws-runtime`, `THROTTLING_ERRORS`), as
/// ELBv2 and RDS (`Throttling`), DynamoDB (`ThrottlingException`) and EC2
/// (`RequestLimitExceeded`) send them.
const THROTTLING_CODES: [&str; 8] = [
    "Throttling",
    "ThrottlingException",
    "ThrottledException",
    "RequestThrottledException",
    "TooManyRequestsException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "SlowDown",
];

/// True when an HTTP answer is a throttling error: status 429, or a 400/503 whose body names
/// one of [`THROTTLING_CODES`] (XML `<Code>…</Code>` or JSON `"__type":"…#Code"`).
fn is_throttle(status: u16, body: &[u8]) -> bool {
    if status == 429 {
        return true;
    }
    if status != 400 && status != 503 {
        return false;
    }
    let body = String::from_utf8_lossy(body);
    THROTTLING_CODES.iter().any(|code| {
        body.contains(&format!("<Code>{code}</Code>"))
            || body.contains(&format!("#{code}\""))
            || body.contains(&format!("\"{code}\""))
    })
}

impl CallCounter {
    /// Calls so far, by operation name.
    pub fn snapshot(&self) -> BTreeMap<String, u64> {
        self.0.lock().map(|m| m.calls.clone()).unwrap_or_default()
    }

    /// Calls since an earlier snapshot.
    pub fn since(&self, before: &BTreeMap<String, u64>) -> BTreeMap<String, u64> {
        self.snapshot()
            .into_iter()
            .map(|(k, v)| {
                let d = v - before.get(&k).copied().unwrap_or(0);
                (k, d)
            })
            .filter(|(_, v)| *v > 0)
            .collect()
    }

    /// Calls and throttled attempts so far (a throttled attempt is one the SDK then retried
    /// or gave up on).
    pub fn usage(&self) -> Usage {
        self.0
            .lock()
            .map(|m| Usage {
                calls: m.calls.values().sum(),
                throttles: m.throttles,
            })
            .unwrap_or_default()
    }
}

/// AWS calls (operations) and throttled attempts, in all: the `AwsCalls` and `AwsThrottles`
/// metrics.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Usage {
    /// Operations called.
    pub calls: u64,
    /// Attempts AWS answered with a throttling error.
    pub throttles: u64,
}

impl Usage {
    /// What was used after `before` was read.
    pub fn since(self, before: Usage) -> Usage {
        Usage {
            calls: self.calls.saturating_sub(before.calls),
            throttles: self.throttles.saturating_sub(before.throttles),
        }
    }
}

impl Intercept for CallCounter {
    fn name(&self) -> &'static str {
        "CallCounter"
    }

    // Not `read_before_execution`: client-level interceptors run that hook before the
    // operation's runtime plugin has stored its `Metadata`, so nothing would be counted.
    // `read_before_serialization` runs once per operation, after all configuration.
    fn read_before_serialization(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(md) = cfg.load::<Metadata>() {
            if let Ok(mut m) = self.0.lock() {
                *m.calls.entry(md.name().to_owned()).or_default() += 1;
            }
        }
        Ok(())
    }

    // Once per attempt; the body of a non-streaming answer is in memory by then.
    fn read_after_attempt(
        &self,
        context: &FinalizerInterceptorContextRef<'_>,
        _components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(response) = context.response() {
            let body = response.body().bytes().unwrap_or_default();
            if is_throttle(response.status().as_u16(), body) {
                if let Ok(mut m) = self.0.lock() {
                    m.throttles += 1;
                }
            }
        }
        Ok(())
    }
}

/// An AWS SDK error as one line of text: each error of its `source()` chain by its `Display`,
/// joined with `: ` (repeats dropped), e.g. `service error: ResourceNotFoundException:
/// Requested resource not found`. Unlike the SDK's `DisplayErrorContext`, no `Debug` dump of
/// the raw HTTP response (headers included) ends up in API answers, logs or `plr` output.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut parts: Vec<String> = Vec::new();
    let mut next = Some(err);
    while let Some(e) = next {
        let text = e.to_string();
        if !text.is_empty() && !parts.last().is_some_and(|p| p.contains(&text)) {
            parts.push(text);
        }
        next = e.source();
    }
    parts.join(": ")
}

/// The SDK clients the router uses, sharing one config and one call counter.
#[derive(Debug, Clone)]
pub struct Clients {
    /// ELBv2.
    pub elb: aws_sdk_elasticloadbalancingv2::Client,
    /// DynamoDB.
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// EC2 (subnets, VPC CIDRs, NLB network interfaces).
    pub ec2: aws_sdk_ec2::Client,
    /// RDS in the router's own account (cluster members of reader and custom endpoints).
    pub rds: aws_sdk_rds::Client,
    /// The SDK configuration the clients were built from (for clients of assumed roles).
    pub sdk: SdkConfig,
    /// Calls made through these clients.
    pub calls: CallCounter,
}

/// The router's retry policy.
pub fn retry_config() -> RetryConfig {
    RetryConfig::standard().with_max_attempts(4)
}

/// The router's timeout policy.
pub fn timeout_config() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(Duration::from_secs(5))
        .operation_timeout(Duration::from_secs(25))
        .build()
}

/// The policy for calls made during a Lambda's cold start (reading each router's NLB, VPC and
/// subnets): 2 attempts, 1 s connect, 2 s per attempt, 5 s in all. Lambda's init phase lasts
/// 10 s; an unreachable or hung endpoint must be named in a log line well before that, not
/// after the 25 s operation timeout of ordinary calls.
pub fn cold_start_config(sdk: &SdkConfig) -> SdkConfig {
    sdk.to_builder()
        .retry_config(RetryConfig::standard().with_max_attempts(2))
        .timeout_config(
            TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(1))
                .operation_attempt_timeout(Duration::from_secs(2))
                .operation_timeout(Duration::from_secs(5))
                .build(),
        )
        .build()
}

/// Loads the SDK's own configuration chain (`AWS_REGION`, credentials, `AWS_ENDPOINT_URL`…)
/// with the router's retry and timeout policy.
pub async fn sdk_config_from_env() -> SdkConfig {
    sdk_config_with(None, None).await
}

/// The SDK configuration of an operator's tool (`plr`): the SDK's own chain (profile,
/// credentials, `AWS_REGION`) with the router's retry and timeout policy, and the tool's
/// `--endpoint-url` and `--region` flags over it when given.
pub async fn sdk_config_with(endpoint_url: Option<&str>, region: Option<&str>) -> SdkConfig {
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .retry_config(retry_config())
        .timeout_config(timeout_config());
    if let Some(url) = endpoint_url {
        loader = loader.endpoint_url(url);
    }
    if let Some(region) = region {
        loader = loader.region(aws_config::Region::new(region.to_owned()));
    }
    loader.load().await
}

/// The configuration's region, if it names one (blank counts as none).
pub fn region_of(sdk: &SdkConfig) -> Option<String> {
    sdk.region()
        .map(|r| r.as_ref().trim().to_owned())
        .filter(|r| !r.is_empty())
}

/// No credentials came from the configuration's provider chain; the source says why.
#[derive(Debug, thiserror::Error)]
#[error(transparent)]
pub struct NoCredentials(Box<dyn std::error::Error + Send + Sync>);

/// Asks the configuration's credential provider for credentials once, so a tool can say
/// "no credentials" before its first call fails with a less plain error.
pub async fn check_credentials(sdk: &SdkConfig) -> Result<(), NoCredentials> {
    use aws_sdk_dynamodb::config::ProvideCredentials;
    match sdk.credentials_provider() {
        Some(p) => p
            .provide_credentials()
            .await
            .map(drop)
            .map_err(|e| NoCredentials(Box::new(e))),
        None => Err(NoCredentials("no credentials provider".into())),
    }
}

impl Clients {
    /// Loads the SDK's own configuration chain (`AWS_REGION`, credentials, `AWS_ENDPOINT_URL`…).
    pub async fn from_env() -> Self {
        Self::from_sdk_config(&sdk_config_from_env().await)
    }

    /// Builds the clients from an SDK config (tests pass one pointing at moto).
    pub fn from_sdk_config(sdk: &SdkConfig) -> Self {
        Self::build(sdk, None)
    }

    /// Like [`Clients::from_sdk_config`], with one more interceptor on every client (tests
    /// use it to fail the n-th AWS call or to record the requests sent).
    pub fn from_sdk_config_with(sdk: &SdkConfig, extra: impl Intercept + 'static) -> Self {
        Self::build(sdk, Some(SharedInterceptor::new(extra)))
    }

    fn build(sdk: &SdkConfig, extra: Option<SharedInterceptor>) -> Self {
        let calls = CallCounter::default();
        let mut elb = aws_sdk_elasticloadbalancingv2::config::Builder::from(sdk);
        elb.push_interceptor(SharedInterceptor::new(calls.clone()));
        let mut dynamodb = aws_sdk_dynamodb::config::Builder::from(sdk);
        dynamodb.push_interceptor(SharedInterceptor::new(calls.clone()));
        let mut ec2 = aws_sdk_ec2::config::Builder::from(sdk);
        ec2.push_interceptor(SharedInterceptor::new(calls.clone()));
        if let Some(extra) = &extra {
            elb.push_interceptor(extra.clone());
            dynamodb.push_interceptor(extra.clone());
            ec2.push_interceptor(extra.clone());
        }
        let (elb, dynamodb, ec2) = (elb.build(), dynamodb.build(), ec2.build());
        let mut clients = Self {
            elb: aws_sdk_elasticloadbalancingv2::Client::from_conf(elb),
            dynamodb: aws_sdk_dynamodb::Client::from_conf(dynamodb),
            ec2: aws_sdk_ec2::Client::from_conf(ec2),
            rds: aws_sdk_rds::Client::new(sdk),
            sdk: sdk.clone(),
            calls,
        };
        let mut rds = aws_sdk_rds::config::Builder::from(sdk);
        if let Some(extra) = extra {
            rds.push_interceptor(extra);
        }
        clients.rds = clients.rds_client(rds);
        clients
    }

    /// RDS is optional (members of reader endpoints, the database's account): its calls get a
    /// short policy — 2 attempts, 2 s each, 4 s in all — so a slow or hung RDS API falls back
    /// to DNS in seconds instead of holding a route creation past API Gateway's 29 s.
    fn rds_client(&self, rds: aws_sdk_rds::config::Builder) -> aws_sdk_rds::Client {
        let mut rds = rds
            .retry_config(RetryConfig::standard().with_max_attempts(2))
            .timeout_config(
                TimeoutConfig::builder()
                    .connect_timeout(Duration::from_secs(1))
                    .operation_attempt_timeout(Duration::from_secs(2))
                    .operation_timeout(Duration::from_secs(4))
                    .build(),
            );
        rds.push_interceptor(SharedInterceptor::new(self.calls.clone()));
        aws_sdk_rds::Client::from_conf(rds.build())
    }

    /// An RDS client acting as `role_arn` (another account's read-only role), with the same
    /// retry, timeout and call counting. Credentials are fetched on first use and refreshed
    /// by the SDK (STS AssumeRole).
    pub async fn rds_as(&self, role_arn: &str) -> aws_sdk_rds::Client {
        let provider = aws_config::sts::AssumeRoleProvider::builder(role_arn)
            .session_name("privatelink-router")
            .configure(&self.sdk)
            .build()
            .await;
        self.rds_client(
            aws_sdk_rds::config::Builder::from(&self.sdk).credentials_provider(provider),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::is_throttle;

    #[test]
    fn error_chains_read_as_one_line_of_displays() {
        let io = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "Connection refused");
        #[derive(Debug, thiserror::Error)]
        #[error("dispatch failure")]
        struct Outer(#[source] std::io::Error);
        assert_eq!(
            super::error_chain(&Outer(io)),
            "dispatch failure: Connection refused"
        );
    }

    #[test]
    fn throttles_are_told_from_other_errors_in_each_wire_format() {
        let elb = b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>\
                    <Message>Rate exceeded</Message></Error></ErrorResponse>";
        let dynamo = br#"{"__type":"com.amazonaws.dynamodb.v20120810#ThrottlingException"}"#;
        let ec2 = b"<Response><Errors><Error><Code>RequestLimitExceeded</Code></Error></Errors></Response>";
        let not_found =
            b"<ErrorResponse><Error><Code>TargetGroupNotFound</Code></Error></ErrorResponse>";
        assert!(is_throttle(400, elb));
        assert!(is_throttle(400, dynamo));
        assert!(is_throttle(503, ec2));
        assert!(is_throttle(429, b""));
        assert!(!is_throttle(400, not_found));
        assert!(!is_throttle(200, elb));
        assert!(!is_throttle(500, b"InternalFailure"));
    }
}
