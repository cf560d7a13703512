############################################################################################
# The three Lambdas (provided.al2023, binaries from `cargo lambda build --release
# --output-format zip`). All get the same environment: local.lambda_environment.
############################################################################################

resource "aws_cloudwatch_log_group" "lambda" {
  for_each = local.functions

  #checkov:skip=CKV_AWS_158:Encrypted at rest by CloudWatch Logs; a CMK is optional (var.log_kms_key_arn). Logs carry no secrets or request bodies.
  name              = "/aws/lambda/${each.value.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = local.tags
}

# Failed asynchronous invocations (EventBridge -> rds-events / dns-audit, after Lambda's
# retries) and events EventBridge could not deliver land here; an alarm watches it.
resource "aws_sqs_queue" "dlq" {
  name                      = "${var.service_name}-failed-invocations"
  message_retention_seconds = 1209600
  sqs_managed_sse_enabled   = true
  tags                      = local.tags
}

data "aws_iam_policy_document" "dlq" {
  statement {
    sid       = "EventBridgeDeliveryFailures"
    actions   = ["sqs:SendMessage"]
    resources = [aws_sqs_queue.dlq.arn]

    principals {
      type        = "Service"
      identifiers = ["events.amazonaws.com"]
    }

    condition {
      test     = "ArnEquals"
      variable = "aws:SourceArn"
      values   = concat([aws_cloudwatch_event_rule.rds_events.arn], [for r in aws_cloudwatch_event_rule.audit_schedule : r.arn])
    }
  }
}

resource "aws_sqs_queue_policy" "dlq" {
  queue_url = aws_sqs_queue.dlq.id
  policy    = data.aws_iam_policy_document.dlq.json
}

resource "aws_lambda_function" "routes_api" {
  #checkov:skip=CKV_AWS_116:Invoked synchronously by API Gateway only: a DLQ applies to asynchronous invocations; errors go back to the caller.
  #checkov:skip=CKV_AWS_173:Environment holds no secrets (table name, ARNs, settings); encrypted at rest with the AWS managed key.
  #checkov:skip=CKV_AWS_272:Code signing is optional (var.code_signing_config_arn); cargo-lambda artifacts are unsigned by default.
  function_name    = local.functions.routes_api.name
  description      = "privatelink-router: routes API (HTTP API, IAM auth)"
  role             = aws_iam_role.routes_api.arn
  runtime          = "provided.al2023"
  handler          = "bootstrap"
  architectures    = [var.lambda_architecture]
  filename         = local.packages.routes_api
  source_code_hash = filebase64sha256(local.packages.routes_api)
  memory_size      = var.lambda_memory_mb
  timeout          = local.timeouts.routes_api

  # JSON logs: lambda_runtime's subscriber reads AWS_LAMBDA_LOG_FORMAT, which this sets.
  logging_config {
    log_format = "JSON"
    log_group  = aws_cloudwatch_log_group.lambda["routes_api"].name
  }

  code_signing_config_arn        = var.code_signing_config_arn
  reserved_concurrent_executions = lookup(var.lambda_reserved_concurrency, "routes_api", -1)

  environment {
    variables = local.lambda_environment
  }

  tracing_config {
    mode = var.lambda_tracing_mode
  }

  dynamic "vpc_config" {
    for_each = var.lambda_vpc_config == null ? [] : [var.lambda_vpc_config]
    content {
      subnet_ids         = vpc_config.value.subnet_ids
      security_group_ids = vpc_config.value.security_group_ids
    }
  }

  tags = local.tags

  depends_on = [aws_cloudwatch_log_group.lambda, aws_iam_role_policy.routes_api, aws_iam_role_policy.xray]
}

