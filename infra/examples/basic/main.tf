# One account, one VPC: the router in front of the databases of that VPC, exposed to
# Databricks serverless through one endpoint service. Inputs use the seed module's names, so a
# seed user switches by changing `source`: the ports stay the seed's (output route_ports).
#
#   cargo lambda build --release --output-format zip   # from the repository root
#   terraform init && terraform apply -var vpc_id=vpc-... -var 'subnet_ids=["subnet-a","subnet-b"]'

provider "aws" {
  region = var.region
}

module "router" {
  source = "../../modules/privatelink-router"

  service_name = "dbx-databases"
  vpc_id       = var.vpc_id
  subnet_ids   = var.subnet_ids
  tags         = { team = "data-platform" }

  service_config = {
    acceptance_required = true
    allowed_principals  = var.databricks_serverless_principals
  }

  health_check_config = {
    port                = "traffic-port"
    interval            = 10
    timeout             = 5
    healthy_threshold   = 3
    unhealthy_threshold = 3
  }

  # The seed's list, with the seed's meaning: id = the database's DNS name, name = the label
  # (route name). Listener ports are the seed's, base_port + index: 10000, 10001 (output
  # route_ports), pinned for good.
  target_endpoints = [
    { id = "orders.abcdefghijkl.us-east-1.rds.amazonaws.com", port = 5432, name = "orders" },
    { id = "billing.cluster-abcdefghijkl.us-east-1.rds.amazonaws.com", port = 5432, name = "billing" },
  ]

  host_suffixes    = [".rds.amazonaws.com"]
  database_ports   = [5432]
  admin_principals = []
}
