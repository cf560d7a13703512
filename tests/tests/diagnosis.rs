//! Why is the target unhealthy? (issue #29, case 4) The router reads the database's security
//! groups, its subnets' network ACLs, its port and (MySQL, MariaDB) its `max_connect_errors`
//! from moto's RDS and EC2 APIs, and names the cause with its fix on create, in
//! `GET /routes/{id}` and in the audit. It reports; it changes nothing of the database.

use aws_sdk_ec2::types::{PortRange, RuleAction};
use router_tests::databases::{admit, database, fail_health_checks};
use router_tests::fixtures::{Bed, ADMIN};
use router_tests::handlers::{audit, get_route_as, post_route};
use serde_json::{json, Value};

fn causes(diagnoses: &Value) -> Vec<String> {
    diagnoses
        .as_array()
        .map(|d| {
            d.iter()
                .map(|x| x["cause"].as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// Case 4: a security group that admits one NLB node, a network ACL that drops the replies
/// to the NLB's ephemeral ports, and a database moved to another port are each named, with
/// the fix, on create, in `GET /routes/{id}` and in the audit. Before: `unhealthy` and
/// `Target.FailedHealthChecks` only.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unhealthy_targets_cause_is_named_with_its_fix() {
    let bed = Bed::start("diagnosis").await;
    let nodes = bed.network.nlb_interfaces(&bed.sdk).await.unwrap();
    assert_eq!(nodes, ["10.0.1.250", "10.0.2.250"]);
    // The database admits the first zone's subnet only.
    let db = database(&bed, "diag-pg", "postgres", 5432, "10.0.1.0/24", None).await;
    bed.set_ip(&db.address, [10, 0, 1, 20]);
    let body = json!({"name": "diag", "host": db.address, "port": 5432});
    let (status, created) = post_route(&bed.ctx, &body, ADMIN).await;
    assert_eq!(status, 201, "{created:#}");
    assert_eq!(
        causes(&created["diagnoses"]),
        ["security_group"],
        "{created:#}"
    );
    let line = created["diagnoses"][0]["line"].as_str().unwrap();
    assert!(
        line.contains("10.0.2.250")
            && !line.contains("10.0.1.250")
            && line.contains(&db.security_group)
            && line.contains("add an inbound rule for TCP 5432 from 10.0.2.250/32"),
        "{line}"
    );

    fail_health_checks(&bed, "diag", "10.0.1.20").await;
    let (_, shown) = get_route_as(&bed.ctx, "diag", ADMIN).await;
    assert_eq!(
        causes(&shown["health"]["diagnoses"]),
        ["security_group"],
        "{shown:#}"
    );
    let report = audit(&bed.ctx).await;
    let row = &report["routes_not_serving"][0];
    assert_eq!(row["route_id"], "diag", "{report:#}");
    assert_eq!(causes(&row["diagnoses"]), ["security_group"], "{report:#}");

    // Fixed; now a network ACL on the database's subnet drops the replies below 32768.
    admit(&bed, &db.security_group, 5432, "10.0.2.0/24").await;
    let ec2 = aws_sdk_ec2::Client::new(&bed.sdk);
    let acl = ec2
        .create_network_acl()
        .vpc_id(&bed.network.vpc_id)
        .send()
        .await
        .unwrap()
        .network_acl()
        .unwrap()
        .network_acl_id()
        .unwrap()
        .to_owned();
    for (egress, ports) in [(false, (5432, 5432)), (true, (32768, 65535))] {
        ec2.create_network_acl_entry()
            .network_acl_id(&acl)
            .rule_number(100)
            .protocol("6")
            .rule_action(RuleAction::Allow)
            .egress(egress)
            .cidr_block("10.0.0.0/16")
            .port_range(PortRange::builder().from(ports.0).to(ports.1).build())
            .send()
            .await
            .unwrap();
    }
    let association = ec2
        .describe_network_acls()
        .filters(
            aws_sdk_ec2::types::Filter::builder()
                .name("association.subnet-id")
                .values(&bed.network.subnets[0].id)
                .build(),
        )
        .send()
        .await
        .unwrap()
        .network_acls()[0]
        .associations()
        .iter()
        .find(|a| a.subnet_id() == Some(bed.network.subnets[0].id.as_str()))
        .and_then(|a| a.network_acl_association_id())
        .unwrap()
        .to_owned();
    ec2.replace_network_acl_association()
        .association_id(association)
        .network_acl_id(&acl)
        .send()
        .await
        .unwrap();
    let (_, shown) = get_route_as(&bed.ctx, "diag", ADMIN).await;
    assert_eq!(
        causes(&shown["health"]["diagnoses"]),
        ["network_acl_return"],
        "{shown:#}"
    );
    let line = shown["health"]["diagnoses"][0]["line"].as_str().unwrap();
    assert!(
        line.contains(&acl) && line.contains("port 1024") && line.contains("1024-65535"),
        "{line}"
    );

    // A compliance runbook moves the database to 6543: reported, not followed.
    aws_sdk_rds::Client::new(&bed.sdk)
        .modify_db_instance()
        .db_instance_identifier("diag-pg")
        .db_port_number(6543)
        .apply_immediately(true)
        .send()
        .await
        .unwrap();
    let (_, shown) = get_route_as(&bed.ctx, "diag", ADMIN).await;
    let found = causes(&shown["health"]["diagnoses"]);
    assert!(found.contains(&"port_changed".to_owned()), "{shown:#}");
    assert_eq!(shown["port"], 5432, "the route keeps its port");
}

/// Case 4, MySQL and MariaDB: the NLB's TCP health checks never complete a handshake, and the
/// server blocks a host after `max_connect_errors` of them (default 100) while the check still
/// passes. A route on a MySQL database whose parameter group leaves the default is warned with
/// the checks a day and the fix; raised to the maximum, the warning goes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_mysql_database_that_blocks_the_nlb_is_warned_with_the_checks_a_day() {
    let bed = Bed::start("diag-mysql").await;
    bed.network.nlb_interfaces(&bed.sdk).await.unwrap();
    let rds = aws_sdk_rds::Client::new(&bed.sdk);
    rds.create_db_parameter_group()
        .db_parameter_group_name("mysql80-orders")
        .db_parameter_group_family("mysql8.0")
        .description("orders")
        .send()
        .await
        .unwrap();
    let db = database(
        &bed,
        "diag-my",
        "mysql",
        3306,
        "10.0.0.0/16",
        Some("mysql80-orders"),
    )
    .await;
    bed.set_ip(&db.address, [10, 0, 1, 30]);
    let body = json!({"name": "orders", "host": db.address, "port": 3306});
    let (status, created) = post_route(&bed.ctx, &body, ADMIN).await;
    assert_eq!(status, 201, "{created:#}");
    assert_eq!(created["engine"], "mysql", "learned from RDS: {created:#}");
    assert_eq!(
        causes(&created["diagnoses"]),
        ["max_connect_errors"],
        "{created:#}"
    );
    let line = created["diagnoses"][0]["line"].as_str().unwrap();
    // Two NLB nodes, every 10 s: 17,280 checks a day; 100 × 10 s = 16 minutes idle.
    assert!(
        line.contains("max_connect_errors 100")
            && line.contains("17280 a day")
            && line.contains("16 min")
            && line.contains("FLUSH HOSTS"),
        "{line}"
    );
    let (_, shown) = get_route_as(&bed.ctx, "orders", ADMIN).await;
    assert_eq!(
        causes(&shown["health"]["diagnoses"]),
        ["max_connect_errors"],
        "{shown:#}"
    );

    rds.modify_db_parameter_group()
        .db_parameter_group_name("mysql80-orders")
        .parameters(
            aws_sdk_rds::types::Parameter::builder()
                .parameter_name("max_connect_errors")
                .parameter_value("4294967295")
                .apply_method(aws_sdk_rds::types::ApplyMethod::Immediate)
                .build(),
        )
        .send()
        .await
        .unwrap();
    let (_, shown) = get_route_as(&bed.ctx, "orders", ADMIN).await;
    assert_eq!(shown["health"]["diagnoses"], Value::Null, "{shown:#}");
}
