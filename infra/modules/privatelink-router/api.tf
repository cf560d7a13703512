############################################################################################
# Routes API: HTTP API, payload format 2.0, every route behind IAM (SigV4) authorization.
# The caller's IAM principal (requestContext.authorizer.iam) is the route owner.
############################################################################################

locals {
  api_routes = [
    "POST /routes",
    "GET /routes",
    "GET /routes/{id}",
    "POST /routes/{id}/sync",
    "DELETE /routes/{id}",
    "GET /catalog",
  ]
}

resource "aws_apigatewayv2_api" "routes" {
  name          = "${var.service_name}-routes"
  description   = "privatelink-router routes API"
  protocol_type = "HTTP"
  tags          = local.tags
}

resource "aws_apigatewayv2_integration" "routes_api" {
  api_id                 = aws_apigatewayv2_api.routes.id
  integration_type       = "AWS_PROXY"
  integration_uri        = aws_lambda_function.routes_api.invoke_arn
  payload_format_version = "2.0"
  timeout_milliseconds   = 29000
}

resource "aws_apigatewayv2_route" "routes" {
  for_each = toset(local.api_routes)

  api_id             = aws_apigatewayv2_api.routes.id
  route_key          = each.value
  authorization_type = "AWS_IAM"
  target             = "integrations/${aws_apigatewayv2_integration.routes_api.id}"
}

resource "aws_cloudwatch_log_group" "api_access" {
  #checkov:skip=CKV_AWS_158:Encrypted at rest by CloudWatch Logs; a CMK is optional (var.log_kms_key_arn). Access logs carry no bodies.
  name              = "/aws/apigateway/${var.service_name}-routes"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.log_kms_key_arn
  tags              = local.tags
}

resource "aws_apigatewayv2_stage" "default" {
  api_id      = aws_apigatewayv2_api.routes.id
  name        = "$default"
  auto_deploy = true

  default_route_settings {
    throttling_burst_limit = var.api_throttling.burst_limit
    throttling_rate_limit  = var.api_throttling.rate_limit
  }

  # No request bodies in access logs; the caller is logged for audit.
  access_log_settings {
    destination_arn = aws_cloudwatch_log_group.api_access.arn
    format = jsonencode({
      requestId = "$context.requestId"
      time      = "$context.requestTime"
      caller    = "$context.identity.userArn"
      route     = "$context.routeKey"
      status    = "$context.status"
      latencyMs = "$context.responseLatency"
      error     = "$context.integrationErrorMessage"
    })
  }

  tags = local.tags
}

resource "aws_lambda_permission" "api" {
  statement_id  = "AllowRoutesApi"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.routes_api.function_name
  principal     = "apigateway.amazonaws.com"
  source_arn    = "${aws_apigatewayv2_api.routes.execution_arn}/*/*"
}
