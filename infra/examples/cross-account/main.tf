# Router in a networking account, databases in another account's VPC reached over a Transit
# Gateway. What this example adds to the basic one:
#   1. the database account forwards its RDS events to the router account's bus (so failovers
#      are followed within seconds, not at the next audit);
#   2. the router accepts events from that account (bus permission + ROUTER_EVENT_ACCOUNTS);
#   3. the NLBs may send to the database VPC's CIDR, and the database security group admits the
#      NLBs' private IPs (targets outside the NLB's VPC are registered with AZ "all").
# Prerequisite (not managed here): both VPCs attached to the TGW, with routes NLB subnets ->
# database CIDR and database subnets -> NLB subnets through it. The Lambdas resolve the
# databases' RDS names from outside their VPC: a non-public RDS name resolves to its private IP
# from anywhere.

provider "aws" {
  alias  = "router"
  region = var.region
  assume_role {
    role_arn = var.router_account_role_arn
  }
}

provider "aws" {
  alias  = "databases"
  region = var.region
  assume_role {
    role_arn = var.database_account_role_arn
  }
}

data "aws_caller_identity" "router" {
  provider = aws.router
}

data "aws_caller_identity" "databases" {
  provider = aws.databases
}

data "aws_partition" "current" {
  provider = aws.router
}

locals {
  router_bus_arn = "arn:${data.aws_partition.current.partition}:events:${var.region}:${data.aws_caller_identity.router.account_id}:event-bus/default"
  routers        = ["r1"]
}

# --- Router account --------------------------------------------------------------------
module "router" {
  source = "../../modules/privatelink-router"
  providers = {
    aws = aws.router
  }

  service_name = "dbx-shared"
  vpc_id       = var.router_vpc_id
  subnet_ids   = var.router_subnet_ids
  routers      = local.routers

  service_config = {
    acceptance_required = true
    allowed_principals  = var.databricks_serverless_principals
  }

  # RDS events of the database account arrive on this account's default bus.
  event_source_accounts = [data.aws_caller_identity.databases.account_id]

  # The NLBs reach the databases through the TGW only.
  database_cidrs = [var.database_vpc_cidr]
  database_ports = [5432]
  host_suffixes  = [".rds.amazonaws.com"]
}

# --- Database account: forward RDS events to the router account's bus ---------------------
data "aws_iam_policy_document" "forward_assume" {
  provider = aws.databases

  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }
  }
}

data "aws_iam_policy_document" "forward" {
  provider = aws.databases

  statement {
    actions   = ["events:PutEvents"]
    resources = [local.router_bus_arn]
  }
}

resource "aws_iam_role" "forward_rds_events" {
  provider           = aws.databases
  name               = "privatelink-router-forward-rds-events"
  assume_role_policy = data.aws_iam_policy_document.forward_assume.json
}

resource "aws_iam_role_policy" "forward_rds_events" {
  provider = aws.databases
  name     = "put-events-on-router-bus"
  role     = aws_iam_role.forward_rds_events.id
  policy   = data.aws_iam_policy_document.forward.json
}

resource "aws_cloudwatch_event_rule" "forward_rds_events" {
  provider    = aws.databases
  name        = "privatelink-router-forward-rds-events"
  description = "RDS events to the privatelink-router account"
  # The same pattern the router subscribes to.
  event_pattern = file("${path.module}/../../modules/privatelink-router/event-patterns/rds-events.json")
}

resource "aws_cloudwatch_event_target" "forward_rds_events" {
  provider = aws.databases
  rule     = aws_cloudwatch_event_rule.forward_rds_events.name
  arn      = local.router_bus_arn
  role_arn = aws_iam_role.forward_rds_events.arn
}

# --- Database account: admit the NLBs ---------------------------------------------------
# Client IP preservation is off for IP targets over TCP: the databases see the NLBs' private
# IPs. (Across a TGW a security-group reference is not available everywhere; IPs always work.)
resource "aws_vpc_security_group_ingress_rule" "from_router_nlbs" {
  provider = aws.databases
  count    = length(local.routers) * length(var.router_subnet_ids)

  security_group_id = var.database_security_group_id
  description       = "privatelink-router NLB"
  ip_protocol       = "tcp"
  from_port         = 5432
  to_port           = 5432
  cidr_ipv4         = "${flatten(values(module.router.nlb_private_ips))[count.index]}/32"
}
