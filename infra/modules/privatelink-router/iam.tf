############################################################################################
# Least privilege. Each Lambda's policy grants exactly the actions its code calls, as listed
# in shared/src/adapters/aws/permissions.rs (ROUTES_API, RDS_EVENTS, DNS_AUDIT); tests/tests/infra.rs fails
# when they differ or when an action is a wildcard. Besides those, a function may only write
# its own logs and (event-driven functions) send to the DLQ.
#
# Scoping, from the Service Authorization Reference, "Actions, resources, and condition keys
# for Elastic Load Balancing V2" (service-authorization/latest/reference/
# list_awselasticloadbalancingv2.html):
# - Describe* (LoadBalancers, TargetGroups, TargetGroupAttributes, Listeners,
#   ListenerAttributes, TargetHealth, Tags) have no resource types: Resource must be "*".
# - CreateTargetGroup: resource targetgroup; condition keys aws:RequestTag, aws:TagKeys;
#   tags in the request also need AddTags (dependent action).
# - CreateListener: resource is the load balancer (loadbalancer/net/); aws:RequestTag,
#   aws:ResourceTag (of the load balancer), aws:TagKeys, elasticloadbalancing:ListenerProtocol.
# - AddTags: aws:RequestTag, aws:ResourceTag, aws:TagKeys, elasticloadbalancing:CreateAction
#   (tag-on-create) on targetgroup and listener/net.
# - RegisterTargets, DeregisterTargets, ModifyTargetGroup, ModifyTargetGroupAttributes,
#   DeleteTargetGroup: resource targetgroup; aws:ResourceTag supported.
# - ModifyListener, ModifyListenerAttributes, DeleteListener: resource listener/net;
#   aws:ResourceTag supported.
# So every ELBv2 mutation below carries a tag condition on the router's ownership tag
# (shared/src/adapters/aws/elb.rs TAG_MANAGED_BY = MANAGED_BY), set by the code on every target group and
# listener it creates. EC2 Describe* have no resource-level permissions either ("*").
############################################################################################

locals {
  managed_by_tag   = "privatelink-router:managed-by"
  managed_by_value = "privatelink-router"
  # This deployment's tag (shared/src/adapters/aws/elb.rs TAG_DEPLOYMENT; the code sets it to
  # ROUTER_DEPLOYMENT = var.service_name): a second deployment of the module in the account has
  # the same managed-by tag, never this value. Creations must carry it; changes are refused on
  # resources carrying another deployment's (IfExists: resources created before the tag
  # existed have none until the audit's one-time migration tags them).
  deployment_tag = "privatelink-router:deployment"

  # Target group names all start with this (shared/src/domain/route.rs target_group_name; the infra
  # test checks the two agree).
  target_group_name_prefix = "plr-"

  # arn:<partition>:elasticloadbalancing:<region>:<account>, from the first NLB.
  elb_arn_prefix = regex("^arn:[^:]+:elasticloadbalancing:[^:]+:[0-9]+", aws_lb.router[var.routers[0]].arn)
  # Plus target groups taken over from a seed deployment (`plr adopt`; they carry the
  # ownership tag too, which every mutation below still requires).
  target_group_arns = concat(
    ["${local.elb_arn_prefix}:targetgroup/${local.target_group_name_prefix}*/*"],
    [for p in var.adopted_target_group_prefixes : "${local.elb_arn_prefix}:targetgroup/${p}*/*"],
  )
  nlb_arns = [for r in var.routers : aws_lb.router[r].arn]
  # Listeners of our NLBs only: listener/net/<nlb name>/<nlb id>/<listener id>.
  listener_arns = [for r in var.routers : "${replace(aws_lb.router[r].arn, ":loadbalancer/", ":listener/")}/*"]
  table_arns    = [aws_dynamodb_table.routes.arn, "${aws_dynamodb_table.routes.arn}/index/*"]

  # RDS in the router's own account (members of Aurora reader and custom endpoints):
  # DescribeDBClusters/DBInstances/DBClusterEndpoints take cluster, db and cluster-endpoint
  # resources, DescribeDBProxies/DBProxyEndpoints db-proxy and db-proxy-endpoint ones, and
  # DescribeGlobalClusters global-cluster ones, whose ARN has no region, and
  # DescribeBlueGreenDeployments deployment ones
  # ("Actions, resources, and condition keys for Amazon RDS").
  rds_arn_prefix = replace(local.elb_arn_prefix, ":elasticloadbalancing:", ":rds:")
  rds_read_arns = [
    "${local.rds_arn_prefix}:cluster:*",
    "${local.rds_arn_prefix}:db:*",
    "${local.rds_arn_prefix}:cluster-endpoint:*",
    "${local.rds_arn_prefix}:db-proxy:*",
    "${local.rds_arn_prefix}:db-proxy-endpoint:*",
    "${replace(local.rds_arn_prefix, "/:rds:[^:]+:/", ":rds::")}:global-cluster:*",
    "${local.rds_arn_prefix}:deployment:*",
  ]
}

