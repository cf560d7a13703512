//! ELBv2 adapter: the only module that speaks to Elastic Load Balancing. Domain values in and out.

use std::collections::BTreeMap;
use std::net::IpAddr;

use async_trait::async_trait;
use aws_sdk_elasticloadbalancingv2 as elbv2;
use aws_sdk_elasticloadbalancingv2::error::ProvideErrorMetadata;
use elbv2::types::{
    Action, ActionTypeEnum, ListenerAttribute, ProtocolEnum, Tag, TargetDescription,
    TargetGroupAttribute, TargetTypeEnum,
};
use serde::Serialize;

use crate::adapters::aws::rate_budget::RateBudget;
use crate::domain::health::TargetHealth;
use crate::domain::plan::Target;
use crate::domain::route::HealthCheck;

/// Tag key marking resources the router created and may change or delete.
pub const TAG_MANAGED_BY: &str = "privatelink-router:managed-by";
/// Tag value of [`TAG_MANAGED_BY`].
pub const MANAGED_BY: &str = "privatelink-router";
/// Tag key naming the router (NLB) a resource belongs to.
pub const TAG_ROUTER: &str = "privatelink-router:router";
/// Tag key naming the route a resource serves.
pub const TAG_ROUTE: &str = "privatelink-router:route";
/// Tag key naming the deployment (`ROUTER_DEPLOYMENT`, the module's `service_name`) a resource
/// belongs to: two deployments in one account and region share the managed-by tag, never
/// this one. Resources created before it existed get it from the audit (a one-time
/// migration, [`crate::reconcile::provision::ensure_deployment_tag`]).
pub const TAG_DEPLOYMENT: &str = "privatelink-router:deployment";

/// Most targets sent in one Register/DeregisterTargets call (the Load Balancer Controller's
/// chunk size; AWS documents no per-call cap, but 1,000 targets per group).
pub const TARGET_BATCH: usize = 200;
/// Most load balancer ARNs DescribeLoadBalancers accepts per call (ELBv2 API reference,
/// DescribeLoadBalancers: `LoadBalancerArns`, "maximum of 20 load balancers").
pub const DESCRIBE_LOAD_BALANCERS_BATCH: usize = 20;
/// Most ARNs DescribeTags accepts per call (ELBv2 API reference, DescribeTags).
pub const DESCRIBE_TAGS_BATCH: usize = 20;

/// The TCP listener attribute holding a listener's idle timeout in seconds (NLB user guide,
/// "Listener attributes": `tcp.idle_timeout.seconds`, 60-6000, default 350).
pub const IDLE_TIMEOUT_ATTRIBUTE: &str = "tcp.idle_timeout.seconds";

/// An ELBv2 call failed.
#[derive(Debug, thiserror::Error)]
#[error("ELBv2 {operation} failed: {message}")]
pub struct ElbError {
    /// The API operation.
    pub operation: &'static str,
    /// The AWS error code, when AWS gave one (e.g. `DuplicateTargetGroupName`).
    pub code: Option<String>,
    /// Human-readable detail.
    pub message: String,
}

impl ElbError {
    fn from_sdk<E, R>(operation: &'static str, err: elbv2::error::SdkError<E, R>) -> Self
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug + 'static,
    {
        Self {
            operation,
            code: err.code().map(str::to_owned),
            message: crate::adapters::aws::clients::error_chain(&err),
        }
    }

    /// True for "not found" errors of target groups, listeners and load balancers.
    pub fn is_not_found(&self) -> bool {
        self.code
            .as_deref()
            .is_some_and(|c| c.ends_with("NotFound"))
    }

    /// An error of our own making (bad data from AWS, ownership conflicts).
    pub fn invalid(operation: &'static str, message: impl Into<String>) -> Self {
        Self {
            operation,
            code: None,
            message: message.into(),
        }
    }
}

/// The small interface `apply` needs: read, add and remove targets of one target group.
#[async_trait]
pub trait Targets: Send + Sync {
    /// Targets of a group, as DescribeTargetHealth reports them.
    async fn describe_targets(&self, target_group_arn: &str)
        -> Result<Vec<TargetHealth>, ElbError>;
    /// Registers targets, batched.
    async fn register(&self, target_group_arn: &str, targets: &[Target]) -> Result<(), ElbError>;
    /// Deregisters targets exactly as given (Id, Port, AZ), batched.
    async fn deregister(&self, target_group_arn: &str, targets: &[Target]) -> Result<(), ElbError>;
}

/// What a route's target group must look like.
#[derive(Debug, Clone)]
pub struct TargetGroupSpec {
    /// Deterministic name ([`crate::domain::route::target_group_name`]).
    pub name: String,
    /// The router VPC.
    pub vpc_id: String,
    /// Database port.
    pub port: u16,
    /// Health check.
    pub health_check: HealthCheck,
    /// Tags: ownership tags plus the route's own.
    pub tags: BTreeMap<String, String>,
}

/// A target group as read back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TargetGroupInfo {
    /// ARN.
    pub arn: String,
    /// Name.
    pub name: String,
    /// Port.
    pub port: u16,
    /// Protocol (e.g. `TCP`).
    pub protocol: String,
    /// Health check as configured.
    pub health_check: HealthCheck,
    /// Health check protocol (the router sets `TCP`).
    pub health_check_protocol: String,
    /// Load balancers using it.
    pub load_balancer_arns: Vec<String>,
}

