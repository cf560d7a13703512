variable "region" {
  type    = string
  default = "us-east-1"
}

variable "router_account_role_arn" {
  description = "Role Terraform assumes in the networking (router) account."
  type        = string
}

variable "database_account_role_arn" {
  description = "Role Terraform assumes in the database account."
  type        = string
}

variable "router_vpc_id" {
  type = string
}

variable "router_subnet_ids" {
  description = "NLB subnets in the router VPC (one per AZ), routed to the database VPC via the TGW."
  type        = list(string)
}

variable "database_vpc_cidr" {
  description = "CIDR of the database VPC, reached through the TGW."
  type        = string
}

variable "database_security_group_id" {
  description = "Security group of the databases (in the database account) that must admit the NLBs."
  type        = string
}

variable "databricks_serverless_principals" {
  type    = list(string)
  default = []
}
