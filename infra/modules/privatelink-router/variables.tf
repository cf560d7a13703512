############################################################################################
# Seed-compatible inputs: a user of the seed's NLB + endpoint-service module can switch by
# changing the module source. Their meaning is the same, except that `target_endpoints` become
# routes whose listener ports the router allocates (see README, "Seeded routes").
############################################################################################

variable "service_name" {
  description = "Name prefix of every resource (NLBs are named <service_name>-<router id>, at most 32 characters)."
  type        = string
  default     = "privatelink-router"

  validation {
    condition     = can(regex("^[a-z0-9]([a-z0-9-]{0,22}[a-z0-9])?$", var.service_name)) && !startswith(var.service_name, "internal-")
    error_message = "service_name: 1-24 characters of a-z, 0-9 and '-', not starting or ending with '-', not starting with 'internal-' (NLB naming rules)."
  }
}

variable "vpc_id" {
  description = "VPC of the NLBs, their target groups and endpoint services."
  type        = string
}

variable "subnet_ids" {
  description = "Subnets of the internal NLBs: one per Availability Zone, all in vpc_id."
  type        = list(string)

  validation {
    condition     = length(var.subnet_ids) > 0
    error_message = "subnet_ids: at least one subnet."
  }
}

variable "tags" {
  description = "Tags applied to every resource (default_tags of your provider are merged by AWS)."
  type        = map(string)
  default     = {}
}