resource "aws_lambda_function" "rds_events" {
  #checkov:skip=CKV_AWS_173:Environment holds no secrets (table name, ARNs, settings); encrypted at rest with the AWS managed key.
  #checkov:skip=CKV_AWS_272:Code signing is optional (var.code_signing_config_arn); cargo-lambda artifacts are unsigned by default.
  function_name    = local.functions.rds_events.name
  description      = "privatelink-router: follow RDS failover, creation, deletion and Blue/Green events"
  role             = aws_iam_role.rds_events.arn
  runtime          = "provided.al2023"
  handler          = "bootstrap"
  architectures    = [var.lambda_architecture]
  filename         = local.packages.rds_events
  source_code_hash = filebase64sha256(local.packages.rds_events)
  memory_size      = var.lambda_memory_mb
  timeout          = local.timeouts.rds_events

  # JSON logs: lambda_runtime's subscriber reads AWS_LAMBDA_LOG_FORMAT, which this sets.
  logging_config {
    log_format = "JSON"
    log_group  = aws_cloudwatch_log_group.lambda["rds_events"].name
  }

  code_signing_config_arn        = var.code_signing_config_arn
  reserved_concurrent_executions = lookup(var.lambda_reserved_concurrency, "rds_events", -1)

  environment {
    variables = local.lambda_environment
  }

  dead_letter_config {
    target_arn = aws_sqs_queue.dlq.arn
  }

  tracing_config {
    mode = var.lambda_tracing_mode
  }

  dynamic "vpc_config" {
    for_each = var.lambda_vpc_config == null ? [] : [var.lambda_vpc_config]
    content {
      subnet_ids         = vpc_config.value.subnet_ids
      security_group_ids = vpc_config.value.security_group_ids
    }
  }

  tags = local.tags

  depends_on = [aws_cloudwatch_log_group.lambda, aws_iam_role_policy.rds_events, aws_iam_role_policy.xray]
}

resource "aws_lambda_function" "dns_audit" {
  #checkov:skip=CKV_AWS_173:Environment holds no secrets (table name, ARNs, settings); encrypted at rest with the AWS managed key.
  #checkov:skip=CKV_AWS_272:Code signing is optional (var.code_signing_config_arn); cargo-lambda artifacts are unsigned by default.
  function_name    = local.functions.dns_audit.name
  description      = "privatelink-router: scheduled audit, re-resolves every route and repairs drift"
  role             = aws_iam_role.dns_audit.arn
  runtime          = "provided.al2023"
  handler          = "bootstrap"
  architectures    = [var.lambda_architecture]
  filename         = local.packages.dns_audit
  source_code_hash = filebase64sha256(local.packages.dns_audit)
  memory_size      = var.lambda_memory_mb
  timeout          = local.timeouts.dns_audit

  # JSON logs: lambda_runtime's subscriber reads AWS_LAMBDA_LOG_FORMAT, which this sets.
  logging_config {
    log_format = "JSON"
    log_group  = aws_cloudwatch_log_group.lambda["dns_audit"].name
  }

  code_signing_config_arn        = var.code_signing_config_arn
  reserved_concurrent_executions = lookup(var.lambda_reserved_concurrency, "dns_audit", -1)

  environment {
    variables = local.lambda_environment
  }

  dead_letter_config {
    target_arn = aws_sqs_queue.dlq.arn
  }

  tracing_config {
    mode = var.lambda_tracing_mode
  }

  dynamic "vpc_config" {
    for_each = var.lambda_vpc_config == null ? [] : [var.lambda_vpc_config]
    content {
      subnet_ids         = vpc_config.value.subnet_ids
      security_group_ids = vpc_config.value.security_group_ids
    }
  }

  tags = local.tags

  depends_on = [aws_cloudwatch_log_group.lambda, aws_iam_role_policy.dns_audit, aws_iam_role_policy.xray]
}

# Asynchronous invocations: a few retries, then the DLQ. An event older than an hour is
# worthless (the audit has long since re-resolved that route).
resource "aws_lambda_function_event_invoke_config" "rds_events" {
  function_name                = aws_lambda_function.rds_events.function_name
  maximum_retry_attempts       = 2
  maximum_event_age_in_seconds = 3600
}

resource "aws_lambda_function_event_invoke_config" "dns_audit" {
  function_name = aws_lambda_function.dns_audit.function_name
  # The next scheduled run does the same work: do not pile up retries behind it.
  maximum_retry_attempts       = 0
  maximum_event_age_in_seconds = 300
}
