//! Every way a request can fail, as the HTTP status and the stable machine code a client
//! matches on ([`ErrorCode`]), and the JSON error body.

use privatelink_router::domain::exposure::Denial;
use privatelink_router::domain::net::Refusal;
use privatelink_router::domain::validation::ValidationError;
use privatelink_router::flows::service::ServiceError;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::MAX_BODY_BYTES;

/// Why a request was refused or failed: transport problems found here, or a [`ServiceError`].
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// No IAM principal in the request context (the route is not behind IAM authorization).
    #[error("no IAM caller identity in the request (requestContext.authorizer.iam.userArn)")]
    Unauthenticated,
    /// The body is larger than [`MAX_BODY_BYTES`].
    #[error("request body is {size} bytes; the limit is {MAX_BODY_BYTES}")]
    PayloadTooLarge {
        /// Size seen (encoded size when base64-encoded).
        size: usize,
    },
    /// The body is missing or cannot be decoded (bad base64).
    #[error("{0}")]
    InvalidBody(String),
    /// The event is not an HTTP request `lambda_http` can build (a path or host that is not
    /// a URI); API Gateway never sends one, a direct invoke can.
    #[error("not a valid HTTP request: {0}")]
    InvalidRequest(String),
    /// The body is not JSON.
    #[error("body is not valid JSON: {0}")]
    InvalidJson(String),
    /// The body has a field the endpoint does not know.
    #[error("{0}")]
    UnknownField(String),
    /// The body is JSON of the wrong shape (missing field, wrong type).
    #[error("{0}")]
    InvalidShape(String),
    /// A query parameter is unknown, repeated or malformed.
    #[error("{0}")]
    InvalidQuery(String),
    /// The `{id}` path segment is not a valid route name.
    #[error("{0:?} is not a route id: 1-64 characters of a-z, 0-9 and '-'")]
    InvalidRouteId(String),
    /// No endpoint has this path.
    #[error("no endpoint at {0}")]
    UnknownEndpoint(String),
    /// The path exists but not with this method.
    #[error("{method} is not allowed here; allowed: {allow}")]
    MethodNotAllowed {
        /// Method used.
        method: String,
        /// Methods the path accepts (also sent as the `Allow` header).
        allow: &'static str,
    },
    /// The service refused or failed.
    #[error(transparent)]
    Service(#[from] ServiceError),
}

