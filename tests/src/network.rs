//! A VPC with two subnets and an internal NLB, created through the AWS SDK (against moto).

use std::sync::atomic::{AtomicU32, Ordering};

use anyhow::{anyhow, Context};
use aws_config::SdkConfig;
use aws_sdk_ec2::{
    error::DisplayErrorContext,
    types::{ResourceType, Tag, TagSpecification},
};
use aws_sdk_elasticloadbalancingv2::types::{
    LoadBalancerSchemeEnum, LoadBalancerTypeEnum, Tag as ElbTag,
};
use ipnet::Ipv4Net;

/// VPC CIDR of every fixture network.
pub const VPC_CIDR: &str = "10.0.0.0/16";

/// Subnet CIDRs and availability zones of every fixture network, in `Network::subnets` order.
pub const SUBNETS: [(&str, &str); 2] =
    [("10.0.1.0/24", "us-east-1a"), ("10.0.2.0/24", "us-east-1b")];

/// A third subnet of the VPC, in an Availability Zone the NLB is not enabled in: a target
/// there is `unused` (`Target.NotInUse`) and takes no traffic.
pub const SPARE_SUBNET: (&str, &str) = ("10.0.3.0/24", "us-east-1c");

/// One subnet of a fixture network.
#[derive(Clone, Debug)]
pub struct Subnet {
    /// Subnet id (`subnet-...`).
    pub id: String,
    /// Subnet CIDR, to tell which target IPs are inside the VPC.
    pub cidr: Ipv4Net,
    /// Availability zone the subnet lives in.
    pub availability_zone: String,
}

/// A VPC 10.0.0.0/16 with subnets in us-east-1a/b and an internal network load balancer.
#[derive(Clone, Debug)]
pub struct Network {
    /// Unique name given to the NLB and used as `Name` tag on every resource.
    pub name: String,
    /// VPC id (`vpc-...`).
    pub vpc_id: String,
    /// The two subnets of the NLB, in `SUBNETS` order.
    pub subnets: Vec<Subnet>,
    /// [`SPARE_SUBNET`]: in the VPC, not on the NLB.
    pub spare_subnet: Subnet,
    /// ARN of the internal NLB.
    pub nlb_arn: String,
    /// DNS name of the internal NLB.
    pub nlb_dns_name: String,
}

impl Network {
    /// Creates the VPC, subnets and NLB, named from `prefix` plus a process-unique suffix so
    /// that tests sharing one moto server do not clash.
    pub async fn create(config: &SdkConfig, prefix: &str) -> anyhow::Result<Self> {
        let ec2 = aws_sdk_ec2::Client::new(config);
        let elb = aws_sdk_elasticloadbalancingv2::Client::new(config);
        let name = unique_name(prefix);

        let vpc = ec2
            .create_vpc()
            .cidr_block(VPC_CIDR)
            .tag_specifications(name_tag(ResourceType::Vpc, &name))
            .send()
            .await
            .map_err(sdk_error("CreateVpc"))?;
        let vpc_id = vpc
            .vpc()
            .and_then(|vpc| vpc.vpc_id())
            .context("CreateVpc returned no VPC id")?
            .to_owned();

        let mut subnets = Vec::new();
        for (cidr, zone) in SUBNETS.into_iter().chain([SPARE_SUBNET]) {
            let subnet = ec2
                .create_subnet()
                .vpc_id(&vpc_id)
                .cidr_block(cidr)
                .availability_zone(zone)
                .tag_specifications(name_tag(ResourceType::Subnet, &name))
                .send()
                .await
                .map_err(sdk_error("CreateSubnet"))?;
            subnets.push(Subnet {
                id: subnet
                    .subnet()
                    .and_then(|subnet| subnet.subnet_id())
                    .context("CreateSubnet returned no subnet id")?
                    .to_owned(),
                cidr: cidr.parse()?,
                availability_zone: zone.to_owned(),
            });
        }

        let spare_subnet = subnets.pop().context("spare subnet created")?;
        let created = elb
            .create_load_balancer()
            .name(&name)
            .r#type(LoadBalancerTypeEnum::Network)
            .scheme(LoadBalancerSchemeEnum::Internal)
            .set_subnets(Some(subnets.iter().map(|s| s.id.clone()).collect()))
            .tags(ElbTag::builder().key("Name").value(&name).build())
            .send()
            .await
            .map_err(sdk_error("CreateLoadBalancer"))?;
        let nlb = created
            .load_balancers()
            .first()
            .context("CreateLoadBalancer returned no load balancer")?;
        Ok(Self {
            nlb_arn: nlb
                .load_balancer_arn()
                .context("NLB without ARN")?
                .to_owned(),
            nlb_dns_name: nlb.dns_name().context("NLB without DNS name")?.to_owned(),
            name,
            vpc_id,
            subnets,
            spare_subnet,
        })
    }
}

