//! Why a route's targets fail the NLB's health checks, or would refuse connections while
//! passing them: the causes the router can read from the RDS and EC2 APIs, each as one line
//! with its fix. A diagnosis is reported, never acted on: the router changes no database's
//! security groups, network ACLs or parameters.
//!
//! The NLB sends health checks and consumers' connections from its nodes' private addresses
//! (one per enabled Availability Zone; with IP targets and client IP preservation off, the
//! default for TCP, the database sees those addresses — NLB user guide, "Target groups for your
//! Network Load Balancers", client IP preservation), and each node checks every target itself
//! ("Each load balancer node checks the health of each target" — NLB user guide, "Health checks
//! for Network Load Balancer target groups"). So the database must admit every node's address
//! on its port, in its security groups (stateful) and in its subnets' network ACLs (stateless:
//! the return traffic to the node's ephemeral ports 1024-65535 too — VPC user guide, "Control
//! subnet traffic with network access control lists", "Ephemeral ports").
//!
//! Pure rules; [`crate::flows::diagnose`] reads the facts.

use std::net::IpAddr;

use ipnet::IpNet;

use crate::domain::route::Engine;
use schemars::JsonSchema;
use serde::Serialize;

/// One inbound permission of a security group (EC2 `IpPermission`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    /// `IpProtocol`: `tcp` or `6`, `udp`, `icmp`, … or `-1` (all traffic, all ports).
    pub protocol: String,
    /// `FromPort`/`ToPort` (absent with protocol `-1`).
    pub ports: Option<(i32, i32)>,
    /// `IpRanges` and `Ipv6Ranges`.
    pub cidrs: Vec<IpNet>,
    /// `UserIdGroupPairs`: the security groups admitted.
    pub groups: Vec<String>,
    /// True when the permission names managed prefix lists (`PrefixListIds`): their entries
    /// are not read, so the rule may admit anything.
    pub prefix_lists: bool,
}

impl Permission {
    fn covers_tcp(&self, port: u16) -> bool {
        let tcp = matches!(self.protocol.as_str(), "-1" | "tcp" | "6");
        tcp && self
            .ports
            .is_none_or(|(from, to)| from == -1 || (from..=to).contains(&i32::from(port)))
    }
}

/// A security group with its inbound permissions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityGroup {
    /// `sg-…`.
    pub id: String,
    /// Inbound permissions.
    pub ingress: Vec<Permission>,
}

/// One entry of a network ACL (EC2 `NetworkAclEntry`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AclEntry {
    /// `RuleNumber`: entries are evaluated lowest first; 32767 is the default `*` rule.
    pub rule_number: i32,
    /// `Egress`: outbound.
    pub egress: bool,
    /// `RuleAction` is `allow`.
    pub allow: bool,
    /// `Protocol`: `-1` (all) or a protocol number (`6` is TCP).
    pub protocol: String,
    /// `CidrBlock` or `Ipv6CidrBlock`.
    pub cidr: Option<IpNet>,
    /// `PortRange` (absent with protocol `-1`).
    pub ports: Option<(u16, u16)>,
}

impl AclEntry {
    fn matches(&self, egress: bool, ip: IpAddr, port: u16) -> bool {
        self.egress == egress
            && matches!(self.protocol.as_str(), "-1" | "6")
            && self.cidr.is_some_and(|c| c.contains(&ip))
            && self
                .ports
                .is_none_or(|(from, to)| (from..=to).contains(&port))
    }
}

/// A network ACL and the subnet of the database it guards.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkAcl {
    /// `acl-…`.
    pub id: String,
    /// The database's subnet it is associated with.
    pub subnet: String,
    /// That subnet's CIDR: traffic within a subnet never crosses its network ACL (VPC user
    /// guide, network ACLs "control traffic entering or leaving a subnet").
    pub subnet_cidr: Option<IpNet>,
    /// Its entries, both directions.
    pub entries: Vec<AclEntry>,
}

impl NetworkAcl {
    /// The entry that decides a packet (lowest rule number that matches); `None` is denied
    /// too (the default rule).
    fn decides(&self, egress: bool, ip: IpAddr, port: u16) -> Option<&AclEntry> {
        self.entries
            .iter()
            .filter(|e| e.matches(egress, ip, port))
            .min_by_key(|e| e.rule_number)
    }

