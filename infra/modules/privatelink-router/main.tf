data "aws_partition" "current" {}

locals {
  tags = merge(var.tags, { "privatelink-router:service" = var.service_name })

  table_name = coalesce(var.table_name, "${var.service_name}-routes")

  # The three Lambdas: resource key => function name and crate name (the directory under
  # target/lambda that `cargo lambda build --release --output-format zip` writes).
  functions = {
    routes_api = { name = "${var.service_name}-routes-api", crate = "routes-api" }
    rds_events = { name = "${var.service_name}-rds-events", crate = "rds-events" }
    dns_audit  = { name = "${var.service_name}-dns-audit", crate = "dns-audit" }
  }

  package_dir = coalesce(var.lambda_package_dir, "${path.module}/../../../target/lambda")
  packages    = { for k, f in local.functions : k => "${local.package_dir}/${f.crate}/bootstrap.zip" }

  # Timeouts follow the work each handler may do: API Gateway waits at most 30 s; an event
  # handler polls DNS up to its deadline and then reconciles; the audit stops at its budget.
  timeouts = {
    routes_api = 29
    rds_events = var.dns_poll_deadline_seconds + 60
    dns_audit  = var.audit_budget_seconds + 60
  }

  # The Databricks OAuth client secret, when var.databricks is set (iam.tf).
  # The ARN as given, and with the random suffix Secrets Manager appends to every secret's ARN
  # ("-" and 6 characters): a partial ARN (no suffix) matches the secret only with it (Secrets
  # Manager user guide, "Permissions policy examples": "MySecret-??????").
  databricks_secret_arns = var.databricks == null ? [] : [
    var.databricks.client_secret_arn,
    "${var.databricks.client_secret_arn}-??????",
  ]
  databricks_secret_kms_keys = compact([try(var.databricks.client_secret_kms_key_arn, null)])

  # Routers in fill order: the Lambdas' ROUTER_FLEET.
  fleet = [for r in var.routers : {
    id                    = r
    nlb_arn               = aws_lb.router[r].arn
    endpoint_service_name = aws_vpc_endpoint_service.router[r].service_name
    consumer_domain       = lookup(var.consumer_domains, r, null)
  }]

  # Every variable the code reads (privatelink_router::config::ENV_VARS); all three functions
  # get the same set. tests/tests/infra.rs checks each function sets every one of them.
  lambda_environment = {
    ROUTER_TABLE                        = aws_dynamodb_table.routes.name
    ROUTER_DEPLOYMENT                   = var.service_name
    ROUTER_FLEET                        = jsonencode(local.fleet)
    ROUTER_DNS_SERVERS                  = join(",", var.dns_servers)
    ROUTER_PORT_RANGE                   = "${var.port_range.from}-${var.port_range.to}"
    ROUTER_PORT_QUARANTINE_SECONDS      = tostring(var.port_quarantine_seconds)
    ROUTER_WINDOW                       = tostring(var.window)
    ROUTER_READER_RETENTION_SECONDS     = tostring(var.reader_retention_seconds)
    ROUTER_GONE_AFTER_SECONDS           = tostring(var.gone_after_seconds)
    ROUTER_RDS_MEMBERSHIP               = tostring(var.rds_membership)
    ROUTER_RDS_ROLE_ARNS                = join(",", var.rds_role_arns)
    ROUTER_DEREGISTRATION_DELAY_SECONDS = tostring(var.deregistration_delay_seconds)
    ROUTER_IDLE_TIMEOUT_SECONDS         = tostring(var.idle_timeout_seconds)
    ROUTER_TARGETS_PER_NLB              = tostring(var.targets_per_nlb)
    ROUTER_ADMIN_PRINCIPALS             = join(",", var.admin_principals)
    ROUTER_CALLER_GRANTS                = jsonencode(var.caller_grants)
    ROUTER_DATABASE_CIDRS               = join(",", var.database_cidrs)
    ROUTER_DATABASE_PORTS               = join(",", var.database_ports)
    ROUTER_ROUTES_PER_OWNER             = tostring(var.quotas.routes_per_owner)
    ROUTER_TLS_NAMES_PER_OWNER          = tostring(var.quotas.tls_names_per_owner)
    ROUTER_TARGETS_PER_ROUTE            = tostring(var.quotas.targets_per_route)
    ROUTER_HOST_SUFFIXES                = join(",", var.host_suffixes)
    ROUTER_ALLOW_IP_LITERALS            = tostring(var.allow_ip_literals)
    ROUTER_EVENT_ACCOUNTS               = join(",", var.event_source_accounts)
    ROUTER_DNS_POLL_DEADLINE_SECONDS    = tostring(var.dns_poll_deadline_seconds)
    ROUTER_AUDIT_CONCURRENCY            = tostring(var.audit_concurrency)
    ROUTER_AUDIT_BUDGET_SECONDS         = tostring(var.audit_budget_seconds)
    ROUTER_AUDIT_ELBV2_CALLS_PER_SECOND = tostring(var.full_audit_elbv2_calls_per_second)
    ROUTER_ORPHAN_GRACE_SECONDS         = tostring(var.orphan_grace_seconds)
    ROUTER_DRY_RUN                      = tostring(var.dry_run)
    ROUTER_METRICS_NAMESPACE            = var.metrics_namespace
    ROUTER_DATABRICKS_HOST              = try(var.databricks.host, "")
    ROUTER_DATABRICKS_ACCOUNT_ID        = try(var.databricks.account_id, "")
    ROUTER_DATABRICKS_NCC_ID            = try(var.databricks.ncc_id, "")
    ROUTER_DATABRICKS_CLIENT_ID         = try(var.databricks.client_id, "")
    ROUTER_DATABRICKS_CLIENT_SECRET_ARN = try(var.databricks.client_secret_arn, "")
  }
}
