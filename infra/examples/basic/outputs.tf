output "endpoint_service_name" {
  value = module.router.endpoint_service_name
}

output "api_url" {
  value = module.router.api_url
}

output "nlb_private_ips" {
  value = module.router.nlb_private_ips
}

output "security_group_id" {
  value = module.router.security_group_id
}

output "route_ports" {
  value = module.router.route_ports
}
