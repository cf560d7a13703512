############################################################################################
# The route table (layout: shared/src/store.rs). Keys pk/sk; gsi1 lists routes in id order;
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
# Seeded routes: the seed's target_endpoints, written once as "provisioning" route items with
# no router and no listener port. The audit (dns-audit) allocates both from the router's
# allocator — never from list position — and creates the target group and listener, exactly
# as it finishes a route whose API creation was interrupted. Terraform creates an item only if
# no route of that id exists (the provider's PutItem is conditional) and then never rewrites
# it: the router owns the item from then on (ignore_changes). Removing an entry deletes the
# item; the audit then treats its target group and listener as orphans and deletes them after
# ROUTER_ORPHAN_GRACE_SECONDS. Prefer DELETE /routes/{id} to remove a route.
############################################################################################

resource "aws_dynamodb_table_item" "seeded_route" {
  for_each = { for e in var.target_endpoints : e.id => e }

  table_name = aws_dynamodb_table.routes.name
  hash_key   = aws_dynamodb_table.routes.hash_key
  range_key  = aws_dynamodb_table.routes.range_key

  item = jsonencode(merge(
    {
      pk       = { S = "ROUTE#${each.key}" }
      sk       = { S = "ROUTE" }
      gsi1pk   = { S = "ROUTES" }
      gsi1sk   = { S = each.key }
      id       = { S = each.key }
      host     = { S = lower(coalesce(each.value.host, each.value.name)) }
      port     = { N = tostring(each.value.port) }
      protocol = { S = "TCP" }
      health_check = { M = {
        interval_seconds    = { N = tostring(var.health_check_config.interval) }
        timeout_seconds     = { N = tostring(var.health_check_config.timeout) }
        healthy_threshold   = { N = tostring(var.health_check_config.healthy_threshold) }
        unhealthy_threshold = { N = tostring(var.health_check_config.unhealthy_threshold) }
      } }
      tags      = { M = { for k, v in each.value.tags : k => { S = v } } }
      owner     = { S = var.seed_route_owner }
      status    = { S = "provisioning" }
      seeded_by = { S = "terraform" }
      version   = { N = "0" }
    },
    each.value.rds_identifier == null ? {} : { rds_identifier = { S = each.value.rds_identifier } },
  ))

  lifecycle {
    ignore_changes = [item]
  }
}
