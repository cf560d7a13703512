//! The Databricks account API, the part the router uses: the private endpoint rules of one
//! network connectivity configuration (NCC), which tell serverless compute which domain names
//! resolve to which endpoint service (API reference, "Network connectivity" —
//! `/api/2.0/accounts/{account_id}/network-connectivity-configs/{ncc_id}/private-endpoint-rules`).
//!
//! Authentication is OAuth machine-to-machine with a service principal (Databricks docs,
//! "Authorize unattended access to Databricks resources with a service principal using
//! OAuth"): `POST {host}/oidc/accounts/{account_id}/v1/token` with HTTP basic authentication
//! (client id and secret), `grant_type=client_credentials&scope=all-apis`, answers
//! `{access_token, token_type, expires_in}`. The client secret is read from AWS Secrets Manager
//! on first use, never from the environment, and never logged ([`Databricks`]'s `Debug` leaves
//! it out).
//!
//! Errors are the API's JSON `{error_code, message}` with the HTTP status; 429 carries
//! `Retry-After` (seconds). Nothing here retries a change: the caller decides (the audit
//! comes back).

use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use tokio::sync::Mutex;

/// Where the router finds its Databricks account and NCC (`ROUTER_DATABRICKS_*`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DatabricksConfig {
    /// The accounts console host, e.g. `https://accounts.cloud.databricks.com`.
    pub host: String,
    /// The Databricks account id.
    pub account_id: String,
    /// The network connectivity configuration whose rules name the routers' endpoint services.
    pub ncc_id: String,
    /// The service principal's OAuth client id.
    pub client_id: String,
    /// ARN of the Secrets Manager secret holding the OAuth client secret (its `SecretString`).
    pub client_secret_arn: String,
}

/// A private endpoint rule as the API returns it (`NccPrivateEndpointRule`, AWS fields).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrivateEndpointRule {
    /// The rule's id.
    pub rule_id: String,
    /// The VPC endpoint service the rule connects to.
    #[serde(default)]
    pub endpoint_service: Option<String>,
    /// Domain names serverless compute resolves to the rule's private endpoint (at most 10).
    #[serde(default)]
    pub domain_names: Vec<String>,
    /// `CREATING`, `PENDING`, `ESTABLISHED`, `REJECTED`, `DISCONNECTED`, `EXPIRED`,
    /// `CREATE_FAILED`: the rule works only when `ESTABLISHED`; one left `PENDING` expires
    /// after 14 days (Databricks docs, "Manage private endpoint rules").
    #[serde(default)]
    pub connection_state: Option<String>,
    /// The VPC endpoint Databricks created (its connection is accepted on the AWS side).
    #[serde(default)]
    pub vpc_endpoint_id: Option<String>,
    /// Creation time, epoch milliseconds.
    #[serde(default)]
    pub creation_time: Option<i64>,
    /// Last update, epoch milliseconds.
    #[serde(default)]
    pub updated_time: Option<i64>,
}

/// A Databricks call failed.
#[derive(Debug, thiserror::Error)]
pub enum DatabricksError {
    /// The API answered an error.
    #[error("Databricks {operation}: HTTP {status} {code}: {message}")]
    Api {
        /// What was asked (`ListPrivateEndpointRules`, `token`, …).
        operation: &'static str,
        /// HTTP status.
        status: u16,
        /// The API's `error_code` (empty when the body had none).
        code: String,
        /// The API's `message`.
        message: String,
        /// Seconds to wait, from `Retry-After` (429, 503).
        retry_after: Option<u64>,
    },
    /// The answer is not the documented JSON.
    #[error("Databricks {operation}: the answer is not the documented JSON: {detail}")]
    Malformed {
        /// What was asked.
        operation: &'static str,
        /// Why it does not parse.
        detail: String,
    },
    /// The request did not get an answer (connection, timeout).
    #[error("Databricks {operation}: no answer: {detail}")]
    Transport {
        /// What was asked.
        operation: &'static str,
        /// The cause.
        detail: String,
    },
    /// The client secret could not be read from Secrets Manager.
    #[error("the Databricks client secret {arn} could not be read: {detail}")]
    Secret {
        /// The secret's ARN.
        arn: String,
        /// The cause.
        detail: String,
    },
}