/// The stable, machine-readable code of every error answer (`error.code`), with one HTTP
/// status each. Clients branch on it; the message is for people.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// The body is not JSON.
    InvalidJson,
    /// The body is missing or blank, or flagged base64 and not base64.
    InvalidBody,
    /// The event is no HTTP request: a path or host that is not a URI (only a direct invoke
    /// sends one).
    InvalidRequest,
    /// A query parameter is unknown, repeated or malformed.
    InvalidQuery,
    /// The `{id}` path segment is not a route id.
    InvalidRouteId,
    /// The body has a field the endpoint does not know.
    UnknownField,
    /// Wrong type, missing field, or a value outside the rules: route name, RFC 1123 host and
    /// the allowed suffixes, port, health check ranges, tags.
    ValidationFailed,
    /// Only `TCP` is supported.
    UnsupportedProtocol,
    /// The host resolves only to addresses that may not be NLB targets.
    PublicAddress,
    /// The route's database port is not one of the deployment's `database_ports`
    /// (`ROUTER_DATABASE_PORTS`).
    DatabasePortNotAllowed,
    /// The host answers an address outside the deployment's `database_cidrs`
    /// (`ROUTER_DATABASE_CIDRS`).
    OutsideDatabaseCidrs,
    /// The host answers one of the router's own addresses (an NLB node, a VPC endpoint's or a
    /// Lambda's interface in the router VPC): never a target.
    RouterAddress,
    /// The caller is no admin and the database is not verifiably its own: not an RDS database
    /// of its account or of an account granted to it in `caller_grants`
    /// (`ROUTER_CALLER_GRANTS`), nor a name under a granted host suffix.
    NotInCallerGrants,
    /// A quota of the deployment would be exceeded: routes or TLS names per owner, or the
    /// addresses a name answers (`quotas` in Terraform; the message names which).
    QuotaExceeded,
    /// No IAM caller in the request context.
    Unauthenticated,
    /// Only admins may pin a `listener_port` or take over a `target_group`.
    PinNotAllowed,
    /// No such route, or another owner's (the same answer, so a route name's existence is
    /// not revealed).
    NotFound,
    /// No such path.
    UnknownEndpoint,
    /// The path does not take this method; the `Allow` header lists those it takes.
    MethodNotAllowed,
    /// The body exceeds 16 KiB (decoded).
    PayloadTooLarge,
    /// The name exists with a different definition or another owner.
    Conflict,
    /// Every router has 50 listeners, no free port is left in the range, or no router's NLB
    /// has room for the route's targets and a failover of its largest route
    /// (`ROUTER_TARGETS_PER_NLB`, default 500).
    CapacityExhausted,
    /// A concurrent change won the race: retry after `Retry-After` seconds.
    Busy,
    /// A listener the router does not own holds the route's port.
    PortInUse,
    /// The pinned `listener_port` is held by another route or quarantined.
    PortPinned,
    /// A target group with the route's name exists without the router's ownership tags.
    TargetGroupNotOurs,
    /// The router's NLB holds as many targets as it may (`TooManyTargets`: 500 with
    /// cross-zone load balancing): the route keeps its old targets and says so.
    TargetQuotaFull,
    /// `tls_name`: every router's private endpoint rule has its 10 domain names.
    TlsNamesFull,
    /// `tls_name`: another route already serves the host by its own name.
    TlsNameTaken,
    /// An AWS call (ELBv2, DynamoDB, EC2) failed; retrying the same request is safe and
    /// completes a change cut short.
    UpstreamError,
    /// A stored route item the router cannot read (a table edited by hand, or written by a
    /// newer version); retrying does not help, the message names the item.
    InternalError,
}

impl ErrorCode {
    /// The HTTP status every answer with this code has: input problems are 4xx; only AWS
    /// failing (or our own stored data) gives a 5xx.
    pub fn status(self) -> u16 {
        use ErrorCode::*;
        match self {
            InvalidJson | InvalidBody | InvalidRequest | InvalidQuery | InvalidRouteId => 400,
            Unauthenticated => 401,
            PinNotAllowed
            | DatabasePortNotAllowed
            | OutsideDatabaseCidrs
            | RouterAddress
            | NotInCallerGrants
            | QuotaExceeded => 403,
            NotFound | UnknownEndpoint => 404,
            MethodNotAllowed => 405,
            Conflict | CapacityExhausted | Busy | PortInUse | PortPinned | TargetGroupNotOurs
            | TargetQuotaFull | TlsNamesFull | TlsNameTaken => 409,
            PayloadTooLarge => 413,
            UnknownField | ValidationFailed | UnsupportedProtocol | PublicAddress => 422,
            InternalError => 500,
            UpstreamError => 502,
        }
    }
}

/// The body of every error answer.
#[derive(Debug, Serialize, JsonSchema)]
#[schemars(rename = "Error")]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// An error's code and message.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ErrorDetail {
    /// Stable; clients branch on it.
    pub code: ErrorCode,
    /// One line for people, with the fix when known; may change.
    pub message: String,
}

impl ApiError {
    /// The JSON answer: `{"error": {"code", "message"}}` ([`ErrorBody`]). An AWS failure's
    /// answer names the service, operation and AWS error code only: AWS's own text carries
    /// role, session and resource ARNs, which stay in the router's log (the request id finds
    /// them).
    pub fn body(&self) -> ErrorBody {
        ErrorBody {
            error: ErrorDetail {
                code: self.code(),
                message: self.public_message(),
            },
        }
    }