data "aws_iam_policy_document" "rds_read" {
  statement {
    sid = "RdsMembersRead"
    actions = [
      "rds:DescribeDBClusters",
      "rds:DescribeDBInstances",
      "rds:DescribeDBClusterEndpoints",
      "rds:DescribeDBProxies",
      "rds:DescribeDBProxyEndpoints",
      "rds:DescribeGlobalClusters",
      "rds:DescribeBlueGreenDeployments",
    ]
    resources = local.rds_read_arns
  }
}

# Other accounts' RDS API, through the read-only roles given in rds_role_arns (attached only
# when there are any: a statement needs at least one resource).
data "aws_iam_policy_document" "assume_rds_roles" {
  statement {
    sid       = "AssumeRdsReadRoles"
    actions   = ["sts:AssumeRole"]
    resources = var.rds_role_arns
  }
}

# The Databricks OAuth client secret (routes-api and dns-audit keep the private endpoint rules
# equal to the routes), attached only when var.databricks is set.
data "aws_iam_policy_document" "databricks_secret" {
  statement {
    sid       = "DatabricksClientSecret"
    actions   = ["secretsmanager:GetSecretValue"]
    resources = local.databricks_secret_arns
  }
}

# A secret encrypted with a customer-managed KMS key also needs kms:Decrypt on that key, and
# only through Secrets Manager (Secrets Manager user guide, "Secret encryption and decryption":
# the caller needs kms:Decrypt; kms:ViaService limits it to requests Secrets Manager makes).
# Attached only when databricks.client_secret_kms_key_arn is set.
data "aws_iam_policy_document" "databricks_secret_kms" {
  statement {
    sid       = "DatabricksClientSecretKey"
    actions   = ["kms:Decrypt"]
    resources = local.databricks_secret_kms_keys

    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["secretsmanager.${data.aws_region.current.name}.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "lambda_assume" {
  statement {
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["lambda.amazonaws.com"]
    }
  }
}

# ------------------------------------------------------------------------------------------
# routes-api (and, through source_policy_documents, dns-audit): create, inspect, sync, delete.
# ------------------------------------------------------------------------------------------
data "aws_iam_policy_document" "route_management" {
  source_policy_documents = [data.aws_iam_policy_document.rds_read.json]

  statement {
    sid = "ElbRead"
    actions = [
      "elasticloadbalancing:DescribeLoadBalancers",
      "elasticloadbalancing:DescribeTargetGroups",
      "elasticloadbalancing:DescribeTags",
      "elasticloadbalancing:DescribeListeners",
      "elasticloadbalancing:DescribeTargetHealth",
      "elasticloadbalancing:DescribeTargetGroupAttributes",
      "elasticloadbalancing:DescribeListenerAttributes",
    ]
    resources = ["*"]
  }

  statement {
    sid = "NetworkRead"
    actions = [
      "ec2:DescribeSubnets",
      "ec2:DescribeVpcs",
      "ec2:DescribeNetworkInterfaces",
    ]
    resources = ["*"]
  }

  # Diagnosing a route whose targets fail their health checks (shared/src/flows/diagnose.rs):
  # the database's security groups and its subnets' network ACLs (EC2 Describe* actions take
  # no resource-level permissions), and a MySQL or MariaDB parameter group's
  # max_connect_errors (DescribeDBParameters takes pg resources).
  statement {
    sid = "DiagnosisNetworkRead"
    actions = [
      "ec2:DescribeSecurityGroups",
      "ec2:DescribeNetworkAcls",
    ]
    resources = ["*"]
  }

  statement {
    sid       = "DiagnosisParametersRead"
    actions   = ["rds:DescribeDBParameters"]
    resources = ["${local.rds_arn_prefix}:pg:*"]
  }

  statement {
    sid       = "CreateOwnedTargetGroups"
    actions   = ["elasticloadbalancing:CreateTargetGroup"]
    resources = local.target_group_arns

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/${local.managed_by_tag}"
      values   = [local.managed_by_value]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/${local.deployment_tag}"
      values   = [var.service_name]
    }
  }

  statement {
    sid       = "CreateOwnedListenersOnRouterNlbs"
    actions   = ["elasticloadbalancing:CreateListener"]
    resources = local.nlb_arns

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/${local.managed_by_tag}"
      values   = [local.managed_by_value]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/${local.deployment_tag}"
      values   = [var.service_name]
    }
  }

  statement {
    sid       = "TagOnCreate"
    actions   = ["elasticloadbalancing:AddTags"]
    resources = concat(local.target_group_arns, local.listener_arns)

    condition {
      test     = "StringEquals"
      variable = "elasticloadbalancing:CreateAction"
      values   = ["CreateTargetGroup", "CreateListener"]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/${local.managed_by_tag}"
      values   = [local.managed_by_value]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/${local.deployment_tag}"
      values   = [var.service_name]
    }
  }

  statement {
    sid = "ChangeOwnedTargetGroups"
    actions = [
      "elasticloadbalancing:ModifyTargetGroup",
      "elasticloadbalancing:ModifyTargetGroupAttributes",
      "elasticloadbalancing:RegisterTargets",
      "elasticloadbalancing:DeregisterTargets",
      "elasticloadbalancing:DeleteTargetGroup",
    ]
    resources = local.target_group_arns

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/${local.managed_by_tag}"
      values   = [local.managed_by_value]
    }

    condition {
      test     = "StringEqualsIfExists"
      variable = "aws:ResourceTag/${local.deployment_tag}"
      values   = [var.service_name]
    }
  }

  statement {
    sid = "ChangeOwnedListeners"
    actions = [
      "elasticloadbalancing:ModifyListener",
      "elasticloadbalancing:ModifyListenerAttributes",
      "elasticloadbalancing:DeleteListener",
    ]
    resources = local.listener_arns

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/${local.managed_by_tag}"
      values   = [local.managed_by_value]
    }

    condition {
      test     = "StringEqualsIfExists"
      variable = "aws:ResourceTag/${local.deployment_tag}"
      values   = [var.service_name]
    }
  }

  statement {
    sid = "RouteTable"
    actions = [
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:DeleteItem",
      "dynamodb:UpdateItem",
      "dynamodb:Query",
      "dynamodb:BatchGetItem",
      "dynamodb:TransactWriteItems",
    ]
    resources = local.table_arns
  }
}