/// A listener as read back.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ListenerInfo {
    /// ARN.
    pub arn: String,
    /// Port.
    pub port: u16,
    /// Target group of its forward action.
    pub forward_to: Option<String>,
}

/// ELBv2 through the AWS SDK, optionally paced by a [`RateBudget`] (the full audit's).
#[derive(Clone, Debug)]
pub struct Elb {
    client: elbv2::Client,
    budget: Option<RateBudget>,
}

fn to_description(t: &Target) -> TargetDescription {
    TargetDescription::builder()
        .id(t.ip.to_string())
        .port(i32::from(t.port))
        .set_availability_zone(t.availability_zone.clone())
        .build()
}

fn tags(map: &BTreeMap<String, String>) -> Vec<Tag> {
    map.iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect()
}

fn port_of(p: Option<i32>) -> u16 {
    p.and_then(|p| u16::try_from(p).ok()).unwrap_or(0)
}

fn forward(target_group_arn: &str) -> Action {
    Action::builder()
        .r#type(ActionTypeEnum::Forward)
        .target_group_arn(target_group_arn)
        .build()
}

fn clamp(v: Option<i32>) -> u32 {
    v.and_then(|v| u32::try_from(v).ok()).unwrap_or(0)
}

impl Elb {
    /// Wraps an SDK client (built once per cold start).
    pub fn new(client: elbv2::Client) -> Self {
        Self {
            client,
            budget: None,
        }
    }

    /// The same client, every call of which first takes a token from `budget` (shared with
    /// every clone): the full audit's pacing ([`crate::adapters::aws::rate_budget`]).
    pub fn paced(&self, budget: RateBudget) -> Self {
        Self {
            client: self.client.clone(),
            budget: Some(budget),
        }
    }

    /// The same client without a budget: target changes inside a route's apply lease are not
    /// paced, so a slow bucket never stretches the caller's apply lease.
    pub fn unpaced(&self) -> Self {
        Self {
            client: self.client.clone(),
            budget: None,
        }
    }

    /// The SDK client, once the budget (if any) allows one more call.
    async fn client(&self) -> &elbv2::Client {
        if let Some(budget) = &self.budget {
            budget.take().await;
        }
        &self.client
    }

    /// The VPC of a load balancer.
    pub async fn load_balancer_vpc(&self, nlb_arn: &str) -> Result<String, ElbError> {
        let out = self
            .client()
            .await
            .describe_load_balancers()
            .load_balancer_arns(nlb_arn)
            .send()
            .await
            .map_err(|e| ElbError::from_sdk("DescribeLoadBalancers", e))?;
        out.load_balancers()
            .first()
            .and_then(|lb| lb.vpc_id())
            .map(str::to_owned)
            .ok_or_else(|| {
                ElbError::invalid("DescribeLoadBalancers", format!("{nlb_arn} has no VPC"))
            })
    }
    /// The security groups of a load balancer (DescribeLoadBalancers `SecurityGroups`; an NLB
    /// created without any has none, and its targets must then admit its addresses), for a
    /// diagnosis of its targets.
    pub async fn load_balancer_security_groups(&self, arn: &str) -> Result<Vec<String>, ElbError> {
        let out = self
            .client()
            .await
            .describe_load_balancers()
            .load_balancer_arns(arn)
            .send()
            .await
            .map_err(|e| ElbError::from_sdk("DescribeLoadBalancers", e))?;
        Ok(out
            .load_balancers()
            .iter()
            .flat_map(|lb| lb.security_groups())
            .cloned()
            .collect())
    }