    /// The first port of `from..=to` it drops for `ip`, with the deciding rule number.
    fn drops(&self, egress: bool, ip: IpAddr, from: u16, to: u16) -> Option<(u16, Option<i32>)> {
        // The decision only changes at an entry's port bounds: check those and the range ends.
        let mut ports = vec![from, to];
        for (a, b) in self.entries.iter().filter_map(|e| e.ports) {
            ports.extend([a, b, a.saturating_sub(1), b.saturating_add(1)]);
        }
        ports.sort_unstable();
        ports.dedup();
        ports
            .into_iter()
            .filter(|p| (from..=to).contains(p))
            .find_map(|p| match self.decides(egress, ip, p) {
                Some(e) if e.allow => None,
                decided => Some((p, decided.map(|e| e.rule_number))),
            })
    }
}

/// A MySQL or MariaDB server parameter as the database's parameter group sets it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Parameter {
    /// Its value.
    pub value: u64,
    /// Where it comes from: the parameter group's name, or `engine default`.
    pub source: String,
}

/// What the RDS and EC2 APIs say about a route's database.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DatabaseView {
    /// DB instance or cluster identifier.
    pub id: String,
    /// `Engine` (`postgres`, `mysql`, `mariadb`, `aurora-mysql`, …).
    pub engine: Option<String>,
    /// `Endpoint.Port` (`Port` of a cluster): where it listens now.
    pub port: Option<u16>,
    /// `VpcSecurityGroups`, read with DescribeSecurityGroups. Empty when unreadable.
    pub security_groups: Vec<SecurityGroup>,
    /// The network ACLs of the subnets the database's addresses are in. Empty when unreadable.
    pub network_acls: Vec<NetworkAcl>,
    /// `max_connect_errors` of a MySQL or MariaDB database.
    pub max_connect_errors: Option<Parameter>,
}

/// The router's NLB as its targets see it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NlbView {
    /// Its nodes' private addresses (its network interfaces, `ELB net/<name>/<id>`), one per
    /// enabled Availability Zone.
    pub private_ips: Vec<IpAddr>,
    /// Its security groups (an NLB created with none has none).
    pub security_groups: Vec<String>,
}

/// What a diagnosis is about: a stable code for programs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Cause {
    /// The database's security groups do not admit the NLB's addresses on its port.
    SecurityGroup,
    /// A network ACL of the database's subnets drops the NLB's packets to the database port.
    NetworkAclInbound,
    /// A network ACL of the database's subnets drops the replies to the NLB's ephemeral ports.
    NetworkAclReturn,
    /// The database listens on another port than the route's targets use.
    PortChanged,
    /// MySQL or MariaDB blocks the NLB's addresses after `max_connect_errors` health checks.
    MaxConnectErrors,
}

impl Cause {
    /// True for a risk rather than a cause of failing checks: MySQL's host cache blocks
    /// consumers while the NLB's TCP check still passes, so it shows on a serving route too.
    pub fn is_risk(self) -> bool {
        self == Self::MaxConnectErrors
    }
}

/// One cause, in one line with its fix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Diagnosis {
    /// Stable code.
    pub cause: Cause,
    /// What is wrong and the fix, for people.
    pub line: String,
}

/// The return traffic of a TCP connection goes to the client's ephemeral port; the NLB's
/// nodes use 1024-65535 (VPC user guide, "Ephemeral ports": "allow 1024-65535" for ELB).
pub const EPHEMERAL_PORTS: (u16, u16) = (1024, 65535);

/// A database blocked by MySQL's host cache after being idle less than this long is reported.
pub const BLOCK_REPORTED_WITHIN_SECS: u64 = 30 * 86_400;

/// The most `max_connect_errors` takes on RDS for MariaDB (MariaDB system variables page:
/// 1-4294967295); MySQL takes up to 2^64-1 (MySQL reference, server system variables). The
/// fix suggests the value both accept.
pub const MAX_CONNECT_ERRORS_FIX: u64 = 4_294_967_295;

/// Every cause the facts show for a route on `route_port` whose health check runs every
/// `interval_secs`.
pub fn diagnose(
    route_port: u16,
    interval_secs: u32,
    db: &DatabaseView,
    nlb: &NlbView,
) -> Vec<Diagnosis> {
    let mut out = Vec::new();
    if let Some(port) = db.port.filter(|p| *p != route_port) {
        out.push(Diagnosis {
            cause: Cause::PortChanged,
            line: format!(
                "database {} listens on port {port}, the route's targets on {route_port} (its Endpoint.Port changed): health checks and connections meet a closed port; the router does not follow a port change, because the port is part of what the route's owner published and the exposure policy allowed: re-create the route with port {port}, or move the database back to {route_port}",
                db.id
            ),
        });
    }
    let port = route_port;
    out.extend(security_group(port, db, nlb));
    out.extend(network_acls(port, db, nlb));
    out.extend(max_connect_errors(interval_secs, db, nlb));
    out
}

