output "ncc_id" {
  description = "The network connectivity configuration the rules are in."
  value       = local.ncc_id
}

output "private_endpoint_rules" {
  description = "Router id => {rule_id, endpoint_service, vpc_endpoint_id}."
  value = {
    for r, rule in databricks_mws_ncc_private_endpoint_rule.router : r => {
      rule_id          = rule.rule_id
      endpoint_service = rule.endpoint_service
      vpc_endpoint_id  = rule.vpc_endpoint_id
    }
  }
}

output "api_url" {
  description = "The routes API (SigV4): POST /routes with tls_name for verify-full; GET /catalog for connection strings."
  value       = module.router.api_url
}