variable "target_endpoints" {
  description = <<-EOT
    Databases to expose, in the seed module's shape and meaning: id is the database's DNS name
    (the host the targets follow), name a short label (the route name, lower-cased; the seed's
    target group suffix), port the database port. Listener ports are the seed's:
    service_config.base_port + index, counting service_config.targets first, pinned for good
    (output route_ports). Removing an entry renumbers the later ones, as in the seed: pin their
    listener_port first. Optional, beside the seed's attributes: listener_port (pin),
    account_id (the database's AWS account), rds_identifier, tags, idle_timeout_seconds (the
    listener's TCP idle timeout, 60-6000; default idle_timeout_seconds).
  EOT
  type = list(object({
    id                   = string
    port                 = number
    name                 = string
    listener_port        = optional(number)
    account_id           = optional(string)
    rds_identifier       = optional(string)
    tags                 = optional(map(string), {})
    idle_timeout_seconds = optional(number)
  }))
  default = []

  validation {
    condition = alltrue([
      for e in var.target_endpoints :
      length(e.id) <= 253 && can(regex("^[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?(\\.[A-Za-z0-9]([A-Za-z0-9-]*[A-Za-z0-9])?)*\\.?$", e.id))
    ])
    error_message = "target_endpoints[*].id is the database's DNS name (RFC 1123, at most 253 characters), as in the seed module."
  }

  validation {
    condition = alltrue([
      for e in var.target_endpoints : can(regex("^[a-z0-9]([a-z0-9-]{0,62}[a-z0-9])?$", lower(e.name)))
    ])
    error_message = "target_endpoints[*].name is the route name: 1-64 characters of letters, digits and '-', not starting or ending with '-'."
  }

  validation {
    condition     = alltrue([for e in var.target_endpoints : e.port >= 1 && e.port <= 65535 && floor(e.port) == e.port])
    error_message = "target_endpoints[*].port must be an integer between 1 and 65535."
  }

  validation {
    condition     = alltrue([for e in var.target_endpoints : e.listener_port == null ? true : (e.listener_port >= 1 && e.listener_port <= 65535 && floor(e.listener_port) == e.listener_port)])
    error_message = "target_endpoints[*].listener_port must be an integer between 1 and 65535."
  }

  validation {
    condition     = alltrue([for e in var.target_endpoints : e.idle_timeout_seconds == null ? true : (e.idle_timeout_seconds >= 60 && e.idle_timeout_seconds <= 6000 && floor(e.idle_timeout_seconds) == e.idle_timeout_seconds)])
    error_message = "target_endpoints[*].idle_timeout_seconds must be an integer between 60 and 6000 (the NLB's TCP idle timeout range)."
  }

  validation {
    condition     = alltrue([for e in var.target_endpoints : e.account_id == null ? true : can(regex("^[0-9]{12}$", e.account_id))])
    error_message = "target_endpoints[*].account_id is a 12-digit AWS account id."
  }
}

variable "service_config" {
  description = "The seed's service_config — target_type (\"ip\" only), protocol (\"TCP\" only), base_port (first listener port, default 10000), targets (more databases: {id = DNS name, target_port, protocol}, merged before target_endpoints) — plus the endpoint service settings applied to every router's endpoint service (acceptance_required, allowed_principals, private_dns_name, supported_ip_address_types)."
  type = object({
    target_type = optional(string, "ip")
    protocol    = optional(string, "TCP")
    base_port   = optional(number, 10000)
    targets = optional(list(object({
      id          = string
      target_port = number
      protocol    = optional(string)
    })), [])
    acceptance_required        = optional(bool, true)
    allowed_principals         = optional(list(string), [])
    private_dns_name           = optional(string)
    supported_ip_address_types = optional(list(string), ["ipv4"])
  })
  default = {}

  validation {
    condition     = lower(var.service_config.target_type) == "ip"
    error_message = "service_config.target_type: the router registers IP targets only; use \"ip\"."
  }

  validation {
    condition     = upper(var.service_config.protocol) == "TCP"
    error_message = "service_config.protocol: NLB TCP listeners only; use \"TCP\"."
  }

  validation {
    condition     = alltrue([for t in var.service_config.targets : t.protocol == null ? true : upper(t.protocol) == "TCP"])
    error_message = "service_config.targets[*].protocol: TCP only."
  }

  validation {
    condition     = var.service_config.base_port >= 1 && var.service_config.base_port + length(var.service_config.targets) + length(var.target_endpoints) - 1 <= 65535
    error_message = "service_config.base_port: base_port + index must stay within 1-65535."
  }

  validation {
    condition     = alltrue([for t in var.service_config.targets : t.target_port >= 1 && t.target_port <= 65535])
    error_message = "service_config.targets[*].target_port must be between 1 and 65535."
  }
}

variable "health_check_config" {
  description = "The seed's health_check_config, all seven attributes: the TCP health check of the seeded routes' target groups (NLB limits: interval 5-300 s, timeout 2-120 s, thresholds 2-10). port must be \"traffic-port\" (the database port), path absent (TCP checks have no path), protocol absent or \"TCP\"."
  type = object({
    port                = optional(string, "traffic-port")
    path                = optional(string)
    protocol            = optional(string)
    interval            = optional(number, 30)
    timeout             = optional(number, 10)
    healthy_threshold   = optional(number, 3)
    unhealthy_threshold = optional(number, 3)
  })
  default = {}

  validation {
    condition = (
      var.health_check_config.interval >= 5 && var.health_check_config.interval <= 300 &&
      var.health_check_config.timeout >= 2 && var.health_check_config.timeout <= 120 &&
      var.health_check_config.timeout <= var.health_check_config.interval &&
      var.health_check_config.healthy_threshold >= 2 && var.health_check_config.healthy_threshold <= 10 &&
      var.health_check_config.unhealthy_threshold >= 2 && var.health_check_config.unhealthy_threshold <= 10
    )
    error_message = "health_check_config: interval 5-300, timeout 2-120 and at most the interval, healthy/unhealthy thresholds 2-10."
  }

  validation {
    condition     = var.health_check_config.port == "traffic-port"
    error_message = "health_check_config.port: the router checks the traffic port (the database port); use \"traffic-port\"."
  }

  validation {
    condition     = var.health_check_config.path == null
    error_message = "health_check_config.path: TCP health checks have no path; remove it."
  }

  validation {
    condition     = var.health_check_config.protocol == null ? true : upper(var.health_check_config.protocol) == "TCP"
    error_message = "health_check_config.protocol: the router's target groups use TCP health checks; remove it or set \"TCP\"."
  }
}

############################################################################################
# Routers (NLB + endpoint service each) and their network
############################################################################################

variable "routers" {
  description = "Router ids, one NLB + endpoint service each (an NLB has at most 50 listeners, so ~50 databases per router). New routes fill them in this order. Ids are stable keys: never rename one that has routes."
  type        = list(string)
  default     = ["r1"]

  validation {
    condition     = length(var.routers) > 0 && length(distinct(var.routers)) == length(var.routers)
    error_message = "routers: at least one, all distinct."
  }

  validation {
    condition     = alltrue([for r in var.routers : can(regex("^[a-z0-9]([a-z0-9-]{0,14}[a-z0-9])?$", r))])
    error_message = "routers[*]: 1-16 characters of a-z, 0-9 and '-'."
  }
}

variable "consumer_domains" {
  description = "Router id => the DNS name consumers use for that router: a domain name of its Databricks private endpoint rule, which serverless compute resolves to the private endpoint. Each route is then reachable at <consumer domain>:<listener port> (GET /catalog, plr catalog). Routers without one: only routes with tls_name have a consumer address."
  type        = map(string)
  default     = {}

  validation {
    condition     = alltrue([for d in values(var.consumer_domains) : length(d) <= 253 && can(regex("^([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\\.)*[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$", lower(d)))])
    error_message = "consumer_domains: each value must be a DNS name (RFC 1123 labels of 1-63 letters, digits and hyphens)."
  }
}

variable "databricks" {
  description = "The Databricks account API the router keeps private endpoint rules with (ROUTER_DATABRICKS_*): the account, the NCC whose rules name the routers' endpoint services, the OAuth service principal's client id, and the ARN of the Secrets Manager secret holding its client secret (SecretString; a full ARN or one without its random suffix), with the customer-managed KMS key it is encrypted with, if any (client_secret_kms_key_arn). null: the router only reports the domain names each rule needs (GET /catalog, plr catalog)."
  type = object({
    account_id        = string
    ncc_id            = string
    client_id         = string
    client_secret_arn = string
    host              = optional(string, "https://accounts.cloud.databricks.com")
    # The customer-managed KMS key the secret is encrypted with, if any (null: aws/secretsmanager).
    client_secret_kms_key_arn = optional(string)
  })
  default = null

  validation {
    condition     = var.databricks == null || can(regex("^arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:.+$", var.databricks.client_secret_arn))
    error_message = "databricks.client_secret_arn: a Secrets Manager secret ARN (arn:aws:secretsmanager:<region>:<account>:secret:<name>)."
  }
}

variable "port_range" {
  description = "Listener ports the router allocates on every NLB (inclusive). The NLB security group admits this range."
  type = object({
    from = number
    to   = number
  })
  default = { from = 10000, to = 10999 }

  validation {
    condition     = var.port_range.from >= 1 && var.port_range.from <= var.port_range.to && var.port_range.to <= 65535
    error_message = "port_range: 1 <= from <= to <= 65535."
  }
}

variable "ingress_cidrs" {
  description = "CIDRs allowed to reach the listener port range directly (in-VPC or TGW clients). PrivateLink traffic is only filtered by these when enforce_privatelink_inbound_rules is \"on\"."
  type        = list(string)
  default     = []
}

variable "enforce_privatelink_inbound_rules" {
  description = "\"on\": inbound security group rules also apply to PrivateLink traffic, whose source is the consumer's private IP (unknown for Databricks serverless). \"off\" (default): PrivateLink traffic is admitted and access is governed by the endpoint service's allowed principals and acceptance."
  type        = string
  default     = "off"

  validation {
    condition     = contains(["on", "off"], var.enforce_privatelink_inbound_rules)
    error_message = "enforce_privatelink_inbound_rules: \"on\" or \"off\"."
  }
}

variable "database_cidrs" {
  description = "ROUTER_DATABASE_CIDRS: the only addresses that become targets, and where the NLBs may send traffic (targets and health checks). Default: the private ranges the router ever registers (RFC 1918 and RFC 6598)."
  type        = list(string)
  default     = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"]
}

variable "database_ports" {
  description = "ROUTER_DATABASE_PORTS: the only database ports routes may use (for admins and seeds too), and the ports the NLBs may reach in database_cidrs (egress rules)."
  type        = list(number)
  default     = [3306, 5432]
}

variable "cross_zone_load_balancing" {
  description = "Keep on: a database lives in one AZ, and an NLB node in another AZ (where a PrivateLink endpoint may land) must still reach it."
  type        = bool
  default     = true
}

variable "deletion_protection" {
  description = "Deletion protection of the NLBs and the DynamoDB table."
  type        = bool
  default     = true
}

############################################################################################
# Control plane: table, Lambdas, events, API
############################################################################################

variable "table_name" {
  description = "DynamoDB table name (default <service_name>-routes)."
  type        = string
  default     = null
}

variable "lambda_package_dir" {
  description = "Directory holding <function>/bootstrap.zip as built by `cargo lambda build --release --output-format zip`. Default: this repository's target/lambda, which exists only when the module is used from a checkout; set it when the module comes from a git or registry source."
  type        = string
  default     = null
}

variable "lambda_architecture" {
  description = "Lambda architecture of the built artifacts."
  type        = string
  default     = "x86_64"

  validation {
    condition     = contains(["x86_64", "arm64"], var.lambda_architecture)
    error_message = "lambda_architecture: x86_64 or arm64."
  }
}

variable "lambda_memory_mb" {
  description = "Memory of each Lambda in MB."
  type        = number
  default     = 256
}

variable "lambda_reserved_concurrency" {
  description = "Reserved concurrency per function (keys routes_api, rds_events, dns_audit); absent = unreserved. Reserving needs account headroom (AWS keeps 100 unreserved)."
  type        = map(number)
  default     = {}
}

variable "lambda_vpc_config" {
  description = "Put the Lambdas in a VPC (needed to resolve private hosted zones or reach ROUTER_DNS_SERVERS inside a VPC). The subnets need a NAT or interface endpoints for elasticloadbalancing, ec2 and logs, and a DynamoDB gateway endpoint."
  type = object({
    subnet_ids         = list(string)
    security_group_ids = list(string)
  })
  default = null
}

variable "lambda_tracing_mode" {
  description = "X-Ray tracing mode of the Lambdas (PassThrough: sampled only when the caller traces; Active: the roles may also write traces, xray:PutTraceSegments and xray:PutTelemetryRecords)."
  type        = string
  default     = "PassThrough"

  validation {
    condition     = contains(["PassThrough", "Active"], var.lambda_tracing_mode)
    error_message = "lambda_tracing_mode: PassThrough or Active."
  }
}

variable "log_kms_key_arn" {
  description = "KMS key for the Lambda and API access log groups (its key policy must allow logs.<region>.amazonaws.com). Default: CloudWatch Logs' own encryption at rest."
  type        = string
  default     = null
}

variable "code_signing_config_arn" {
  description = "Lambda code signing configuration (AWS Signer) the functions must satisfy. Default: none (cargo-lambda zips are unsigned)."
  type        = string
  default     = null
}

variable "log_retention_days" {
  description = "Retention of the Lambda and API access log groups."
  type        = number
  default     = 365
}

variable "audit_schedule" {
  description = "EventBridge schedule of the DNS watch: every route looked up, only the routes whose answer moved reconciled (no ELBv2 call for the others)."
  type        = string
  default     = "rate(1 minute)"
}

variable "full_audit_schedule" {
  description = "EventBridge schedule of the full drift audit: targets, listeners, target groups, attributes, orphans and health of every route, and Terraform's seeds."
  type        = string
  default     = "rate(15 minutes)"
}

variable "full_audit_elbv2_calls_per_second" {
  description = "ROUTER_AUDIT_ELBV2_CALLS_PER_SECOND: ELBv2 calls a second the full drift audit may make (a token bucket shared by the run); a pass over N routes takes about N x 2 / this seconds, resumed across runs. ELBv2 refills 10 Describe calls a second per account and region (burst 40): at most 10; 0 = unpaced. Target changes inside a route's apply lease are not paced."
  type        = number
  default     = 5

  validation {
    condition     = var.full_audit_elbv2_calls_per_second >= 0 && var.full_audit_elbv2_calls_per_second <= 10 && floor(var.full_audit_elbv2_calls_per_second) == var.full_audit_elbv2_calls_per_second
    error_message = "full_audit_elbv2_calls_per_second must be a whole number from 0 (unpaced) to 10 (ELBv2's refill rate)."
  }
}

variable "event_bus_name" {
  description = "Bus the RDS events arrive on (events from other accounts are forwarded to it)."
  type        = string
  default     = "default"
}

variable "event_source_accounts" {
  description = "Other AWS accounts whose RDS events are accepted: each gets events:PutEvents on the bus, and the Lambdas accept their events (ROUTER_EVENT_ACCOUNTS). The router's own account (its NLBs' account) is always accepted, whatever this list says."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.event_source_accounts : can(regex("^[0-9]{12}$", a))])
    error_message = "event_source_accounts: 12-digit account ids."
  }
}

