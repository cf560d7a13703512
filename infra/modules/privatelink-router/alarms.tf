############################################################################################
# Alarms: the audit's EMF counters (namespace ROUTER_METRICS_NAMESPACE), the
# functions' own errors, failed invocations in the DLQ, and an audit that stopped running.
############################################################################################

resource "aws_cloudwatch_metric_alarm" "audit_metric" {
  for_each = var.audit_metric_names

  alarm_name          = "${var.service_name}-audit-${replace(each.key, "_", "-")}"
  alarm_description   = "privatelink-router audit reported ${each.value.metric} above ${each.value.threshold} in 5 minutes"
  namespace           = var.metrics_namespace
  metric_name         = each.value.metric
  dimensions          = var.audit_metric_dimensions
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = each.value.threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = local.tags
}

resource "aws_cloudwatch_metric_alarm" "function_errors" {
  for_each = local.functions

  alarm_name          = "${each.value.name}-errors"
  alarm_description   = "${each.value.name} invocations failed"
  namespace           = "AWS/Lambda"
  metric_name         = "Errors"
  dimensions          = { FunctionName = each.value.name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = local.tags
}

resource "aws_cloudwatch_metric_alarm" "audit_not_running" {
  alarm_name          = "${local.functions.dns_audit.name}-not-running"
  alarm_description   = "The privatelink-router audit has not run for 15 minutes: drift and lost events go unrepaired"
  namespace           = "AWS/Lambda"
  metric_name         = "Invocations"
  dimensions          = { FunctionName = local.functions.dns_audit.name }
  statistic           = "Sum"
  period              = 300
  evaluation_periods  = 3
  threshold           = 1
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "breaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = local.tags
}

resource "aws_cloudwatch_metric_alarm" "dlq" {
  alarm_name          = "${var.service_name}-failed-invocations"
  alarm_description   = "Events or invocations of privatelink-router failed for good (see the DLQ)"
  namespace           = "AWS/SQS"
  metric_name         = "ApproximateNumberOfMessagesVisible"
  dimensions          = { QueueName = aws_sqs_queue.dlq.name }
  statistic           = "Maximum"
  period              = 300
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = var.alarm_actions
  ok_actions          = var.alarm_actions
  tags                = local.tags
}