data "aws_iam_policy_document" "routes_api" {
  source_policy_documents = [data.aws_iam_policy_document.route_management.json]

  statement {
    sid       = "OwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.lambda["routes_api"].arn}:*"]
  }
}

# ------------------------------------------------------------------------------------------
# rds-events: move the targets of routed databases; no structural change.
# ------------------------------------------------------------------------------------------
data "aws_iam_policy_document" "rds_events" {
  source_policy_documents = [data.aws_iam_policy_document.rds_read.json]

  statement {
    sid = "ElbRead"
    actions = [
      "elasticloadbalancing:DescribeLoadBalancers",
      "elasticloadbalancing:DescribeTargetHealth",
    ]
    resources = ["*"]
  }

  statement {
    sid = "NetworkRead"
    actions = [
      "ec2:DescribeSubnets",
      "ec2:DescribeVpcs",
      "ec2:DescribeNetworkInterfaces",
    ]
    resources = ["*"]
  }

  statement {
    sid = "RetargetOwnedTargetGroups"
    actions = [
      "elasticloadbalancing:RegisterTargets",
      "elasticloadbalancing:DeregisterTargets",
    ]
    resources = local.target_group_arns

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/${local.managed_by_tag}"
      values   = [local.managed_by_value]
    }

    condition {
      test     = "StringEqualsIfExists"
      variable = "aws:ResourceTag/${local.deployment_tag}"
      values   = [var.service_name]
    }
  }

  statement {
    sid = "RouteTableRead"
    actions = [
      "dynamodb:GetItem",
      "dynamodb:Query",
    ]
    resources = local.table_arns
  }

  # It writes route items only (pk ROUTE#<id>): never seeds, ports, leases or the audit's
  # records (DynamoDB developer guide, "Using IAM policy conditions for fine-grained access
  # control": dynamodb:LeadingKeys is the item's partition key).
  statement {
    sid       = "RouteItemsWrite"
    actions   = ["dynamodb:PutItem"]
    resources = [aws_dynamodb_table.routes.arn]

    condition {
      test     = "ForAllValues:StringLike"
      variable = "dynamodb:LeadingKeys"
      values   = ["ROUTE#*"]
    }
  }

  statement {
    sid       = "OwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.lambda["rds_events"].arn}:*"]
  }

  statement {
    sid       = "FailedInvocationsToDlq"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq.arn]
  }
}