variable "api_throttling" {
  description = "Default throttling of the HTTP API."
  type = object({
    burst_limit = optional(number, 50)
    rate_limit  = optional(number, 20)
  })
  default = {}
}

variable "seed_route_owner" {
  description = "Owner recorded on routes seeded from target_endpoints (admins see and change every route)."
  type        = string
  default     = "terraform"
}

############################################################################################
# Router behaviour: each maps to one ROUTER_* environment variable (README, Configuration)
############################################################################################

variable "dns_servers" {
  description = "ROUTER_DNS_SERVERS: DNS servers (ip or ip:port); empty = the Lambda's resolver."
  type        = list(string)
  default     = []
}

variable "port_quarantine_seconds" {
  description = "ROUTER_PORT_QUARANTINE_SECONDS: how long a released listener port waits before reuse."
  type        = number
  default     = 604800
}

variable "window" {
  description = "ROUTER_WINDOW: successful lookups an IP may be absent from before it is deregistered."
  type        = number
  default     = 3
}

variable "reader_retention_seconds" {
  description = "ROUTER_READER_RETENTION_SECONDS: how long an IP an Aurora reader or custom endpoint stopped answering stays a target (its members cannot be read from the RDS API). 2 h keeps a live reader of 8 picked at random for more than 10 years on average at one lookup a minute."
  type        = number
  default     = 7200
  validation {
    condition     = var.reader_retention_seconds >= 0
    error_message = "reader_retention_seconds must be 0 or more."
  }
}

