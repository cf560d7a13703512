# Limits are Databricks' for serverless private connectivity on AWS (docs, "Configure private
# connectivity to resources in your VPC"): per region 10 NCCs and 30 private endpoints; an NCC
# binds to at most 50 workspaces; a private endpoint rule carries at most 10 domain names.
# Checks that read two variables are in limits.tf (a validation may name another variable
# only from Terraform 1.9).

variable "region" {
  description = "AWS region of the routers, the databases and the Databricks workspaces."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the routers' NLBs."
  type        = string
}

variable "subnet_ids" {
  description = "Subnets of the internal NLBs, one per Availability Zone."
  type        = list(string)
}

variable "routers" {
  description = "Router ids: one NLB, endpoint service and private endpoint rule each (about 50 databases per router)."
  type        = list(string)
  default     = ["r1"]

  validation {
    condition     = length(var.routers) >= 1 && length(var.routers) <= 30
    error_message = "routers: 1 to 30 (a private endpoint each; Databricks allows 30 per region)."
  }
}

variable "consumer_domains" {
  description = "Router id => the DNS name notebooks use for that router's databases (<domain>:<listener port>); it becomes a domain name of the router's rule. Databases created with tls_name are reached by their own RDS host name instead, which the router adds to the rule itself."
  type        = map(string)

  validation {
    condition     = alltrue([for d in values(var.consumer_domains) : length(d) <= 253 && can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", lower(d)))])
    error_message = "consumer_domains: each value must be a DNS name."
  }
}

variable "initial_tls_names" {
  description = "Router id => RDS host names already reached by their own name (routes with tls_name, e.g. from `plr catalog`), for the rule's first domain_names. The router keeps domain_names current afterwards; Terraform ignores later changes."
  type        = map(list(string))
  default     = {}

  validation {
    condition     = alltrue([for names in values(var.initial_tls_names) : length(names) <= 9])
    error_message = "initial_tls_names: at most 9 per router (a rule carries 10 domain names, the consumer domain included)."
  }
}

variable "databricks_account_id" {
  description = "Databricks account id (accounts console)."
  type        = string
}

variable "ncc_id" {
  description = "An existing network connectivity configuration to add the rules to; null creates one named ncc_name in region."
  type        = string
  default     = null
}

variable "ncc_name" {
  description = "Name of the NCC created when ncc_id is null (3-30 letters, digits, '-' and '_')."
  type        = string
  default     = "privatelink-router"

  validation {
    condition     = can(regex("^[0-9A-Za-z_-]{3,30}$", var.ncc_name))
    error_message = "ncc_name: 3-30 letters, digits, '-' and '_'."
  }
}

variable "existing_private_endpoints" {
  description = "Private endpoints your account already has in region across its NCCs (the 30 per region include them)."
  type        = number
  default     = 0
}

variable "workspace_ids" {
  description = "Workspaces whose serverless compute reaches the databases: the NCC is bound to each (an NCC binds to at most 50; a workspace has one NCC)."
  type        = list(string)

  validation {
    condition     = length(var.workspace_ids) <= 50 && length(distinct(var.workspace_ids)) == length(var.workspace_ids)
    error_message = "workspace_ids: at most 50, all distinct (an NCC binds to at most 50 workspaces)."
  }
}

variable "databricks_serverless_principals" {
  description = "The AWS principals Databricks serverless compute connects from in region (Databricks docs, \"Configure private connectivity to resources in your VPC\"): the endpoint services allow only these."
  type        = list(string)
}

variable "router_client_id" {
  description = "OAuth client id of the Databricks service principal the router uses to keep rules' domain_names current (account admin, or network admin of the NCC)."
  type        = string
}

variable "router_client_secret_arn" {
  description = "Secrets Manager secret (SecretString) with that service principal's OAuth secret, created outside Terraform so the secret never enters the state."
  type        = string
}