fn list<T: ToString>(items: &[T]) -> String {
    items
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

fn security_group(port: u16, db: &DatabaseView, nlb: &NlbView) -> Option<Diagnosis> {
    if db.security_groups.is_empty() || nlb.private_ips.is_empty() {
        return None;
    }
    let permissions: Vec<&Permission> = db
        .security_groups
        .iter()
        .flat_map(|g| &g.ingress)
        .filter(|p| p.covers_tcp(port))
        .collect();
    if permissions.iter().any(|p| p.prefix_lists) {
        return None; // a prefix list may admit them: not read, so not reported
    }
    let by_group = permissions
        .iter()
        .any(|p| p.groups.iter().any(|g| nlb.security_groups.contains(g)));
    let refused: Vec<IpAddr> = nlb
        .private_ips
        .iter()
        .copied()
        .filter(|ip| {
            !by_group
                && !permissions
                    .iter()
                    .any(|p| p.cidrs.iter().any(|c| c.contains(ip)))
        })
        .collect();
    if refused.is_empty() {
        return None;
    }
    let groups: Vec<&str> = db.security_groups.iter().map(|g| g.id.as_str()).collect();
    let by_sg = match nlb.security_groups.first() {
        Some(sg) => format!(" or from the NLB's security group {sg}"),
        None => String::new(),
    };
    Some(Diagnosis {
        cause: Cause::SecurityGroup,
        line: format!(
            "the security groups of database {} ({}) do not admit the NLB's address(es) {} on TCP {port}, so its health checks fail: add an inbound rule for TCP {port} from {}{by_sg}",
            db.id,
            groups.join(", "),
            list(&refused),
            list(&refused.iter().map(|ip| IpNet::from(*ip)).collect::<Vec<_>>()),
        ),
    })
}

fn network_acls(port: u16, db: &DatabaseView, nlb: &NlbView) -> Vec<Diagnosis> {
    let mut out = Vec::new();
    for acl in &db.network_acls {
        let crossing: Vec<IpAddr> = nlb
            .private_ips
            .iter()
            .copied()
            .filter(|ip| !acl.subnet_cidr.is_some_and(|c| c.contains(ip)))
            .collect();
        let inbound: Vec<(IpAddr, Option<i32>)> = crossing
            .iter()
            .filter_map(|ip| {
                acl.drops(false, *ip, port, port)
                    .map(|(_, rule)| (*ip, rule))
            })
            .collect();
        if !inbound.is_empty() {
            out.push(Diagnosis {
                cause: Cause::NetworkAclInbound,
                line: format!(
                    "network ACL {} of the database's subnet {} drops TCP {port} from the NLB's address(es) {} ({}): add inbound allow rules for TCP {port} from them numbered below that rule",
                    acl.id,
                    acl.subnet,
                    list(&inbound.iter().map(|(ip, _)| *ip).collect::<Vec<_>>()),
                    rule(inbound[0].1),
                ),
            });
        }
        let (from, to) = EPHEMERAL_PORTS;
        let returns: Vec<(IpAddr, u16, Option<i32>)> = crossing
            .iter()
            .filter_map(|ip| {
                acl.drops(true, *ip, from, to)
                    .map(|(p, rule)| (*ip, p, rule))
            })
            .collect();
        if let Some((_, p, r)) = returns.first() {
            out.push(Diagnosis {
                cause: Cause::NetworkAclReturn,
                line: format!(
                    "network ACL {} of the database's subnet {} drops the replies to the NLB's address(es) {} (e.g. port {p}, {}; network ACLs are stateless and the NLB connects from ports {from}-{to}): add outbound allow rules for TCP {from}-{to} to them numbered below that rule",
                    acl.id,
                    acl.subnet,
                    list(&returns.iter().map(|(ip, _, _)| *ip).collect::<Vec<_>>()),
                    rule(*r),
                ),
            });
        }
    }
    out
}

fn rule(number: Option<i32>) -> String {
    match number {
        Some(32767) | None => "the default deny rule".to_owned(),
        Some(n) => format!("rule {n}"),
    }
}

/// MySQL and MariaDB count a connection that ends before its handshake as an error of the
/// client's host, and block the host after `max_connect_errors` of them in a row with no
/// successful connection in between (ERROR 1129 "Host is blocked"; MySQL reference, "DNS
/// Lookups and the Host Cache"; MariaDB `max_connect_errors`, default 100 in both). An NLB TCP
/// health check is such a connection, from the node's own address: a node that carries no
/// consumer connection for `max_connect_errors` × interval is blocked while its check passes.
fn max_connect_errors(interval_secs: u32, db: &DatabaseView, nlb: &NlbView) -> Option<Diagnosis> {
    let engine = db.engine.as_deref()?;
    if !matches!(
        Engine::from_rds(engine),
        Some(Engine::Mysql | Engine::Mariadb)
    ) {
        return None;
    }
    let limit = db.max_connect_errors.as_ref()?;
    let interval = u64::from(interval_secs.max(1));
    let blocked_after = limit.value.saturating_mul(interval);
    if blocked_after >= BLOCK_REPORTED_WITHIN_SECS {
        return None;
    }
    let nodes = nlb.private_ips.len().max(1) as u64;
    let per_day = nodes * 86_400 / interval;
    Some(Diagnosis {
        cause: Cause::MaxConnectErrors,
        line: format!(
            "{engine} database {} has max_connect_errors {} ({}); the NLB's TCP health checks never complete a handshake, at least {per_day} a day against each target ({nodes} node(s) every {interval} s; ELB may check more often), so a node that carries no consumer connection for at most {} is blocked (ERROR 1129 \"Host is blocked\") while its check still passes: set max_connect_errors to {MAX_CONNECT_ERRORS_FIX} in the parameter group (a default.* group cannot be changed: use your own), and unblock with TRUNCATE TABLE performance_schema.host_cache (or mysqladmin flush-hosts; FLUSH HOSTS before MySQL 8.3)",
            db.id,
            limit.value,
            limit.source,
            human(blocked_after),
        ),
    })
}

fn human(secs: u64) -> String {
    match secs {
        s if s < 120 => format!("{s} s"),
        s if s < 7_200 => format!("{} min", s / 60),
        s if s < 172_800 => format!("{} h", s / 3_600),
        s => format!("{} days", s / 86_400),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }
    fn net(s: &str) -> IpNet {
        s.parse().unwrap()
    }
    fn nlb() -> NlbView {
        NlbView {
            private_ips: vec![ip("10.0.1.10"), ip("10.0.2.10")],
            security_groups: vec![],
        }
    }
    fn tcp(from: i32, to: i32, cidrs: &[&str]) -> Permission {
        Permission {
            protocol: "tcp".into(),
            ports: Some((from, to)),
            cidrs: cidrs.iter().map(|c| net(c)).collect(),
            groups: vec![],
            prefix_lists: false,
        }
    }
    fn db(ingress: Vec<Permission>) -> DatabaseView {
        DatabaseView {
            id: "orders".into(),
            engine: Some("postgres".into()),
            port: Some(5432),
            security_groups: vec![SecurityGroup {
                id: "sg-db".into(),
                ingress,
            }],
            ..Default::default()
        }
    }
    fn causes(d: &[Diagnosis]) -> Vec<Cause> {
        d.iter().map(|d| d.cause).collect()
    }

    #[test]
    fn a_security_group_must_admit_every_node_on_the_database_port() {
        let open = db(vec![tcp(5432, 5432, &["10.0.0.0/16"])]);
        assert!(diagnose(5432, 10, &open, &nlb()).is_empty());
        let one_node = db(vec![tcp(5432, 5432, &["10.0.1.0/24"])]);
        let d = diagnose(5432, 10, &one_node, &nlb());
        assert_eq!(causes(&d), [Cause::SecurityGroup]);
        assert!(d[0].line.contains("10.0.2.10") && !d[0].line.contains("10.0.1.10,"));
        let other_port = db(vec![tcp(3306, 3306, &["10.0.0.0/16"])]);
        assert_eq!(
            causes(&diagnose(5432, 10, &other_port, &nlb())),
            [Cause::SecurityGroup]
        );
        let all = db(vec![Permission {
            protocol: "-1".into(),
            ports: None,
            ..tcp(0, 0, &["0.0.0.0/0"])
        }]);
        assert!(diagnose(5432, 10, &all, &nlb()).is_empty());
    }

    #[test]
    fn the_nlbs_security_group_or_an_unread_prefix_list_admits() {
        let mut by_group = tcp(5432, 5432, &[]);
        by_group.groups = vec!["sg-nlb".into()];
        let with_sg = NlbView {
            security_groups: vec!["sg-nlb".into()],
            ..nlb()
        };
        assert!(diagnose(5432, 10, &db(vec![by_group.clone()]), &with_sg).is_empty());
        assert_eq!(
            causes(&diagnose(5432, 10, &db(vec![by_group]), &nlb())),
            [Cause::SecurityGroup]
        );
        let mut listed = tcp(5432, 5432, &[]);
        listed.prefix_lists = true;
        assert!(diagnose(5432, 10, &db(vec![listed]), &nlb()).is_empty());
    }

    fn entry(
        rule: i32,
        egress: bool,
        allow: bool,
        cidr: &str,
        ports: Option<(u16, u16)>,
    ) -> AclEntry {
        AclEntry {
            rule_number: rule,
            egress,
            allow,
            protocol: if ports.is_some() {
                "6".into()
            } else {
                "-1".into()
            },
            cidr: Some(net(cidr)),
            ports,
        }
    }

    fn with_acl(entries: Vec<AclEntry>) -> DatabaseView {
        let mut d = db(vec![tcp(5432, 5432, &["10.0.0.0/16"])]);
        let mut all = entries;
        all.push(entry(32767, false, false, "0.0.0.0/0", None));
        all.push(entry(32767, true, false, "0.0.0.0/0", None));
        d.network_acls = vec![NetworkAcl {
            id: "acl-db".into(),
            subnet: "subnet-db".into(),
            subnet_cidr: Some(net("10.0.9.0/24")),
            entries: all,
        }];
        d
    }

    #[test]
    fn network_acls_are_read_lowest_rule_first_both_ways() {
        let open = with_acl(vec![
            entry(100, false, true, "0.0.0.0/0", None),
            entry(100, true, true, "0.0.0.0/0", None),
        ]);
        assert!(diagnose(5432, 10, &open, &nlb()).is_empty());
        // A deny below the allow wins; the outbound side allows only 32768-65535.
        let blocked = with_acl(vec![
            entry(50, false, false, "10.0.2.0/24", Some((5432, 5432))),
            entry(100, false, true, "10.0.0.0/16", Some((5432, 5432))),
            entry(100, true, true, "10.0.0.0/16", Some((32768, 65535))),
        ]);
        let d = diagnose(5432, 10, &blocked, &nlb());
        assert_eq!(
            causes(&d),
            [Cause::NetworkAclInbound, Cause::NetworkAclReturn]
        );
        assert!(
            d[0].line.contains("10.0.2.10") && d[0].line.contains("rule 50"),
            "{}",
            d[0].line
        );
        assert!(!d[0].line.contains("10.0.1.10"), "{}", d[0].line);
        assert!(
            d[1].line.contains("port 1024") && d[1].line.contains("default deny"),
            "{}",
            d[1].line
        );
        // A node in the database's own subnet never crosses its ACL.
        let mut same = blocked.clone();
        same.network_acls[0].subnet_cidr = Some(net("10.0.2.0/24"));
        let d = diagnose(5432, 10, &same, &nlb());
        assert!(d.iter().all(|d| !d.line.contains("10.0.2.10")), "{d:?}");
        // The ephemeral range in full: fine.
        let returns = with_acl(vec![
            entry(100, false, true, "10.0.0.0/16", Some((5432, 5432))),
            entry(100, true, true, "10.0.0.0/16", Some((1024, 65535))),
        ]);
        assert!(diagnose(5432, 10, &returns, &nlb()).is_empty());
    }

    #[test]
    fn a_changed_port_is_reported_not_followed() {
        let mut moved = db(vec![tcp(0, 65535, &["10.0.0.0/16"])]);
        moved.port = Some(6543);
        let d = diagnose(5432, 10, &moved, &nlb());
        assert_eq!(causes(&d), [Cause::PortChanged]);
        assert!(d[0].line.contains("port 6543") && d[0].line.contains("re-create"));
    }

    #[test]
    fn mysql_blocks_an_idle_nlb_after_max_connect_errors_checks() {
        let mut mysql = db(vec![tcp(3306, 3306, &["10.0.0.0/16"])]);
        mysql.engine = Some("mysql".into());
        mysql.port = Some(3306);
        mysql.max_connect_errors = Some(Parameter {
            value: 100,
            source: "engine default".into(),
        });
        let d = diagnose(3306, 10, &mysql, &nlb());
        assert_eq!(causes(&d), [Cause::MaxConnectErrors]);
        // 2 nodes every 10 s: 17,280 checks a day; 100 × 10 s = 16 min idle.
        assert!(
            d[0].line.contains("17280 a day") && d[0].line.contains("16 min"),
            "{}",
            d[0].line
        );
        mysql.max_connect_errors = Some(Parameter {
            value: MAX_CONNECT_ERRORS_FIX,
            source: "mysql80-router".into(),
        });
        assert!(diagnose(3306, 10, &mysql, &nlb()).is_empty());
        mysql.engine = Some("postgres".into());
        mysql.max_connect_errors = Some(Parameter {
            value: 1,
            source: "x".into(),
        });
        assert!(diagnose(3306, 10, &mysql, &nlb()).is_empty());
    }
}
