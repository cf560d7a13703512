############################################################################################
# One security group shared by every router's NLB. Databases must admit the NLBs (client IP
# preservation is off for IP targets over TCP: a database sees the NLB's private IPs) — see the
# nlb_private_ips and security_group_id outputs and README "Let the NLB reach your database".
############################################################################################

resource "aws_security_group" "nlb" {
  name_prefix = "${var.service_name}-nlb-"
  description = "privatelink-router NLBs: listener ports in, database ports out"
  vpc_id      = var.vpc_id
  tags        = merge(local.tags, { Name = "${var.service_name}-nlb" })

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_vpc_security_group_ingress_rule" "listeners" {
  for_each = toset(var.ingress_cidrs)

  security_group_id = aws_security_group.nlb.id
  description       = "Clients to the router's listener port range"
  ip_protocol       = "tcp"
  from_port         = var.port_range.from
  to_port           = var.port_range.to
  cidr_ipv4         = each.value
  tags              = local.tags
}

resource "aws_vpc_security_group_egress_rule" "databases" {
  for_each = {
    for pair in setproduct(var.database_cidrs, var.database_ports) :
    "${pair[0]}:${pair[1]}" => { cidr = pair[0], port = pair[1] }
  }

  security_group_id = aws_security_group.nlb.id
  description       = "Targets and health checks on database port ${each.value.port}"
  ip_protocol       = "tcp"
  from_port         = each.value.port
  to_port           = each.value.port
  cidr_ipv4         = each.value.cidr
  tags              = local.tags
}

############################################################################################
# Routers: an internal NLB and a VPC endpoint service in front of it, per router id.
# The router's Lambdas create the listeners and target groups; Terraform never manages them.
############################################################################################

resource "aws_lb" "router" {
  #checkov:skip=CKV_AWS_91:NLB access logs are written only for TLS listeners; the router's listeners are TCP pass-through, so there is nothing to log.
  for_each = toset(var.routers)

  name                             = "${var.service_name}-${each.key}"
  internal                         = true
  load_balancer_type               = "network"
  subnets                          = var.subnet_ids
  security_groups                  = [aws_security_group.nlb.id]
  enable_cross_zone_load_balancing = var.cross_zone_load_balancing
  enable_deletion_protection       = var.deletion_protection

  enforce_security_group_inbound_rules_on_private_link_traffic = var.enforce_privatelink_inbound_rules

  tags = merge(local.tags, { "privatelink-router:router" = each.key })

  lifecycle {
    precondition {
      condition     = length("${var.service_name}-${each.key}") <= 32
      error_message = "NLB name ${var.service_name}-${each.key} is longer than 32 characters: shorten service_name or the router id."
    }
    # Here, not in the variable: a validation may name another variable only from Terraform 1.9.
    precondition {
      condition     = alltrue([for r in keys(var.consumer_domains) : contains(var.routers, r)])
      error_message = "consumer_domains: ${join(", ", [for r in keys(var.consumer_domains) : r if !contains(var.routers, r)])} is no router id of routers."
    }
  }
}

resource "aws_vpc_endpoint_service" "router" {
  for_each = toset(var.routers)

  acceptance_required        = var.service_config.acceptance_required
  allowed_principals         = var.service_config.allowed_principals
  private_dns_name           = var.service_config.private_dns_name
  supported_ip_address_types = var.service_config.supported_ip_address_types
  network_load_balancer_arns = [aws_lb.router[each.key].arn]

  tags = merge(local.tags, {
    Name                        = "${var.service_name}-${each.key}"
    "privatelink-router:router" = each.key
  })
}

# The NLB's private IPs: one network interface per subnet, described "ELB net/<name>/<id>"
# (the load balancer's arn_suffix). Databases allow these (or the security group) in.
data "aws_network_interface" "nlb" {
  for_each = {
    for pair in setproduct(var.routers, var.subnet_ids) :
    "${pair[0]}/${pair[1]}" => { router = pair[0], subnet = pair[1] }
  }

  filter {
    name   = "description"
    values = ["ELB ${aws_lb.router[each.value.router].arn_suffix}"]
  }

  filter {
    name   = "subnet-id"
    values = [each.value.subnet]
  }
}