/// The account API client: one OAuth token, reused until a minute before it expires.
pub struct Databricks {
    config: DatabricksConfig,
    http: reqwest::Client,
    secrets: aws_sdk_secretsmanager::Client,
    state: Mutex<Credentials>,
}

/// The client secret once read, and the current token with its end.
#[derive(Default)]
struct Credentials {
    secret: Option<String>,
    token: Option<(String, Instant)>,
}

impl std::fmt::Debug for Databricks {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Databricks")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

#[derive(Deserialize)]
struct Token {
    access_token: String,
    #[serde(default)]
    expires_in: Option<u64>,
}

#[derive(Deserialize)]
struct RulePage {
    #[serde(default)]
    items: Vec<PrivateEndpointRule>,
    #[serde(default)]
    next_page_token: Option<String>,
}

#[derive(Deserialize)]
struct ApiError {
    #[serde(default)]
    error_code: String,
    #[serde(default)]
    message: String,
}

impl Databricks {
    /// A client for `config`, reading the client secret through `secrets` when first needed.
    pub fn new(config: DatabricksConfig, secrets: aws_sdk_secretsmanager::Client) -> Self {
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(3))
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap_or_default();
        Self {
            config,
            http,
            secrets,
            state: Mutex::new(Credentials::default()),
        }
    }

    /// The configuration.
    pub fn config(&self) -> &DatabricksConfig {
        &self.config
    }

    fn rules_url(&self) -> String {
        format!(
            "{}/api/2.0/accounts/{}/network-connectivity-configs/{}/private-endpoint-rules",
            self.config.host.trim_end_matches('/'),
            self.config.account_id,
            self.config.ncc_id
        )
    }

    /// A bearer token: the cached one, or a new one from the token endpoint. The client
    /// secret is read from Secrets Manager once per sandbox, and again when the token endpoint
    /// refuses it (401 `invalid_client`: the secret was rotated), so a rotation needs no
    /// redeploy.
    async fn token(&self, fresh: bool) -> Result<String, DatabricksError> {
        let mut state = self.state.lock().await;
        if let (false, Some((token, until))) = (fresh, &state.token) {
            if Instant::now() < *until {
                return Ok(token.clone());
            }
        }
        let cached = state.secret.is_some();
        let secret = self.secret(&mut state, false).await?;
        let token = match self.request_token(&secret).await {
            Err(DatabricksError::Api { status: 401, .. }) if cached => {
                let secret = self.secret(&mut state, true).await?;
                self.request_token(&secret).await?
            }
            other => other?,
        };
        let lifetime = token.expires_in.unwrap_or(3600).saturating_sub(60);
        state.token = Some((
            token.access_token.clone(),
            Instant::now() + Duration::from_secs(lifetime),
        ));
        Ok(token.access_token)
    }

    /// The client secret: the one read before, or (when `again` or none was read) its
    /// current value from Secrets Manager.
    async fn secret(
        &self,
        state: &mut Credentials,
        again: bool,
    ) -> Result<String, DatabricksError> {
        if let (false, Some(secret)) = (again, &state.secret) {
            return Ok(secret.clone());
        }
        let arn = &self.config.client_secret_arn;
        let out = self
            .secrets
            .get_secret_value()
            .secret_id(arn)
            .send()
            .await
            .map_err(|e| DatabricksError::Secret {
                arn: arn.clone(),
                detail: crate::adapters::aws::clients::error_chain(&e),
            })?;
        let secret =
            out.secret_string()
                .map(str::to_owned)
                .ok_or_else(|| DatabricksError::Secret {
                    arn: arn.clone(),
                    detail: "it has no SecretString".into(),
                })?;
        state.secret = Some(secret.clone());
        Ok(secret)
    }

