# Let the router's NLBs reach the databases (README "What database owners must allow"). Client
# IP preservation is off for IP targets over TCP: a database sees connections from the NLBs'
# own addresses. This plans and applies in one go on a fresh account: the first rule needs no
# address, and the second's keys (router id / subnet index) are known at plan time while the
# addresses are not yet.
#
#   terraform init && terraform apply -var vpc_id=vpc-... -var 'subnet_ids=["subnet-a","subnet-b"]' \
#     -var database_security_group_id=sg-... -var remote_database_security_group_id=sg-...

provider "aws" {
  region = var.region
}

module "router" {
  source = "../../modules/privatelink-router"

  vpc_id         = var.vpc_id
  subnet_ids     = var.subnet_ids
  database_ports = [5432]
}

# A database in the router's VPC: admit the NLBs' security group (one rule, no addresses).
resource "aws_vpc_security_group_ingress_rule" "database_from_router" {
  security_group_id            = var.database_security_group_id
  referenced_security_group_id = module.router.security_group_id
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
}

# A database in another network (a peered VPC, or over Transit Gateway): admit each NLB
# address. The keys are known at plan time, the addresses only after the NLBs exist.
resource "aws_vpc_security_group_ingress_rule" "remote_database_from_router" {
  for_each          = module.router.nlb_private_ip_cidrs
  security_group_id = var.remote_database_security_group_id
  cidr_ipv4         = each.value
  ip_protocol       = "tcp"
  from_port         = 5432
  to_port           = 5432
}