# ------------------------------------------------------------------------------------------
# dns-audit: everything route management does, plus repairing drifted groups and listeners.
# ------------------------------------------------------------------------------------------
data "aws_iam_policy_document" "dns_audit" {
  source_policy_documents = [data.aws_iam_policy_document.route_management.json]

  # The one-time migration of resources created before the deployment tag existed
  # (ensure_deployment_tag): only the audit adds a tag to an existing resource, only that tag
  # with this deployment's value, and only on resources carrying the ownership tag.
  statement {
    sid       = "TagMigration"
    actions   = ["elasticloadbalancing:AddTags"]
    resources = concat(local.target_group_arns, local.listener_arns)

    condition {
      test     = "StringEquals"
      variable = "aws:ResourceTag/${local.managed_by_tag}"
      values   = [local.managed_by_value]
    }

    condition {
      test     = "StringEquals"
      variable = "aws:RequestTag/${local.deployment_tag}"
      values   = [var.service_name]
    }

    condition {
      test     = "ForAllValues:StringEquals"
      variable = "aws:TagKeys"
      values   = [local.deployment_tag]
    }
  }

  statement {
    sid       = "OwnLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.lambda["dns_audit"].arn}:*"]
  }

  statement {
    sid       = "FailedInvocationsToDlq"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq.arn]
  }
}

# ------------------------------------------------------------------------------------------
# Roles: one per function, one inline policy each.
# ------------------------------------------------------------------------------------------
resource "aws_iam_role" "routes_api" {
  name               = "${var.service_name}-routes-api"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
  tags               = local.tags
}

resource "aws_iam_role_policy" "routes_api" {
  name   = "routes-api"
  role   = aws_iam_role.routes_api.id
  policy = data.aws_iam_policy_document.routes_api.json
}

resource "aws_iam_role_policy" "routes_api_assume_rds_roles" {
  count  = length(var.rds_role_arns) > 0 ? 1 : 0
  name   = "assume-rds-roles"
  role   = aws_iam_role.routes_api.id
  policy = data.aws_iam_policy_document.assume_rds_roles.json
}

