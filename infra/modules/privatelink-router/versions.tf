terraform {
  # optional() object attributes with defaults (1.3), preconditions (1.2); 1.6 is the floor we
  # support and document.
  required_version = ">= 1.6"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # NLB security groups and enforce_security_group_inbound_rules_on_private_link_traffic,
      # aws_vpc_security_group_*_rule, DynamoDB deletion protection.
      version = ">= 5.40"
    }
  }
}