impl Network {
    /// `n` more internal NLBs in the fixture's subnets (a fleet of routers sharing one VPC),
    /// named after the fixture; returns their ARNs.
    pub async fn more_nlbs(&self, config: &SdkConfig, n: usize) -> anyhow::Result<Vec<String>> {
        let elb = aws_sdk_elasticloadbalancingv2::Client::new(config);
        let subnets: Vec<String> = self.subnets.iter().map(|s| s.id.clone()).collect();
        let mut arns = Vec::with_capacity(n);
        for i in 1..=n {
            let created = elb
                .create_load_balancer()
                .name(format!(
                    "{}-{i}",
                    self.name.chars().take(24).collect::<String>()
                ))
                .r#type(LoadBalancerTypeEnum::Network)
                .scheme(LoadBalancerSchemeEnum::Internal)
                .set_subnets(Some(subnets.clone()))
                .send()
                .await
                .map_err(sdk_error("CreateLoadBalancer"))?;
            arns.push(
                created
                    .load_balancers()
                    .first()
                    .and_then(|lb| lb.load_balancer_arn())
                    .context("CreateLoadBalancer returned no ARN")?
                    .to_owned(),
            );
        }
        Ok(arns)
    }

    /// The NLB's network interfaces as AWS creates them with the load balancer, one per
    /// enabled Availability Zone with the description `ELB net/<name>/<id>` (NLB user guide,
    /// "Availability Zones": "a network interface for the subnet (the description starts with
    /// ELB net and includes the name of the load balancer)"); moto creates none. Addresses
    /// 10.0.1.250 and 10.0.2.250, which no test uses as a database's. Returns them.
    pub async fn nlb_interfaces(&self, config: &SdkConfig) -> anyhow::Result<Vec<String>> {
        let ec2 = aws_sdk_ec2::Client::new(config);
        let tail: Vec<&str> = self.nlb_arn.rsplit('/').take(2).collect();
        let description = format!("ELB net/{}/{}", tail[1], tail[0]);
        let mut ips = Vec::new();
        for (i, subnet) in self.subnets.iter().enumerate() {
            let ip = format!("10.0.{}.250", i + 1);
            ec2.create_network_interface()
                .subnet_id(&subnet.id)
                .private_ip_address(&ip)
                .description(&description)
                .send()
                .await
                .map_err(sdk_error("CreateNetworkInterface"))?;
            ips.push(ip);
        }
        Ok(ips)
    }

    /// A TCP target group `tg_name` (IP targets on `target_port`) and a TCP listener on `port`
    /// of the fixture's NLB forwarding to it, created the way a person or a seed deployment
    /// does: without the router's tags. Returns the target group's and the listener's ARNs.
    pub async fn foreign_listener(
        &self,
        config: &SdkConfig,
        tg_name: &str,
        port: u16,
        target_port: u16,
    ) -> anyhow::Result<(String, String)> {
        use aws_sdk_elasticloadbalancingv2::types::{
            Action, ActionTypeEnum, ProtocolEnum, TargetTypeEnum,
        };
        let elb = aws_sdk_elasticloadbalancingv2::Client::new(config);
        let tg = elb
            .create_target_group()
            .name(tg_name)
            .protocol(ProtocolEnum::Tcp)
            .port(i32::from(target_port))
            .vpc_id(&self.vpc_id)
            .target_type(TargetTypeEnum::Ip)
            .send()
            .await
            .map_err(sdk_error("CreateTargetGroup"))?
            .target_groups()
            .first()
            .and_then(|tg| tg.target_group_arn())
            .context("CreateTargetGroup returned no ARN")?
            .to_owned();
        let listener = elb
            .create_listener()
            .load_balancer_arn(&self.nlb_arn)
            .protocol(ProtocolEnum::Tcp)
            .port(i32::from(port))
            .default_actions(
                Action::builder()
                    .r#type(ActionTypeEnum::Forward)
                    .target_group_arn(&tg)
                    .build(),
            )
            .send()
            .await
            .map_err(sdk_error("CreateListener"))?
            .listeners()
            .first()
            .and_then(|l| l.listener_arn())
            .context("CreateListener returned no ARN")?
            .to_owned();
        Ok((tg, listener))
    }
}

/// `prefix-<pid>-<n>`, valid as an NLB name (≤ 32 alphanumerics or hyphens, no edge hyphen).
fn unique_name(prefix: &str) -> String {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let suffix = format!("-{:x}-{n}", std::process::id());
    let prefix: String = prefix
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '-')
        .take(32 - suffix.len())
        .collect();
    let prefix = prefix.trim_matches('-');
    format!("{}{suffix}", if prefix.is_empty() { "net" } else { prefix })
}

fn name_tag(resource: ResourceType, name: &str) -> TagSpecification {
    TagSpecification::builder()
        .resource_type(resource)
        .tags(Tag::builder().key("Name").value(name).build())
        .build()
}

/// Formats an SDK error with its whole source chain (the bare `Display` says "service error").
fn sdk_error<E: std::error::Error>(operation: &str) -> impl FnOnce(E) -> anyhow::Error + '_ {
    move |error| anyhow!("{operation}: {}", DisplayErrorContext(error))
}
