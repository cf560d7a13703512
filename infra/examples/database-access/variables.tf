variable "region" {
  type    = string
  default = "us-east-1"
}

variable "vpc_id" {
  type = string
}

variable "subnet_ids" {
  type = list(string)
}

variable "database_security_group_id" {
  description = "Security group of a database in the router's VPC."
  type        = string
}

variable "remote_database_security_group_id" {
  description = "Security group of a database in another network (managed from this configuration, e.g. the same account's peered VPC)."
  type        = string
}