variable "gone_after_seconds" {
  description = "ROUTER_GONE_AFTER_SECONDS: how long a route's database name must keep answering NXDOMAIN (deleted or renamed, no event heard) before its targets are removed and the route is source_gone; its IPs may meanwhile be given to another database. 180 s: at most 4 minute-watches after the name went away, longer than a Blue/Green switchover's rename."
  type        = number
  default     = 180
  validation {
    condition     = var.gone_after_seconds >= 0
    error_message = "gone_after_seconds must be 0 or more."
  }
}

variable "adopted_target_group_prefixes" {
  description = "Name prefixes of target groups taken over from a seed deployment with plr adopt (the seed names them <service_name>-nlb-tg-<name>: give \"<service_name>-nlb-tg-\"). The Lambdas may change them as their own: they carry the router's ownership tag, which every change still requires."
  type        = list(string)
  default     = []
}

variable "rds_membership" {
  description = "ROUTER_RDS_MEMBERSHIP: read the members of Aurora reader and custom endpoints from the RDS API (DescribeDBClusters, DescribeDBClusterEndpoints, DescribeDBInstances) instead of inferring them from DNS answers; a reader that leaves the cluster then leaves its target group within one audit."
  type        = bool
  default     = true
}

variable "rds_role_arns" {
  description = "ROUTER_RDS_ROLE_ARNS: read-only IAM roles in other accounts (arn:aws:iam::<account>:role/<name>, one per account) the router assumes to read their RDS API; each must trust the router's Lambda roles and allow rds:DescribeDBClusters, rds:DescribeDBInstances, rds:DescribeDBClusterEndpoints, rds:DescribeDBProxies, rds:DescribeDBProxyEndpoints, rds:DescribeGlobalClusters, rds:DescribeBlueGreenDeployments and rds:DescribeDBParameters (the last for diagnosing MySQL and MariaDB max_connect_errors)."
  type        = list(string)
  default     = []
  validation {
    condition     = alltrue([for r in var.rds_role_arns : can(regex("^arn:[a-z-]+:iam::[0-9]{12}:role/.+$", r))])
    error_message = "rds_role_arns must be IAM role ARNs: arn:aws:iam::<12-digit account>:role/<name>."
  }
}

