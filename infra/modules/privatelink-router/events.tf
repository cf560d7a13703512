############################################################################################
# RDS events -> rds-events. The pattern is a plain JSON file so that tests/tests/infra.rs can
# evaluate it against the samples in events/ with EventBridge's matching rules.
############################################################################################

resource "aws_cloudwatch_event_rule" "rds_events" {
  name           = "${var.service_name}-rds-events"
  description    = "RDS instance, cluster, proxy and Blue/Green events for privatelink-router"
  event_bus_name = var.event_bus_name
  event_pattern  = file("${path.module}/event-patterns/rds-events.json")
  tags           = local.tags
}

resource "aws_cloudwatch_event_target" "rds_events" {
  rule           = aws_cloudwatch_event_rule.rds_events.name
  event_bus_name = var.event_bus_name
  target_id      = "rds-events"
  arn            = aws_lambda_function.rds_events.arn

  retry_policy {
    maximum_event_age_in_seconds = 3600
    maximum_retry_attempts       = 20
  }

  dead_letter_config {
    arn = aws_sqs_queue.dlq.arn
  }
}

resource "aws_lambda_permission" "rds_events" {
  statement_id  = "AllowEventBridgeRdsEvents"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.rds_events.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.rds_events.arn
}

# Other accounts forward their RDS events to this bus (examples/cross-account). One
# permission each, so an existing bus policy is extended, not replaced.
resource "aws_cloudwatch_event_permission" "event_source" {
  for_each = toset(var.event_source_accounts)

  principal      = each.value
  statement_id   = "privatelink-router-${var.service_name}-${each.value}"
  action         = "events:PutEvents"
  event_bus_name = var.event_bus_name
}

############################################################################################
# Schedules -> dns-audit (they run on the default bus): the minute DNS watch ({"mode":"watch"},
# no ELBv2 call for routes whose answer did not move) and the slower full drift audit.
############################################################################################

locals {
  schedules = {
    watch = { expression = var.audit_schedule, mode = "watch", description = "privatelink-router DNS watch" }
    full  = { expression = var.full_audit_schedule, mode = "full", description = "privatelink-router full drift audit" }
  }
}

resource "aws_cloudwatch_event_rule" "audit_schedule" {
  for_each = local.schedules

  name                = each.key == "watch" ? "${var.service_name}-dns-audit" : "${var.service_name}-dns-audit-full"
  description         = each.value.description
  schedule_expression = each.value.expression
  tags                = local.tags
}

resource "aws_cloudwatch_event_target" "audit_schedule" {
  for_each = local.schedules

  rule      = aws_cloudwatch_event_rule.audit_schedule[each.key].name
  target_id = "dns-audit"
  arn       = aws_lambda_function.dns_audit.arn
  input     = jsonencode({ mode = each.value.mode })

  retry_policy {
    maximum_event_age_in_seconds = 300
    maximum_retry_attempts       = 2
  }

  dead_letter_config {
    arn = aws_sqs_queue.dlq.arn
  }
}

resource "aws_lambda_permission" "audit_schedule" {
  for_each = local.schedules

  statement_id  = each.key == "watch" ? "AllowEventBridgeAuditSchedule" : "AllowEventBridgeFullAuditSchedule"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.dns_audit.function_name
  principal     = "events.amazonaws.com"
  source_arn    = aws_cloudwatch_event_rule.audit_schedule[each.key].arn
}
