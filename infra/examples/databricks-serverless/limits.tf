# Databricks limits that read more than one variable, checked at plan time (no provider
# needed: tests/tests/infra.rs applies this file with variables.tf offline).

locals {
  # Router id => the rule's first domain names: its consumer domain, then its TLS names.
  rule_domain_names = {
    for r in var.routers : r => concat(
      compact([lookup(var.consumer_domains, r, "")]),
      lookup(var.initial_tls_names, r, []),
    )
  }
}

output "rule_domain_names" {
  description = "Router id => the domain names its private endpoint rule starts with."
  value       = local.rule_domain_names

  precondition {
    condition     = alltrue([for names in values(local.rule_domain_names) : length(names) >= 1 && length(names) <= 10])
    error_message = "Every router's rule needs 1 to 10 domain names: give each router a consumer_domains entry, and at most 9 initial_tls_names."
  }

  precondition {
    condition     = alltrue([for r in keys(var.consumer_domains) : contains(var.routers, r)]) && alltrue([for r in keys(var.initial_tls_names) : contains(var.routers, r)])
    error_message = "consumer_domains and initial_tls_names: every key must be one of routers."
  }

  precondition {
    condition     = length(var.routers) + var.existing_private_endpoints <= 30
    error_message = "Databricks allows 30 private endpoints per region: routers plus existing_private_endpoints exceed it."
  }

  precondition {
    condition     = length(distinct(flatten(values(local.rule_domain_names)))) == length(flatten(values(local.rule_domain_names)))
    error_message = "A domain name may be on one rule only (it resolves to one private endpoint)."
  }
}