    /// The VPC of each load balancer, by ARN: DescribeLoadBalancers with up to
    /// [`DESCRIBE_LOAD_BALANCERS_BATCH`] ARNs per call (ELBv2 API reference,
    /// DescribeLoadBalancers), so a fleet of 60 routers costs 3 calls, not 60. When a batch
    /// fails (one NLB missing, a malformed ARN), its ARNs are read one by one so the error
    /// names the NLB.
    pub async fn load_balancer_vpcs(
        &self,
        nlb_arns: &[&str],
    ) -> Result<BTreeMap<String, String>, (String, ElbError)> {
        let mut vpcs = BTreeMap::new();
        for chunk in nlb_arns.chunks(DESCRIBE_LOAD_BALANCERS_BATCH) {
            let out = self
                .client()
                .await
                .describe_load_balancers()
                .set_load_balancer_arns(Some(chunk.iter().map(|a| a.to_string()).collect()))
                .send()
                .await
                .map_err(|e| ElbError::from_sdk("DescribeLoadBalancers", e));
            match out {
                Ok(out) => {
                    for lb in out.load_balancers() {
                        if let (Some(arn), Some(vpc)) = (lb.load_balancer_arn(), lb.vpc_id()) {
                            vpcs.insert(arn.to_owned(), vpc.to_owned());
                        }
                    }
                }
                // One bad ARN fails the whole batch (not found, malformed, denied): read the
                // batch one by one so the error names the NLB.
                Err(_) if chunk.len() > 1 => {
                    for arn in chunk {
                        let vpc = self
                            .load_balancer_vpc(arn)
                            .await
                            .map_err(|e| (arn.to_string(), e))?;
                        vpcs.insert(arn.to_string(), vpc);
                    }
                }
                Err(e) => return Err((chunk[0].to_string(), e)),
            }
            if let Some(missing) = chunk.iter().find(|a| !vpcs.contains_key(**a)) {
                return Err((
                    missing.to_string(),
                    ElbError::invalid(
                        "DescribeLoadBalancers",
                        format!("{missing} is not in the answer or has no VPC"),
                    ),
                ));
            }
        }
        Ok(vpcs)
    }

    /// Creates the target group, or adopts an existing one with the same name if it carries
    /// our ownership tags (AWS returns the existing group for identical settings; moto answers
    /// `DuplicateTargetGroupName`: both end here). Sets the database attributes either way.
    pub async fn ensure_target_group(
        &self,
        spec: &TargetGroupSpec,
        attributes: &BTreeMap<String, String>,
    ) -> Result<String, ElbError> {
        let hc = spec.health_check;
        let created = self
            .client()
            .await
            .create_target_group()
            .name(&spec.name)
            .protocol(ProtocolEnum::Tcp)
            .port(i32::from(spec.port))
            .vpc_id(&spec.vpc_id)
            .target_type(TargetTypeEnum::Ip)
            .health_check_protocol(ProtocolEnum::Tcp)
            .health_check_enabled(true)
            .health_check_interval_seconds(hc.interval_seconds as i32)
            .health_check_timeout_seconds(hc.timeout_seconds as i32)
            .healthy_threshold_count(hc.healthy_threshold as i32)
            .unhealthy_threshold_count(hc.unhealthy_threshold as i32)
            .set_tags(Some(tags(&spec.tags)))
            .send()
            .await;
        let arn = match created {
            Ok(out) => out
                .target_groups()
                .first()
                .and_then(|tg| tg.target_group_arn())
                .map(str::to_owned)
                .ok_or_else(|| ElbError::invalid("CreateTargetGroup", "no ARN returned"))?,
            Err(e) if e.code() == Some("DuplicateTargetGroupName") => {
                let existing = self
                    .target_group_by_name(&spec.name)
                    .await?
                    .ok_or_else(|| {
                        ElbError::invalid("DescribeTargetGroups", "duplicate name but no group")
                    })?;
                let owned = self.tags_of(std::slice::from_ref(&existing.arn)).await?;
                let ours = owned.get(&existing.arn).is_some_and(|t| {
                    t.get(TAG_MANAGED_BY).map(String::as_str) == Some(MANAGED_BY)
                        && t.get(TAG_ROUTE) == spec.tags.get(TAG_ROUTE)
                        && t.get(TAG_DEPLOYMENT) == spec.tags.get(TAG_DEPLOYMENT)
                });
                if !ours {
                    return Err(ElbError {
                        operation: "CreateTargetGroup",
                        code: Some("TargetGroupNotOurs".into()),
                        message: format!(
                            "target group {} exists without this deployment's ownership tags",
                            spec.name
                        ),
                    });
                }
                existing.arn
            }
            Err(e) => return Err(ElbError::from_sdk("CreateTargetGroup", e)),
        };
        self.set_attributes(&arn, attributes).await?;
        Ok(arn)
    }

