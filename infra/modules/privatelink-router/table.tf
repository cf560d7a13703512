############################################################################################
# The route table (layout: shared/src/adapters/aws/store/mod.rs). Keys pk/sk; gsi1 lists routes in id order;
# by_rds finds the routes of an RDS identifier for event handling.
############################################################################################

resource "aws_dynamodb_table" "routes" {
  #checkov:skip=CKV_AWS_119:Encrypted with the AWS managed key aws/dynamodb. A CMK would need a key policy and kms grants for three roles; the table holds routing metadata, no credentials.
  name                        = local.table_name
  billing_mode                = "PAY_PER_REQUEST"
  hash_key                    = "pk"
  range_key                   = "sk"
  deletion_protection_enabled = var.deletion_protection

  attribute {
    name = "pk"
    type = "S"
  }

  attribute {
    name = "sk"
    type = "S"
  }

  attribute {
    name = "gsi1pk"
    type = "S"
  }

  attribute {
    name = "gsi1sk"
    type = "S"
  }

  attribute {
    name = "rds_key"
    type = "S"
  }

  global_secondary_index {
    name            = "gsi1"
    hash_key        = "gsi1pk"
    range_key       = "gsi1sk"
    projection_type = "ALL"
  }

  global_secondary_index {
    name            = "by_rds"
    hash_key        = "rds_key"
    projection_type = "ALL"
  }

  point_in_time_recovery {
    enabled = true
  }

  # Encrypted with the AWS managed key aws/dynamodb (README, checkov CKV_AWS_119).
  server_side_encryption {
    enabled = true
  }

  tags = local.tags
}

############################################################################################
# Seeded routes: the seed's target_endpoints, written as seed items (pk "SEEDS", sk = route
# name). Each audit run turns every seed into a route through the same create path as the API —
# on the seed's own listener port (base_port + index), target group, listener — and deletes the
# seed item (shared/src/flows/seeds.rs). Terraform re-creating a deleted seed item on a later apply is
# harmless: the route exists with the same definition, so the seed is simply consumed again.
# Removing an entry does not delete its route: use DELETE /routes/{id}.
############################################################################################

resource "aws_dynamodb_table_item" "seeded_route" {
  for_each = local.seed_routes

  table_name = aws_dynamodb_table.routes.name
  hash_key   = aws_dynamodb_table.routes.hash_key
  range_key  = aws_dynamodb_table.routes.range_key

  # A seed, not a route: the audit turns each seed into a route through the same create path
  # as the API (the pinned listener port, target group, listener), then deletes the seed item.
  # Layout: `shared/src/adapters/aws/store/seed_records.rs`; expansion of the seed's inputs: seeds.tf.
  item = jsonencode(merge(
    {
      pk            = { S = "SEEDS" }
      sk            = { S = each.key }
      name          = { S = each.key }
      host          = { S = each.value.host }
      port          = { N = tostring(each.value.port) }
      listener_port = { N = tostring(each.value.listener_port) }
      health_check = { M = {
        interval_seconds    = { N = tostring(var.health_check_config.interval) }
        timeout_seconds     = { N = tostring(var.health_check_config.timeout) }
        healthy_threshold   = { N = tostring(var.health_check_config.healthy_threshold) }
        unhealthy_threshold = { N = tostring(var.health_check_config.unhealthy_threshold) }
      } }
      tags      = { M = { for k, v in each.value.tags : k => { S = v } } }
      owner     = { S = var.seed_route_owner }
      seeded_by = { S = "terraform" }
    },
    each.value.rds_identifier == null ? {} : { rds_identifier = { S = each.value.rds_identifier } },
    each.value.account_id == null ? {} : { account_id = { S = each.value.account_id } },
    each.value.idle_timeout == null ? {} : { idle_timeout_seconds = { N = tostring(each.value.idle_timeout) } },
  ))

  lifecycle {
    ignore_changes = [item]
  }
}

# Seeded routes exist when `apply` ends, not a minute later: the audit runs once after the
# seeds change (it turns seeds into routes first).
resource "aws_lambda_invocation" "provision_seeds" {
  count         = length(local.seed_routes) > 0 ? 1 : 0
  function_name = aws_lambda_function.dns_audit.function_name
  input         = jsonencode({ dry_run = false })

  triggers = {
    seeds = sha256(jsonencode(local.seed_routes))
  }

  depends_on = [aws_dynamodb_table_item.seeded_route]
}
