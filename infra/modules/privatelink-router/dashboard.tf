############################################################################################
# Dashboard: what the router did, at a glance — route health, repairs, RDS events handled and
# how long they took to converge, AWS calls and throttles, the functions' own errors and the
# DLQ, and the state of every alarm of alarms.tf. The EMF metrics are the code's
# (namespace var.metrics_namespace, dimension Function: shared/src/flows/events/mod.rs,
# shared/src/flows/audit/report.rs, shared/src/flows/watch.rs); tests/tests/infra.rs checks every one of them is on a graph.
############################################################################################

# aws_region's `name` exists in every provider version this module accepts (>= 5.40); 6.x
# also has `region` and calls `name` deprecated.
data "aws_region" "current" {}

locals {
  dashboard_region = data.aws_region.current.name

  dashboard_body = {
    start          = "-PT12H"
    periodOverride = "inherit"
    widgets = [
      {
        type   = "text"
        x      = 0
        y      = 0
        width  = 24
        height = 3
        properties = {
          markdown = "**${var.service_name}**: *serving / not serving / degraded* is the health of each route's targets at the last full audit (every 15 min); a *repair* is the router changing AWS back to its route table (targets, listeners, target groups).\n\n*Event → converged* runs from the rds-events handler's start until the route's targets match DNS (EventBridge delivery time not included); *AuditIncomplete* 1 means the audit stopped at its budget and resumes at the next run. Logs: `/aws/lambda/${var.service_name}-*`."
        }
      },
      {
        type   = "alarm"
        x      = 0
        y      = 3
        width  = 24
        height = 3
        properties = {
          title  = "Alarms"
          sortBy = "stateUpdatedTimestamp"
          alarms = concat(
            values(aws_cloudwatch_metric_alarm.audit_metric)[*].arn,
            values(aws_cloudwatch_metric_alarm.function_errors)[*].arn,
            [aws_cloudwatch_metric_alarm.audit_not_running.arn, aws_cloudwatch_metric_alarm.dlq.arn],
          )
        }
      },
      {
        type   = "metric"
        x      = 0
        y      = 6
        width  = 12
        height = 6
        properties = {
          title  = "Routes: serving, not serving, degraded (full audit)"
          region = local.dashboard_region
          view   = "timeSeries"
          period = 300
          stat   = "Maximum"
          metrics = [
            [var.metrics_namespace, "RoutesServing", "Function", "dns-audit", { label = "serving", color = "#2ca02c" }],
            [var.metrics_namespace, "RoutesNotServing", "Function", "dns-audit", { label = "not serving", color = "#d62728" }],
            [var.metrics_namespace, "RoutesDegraded", "Function", "dns-audit", { label = "degraded", color = "#ff7f0e" }],
          ]
          yAxis = { left = { label = "routes (max per 5 min)", showUnits = false, min = 0 } }
        }
      },
      {
        type   = "metric"
        x      = 12
        y      = 6
        width  = 12
        height = 6
        properties = {
          title  = "Repairs by kind"
          region = local.dashboard_region
          view   = "timeSeries"
          period = 300
          stat   = "Sum"
          metrics = [
            [{ id = "kinds", expression = "SEARCH('{\"${var.metrics_namespace}\",Function,RepairKind} MetricName=\"Repairs\"', 'Sum', 300)", label = "$${PROP('Dim.RepairKind')}" }],
            [var.metrics_namespace, "Repairs", "Function", "dns-audit", { label = "all repairs (full audit)" }],
          ]
          yAxis = { left = { label = "repairs per 5 min", showUnits = false, min = 0 } }
        }
      },
      {
        type   = "metric"
        x      = 0
        y      = 12
        width  = 12
        height = 6
        properties = {
          title  = "RDS event → converged"
          region = local.dashboard_region
          view   = "timeSeries"
          period = 300
          metrics = [
            [var.metrics_namespace, "RdsEventHandlingMs", "Function", "rds-events", { stat = "p50", label = "p50" }],
            [var.metrics_namespace, "RdsEventHandlingMs", "Function", "rds-events", { stat = "p99", label = "p99" }],
            [var.metrics_namespace, "RdsEventHandlingMs", "Function", "rds-events", { stat = "Maximum", label = "max" }],
          ]
          yAxis = { left = { label = "milliseconds", showUnits = false, min = 0 } }
        }
      },
      {
        type   = "metric"
        x      = 12
        y      = 12
        width  = 12
        height = 6
        properties = {
          title   = "RDS events by decision"
          region  = local.dashboard_region
          view    = "timeSeries"
          stacked = true
          period  = 300
          stat    = "Sum"
          metrics = [
            [var.metrics_namespace, "RdsEventHandled", "Function", "rds-events", { label = "handled" }],
            [var.metrics_namespace, "RdsEventIgnored", "Function", "rds-events", { label = "ignored (event needs no action)" }],
            [var.metrics_namespace, "RdsEventUnrouted", "Function", "rds-events", { label = "unrouted (no route for the database)" }],
            [var.metrics_namespace, "RdsEventRefused", "Function", "rds-events", { label = "refused (account not accepted)" }],
            [var.metrics_namespace, "RdsEventMalformed", "Function", "rds-events", { label = "malformed" }],
            [var.metrics_namespace, "RdsEventFailed", "Function", "rds-events", { label = "failed" }],
            [var.metrics_namespace, "RoutesChangedByEvent", "Function", "rds-events", { label = "routes whose targets changed", yAxis = "right" }],
            [var.metrics_namespace, "RoutesTargetQuotaFull", "Function", "rds-events", { label = "routes whose new targets the NLB's target quota refused", yAxis = "right" }],
          ]
          yAxis = {
            left  = { label = "events per 5 min", showUnits = false, min = 0 }
            right = { label = "routes changed per 5 min", showUnits = false, min = 0 }
          }
        }
      },
      {
        type   = "metric"
        x      = 0
        y      = 18
        width  = 12
        height = 6
        properties = {
          title  = "DNS failures (full audit + minute watch)"
          region = local.dashboard_region
          view   = "timeSeries"
          period = 300
          stat   = "Sum"
          metrics = [
            [var.metrics_namespace, "DnsFailures", "Function", "dns-audit", { label = "failed lookups", color = "#d62728" }],
          ]
          yAxis = { left = { label = "failed lookups per 5 min", showUnits = false, min = 0 } }
        }
      },
      {
        type   = "metric"
        x      = 12
        y      = 18
        width  = 12
        height = 6
        properties = {
          title  = "Audit findings"
          region = local.dashboard_region
          view   = "timeSeries"
          period = 300
          stat   = "Maximum"
          metrics = [
            [var.metrics_namespace, "TargetsNotServing", "Function", "dns-audit", { label = "targets not serving" }],
            [var.metrics_namespace, "AddressesRefused", "Function", "dns-audit", { label = "addresses refused" }],
            [var.metrics_namespace, "IpReused", "Function", "dns-audit", { stat = "Sum", label = "IPs another database took (watch + audit)" }],
            [var.metrics_namespace, "ListenerConflicts", "Function", "dns-audit", { label = "listener conflicts" }],
            [var.metrics_namespace, "OrphansFound", "Function", "dns-audit", { label = "orphans found" }],
            [var.metrics_namespace, "OrphansDeleted", "Function", "dns-audit", { stat = "Sum", label = "orphans deleted" }],
            [var.metrics_namespace, "Errors", "Function", "dns-audit", { stat = "Sum", label = "errors (audit + minute watch)" }],
          ]
          yAxis = { left = { label = "count per 5 min", showUnits = false, min = 0 } }
        }
      },
      {
        type   = "metric"
        x      = 0
        y      = 24
        width  = 12
        height = 6
        properties = {
          title  = "Audit duration and completeness"
          region = local.dashboard_region
          view   = "timeSeries"
          period = 300
          stat   = "Maximum"
          metrics = [
            [var.metrics_namespace, "AuditDurationMs", "Function", "dns-audit", { label = "full audit" }],
            [var.metrics_namespace, "WatchDurationMs", "Function", "dns-audit", { label = "minute watch" }],
            [var.metrics_namespace, "AuditIncomplete", "Function", "dns-audit", { label = "incomplete (1 = stopped at its budget)", yAxis = "right" }],
          ]
          yAxis = {
            left  = { label = "milliseconds", showUnits = false, min = 0 }
            right = { label = "incomplete (0 or 1)", showUnits = false, min = 0, max = 1 }
          }
        }
      },
      {
        type   = "metric"
        x      = 12
        y      = 24
        width  = 12
        height = 6
        properties = {
          title  = "Routes looked at: full audit and minute watch"
          region = local.dashboard_region
          view   = "timeSeries"
          period = 300
          stat   = "Maximum"
          metrics = [
            [var.metrics_namespace, "RoutesSeen", "Function", "dns-audit", { label = "seen (full audit)" }],
            [var.metrics_namespace, "RoutesAudited", "Function", "dns-audit", { label = "audited (full audit)" }],
            [var.metrics_namespace, "RoutesWatched", "Function", "dns-audit", { label = "watched (minute watch)" }],
            [var.metrics_namespace, "RoutesMoved", "Function", "dns-audit", { stat = "Sum", label = "moved (minute watch, sum)" }],
          ]
          yAxis = { left = { label = "routes per 5 min", showUnits = false, min = 0 } }
        }
      },
      {
        type   = "metric"
        x      = 0
        y      = 30
        width  = 12
        height = 6
        properties = {
          title  = "AWS calls and throttles per function"
          region = local.dashboard_region
          view   = "timeSeries"
          period = 300
          stat   = "Sum"
          metrics = [
            [var.metrics_namespace, "AwsCalls", "Function", "rds-events", { label = "rds-events calls" }],
            [var.metrics_namespace, "AwsCalls", "Function", "dns-audit", { label = "dns-audit calls" }],
            [var.metrics_namespace, "AwsCalls", "Function", "routes-api", { label = "routes-api calls" }],
            [var.metrics_namespace, "AwsThrottles", "Function", "rds-events", { label = "rds-events throttled", yAxis = "right" }],
            [var.metrics_namespace, "AwsThrottles", "Function", "dns-audit", { label = "dns-audit throttled", yAxis = "right" }],
            [var.metrics_namespace, "AwsThrottles", "Function", "routes-api", { label = "routes-api throttled", yAxis = "right" }],
          ]
          yAxis = {
            left  = { label = "calls per 5 min", showUnits = false, min = 0 }
            right = { label = "throttled calls per 5 min", showUnits = false, min = 0 }
          }
        }
      },
      {
        type   = "metric"
        x      = 12
        y      = 30
        width  = 12
        height = 6
        properties = {
          title  = "Lambda errors and throttles; failed invocations in the DLQ"
          region = local.dashboard_region
          view   = "timeSeries"
          period = 300
          metrics = concat(
            [for f in local.functions : ["AWS/Lambda", "Errors", "FunctionName", f.name, { stat = "Sum", label = "${f.crate} errors" }]],
            [for f in local.functions : ["AWS/Lambda", "Throttles", "FunctionName", f.name, { stat = "Sum", label = "${f.crate} throttles" }]],
            [["AWS/SQS", "ApproximateNumberOfMessagesVisible", "QueueName", aws_sqs_queue.dlq.name, { stat = "Maximum", label = "messages in the DLQ", yAxis = "right", color = "#d62728" }]],
          )
          yAxis = {
            left  = { label = "invocations per 5 min", showUnits = false, min = 0 }
            right = { label = "messages (max)", showUnits = false, min = 0 }
          }
        }
      },
      {
        type   = "metric"
        x      = 0
        y      = 36
        width  = 24
        height = 6
        properties = {
          title  = "Lambda invocations and duration"
          region = local.dashboard_region
          view   = "timeSeries"
          period = 300
          metrics = concat(
            [for f in local.functions : ["AWS/Lambda", "Invocations", "FunctionName", f.name, { stat = "Sum", label = "${f.crate} invocations" }]],
            [for f in local.functions : ["AWS/Lambda", "Duration", "FunctionName", f.name, { stat = "Maximum", label = "${f.crate} max duration", yAxis = "right" }]],
          )
          yAxis = {
            left  = { label = "invocations per 5 min", showUnits = false, min = 0 }
            right = { label = "milliseconds", showUnits = false, min = 0 }
          }
        }
      },
      {
        type   = "metric"
        x      = 0
        y      = 42
        width  = 24
        height = 6
        properties = {
          title  = "Databricks private endpoint rules (when var.databricks is set): not ESTABLISHED, PENDING for 11+ days, updated, problems"
          region = local.dashboard_region
          view   = "timeSeries"
          period = 300
          stat   = "Maximum"
          metrics = [
            [var.metrics_namespace, "RulesNotEstablished", "Function", "dns-audit", { label = "not established", color = "#ff7f0e" }],
            [var.metrics_namespace, "RulesExpiring", "Function", "dns-audit", { label = "pending 11+ days (expire at 14)", color = "#d62728" }],
            [var.metrics_namespace, "RuleUpdates", "Function", "dns-audit", { label = "domain names updated", stat = "Sum" }],
            [var.metrics_namespace, "RuleProblems", "Function", "dns-audit", { label = "problems" }],
          ]
          yAxis = { left = { label = "rules", showUnits = false, min = 0 } }
        }
      },
    ]
  }
}

resource "aws_cloudwatch_dashboard" "router" {
  count = var.dashboard ? 1 : 0

  dashboard_name = var.service_name
  dashboard_body = jsonencode(local.dashboard_body)
}
