output "endpoint_service_names" {
  description = "Router id => VPC endpoint service name (what a Databricks private endpoint rule or a consumer's interface endpoint connects to)."
  value       = { for r in var.routers : r => aws_vpc_endpoint_service.router[r].service_name }
}

output "endpoint_service_name" {
  description = "Endpoint service name of the first router (the seed's single-service output)."
  value       = aws_vpc_endpoint_service.router[var.routers[0]].service_name
}

output "endpoint_service_ids" {
  description = "Router id => VPC endpoint service id (to accept endpoint connections)."
  value       = { for r in var.routers : r => aws_vpc_endpoint_service.router[r].id }
}

output "nlb_arns" {
  description = "Router id => NLB ARN."
  value       = { for r in var.routers : r => aws_lb.router[r].arn }
}

output "nlb_arn" {
  description = "ARN of the first router's NLB (the seed's single-NLB output)."
  value       = aws_lb.router[var.routers[0]].arn
}

output "nlb_private_ips" {
  description = "Router id => the NLB's private IPs (one per subnet). Client IP preservation is off for IP targets over TCP, so databases see connections from these: admit them on the database port."
  value = {
    for r in var.routers : r => [
      for s in var.subnet_ids : data.aws_network_interface.nlb["${r}/${s}"].private_ip
    ]
  }
}

output "nlb_private_ip_cidrs" {
  description = "\"<router id>/<subnet index>\" => \"<NLB private IP>/32\": the NLBs' addresses keyed by what is known at plan time, so a database's security group rules can for_each over it on a first apply, when the addresses are not known yet (README, What database owners must allow)."
  value = {
    for pair in setproduct(var.routers, range(length(var.subnet_ids))) :
    "${pair[0]}/${pair[1]}" => "${data.aws_network_interface.nlb["${pair[0]}/${var.subnet_ids[pair[1]]}"].private_ip}/32"
  }
}

output "security_group_id" {
  description = "Security group of the NLBs: a database in the same VPC (or a peered one) can admit it instead of the NLB IPs."
  value       = aws_security_group.nlb.id
}

output "security_group_ids" {
  description = "Router id => security group ids of its NLB."
  value       = { for r in var.routers : r => aws_lb.router[r].security_groups }
}

output "api_url" {
  description = "Base URL of the routes API (IAM/SigV4-signed requests, service execute-api)."
  value       = aws_apigatewayv2_stage.default.invoke_url
}

output "api_id" {
  description = "HTTP API id (grant callers execute-api:Invoke on its execution ARN)."
  value       = aws_apigatewayv2_api.routes.id
}

output "api_execution_arn" {
  description = "Execution ARN of the routes API: callers need execute-api:Invoke on <this>/*/*."
  value       = aws_apigatewayv2_api.routes.execution_arn
}

output "table_name" {
  description = "DynamoDB route table."
  value       = aws_dynamodb_table.routes.name
}

output "table_arn" {
  description = "ARN of the route table."
  value       = aws_dynamodb_table.routes.arn
}

output "function_names" {
  description = "Lambda function names by role."
  value = {
    routes_api = aws_lambda_function.routes_api.function_name
    rds_events = aws_lambda_function.rds_events.function_name
    dns_audit  = aws_lambda_function.dns_audit.function_name
  }
}

output "dlq_url" {
  description = "Queue of failed invocations and undeliverable events."
  value       = aws_sqs_queue.dlq.url
}

output "deployment" {
  description = "This deployment's name (ROUTER_DEPLOYMENT, the service_name): in every target group name and deployment tag the router makes; export it for plr."
  value       = var.service_name
}

output "fleet" {
  description = "The routers as the Lambdas see them (ROUTER_FLEET)."
  value       = local.fleet
}

output "seeded_routes" {
  description = "Route names seeded from target_endpoints and service_config.targets; their pinned listener ports are in route_ports."
  value       = keys(aws_dynamodb_table_item.seeded_route)
}

output "routes" {
  description = "Route name => {host, port, listener_port, endpoint_service_name} of every seeded database: what a consumer needs (the endpoint service and the listener port)."
  value = {
    for name, db in local.seed_routes : name => {
      host                  = db.host
      port                  = db.port
      listener_port         = db.listener_port
      endpoint_service_name = aws_vpc_endpoint_service.router[var.routers[0]].service_name
    }
  }
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard (null when dashboard is false)."
  value       = one(aws_cloudwatch_dashboard.router[*].dashboard_name)
}

output "dashboard_url" {
  description = "Console URL of the CloudWatch dashboard (null when dashboard is false)."
  value = one([
    for d in aws_cloudwatch_dashboard.router :
    "https://${local.dashboard_region}.console.aws.amazon.com/cloudwatch/home?region=${local.dashboard_region}#dashboards/dashboard/${d.dashboard_name}"
  ])
}
