############################################################################################
# The seed module's databases, expanded exactly as the seed's locals do (../shared/SEED.md;
# the same rules in shared/src/domain/seed_inputs.rs): service_config.targets first, then
# target_endpoints; id is the database's DNS name, name the label; listener port
# service_config.base_port + index (pinned, so every consumer keeps its port; an entry may pin
# its own listener_port). This file has no resources: tests/tests/infra.rs runs it with
# `terraform apply` offline against seed-shaped inputs.
############################################################################################

locals {
  seed_entries = concat(
    [for t in var.service_config.targets : {
      source         = "service_config.targets"
      host           = t.id
      port           = t.target_port
      label          = replace(t.id, "/[^a-zA-Z0-9-]/", "-")
      listener_port  = null
      account_id     = null
      rds_identifier = null
      tags           = {}
      idle_timeout   = null
    }],
    [for t in var.target_endpoints : {
      source         = "target_endpoints"
      host           = t.id
      port           = t.port
      label          = t.name
      listener_port  = t.listener_port
      account_id     = t.account_id
      rds_identifier = t.rds_identifier
      tags           = t.tags
      idle_timeout   = t.idle_timeout_seconds
    }],
  )

  # Route name => database, in the seed's order (index = position in seed_entries).
  seed_databases = {
    for i, e in local.seed_entries : lower(e.label) => merge(e, {
      index         = i
      route         = lower(e.label)
      host          = lower(e.host)
      listener_port = coalesce(e.listener_port, var.service_config.base_port + i)
    })...
  }

  # One database per route name (collisions are refused by the `routes` output's precondition).
  seed_routes           = { for name, dbs in local.seed_databases : name => dbs[0] }
  seed_route_collisions = [for name, dbs in local.seed_databases : name if length(dbs) > 1]
  seed_invalid_names = [
    for name, db in local.seed_routes : "${db.source}: ${db.label}"
    if !can(regex("^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$", name))
  ]
}

output "route_ports" {
  description = "Route name => listener port of every database of target_endpoints and service_config.targets (pinned: base_port + index, or the entry's listener_port). Known at plan time, so consumer configuration (JDBC URLs, Databricks) can be wired in the same apply."
  value       = { for name, db in local.seed_routes : name => db.listener_port }

  precondition {
    condition     = length(local.seed_route_collisions) == 0
    error_message = "target_endpoints / service_config.targets: these route names are used by more than one database (names are the labels, lower-cased): ${join(", ", local.seed_route_collisions)}. Give one of them another name."
  }

  precondition {
    condition     = length(distinct([for e in local.seed_entries : e.host])) == length(local.seed_entries)
    error_message = "target_endpoints / service_config.targets: a database id (DNS name) is listed twice; the seed keys its databases by id."
  }

  precondition {
    condition     = length(local.seed_invalid_names) == 0
    error_message = "These labels are not valid route names (1-64 characters of a-z, 0-9 and '-'; service_config.targets derive theirs from id): ${join(", ", local.seed_invalid_names)}. Move the database to target_endpoints with a short name."
  }

  precondition {
    condition     = alltrue([for db in local.seed_routes : contains(var.database_ports, db.port)])
    error_message = "target_endpoints / service_config.targets: these databases' ports are not in database_ports, so the NLBs' security group would not reach them and the router refuses them (ROUTER_DATABASE_PORTS): ${join(", ", [for name, db in local.seed_routes : "${name}:${db.port}" if !contains(var.database_ports, db.port)])}. Add the ports to database_ports."
  }

  precondition {
    condition     = length(distinct([for db in local.seed_routes : db.listener_port])) == length(local.seed_routes)
    error_message = "target_endpoints[*].listener_port: two databases would share a listener port."
  }
}