    /// One token from the OAuth token endpoint (client credentials, HTTP basic).
    async fn request_token(&self, secret: &str) -> Result<Token, DatabricksError> {
        let url = format!(
            "{}/oidc/accounts/{}/v1/token",
            self.config.host.trim_end_matches('/'),
            self.config.account_id
        );
        let request = self
            .http
            .post(url)
            .basic_auth(&self.config.client_id, Some(secret))
            .form(&[("grant_type", "client_credentials"), ("scope", "all-apis")]);
        answer("token", request.send().await).await
    }

    /// Sends a request with the bearer token; on 401 once more with a fresh token (a token
    /// revoked or expired early).
    async fn call<T: for<'de> Deserialize<'de>>(
        &self,
        operation: &'static str,
        build: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<T, DatabricksError> {
        let token = self.token(false).await?;
        match answer(operation, build(&self.http).bearer_auth(token).send().await).await {
            Err(DatabricksError::Api { status: 401, .. }) => {
                let token = self.token(true).await?;
                answer(operation, build(&self.http).bearer_auth(token).send().await).await
            }
            other => other,
        }
    }

    /// Every private endpoint rule of the NCC (all pages).
    pub async fn rules(&self) -> Result<Vec<PrivateEndpointRule>, DatabricksError> {
        let mut rules = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let url = self.rules_url();
            let page: RulePage = self
                .call("ListPrivateEndpointRules", |http| {
                    let request = http.get(&url);
                    match &token {
                        Some(t) => request.query(&[("page_token", t)]),
                        None => request,
                    }
                })
                .await?;
            rules.extend(page.items);
            match page.next_page_token.filter(|t| !t.is_empty()) {
                Some(t) => token = Some(t),
                None => return Ok(rules),
            }
        }
    }

    /// One rule, read now.
    pub async fn rule(&self, rule_id: &str) -> Result<PrivateEndpointRule, DatabricksError> {
        let url = format!("{}/{rule_id}", self.rules_url());
        self.call("GetPrivateEndpointRule", |http| http.get(&url))
            .await
    }

    /// Sets a rule's `domain_names` (PATCH with `update_mask=domain_names`: no other field
    /// changes); the rule as the API returns it afterwards.
    pub async fn set_domain_names(
        &self,
        rule_id: &str,
        domain_names: &[String],
    ) -> Result<PrivateEndpointRule, DatabricksError> {
        let url = format!("{}/{rule_id}", self.rules_url());
        let body = serde_json::json!({ "domain_names": domain_names });
        self.call("UpdatePrivateEndpointRule", |http| {
            http.patch(&url)
                .query(&[("update_mask", "domain_names")])
                .json(&body)
        })
        .await
    }
}

/// The JSON of a successful answer, or the error it is.
async fn answer<T: for<'de> Deserialize<'de>>(
    operation: &'static str,
    sent: Result<reqwest::Response, reqwest::Error>,
) -> Result<T, DatabricksError> {
    let response = sent.map_err(|e| DatabricksError::Transport {
        operation,
        detail: crate::adapters::aws::clients::error_chain(&e),
    })?;
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse().ok());
    let body = response
        .bytes()
        .await
        .map_err(|e| DatabricksError::Transport {
            operation,
            detail: crate::adapters::aws::clients::error_chain(&e),
        })?;
    if (200..300).contains(&status) {
        return serde_json::from_slice(&body).map_err(|e| DatabricksError::Malformed {
            operation,
            detail: e.to_string(),
        });
    }
    let error: ApiError = serde_json::from_slice(&body).unwrap_or(ApiError {
        error_code: String::new(),
        message: String::from_utf8_lossy(&body).chars().take(200).collect(),
    });
    Err(DatabricksError::Api {
        operation,
        status,
        code: error.error_code,
        message: error.message,
        retry_after,
    })
}