    /// The message a caller sees: [`ApiError`]'s text, except for AWS failures.
    fn public_message(&self) -> String {
        use privatelink_router::adapters::aws::store::StoreError;
        let aws = |service: &str, operation: &str, code: &Option<String>| {
            format!(
                "{service} {operation} failed ({}); retrying the same request is safe, and the router's log has the detail under this request's id",
                code.as_deref().unwrap_or("no error code")
            )
        };
        match self {
            ApiError::Service(ServiceError::Elb(e)) if self.status() >= 500 => {
                aws("ELBv2", e.operation, &e.code)
            }
            ApiError::Service(ServiceError::Store(StoreError::Aws {
                operation, code, ..
            })) => aws("DynamoDB", operation, code),
            _ => self.to_string(),
        }
    }

    /// The one mapping from an error to its stable code (and so its HTTP status).
    pub fn code(&self) -> ErrorCode {
        match self {
            ApiError::Unauthenticated => ErrorCode::Unauthenticated,
            ApiError::PayloadTooLarge { .. } => ErrorCode::PayloadTooLarge,
            ApiError::InvalidBody(_) => ErrorCode::InvalidBody,
            ApiError::InvalidRequest(_) => ErrorCode::InvalidRequest,
            ApiError::InvalidJson(_) => ErrorCode::InvalidJson,
            ApiError::UnknownField(_) => ErrorCode::UnknownField,
            ApiError::InvalidShape(_) => ErrorCode::ValidationFailed,
            ApiError::InvalidQuery(_) => ErrorCode::InvalidQuery,
            ApiError::InvalidRouteId(_) => ErrorCode::InvalidRouteId,
            ApiError::UnknownEndpoint(_) => ErrorCode::UnknownEndpoint,
            ApiError::MethodNotAllowed { .. } => ErrorCode::MethodNotAllowed,
            ApiError::Service(e) => match e {
                ServiceError::Invalid(ValidationError::Protocol(_)) => {
                    ErrorCode::UnsupportedProtocol
                }
                ServiceError::Invalid(_) => ErrorCode::ValidationFailed,
                ServiceError::PublicAddress { .. } => ErrorCode::PublicAddress,
                ServiceError::Denied(d) => match d {
                    Denial::Port { .. } => ErrorCode::DatabasePortNotAllowed,
                    Denial::Addresses {
                        refusal: Refusal::RouterAddress,
                        ..
                    } => ErrorCode::RouterAddress,
                    Denial::Addresses { .. } => ErrorCode::OutsideDatabaseCidrs,
                    Denial::NotOwner { .. } => ErrorCode::NotInCallerGrants,
                    Denial::Quota { .. } => ErrorCode::QuotaExceeded,
                },
                ServiceError::NotFound(_) => ErrorCode::NotFound,
                ServiceError::Conflict { .. } => ErrorCode::Conflict,
                ServiceError::PortPinned { .. } => ErrorCode::PortPinned,
                ServiceError::PortServed { .. } => ErrorCode::PortInUse,
                ServiceError::PinNotAllowed { .. } => ErrorCode::PinNotAllowed,
                ServiceError::CapacityExhausted(_) => ErrorCode::CapacityExhausted,
                ServiceError::TlsNamesFull(_) => ErrorCode::TlsNamesFull,
                ServiceError::TlsNameTaken { .. } => ErrorCode::TlsNameTaken,
                ServiceError::Busy(_) => ErrorCode::Busy,
                ServiceError::Elb(e) => match e.code.as_deref() {
                    Some("ListenerPortTaken") => ErrorCode::PortInUse,
                    Some("TargetGroupNotOurs") => ErrorCode::TargetGroupNotOurs,
                    Some("TooManyTargets") => ErrorCode::TargetQuotaFull,
                    _ => ErrorCode::UpstreamError,
                },
                ServiceError::Store(
                    privatelink_router::adapters::aws::store::StoreError::Codec(_),
                ) => ErrorCode::InternalError,
                ServiceError::Store(_) => ErrorCode::UpstreamError,
            },
        }
    }

    /// The HTTP status of the answer ([`ErrorCode::status`]).
    pub fn status(&self) -> u16 {
        self.code().status()
    }
}
