"""RDS Proxy endpoints for moto 5.2.1 in server mode.

moto names a proxy's endpoint `<proxy>.db-proxy-<id>.<region>.rds.amazonaws.com`; AWS names it
`<proxy>.proxy-<id>.<region>.rds.amazonaws.com` (DBProxy.Endpoint; RDS user guide,
"Connecting to a database through RDS Proxy"). And moto has no CreateDBProxyEndpoint /
DescribeDBProxyEndpoints / DeleteDBProxyEndpoint (the server answers an HTML 500 page). This
module gives the proxy its AWS name and adds the three actions to moto's RDSResponse. It is
imported by `sitecustomize.py` (PYTHONPATH) before moto_server serves; importing it twice is
harmless; a failure is reported on stderr and leaves moto untouched.

Sources (AWS documentation):
- RDS API reference: CreateDBProxyEndpoint (DBProxyName, DBProxyEndpointName and VpcSubnetIds
  required; TargetRole READ_WRITE | READ_ONLY, default READ_WRITE), DescribeDBProxyEndpoints
  (DBProxyName and DBProxyEndpointName optional; DBProxyNotFoundFault,
  DBProxyEndpointNotFoundFault), DeleteDBProxyEndpoint, and the DBProxyEndpoint data type
  (Status creating | available | deleting …, IsDefault: "Default DB proxy endpoints always
  have read/write capability").
- RDS user guide, "Working with Amazon RDS Proxy endpoints": an added endpoint's name is
  `<endpoint>.endpoint.proxy-<id>.<region>.rds.amazonaws.com`; "Limitations for proxy
  endpoints": up to 20 endpoints per proxy besides the default one; names are unique per
  account and Region; deleting a proxy deletes its endpoints.

Emulation choices where AWS documents nothing: the default endpoint is listed with the name
`default` (the name RDS Proxy logs give it); the transitional status (creating/deleting) is
shown only in the answer to the call that caused it.
"""

import re
import sys
import threading

_lock = threading.RLock()

ENDPOINTS_PER_PROXY = 20
NAME_RE = re.compile(r"^[a-z](?:[a-z0-9]|-(?!-)){0,62}$")
TARGET_ROLES = ("READ_WRITE", "READ_ONLY")