variable "deregistration_delay_seconds" {
  description = "ROUTER_DEREGISTRATION_DELAY_SECONDS: target group deregistration delay."
  type        = number
  default     = 30
}

variable "idle_timeout_seconds" {
  description = "ROUTER_IDLE_TIMEOUT_SECONDS: TCP idle timeout of the listeners of routes that set none (60-6000 s; AWS default 350). A connection that carries no bytes this long is closed, so a query whose first row takes longer dies unless the client sends TCP keepalives sooner."
  type        = number
  default     = 3600

  validation {
    condition     = var.idle_timeout_seconds >= 60 && var.idle_timeout_seconds <= 6000 && floor(var.idle_timeout_seconds) == var.idle_timeout_seconds
    error_message = "idle_timeout_seconds must be an integer between 60 and 6000 (the NLB's TCP idle timeout range)."
  }
}

variable "targets_per_nlb" {
  description = "ROUTER_TARGETS_PER_NLB: targets one NLB may hold, which placement budgets (a new route goes to a router with room for its targets and a failover of its largest route). AWS's quota is 500 with cross-zone load balancing (500 per Availability Zone without); set the raised value after AWS raises it."
  type        = number
  default     = 500

  validation {
    condition     = var.targets_per_nlb >= 2 && floor(var.targets_per_nlb) == var.targets_per_nlb
    error_message = "targets_per_nlb must be an integer of at least 2 (one target and room for its failover)."
  }
}

