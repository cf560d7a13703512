terraform {
  required_version = ">= 1.6"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.40"
    }
    databricks = {
      source = "databricks/databricks"
      # AWS support of databricks_mws_ncc_private_endpoint_rule (endpoint_service,
      # domain_names, vpc_endpoint_id) arrived in 1.84.0.
      version = ">= 1.84"
    }
  }
}