    /// Finds a target group by name.
    pub async fn target_group_by_name(
        &self,
        name: &str,
    ) -> Result<Option<TargetGroupInfo>, ElbError> {
        match self
            .client()
            .await
            .describe_target_groups()
            .names(name)
            .send()
            .await
        {
            Ok(out) => Ok(out.target_groups().iter().map(Self::info).next()),
            Err(e) if e.code() == Some("TargetGroupNotFound") => Ok(None),
            Err(e) => Err(ElbError::from_sdk("DescribeTargetGroups", e)),
        }
    }

    fn info(tg: &elbv2::types::TargetGroup) -> TargetGroupInfo {
        TargetGroupInfo {
            arn: tg.target_group_arn().unwrap_or_default().to_owned(),
            name: tg.target_group_name().unwrap_or_default().to_owned(),
            port: port_of(tg.port()),
            protocol: tg
                .protocol()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_default(),
            health_check: HealthCheck {
                interval_seconds: clamp(tg.health_check_interval_seconds()),
                timeout_seconds: clamp(tg.health_check_timeout_seconds()),
                healthy_threshold: clamp(tg.healthy_threshold_count()),
                unhealthy_threshold: clamp(tg.unhealthy_threshold_count()),
            },
            health_check_protocol: tg
                .health_check_protocol()
                .map(|p| p.as_str().to_owned())
                .unwrap_or_default(),
            load_balancer_arns: tg.load_balancer_arns().to_vec(),
        }
    }

    /// Every target group in the account/region, paging with markers.
    pub async fn all_target_groups(&self) -> Result<Vec<TargetGroupInfo>, ElbError> {
        let mut out = Vec::new();
        let mut marker = None;
        loop {
            let page = self
                .client()
                .await
                .describe_target_groups()
                .set_marker(marker)
                .page_size(400)
                .send()
                .await
                .map_err(|e| ElbError::from_sdk("DescribeTargetGroups", e))?;
            out.extend(page.target_groups().iter().map(Self::info));
            marker = page.next_marker().map(str::to_owned);
            if marker.is_none() {
                return Ok(out);
            }
        }
    }

    /// Adds tags to target groups or listeners (AddTags; existing keys are overwritten).
    pub async fn add_tags(
        &self,
        arns: &[String],
        tags_to_add: &BTreeMap<String, String>,
    ) -> Result<(), ElbError> {
        self.client()
            .await
            .add_tags()
            .set_resource_arns(Some(arns.to_vec()))
            .set_tags(Some(tags(tags_to_add)))
            .send()
            .await
            .map_err(|e| ElbError::from_sdk("AddTags", e))?;
        Ok(())
    }

    /// Tags of resources, 20 ARNs per call.
    pub async fn tags_of(
        &self,
        arns: &[String],
    ) -> Result<BTreeMap<String, BTreeMap<String, String>>, ElbError> {
        let mut out = BTreeMap::new();
        for chunk in arns.chunks(DESCRIBE_TAGS_BATCH) {
            let page = self
                .client()
                .await
                .describe_tags()
                .set_resource_arns(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| ElbError::from_sdk("DescribeTags", e))?;
            for d in page.tag_descriptions() {
                let tags = d
                    .tags()
                    .iter()
                    .filter_map(|t| {
                        Some((
                            t.key()?.to_owned(),
                            t.value().unwrap_or_default().to_owned(),
                        ))
                    })
                    .collect();
                out.insert(d.resource_arn().unwrap_or_default().to_owned(), tags);
            }
        }
        Ok(out)
    }

