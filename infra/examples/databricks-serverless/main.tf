# Databricks serverless compute reaches every route of the routers by name, end to end in one
# apply:
#   1. the router module, its endpoint services allowing only Databricks' principals, and the
#      Databricks account API settings so the router keeps each rule's domain_names equal to
#      its routes (TLS names included);
#   2. a network connectivity configuration (NCC), or the one given, bound to the workspaces;
#   3. one private endpoint rule per router: endpoint_service = the router's endpoint service,
#      domain_names = its consumer domain (and initial TLS names);
#   4. the VPC endpoint connection Databricks opens for each rule, accepted on the AWS side, so
#      the rule becomes ESTABLISHED (one left PENDING expires after 14 days; the router's
#      RulesExpiring alarm fires at 11).
# Limits (limits.tf, variables.tf): 30 private endpoints per region, 50 workspaces per NCC,
# 10 domain names per rule.

provider "aws" {
  region = var.region
}

# Account-level Databricks provider (databricks_mws_* resources need one). Authenticate as a
# service principal with DATABRICKS_CLIENT_ID / DATABRICKS_CLIENT_SECRET in the environment.
provider "databricks" {
  alias      = "account"
  host       = "https://accounts.cloud.databricks.com"
  account_id = var.databricks_account_id
}

module "router" {
  source = "../../modules/privatelink-router"

  service_name     = "dbx-router"
  vpc_id           = var.vpc_id
  subnet_ids       = var.subnet_ids
  routers          = var.routers
  consumer_domains = var.consumer_domains

  service_config = {
    acceptance_required = true
    allowed_principals  = var.databricks_serverless_principals
  }

  databricks = {
    account_id        = var.databricks_account_id
    ncc_id            = local.ncc_id
    client_id         = var.router_client_id
    client_secret_arn = var.router_client_secret_arn
  }
}

resource "databricks_mws_network_connectivity_config" "this" {
  count    = var.ncc_id == null ? 1 : 0
  provider = databricks.account
  name     = var.ncc_name
  region   = var.region
}

locals {
  ncc_id = var.ncc_id != null ? var.ncc_id : databricks_mws_network_connectivity_config.this[0].network_connectivity_config_id
}

resource "databricks_mws_ncc_binding" "workspace" {
  for_each                       = toset(var.workspace_ids)
  provider                       = databricks.account
  network_connectivity_config_id = local.ncc_id
  workspace_id                   = each.value
}

resource "databricks_mws_ncc_private_endpoint_rule" "router" {
  for_each                       = toset(var.routers)
  provider                       = databricks.account
  network_connectivity_config_id = local.ncc_id
  endpoint_service               = module.router.endpoint_service_names[each.key]
  domain_names                   = local.rule_domain_names[each.key]

  lifecycle {
    # The router owns domain_names from here on (it adds and removes TLS names with their
    # routes).
    ignore_changes = [domain_names]
  }
}

# The endpoint Databricks creates for each rule, accepted on the endpoint service. Its id is
# known once Databricks has created the endpoint (state CREATING → PENDING); should the first
# apply find it empty, apply again — until then `plr catalog` and the audit report the rule
# PENDING with the endpoint to accept.
resource "aws_vpc_endpoint_connection_accepter" "rule" {
  for_each                = toset(var.routers)
  vpc_endpoint_service_id = module.router.endpoint_service_ids[each.key]
  vpc_endpoint_id         = databricks_mws_ncc_private_endpoint_rule.router[each.key].vpc_endpoint_id
}