variable "admin_principals" {
  description = "ROUTER_ADMIN_PRINCIPALS: IAM principal ARNs that may see and change every route."
  type        = list(string)
  default     = []
}

variable "caller_grants" {
  description = "ROUTER_CALLER_GRANTS: what API callers that are not admins may publish besides their own account's RDS databases (which the router verifies through the RDS API). Key: an IAM principal ARN as the API sees it (an assumed role's session counts as its role: arn:aws:iam::<account>:role/<name>), or \"*\" for every caller. accounts: other accounts whose RDS databases the caller may publish (verified through a read role in rds_role_arns); host_suffixes: DNS domains whose names the caller may publish without an RDS lookup (label boundary). Targets stay inside database_cidrs and database_ports."
  type = map(object({
    accounts      = optional(list(string), [])
    host_suffixes = optional(list(string), [])
  }))
  default = {}

  validation {
    condition     = alltrue([for k, g in var.caller_grants : (k == "*" || startswith(k, "arn:")) && alltrue([for a in g.accounts : can(regex("^[0-9]{12}$", a))])])
    error_message = "caller_grants: keys are IAM principal ARNs or \"*\"; accounts are 12 digits."
  }
}

variable "quotas" {
  description = "ROUTER_ROUTES_PER_OWNER, ROUTER_TLS_NAMES_PER_OWNER, ROUTER_TARGETS_PER_ROUTE: what one API caller that is not an admin may hold (routes; routes with tls_name, each one of a private endpoint rule's 10 domain names), and the addresses one answer may hold for anyone (a larger answer is refused at creation, later changes no target and is reported as a DNS failure; 16 = an Aurora cluster's 15 replicas and writer). 0 = no cap."
  type = object({
    routes_per_owner    = optional(number, 25)
    tls_names_per_owner = optional(number, 2)
    targets_per_route   = optional(number, 16)
  })
  default = {}

  validation {
    condition     = alltrue([for v in [var.quotas.routes_per_owner, var.quotas.tls_names_per_owner, var.quotas.targets_per_route] : v >= 0 && floor(v) == v])
    error_message = "quotas: whole numbers, 0 or more (0 = no cap)."
  }
}