    /// Current attributes of a target group.
    pub async fn attributes(&self, arn: &str) -> Result<BTreeMap<String, String>, ElbError> {
        let out = self
            .client()
            .await
            .describe_target_group_attributes()
            .target_group_arn(arn)
            .send()
            .await
            .map_err(|e| ElbError::from_sdk("DescribeTargetGroupAttributes", e))?;
        Ok(out
            .attributes()
            .iter()
            .filter_map(|a| Some((a.key()?.to_owned(), a.value()?.to_owned())))
            .collect())
    }

    /// Sets target group attributes.
    pub async fn set_attributes(
        &self,
        arn: &str,
        attributes: &BTreeMap<String, String>,
    ) -> Result<(), ElbError> {
        let attrs = attributes
            .iter()
            .map(|(k, v)| TargetGroupAttribute::builder().key(k).value(v).build())
            .collect();
        self.client()
            .await
            .modify_target_group_attributes()
            .target_group_arn(arn)
            .set_attributes(Some(attrs))
            .send()
            .await
            .map_err(|e| ElbError::from_sdk("ModifyTargetGroupAttributes", e))?;
        Ok(())
    }

    /// Restores a target group's health check.
    pub async fn set_health_check(&self, arn: &str, hc: HealthCheck) -> Result<(), ElbError> {
        self.client()
            .await
            .modify_target_group()
            .target_group_arn(arn)
            .health_check_protocol(ProtocolEnum::Tcp)
            .health_check_interval_seconds(hc.interval_seconds as i32)
            .health_check_timeout_seconds(hc.timeout_seconds as i32)
            .healthy_threshold_count(hc.healthy_threshold as i32)
            .unhealthy_threshold_count(hc.unhealthy_threshold as i32)
            .send()
            .await
            .map_err(|e| ElbError::from_sdk("ModifyTargetGroup", e))?;
        Ok(())
    }

    /// A TCP listener's idle timeout (listener attribute `tcp.idle_timeout.seconds`, seconds;
    /// DescribeListenerAttributes, NLB user guide "Listener attributes"); `None` when the
    /// listener does not report it.
    pub async fn idle_timeout(&self, listener_arn: &str) -> Result<Option<u32>, ElbError> {
        let out = self
            .client()
            .await
            .describe_listener_attributes()
            .listener_arn(listener_arn)
            .send()
            .await
            .map_err(|e| ElbError::from_sdk("DescribeListenerAttributes", e))?;
        Ok(out
            .attributes()
            .iter()
            .find(|a| a.key() == Some(IDLE_TIMEOUT_ATTRIBUTE))
            .and_then(|a| a.value()?.parse().ok()))
    }

    /// Sets a TCP listener's idle timeout (`tcp.idle_timeout.seconds`, 60-6000 s;
    /// ModifyListenerAttributes).
    pub async fn set_idle_timeout(&self, listener_arn: &str, seconds: u32) -> Result<(), ElbError> {
        self.client()
            .await
            .modify_listener_attributes()
            .listener_arn(listener_arn)
            .attributes(
                ListenerAttribute::builder()
                    .key(IDLE_TIMEOUT_ATTRIBUTE)
                    .value(seconds.to_string())
                    .build(),
            )
            .send()
            .await
            .map_err(|e| ElbError::from_sdk("ModifyListenerAttributes", e))?;
        Ok(())
    }

    /// Listeners of a load balancer, paging with markers.
    pub async fn listeners(&self, nlb_arn: &str) -> Result<Vec<ListenerInfo>, ElbError> {
        let mut out = Vec::new();
        let mut marker = None;
        loop {
            let page = self
                .client()
                .await
                .describe_listeners()
                .load_balancer_arn(nlb_arn)
                .set_marker(marker)
                .page_size(400)
                .send()
                .await
                .map_err(|e| ElbError::from_sdk("DescribeListeners", e))?;
            out.extend(page.listeners().iter().map(|l| {
                ListenerInfo {
                    arn: l.listener_arn().unwrap_or_default().to_owned(),
                    port: port_of(l.port()),
                    forward_to: l
                        .default_actions()
                        .iter()
                        .find_map(|a| a.target_group_arn().map(str::to_owned)),
                }
            }));
            marker = page.next_marker().map(str::to_owned);
            if marker.is_none() {
                return Ok(out);
            }
        }
    }

