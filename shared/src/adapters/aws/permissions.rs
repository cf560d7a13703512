//! The AWS API actions each Lambda's code calls, as IAM action names.
//!
//! This is the single source the infrastructure test (`tests/tests/infra.rs`) checks the
//! Terraform IAM policies against: each Lambda's policy must grant exactly these actions for
//! the services the code talks to (ELBv2, EC2, DynamoDB, RDS, STS) — nothing missing, nothing broader,
//! no wildcards. When code starts calling a new operation, add it here first; the test then
//! fails until `infra/modules/privatelink-router/iam.tf` grants it.
//!
//! `secretsmanager:GetSecretValue` reads the Databricks OAuth client secret (routes API and
//! audit, which keep private endpoint rules equal to the routes; granted only on that secret,
//! and only when Databricks is configured).
//!
//! EC2 `DescribeSecurityGroups`/`DescribeNetworkAcls` and RDS `DescribeDBParameters` diagnose
//! a route whose targets fail their health checks (routes API and audit).
//!
//! RDS (read-only) reads the members of Aurora reader and custom endpoints and which database
//! (or RDS Proxy) a name is; `sts:AssumeRole`
//! reaches other accounts' RDS API through `ROUTER_RDS_ROLE_ARNS` (granted only on those
//! roles, and only when there are any).
//!
//! Note for DynamoDB transactions: `TransactWriteItems` is authorised per contained operation,
//! so a `ConditionCheck` inside a transaction needs `dynamodb:ConditionCheckItem` listed here too.

/// Actions the routes API calls: create, list, inspect, sync and delete routes (target groups,
/// listeners, targets, the NLB's network interfaces for its private IPs, and the route table).
pub const ROUTES_API: &[&str] = &[
    "elasticloadbalancing:DescribeLoadBalancers",
    "elasticloadbalancing:CreateTargetGroup",
    "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:DescribeTags",
    "elasticloadbalancing:AddTags",
    "elasticloadbalancing:ModifyTargetGroupAttributes",
    "elasticloadbalancing:CreateListener",
    "elasticloadbalancing:DescribeListeners",
    "elasticloadbalancing:RegisterTargets",
    "elasticloadbalancing:DeregisterTargets",
    "elasticloadbalancing:DescribeTargetHealth",
    "elasticloadbalancing:DeleteListener",
    "elasticloadbalancing:DeleteTargetGroup",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeNetworkAcls",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:DeleteItem",
    "dynamodb:UpdateItem",
    "dynamodb:Query",
    "dynamodb:BatchGetItem",
    "dynamodb:TransactWriteItems",
    "elasticloadbalancing:ModifyTargetGroup",
    "elasticloadbalancing:ModifyListener",
    "elasticloadbalancing:ModifyListenerAttributes",
    "elasticloadbalancing:DescribeTargetGroupAttributes",
    "elasticloadbalancing:DescribeListenerAttributes",
    "rds:DescribeDBClusters",
    "rds:DescribeDBInstances",
    "rds:DescribeDBClusterEndpoints",
    "rds:DescribeDBProxies",
    "rds:DescribeDBProxyEndpoints",
    "rds:DescribeGlobalClusters",
    "rds:DescribeBlueGreenDeployments",
    "rds:DescribeDBParameters",
    "sts:AssumeRole",
    "secretsmanager:GetSecretValue",
];

/// Actions the RDS events handler calls: find the routes of a database, re-resolve them and
/// move their targets (no structural changes: that is the API's and the audit's job). Its
/// cold start reads the router's own interfaces (never targets) and, for liveness, which
/// addresses RDS interfaces hold.
pub const RDS_EVENTS: &[&str] = &[
    "elasticloadbalancing:DescribeLoadBalancers",
    "elasticloadbalancing:DescribeTargetHealth",
    "elasticloadbalancing:RegisterTargets",
    "elasticloadbalancing:DeregisterTargets",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
    "ec2:DescribeNetworkInterfaces",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:Query",
    "rds:DescribeDBClusters",
    "rds:DescribeDBInstances",
    "rds:DescribeDBClusterEndpoints",
    "rds:DescribeDBProxies",
    "rds:DescribeDBProxyEndpoints",
    "rds:DescribeGlobalClusters",
    "rds:DescribeBlueGreenDeployments",
    "sts:AssumeRole",
];

/// Actions the scheduled audit calls: everything the routes API does (it finishes and rolls
/// back routes) plus repairing drifted target groups and listeners.
pub const DNS_AUDIT: &[&str] = &[
    "elasticloadbalancing:DescribeLoadBalancers",
    "elasticloadbalancing:CreateTargetGroup",
    "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:DescribeTags",
    "elasticloadbalancing:AddTags",
    "elasticloadbalancing:ModifyTargetGroupAttributes",
    "elasticloadbalancing:CreateListener",
    "elasticloadbalancing:DescribeListeners",
    "elasticloadbalancing:RegisterTargets",
    "elasticloadbalancing:DeregisterTargets",
    "elasticloadbalancing:DescribeTargetHealth",
    "elasticloadbalancing:DeleteListener",
    "elasticloadbalancing:DeleteTargetGroup",
    "elasticloadbalancing:ModifyTargetGroup",
    "elasticloadbalancing:ModifyListener",
    "elasticloadbalancing:ModifyListenerAttributes",
    "elasticloadbalancing:DescribeTargetGroupAttributes",
    "elasticloadbalancing:DescribeListenerAttributes",
    "ec2:DescribeSubnets",
    "ec2:DescribeVpcs",
    "ec2:DescribeNetworkInterfaces",
    "ec2:DescribeSecurityGroups",
    "ec2:DescribeNetworkAcls",
    "dynamodb:GetItem",
    "dynamodb:PutItem",
    "dynamodb:DeleteItem",
    "dynamodb:UpdateItem",
    "dynamodb:Query",
    "dynamodb:BatchGetItem",
    "dynamodb:TransactWriteItems",
    "rds:DescribeDBClusters",
    "rds:DescribeDBInstances",
    "rds:DescribeDBClusterEndpoints",
    "rds:DescribeDBProxies",
    "rds:DescribeDBProxyEndpoints",
    "rds:DescribeGlobalClusters",
    "rds:DescribeBlueGreenDeployments",
    "rds:DescribeDBParameters",
    "sts:AssumeRole",
    "secretsmanager:GetSecretValue",
];

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn the_audit_may_do_everything_the_api_does() {
        let audit: BTreeSet<_> = DNS_AUDIT.iter().collect();
        let missing: Vec<_> = ROUTES_API.iter().filter(|a| !audit.contains(a)).collect();
        assert!(missing.is_empty(), "dns-audit lacks {missing:?}");
    }

    #[test]
    fn actions_are_exact_service_prefixed_names_without_wildcards() {
        for action in ROUTES_API.iter().chain(RDS_EVENTS).chain(DNS_AUDIT) {
            let (service, name) = action.split_once(':').expect("service:Action");
            assert!(
                [
                    "elasticloadbalancing",
                    "ec2",
                    "dynamodb",
                    "rds",
                    "sts",
                    "secretsmanager"
                ]
                .contains(&service),
                "{action}"
            );
            assert!(name.chars().all(|c| c.is_ascii_alphanumeric()), "{action}");
            assert!(
                name.starts_with(|c: char| c.is_ascii_uppercase()),
                "{action}"
            );
        }
        for list in [ROUTES_API, RDS_EVENTS, DNS_AUDIT] {
            let unique: BTreeSet<_> = list.iter().collect();
            assert_eq!(unique.len(), list.len(), "duplicate action in {list:?}");
        }
    }
}