variable "host_suffixes" {
  description = "ROUTER_HOST_SUFFIXES: allowed database host domains (empty = any); a host must be one of them or a name under one, matched on a label boundary (corp.example admits db.corp.example, not evilcorp.example)."
  type        = list(string)
  default     = []
}

variable "allow_ip_literals" {
  description = "ROUTER_ALLOW_IP_LITERALS: accept IP addresses as route hosts."
  type        = bool
  default     = false
}

variable "dns_poll_deadline_seconds" {
  description = "ROUTER_DNS_POLL_DEADLINE_SECONDS: how long an event handler polls DNS for the answer to change. The rds-events timeout is this plus 60 s."
  type        = number
  default     = 60

  validation {
    condition     = var.dns_poll_deadline_seconds >= 0 && var.dns_poll_deadline_seconds <= 840
    error_message = "dns_poll_deadline_seconds: 0-840 (the Lambda timeout, this plus 60 s, is at most 900 s)."
  }
}

variable "audit_concurrency" {
  description = "ROUTER_AUDIT_CONCURRENCY: routes audited at once."
  type        = number
  default     = 8
}

variable "audit_budget_seconds" {
  description = "ROUTER_AUDIT_BUDGET_SECONDS: time an audit run may take before it stops and leaves the rest for the next run. The dns-audit timeout is this plus 60 s."
  type        = number
  default     = 240

  validation {
    condition     = var.audit_budget_seconds >= 10 && var.audit_budget_seconds <= 840
    error_message = "audit_budget_seconds: 10-840 (the Lambda timeout, this plus 60 s, is at most 900 s)."
  }
}

variable "orphan_grace_seconds" {
  description = "ROUTER_ORPHAN_GRACE_SECONDS: how long an orphaned (tagged, route-less) target group or listener stays before the audit deletes it."
  type        = number
  default     = 3600
}

variable "dry_run" {
  description = "ROUTER_DRY_RUN: report only, change nothing."
  type        = bool
  default     = false
}

variable "metrics_namespace" {
  description = "ROUTER_METRICS_NAMESPACE: CloudWatch namespace of the audit's EMF metrics (the alarms read it)."
  type        = string
  default     = "PrivateLinkRouter"
}

############################################################################################
# Alarms
############################################################################################

variable "alarm_actions" {
  description = "SNS topic ARNs notified when an alarm fires or recovers."
  type        = list(string)
  default     = []
}

variable "audit_metric_names" {
  description = "The audit's EMF metrics the alarms watch, and the Sum over 5 minutes above which each alarm fires. The names are the contract with the dns-audit code (README, Alarms)."
  type = map(object({
    metric    = string
    threshold = number
  }))
  default = {
    dns_failures       = { metric = "DnsFailures", threshold = 10 }
    repairs            = { metric = "Repairs", threshold = 0 }
    errors             = { metric = "Errors", threshold = 0 }
    routes_not_serving = { metric = "RoutesNotServing", threshold = 0 }
    registering_long   = { metric = "RoutesRegisteringTooLong", threshold = 0 }
    addresses_refused  = { metric = "AddressesRefused", threshold = 0 }
    ip_reused          = { metric = "IpReused", threshold = 0 }
    policy_violations  = { metric = "PolicyViolations", threshold = 0 }
    rules_expiring     = { metric = "RulesExpiring", threshold = 0 }
  }
}

variable "audit_metric_dimensions" {
  description = "Dimension set of the audit's EMF records (shared/src/adapters/aws/metrics.rs: the emitting function's name under \"Function\")."
  type        = map(string)
  default     = { Function = "dns-audit" }
}

############################################################################################
# Dashboard
############################################################################################

variable "dashboard" {
  description = "Create the CloudWatch dashboard <service_name> (dashboard.tf): route health, repairs by kind, RDS event to converged time, events by decision, AWS calls and throttles, DNS failures, audit duration, Lambda errors and the DLQ, and the alarms' states."
  type        = bool
  default     = true
}