    /// Creates a TCP listener forwarding to the target group.
    pub async fn create_listener(
        &self,
        nlb_arn: &str,
        port: u16,
        target_group_arn: &str,
        tag_map: &BTreeMap<String, String>,
    ) -> Result<String, ElbError> {
        let out = self
            .client()
            .await
            .create_listener()
            .load_balancer_arn(nlb_arn)
            .protocol(ProtocolEnum::Tcp)
            .port(i32::from(port))
            .default_actions(forward(target_group_arn))
            .set_tags(Some(tags(tag_map)))
            .send()
            .await
            .map_err(|e| ElbError::from_sdk("CreateListener", e))?;
        out.listeners()
            .first()
            .and_then(|l| l.listener_arn())
            .map(str::to_owned)
            .ok_or_else(|| ElbError::invalid("CreateListener", "no ARN returned"))
    }

    /// Points a listener's default action at the target group.
    pub async fn set_listener_target(
        &self,
        listener_arn: &str,
        target_group_arn: &str,
    ) -> Result<(), ElbError> {
        self.client()
            .await
            .modify_listener()
            .listener_arn(listener_arn)
            .default_actions(forward(target_group_arn))
            .send()
            .await
            .map_err(|e| ElbError::from_sdk("ModifyListener", e))?;
        Ok(())
    }

    /// Deletes a listener; a missing one counts as deleted.
    pub async fn delete_listener(&self, listener_arn: &str) -> Result<(), ElbError> {
        match self
            .client()
            .await
            .delete_listener()
            .listener_arn(listener_arn)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("ListenerNotFound") => Ok(()),
            Err(e) => Err(ElbError::from_sdk("DeleteListener", e)),
        }
    }

    /// Deletes a target group; a missing one counts as deleted.
    pub async fn delete_target_group(&self, arn: &str) -> Result<(), ElbError> {
        match self
            .client()
            .await
            .delete_target_group()
            .target_group_arn(arn)
            .send()
            .await
        {
            Ok(_) => Ok(()),
            Err(e) if e.code() == Some("TargetGroupNotFound") => Ok(()),
            Err(e) => Err(ElbError::from_sdk("DeleteTargetGroup", e)),
        }
    }
}

#[async_trait]
impl Targets for Elb {
    async fn describe_targets(
        &self,
        target_group_arn: &str,
    ) -> Result<Vec<TargetHealth>, ElbError> {
        let out = self
            .client()
            .await
            .describe_target_health()
            .target_group_arn(target_group_arn)
            .send()
            .await
            .map_err(|e| ElbError::from_sdk("DescribeTargetHealth", e))?;
        out.target_health_descriptions()
            .iter()
            .map(|d| {
                let t = d
                    .target()
                    .ok_or_else(|| ElbError::invalid("DescribeTargetHealth", "target missing"))?;
                let ip: IpAddr = t.id().unwrap_or_default().parse().map_err(|_| {
                    ElbError::invalid(
                        "DescribeTargetHealth",
                        format!("target id {:?} is not an IP", t.id()),
                    )
                })?;
                let health = d.target_health();
                Ok(TargetHealth {
                    target: Target {
                        ip,
                        port: port_of(t.port()),
                        availability_zone: t.availability_zone().map(str::to_owned),
                    },
                    state: health
                        .and_then(|h| h.state())
                        .map(|s| s.as_str().to_owned())
                        .unwrap_or_else(|| "unknown".into()),
                    reason: health
                        .and_then(|h| h.reason())
                        .map(|r| r.as_str().to_owned()),
                })
            })
            .collect()
    }

    async fn register(&self, target_group_arn: &str, targets: &[Target]) -> Result<(), ElbError> {
        for chunk in targets.chunks(TARGET_BATCH) {
            self.client()
                .await
                .register_targets()
                .target_group_arn(target_group_arn)
                .set_targets(Some(chunk.iter().map(to_description).collect()))
                .send()
                .await
                .map_err(|e| ElbError::from_sdk("RegisterTargets", e))?;
        }
        Ok(())
    }

    async fn deregister(&self, target_group_arn: &str, targets: &[Target]) -> Result<(), ElbError> {
        for chunk in targets.chunks(TARGET_BATCH) {
            self.client()
                .await
                .deregister_targets()
                .target_group_arn(target_group_arn)
                .set_targets(Some(chunk.iter().map(to_description).collect()))
                .send()
                .await
                .map_err(|e| ElbError::from_sdk("DeregisterTargets", e))?;
        }
        Ok(())
    }
}