resource "aws_iam_role_policy" "routes_api_databricks_secret" {
  count  = var.databricks == null ? 0 : 1
  name   = "databricks-secret"
  role   = aws_iam_role.routes_api.id
  policy = data.aws_iam_policy_document.databricks_secret.json
}

resource "aws_iam_role_policy" "routes_api_databricks_secret_kms" {
  count  = length(local.databricks_secret_kms_keys)
  name   = "databricks-secret-kms"
  role   = aws_iam_role.routes_api.id
  policy = data.aws_iam_policy_document.databricks_secret_kms.json
}

resource "aws_iam_role" "rds_events" {
  name               = "${var.service_name}-rds-events"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
  tags               = local.tags
}

resource "aws_iam_role_policy" "rds_events" {
  name   = "rds-events"
  role   = aws_iam_role.rds_events.id
  policy = data.aws_iam_policy_document.rds_events.json
}

resource "aws_iam_role_policy" "rds_events_assume_rds_roles" {
  count  = length(var.rds_role_arns) > 0 ? 1 : 0
  name   = "assume-rds-roles"
  role   = aws_iam_role.rds_events.id
  policy = data.aws_iam_policy_document.assume_rds_roles.json
}

resource "aws_iam_role" "dns_audit" {
  name               = "${var.service_name}-dns-audit"
  assume_role_policy = data.aws_iam_policy_document.lambda_assume.json
  tags               = local.tags
}

resource "aws_iam_role_policy" "dns_audit" {
  name   = "dns-audit"
  role   = aws_iam_role.dns_audit.id
  policy = data.aws_iam_policy_document.dns_audit.json
}

resource "aws_iam_role_policy" "dns_audit_assume_rds_roles" {
  count  = length(var.rds_role_arns) > 0 ? 1 : 0
  name   = "assume-rds-roles"
  role   = aws_iam_role.dns_audit.id
  policy = data.aws_iam_policy_document.assume_rds_roles.json
}

resource "aws_iam_role_policy" "dns_audit_databricks_secret" {
  count  = var.databricks == null ? 0 : 1
  name   = "databricks-secret"
  role   = aws_iam_role.dns_audit.id
  policy = data.aws_iam_policy_document.databricks_secret.json
}

resource "aws_iam_role_policy" "dns_audit_databricks_secret_kms" {
  count  = length(local.databricks_secret_kms_keys)
  name   = "databricks-secret-kms"
  role   = aws_iam_role.dns_audit.id
  policy = data.aws_iam_policy_document.databricks_secret_kms.json
}

# Only with lambda_tracing_mode = "Active": Lambda then sends trace segments as the function's
# role, which needs xray:PutTraceSegments and xray:PutTelemetryRecords (Lambda developer guide,
# "Visualize Lambda function invocations using AWS X-Ray", execution role permissions; the
# actions have no resource types: "*"); without them the configuration is refused.
data "aws_iam_policy_document" "xray_write" {
  statement {
    sid       = "TraceSegments"
    actions   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "xray" {
  for_each = var.lambda_tracing_mode == "Active" ? {
    routes_api = aws_iam_role.routes_api.id
    rds_events = aws_iam_role.rds_events.id
    dns_audit  = aws_iam_role.dns_audit.id
  } : {}

  name   = "xray-write"
  role   = each.value
  policy = data.aws_iam_policy_document.xray_write.json
}

# Only when the Lambdas run in a VPC: Lambda needs to manage their network interfaces.
resource "aws_iam_role_policy_attachment" "vpc_access" {
  for_each = var.lambda_vpc_config == null ? {} : {
    routes_api = aws_iam_role.routes_api.name
    rds_events = aws_iam_role.rds_events.name
    dns_audit  = aws_iam_role.dns_audit.name
  }

  role       = each.value
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AWSLambdaVPCAccessExecutionRole"
}
