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

variable "databricks_serverless_principals" {
  description = "Principals allowed to connect to the endpoint service (Databricks gives the ARN to allow for serverless private connectivity)."
  type        = list(string)
  default     = []
}
