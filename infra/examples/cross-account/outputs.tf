output "endpoint_service_names" {
  value = module.router.endpoint_service_names
}

output "api_url" {
  value = module.router.api_url
}