def _install():
    from moto.core.responses import ActionResult
    from moto.rds.exceptions import DBProxyNotFoundFault, InvalidParameterValue, RDSClientError
    from moto.rds.models import DBProxy
    from moto.rds.responses import RDSResponse

    if getattr(RDSResponse, "_router_proxy_endpoints", False):
        return False

    # Error codes (and their HTTP status) from the botocore RDS model.
    class DBProxyEndpointNotFoundFault(RDSClientError):
        def __init__(self, name):
            super().__init__(
                "DBProxyEndpointNotFoundFault", f"DB proxy endpoint {name} not found."
            )

    class DBProxyEndpointAlreadyExistsFault(RDSClientError):
        def __init__(self, name):
            super().__init__(
                "DBProxyEndpointAlreadyExistsFault",
                f"DB proxy endpoint {name} already exists.",
            )

    class DBProxyEndpointQuotaExceededFault(RDSClientError):
        def __init__(self, proxy):
            super().__init__(
                "DBProxyEndpointQuotaExceededFault",
                f"DB proxy {proxy} already has {ENDPOINTS_PER_PROXY} endpoints.",
            )

    # The proxy's own endpoint as AWS names it.
    original_init = DBProxy.__init__

    def init(self, *args, **kwargs):
        original_init(self, *args, **kwargs)
        self.endpoint = (
            f"{self.db_proxy_name}.proxy-{self.url_identifier}.{self.region}.rds.amazonaws.com"
        )

    DBProxy.__init__ = init

    def registry(backend):
        # On the backend object: `POST /moto-api/reset` re-initialises it, dropping these too.
        reg = backend.__dict__.get("_router_proxy_endpoints")
        if reg is None:
            reg = backend.__dict__["_router_proxy_endpoints"] = {}
        # A deleted proxy's endpoints go with it.
        for name in [n for n, e in reg.items() if e["proxy"] not in backend.db_proxies.values()]:
            del reg[name]
        return reg

    def find_proxy(backend, name):
        proxy = backend.db_proxies.get(name or "")
        if proxy is None:
            raise DBProxyNotFoundFault(name)
        return proxy

    def default_view(proxy):
        return {
            "DBProxyEndpointName": "default",
            "DBProxyName": proxy.db_proxy_name,
            "Status": "available",
            "VpcId": proxy.vpc_id,
            "VpcSecurityGroupIds": list(proxy.vpc_security_group_ids),
            "VpcSubnetIds": list(proxy.vpc_subnet_ids),
            "Endpoint": proxy.endpoint,
            "TargetRole": "READ_WRITE",
            "IsDefault": True,
        }

    def view(entry, status=None):
        proxy = entry["proxy"]
        return {
            "DBProxyEndpointName": entry["name"],
            "DBProxyEndpointArn": entry["arn"],
            "DBProxyName": proxy.db_proxy_name,
            "Status": status or "available",
            "VpcId": proxy.vpc_id,
            "VpcSecurityGroupIds": list(entry["security_groups"]),
            "VpcSubnetIds": list(entry["subnets"]),
            "Endpoint": entry["endpoint"],
            "TargetRole": entry["role"],
            "IsDefault": False,
        }

    def as_list(value):
        if value is None:
            return []
        if isinstance(value, str):
            return [value] if value else []
        return list(value)

    def create_db_proxy_endpoint(self):
        p = self.params
        backend = self.backend
        with _lock:
            reg = registry(backend)
            proxy = find_proxy(backend, p.get("DBProxyName"))
            name = (p.get("DBProxyEndpointName") or "").lower()
            if not NAME_RE.match(name) or name.endswith("-") or name == "default":
                raise InvalidParameterValue(
                    f"Invalid DBProxyEndpointName {name!r}: 1 to 63 letters, digits or "
                    "hyphens, starting with a letter, no two consecutive hyphens, not ending "
                    "with a hyphen."
                )
            subnets = as_list(p.get("VpcSubnetIds"))
            if not subnets:
                raise InvalidParameterValue("VpcSubnetIds is required.")
            role = (p.get("TargetRole") or "READ_WRITE").upper()
            if role not in TARGET_ROLES:
                raise InvalidParameterValue(f"Invalid TargetRole {role!r}.")
            if name in reg:
                raise DBProxyEndpointAlreadyExistsFault(name)
            if sum(1 for e in reg.values() if e["proxy"] is proxy) >= ENDPOINTS_PER_PROXY:
                raise DBProxyEndpointQuotaExceededFault(proxy.db_proxy_name)
            region = backend.region_name
            entry = {
                "name": name,
                "proxy": proxy,
                "arn": f"arn:aws:rds:{region}:{backend.account_id}:db-proxy-endpoint:{name}",
                "endpoint": f"{name}.endpoint.proxy-{proxy.url_identifier}.{region}"
                ".rds.amazonaws.com",
                "subnets": subnets,
                "security_groups": as_list(p.get("VpcSecurityGroupIds"))
                or list(proxy.vpc_security_group_ids),
                "role": role,
            }
            reg[name] = entry
            return ActionResult({"DBProxyEndpoint": view(entry, "creating")})

    def describe_db_proxy_endpoints(self):
        p = self.params
        backend = self.backend
        with _lock:
            reg = registry(backend)
            proxies = list(backend.db_proxies.values())
            if p.get("DBProxyName"):
                proxies = [find_proxy(backend, p.get("DBProxyName"))]
            items = []
            for proxy in proxies:
                items.append(default_view(proxy))
                items.extend(view(e) for e in reg.values() if e["proxy"] is proxy)
            wanted = (p.get("DBProxyEndpointName") or "").lower()
            if wanted:
                items = [i for i in items if i["DBProxyEndpointName"] == wanted]
                if not items:
                    raise DBProxyEndpointNotFoundFault(wanted)
            return ActionResult({"DBProxyEndpoints": items})

    def delete_db_proxy_endpoint(self):
        p = self.params
        backend = self.backend
        with _lock:
            reg = registry(backend)
            name = (p.get("DBProxyEndpointName") or "").lower()
            entry = reg.pop(name, None)
            if entry is None:
                raise DBProxyEndpointNotFoundFault(name)
            return ActionResult({"DBProxyEndpoint": view(entry, "deleting")})

    RDSResponse.create_db_proxy_endpoint = create_db_proxy_endpoint
    RDSResponse.describe_db_proxy_endpoints = describe_db_proxy_endpoints
    RDSResponse.delete_db_proxy_endpoint = delete_db_proxy_endpoint
    RDSResponse._router_proxy_endpoints = True
    return True


APPLIED = False
try:
    _install()
    APPLIED = True
    print("router-tests: moto RDS Proxy endpoints emulated", file=sys.stderr)
except Exception as e:  # moto missing or changed: moto keeps its own behaviour
    print(f"router-tests: moto RDS Proxy endpoint patch NOT applied: {e!r}", file=sys.stderr)
