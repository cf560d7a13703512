"""Aurora custom cluster endpoints for moto 5.2.1 in server mode.

moto's RDS has no CreateDBClusterEndpoint / DescribeDBClusterEndpoints /
ModifyDBClusterEndpoint / DeleteDBClusterEndpoint (the server answers an HTML
500 page). This module adds them to moto's RDSResponse, so `moto_server` routes
`Action=...DBClusterEndpoint...` to them, and adds `CustomEndpoints` to
DescribeDBClusters. It is imported by `sitecustomize.py` (PYTHONPATH) before
moto_server starts serving; importing it twice is harmless. Any failure is
reported on stderr and leaves moto untouched.

Sources (AWS documentation):
- RDS API reference: CreateDBClusterEndpoint, DescribeDBClusterEndpoints,
  ModifyDBClusterEndpoint, DeleteDBClusterEndpoint, and the DBClusterEndpoint
  data type (fields, Status values creating|available|deleting|inactive|modifying,
  EndpointType READER|WRITER|CUSTOM, CustomEndpointType READER|WRITER|ANY).
- Aurora user guide, "Amazon Aurora endpoint connections" / "Custom endpoints
  for Amazon Aurora" / "Considerations for custom endpoints" (name format
  `<name>.cluster-custom-<dns-id>.<region>.rds.amazonaws.com`, at most 63
  characters, unique per Region, five custom endpoints per cluster, one list
  type per endpoint) and "AWS CLI examples for custom endpoints" (sample
  responses: create answers Status `creating`, modify answers `modifying`;
  DescribeDBClusterEndpoints also lists each cluster's built-in WRITER and
  READER endpoints with only DBClusterIdentifier, Endpoint, Status and
  EndpointType; ARN `arn:aws:rds:<region>:<account>:cluster-endpoint:<name>`;
  resource id `cluster-endpoint-<26 base32 characters>`).

Emulation choices where AWS documents nothing (see the report in the tests):
- a DB instance deleted from the cluster stays in StaticMembers/ExcludedMembers;
- the transitional status (creating/modifying/deleting) is shown only in the
  answer to the call that caused it; the next Describe shows `available`;
- custom endpoints of a deleted cluster disappear with it;
- Tags are accepted but not served by ListTagsForResource.
"""

import functools
import random
import re
import string
import sys
import threading

_lock = threading.RLock()


def _install():
    from moto.core.responses import ActionResult
    from moto.rds.exceptions import (
        DBClusterNotFoundError,
        DBInstanceNotFoundError,
        InvalidParameterCombination,
        InvalidParameterValue,
        RDSClientError,
    )
    from moto.rds.models import DBCluster
    from moto.rds.responses import RDSResponse

    try:
        from moto.utilities.utils import get_partition
    except Exception:  # pragma: no cover - older moto
        def get_partition(region):
            return "aws"

    if getattr(RDSResponse, "_router_cluster_endpoints", False):
        return False

    # Error codes come from the botocore RDS model, which gives their HTTP status.
    class DBClusterEndpointAlreadyExistsFault(RDSClientError):
        def __init__(self, name):
            super().__init__(
                "DBClusterEndpointAlreadyExistsFault",
                f"DB Cluster Endpoint {name} already exists.",
            )

    class DBClusterEndpointNotFoundFault(RDSClientError):
        def __init__(self, name):
            super().__init__(
                "DBClusterEndpointNotFoundFault",
                f"DB Cluster Endpoint {name} not found.",
            )

    class DBClusterEndpointQuotaExceededFault(RDSClientError):
        def __init__(self, cluster):
            super().__init__(
                "DBClusterEndpointQuotaExceededFault",
                f"Cannot create more than {CUSTOM_ENDPOINTS_PER_CLUSTER} custom "
                f"endpoints for DB cluster {cluster}.",
            )

    # "You can create up to five custom endpoints for each provisioned Aurora
    # cluster" (Aurora user guide, Custom endpoints).
    CUSTOM_ENDPOINTS_PER_CLUSTER = 5
    # DBClusterEndpoint.CustomEndpointType / CreateDBClusterEndpoint.EndpointType.
    CUSTOM_TYPES = ("READER", "WRITER", "ANY")
    # "The maximum length for a custom endpoint name is 63 characters."
    NAME_RE = re.compile(r"^[a-z](?:[a-z0-9]|-(?!-)){0,62}$")
    # DescribeDBClusterEndpoints.Filters names.
    FILTERS = (
        "db-cluster-endpoint-type",
        "db-cluster-endpoint-custom-type",
        "db-cluster-endpoint-id",
        "db-cluster-endpoint-status",
    )

    def registry(backend):
        # Kept on the backend object: `POST /moto-api/reset` re-initialises the
        # backend (`__dict__ = {}`), which drops the custom endpoints too.
        reg = backend.__dict__.get("_router_custom_endpoints")
        if reg is None:
            reg = backend.__dict__["_router_custom_endpoints"] = {}
        return reg

    def live_clusters(backend):
        # moto's ModifyDBCluster rename keeps the old key too: dedupe by object.
        seen, out = set(), []
        for cluster in list(backend.clusters.values()):
            if id(cluster) not in seen:
                seen.add(id(cluster))
                out.append(cluster)
        return out

    def prune(backend):
        """Forgets the custom endpoints of clusters that no longer exist."""
        alive = {id(c) for c in live_clusters(backend)}
        reg = registry(backend)
        for name in [n for n, e in reg.items() if id(e["cluster"]) not in alive]:
            del reg[name]
        return reg

    def find_cluster(backend, identifier):
        cluster = backend.clusters.get(identifier) if identifier else None
        if cluster is None and identifier:
            for c in live_clusters(backend):
                if identifier in (c.db_cluster_identifier, c.db_cluster_arn):
                    cluster = c
        if cluster is None:
            raise DBClusterNotFoundError(identifier)
        return cluster

    def dns_id(cluster):
        # The `<hash>` of `<id>.cluster-<hash>.<region>.rds.amazonaws.com`, so the
        # custom endpoint names look like the cluster's own endpoint names.
        value = getattr(cluster, "url_identifier", None)
        if not value:
            value = cluster.endpoint.split(".")[1].split("-", 1)[1]
        return value

    def member_ids(cluster):
        return {
            m.db_instance_identifier.lower(): m.db_instance_identifier
            for m in cluster.members
        }

    def check_members(cluster, names, field):
        if names is None:
            return None
        if isinstance(names, str):  # an empty list arrives as "" on the query protocol
            names = [names] if names else []
        known = member_ids(cluster)
        out = []
        for name in names:
            key = str(name).lower()
            if key not in known:
                raise DBInstanceNotFoundError(
                    f"{name} ({field}: not a DB instance of DB cluster "
                    f"{cluster.db_cluster_identifier})"
                )
            if known[key] not in out:
                out.append(known[key])
        return out

    def custom_type(value):
        value = (value or "").upper()
        if value not in CUSTOM_TYPES:
            raise InvalidParameterValue(
                f"Invalid endpoint type {value!r}: must be one of READER, WRITER, ANY."
            )
        return value

    def view(entry, status=None):
        """The DBClusterEndpoint data type of a custom endpoint."""
        return {
            "DBClusterEndpointIdentifier": entry["name"],
            "DBClusterIdentifier": entry["cluster"].db_cluster_identifier,
            "DBClusterEndpointResourceIdentifier": entry["resource_id"],
            "Endpoint": entry["endpoint"],
            "Status": status or entry["status"],
            "EndpointType": "CUSTOM",
            "CustomEndpointType": entry["custom_type"],
            "StaticMembers": list(entry["static"]),
            "ExcludedMembers": list(entry["excluded"]),
            "DBClusterEndpointArn": entry["arn"],
        }

    def builtin(cluster, endpoint_type):
        """The cluster's own WRITER / READER endpoint, as DescribeDBClusterEndpoints
        lists it: DBClusterIdentifier, Endpoint, Status, EndpointType only."""
        address = cluster.endpoint if endpoint_type == "WRITER" else cluster.reader_endpoint
        return {
            "DBClusterIdentifier": cluster.db_cluster_identifier,
            "Endpoint": address,
            "Status": "available",
            "EndpointType": endpoint_type,
        }

    # ---- the four actions -------------------------------------------------

    def create_db_cluster_endpoint(self):
        p = self.params
        backend = self.backend
        with _lock:
            reg = prune(backend)
            cluster = find_cluster(backend, p.get("DBClusterIdentifier"))
            name = (p.get("DBClusterEndpointIdentifier") or "").lower()
            if not NAME_RE.match(name) or name.endswith("-"):
                raise InvalidParameterValue(
                    f"Invalid DBClusterEndpointIdentifier {name!r}: 1 to 63 letters, "
                    "digits or hyphens, starting with a letter, no two consecutive "
                    "hyphens, not ending with a hyphen."
                )
            ctype = custom_type(p.get("EndpointType"))
            # Names are unique per account and Region, across clusters.
            if name in reg:
                raise DBClusterEndpointAlreadyExistsFault(name)
            mine = [e for e in reg.values() if e["cluster"] is cluster]
            if len(mine) >= CUSTOM_ENDPOINTS_PER_CLUSTER:
                raise DBClusterEndpointQuotaExceededFault(cluster.db_cluster_identifier)
            static = check_members(cluster, p.get("StaticMembers"), "StaticMembers") or []
            excluded = check_members(cluster, p.get("ExcludedMembers"), "ExcludedMembers") or []
            if static and excluded:
                # "Each custom endpoint can contain only one of these list types."
                raise InvalidParameterCombination(
                    "Specify either StaticMembers or ExcludedMembers, not both."
                )
            region = backend.region_name
            entry = {
                "name": name,
                "cluster": cluster,
                "resource_id": "cluster-endpoint-"
                + "".join(random.choices(string.ascii_uppercase + "234567", k=26)),
                "endpoint": f"{name}.cluster-custom-{dns_id(cluster)}.{region}.rds.amazonaws.com",
                "status": "available",
                "custom_type": ctype,
                "static": static,
                "excluded": excluded,
                "arn": f"arn:{get_partition(region)}:rds:{region}:{backend.account_id}"
                f":cluster-endpoint:{name}",
                "tags": list(p.get("Tags") or []),
            }
            reg[name] = entry
            # AWS answers `creating`; the endpoint is usable at once here.
            return ActionResult(view(entry, "creating"))

    def describe_db_cluster_endpoints(self):
        p = self.params
        backend = self.backend
        with _lock:
            reg = prune(backend)
            cluster_id = p.get("DBClusterIdentifier")
            clusters = (
                [find_cluster(backend, cluster_id)] if cluster_id else live_clusters(backend)
            )
            filters = {}
            for f in p.get("Filters") or []:
                fname = f.get("Name")
                if fname not in FILTERS:
                    raise InvalidParameterValue(f"Unrecognized filter name: {fname}")
                values = f.get("Values") or []
                if isinstance(values, str):
                    values = [values]
                filters.setdefault(fname, set()).update(str(v).lower() for v in values)
            wanted = p.get("DBClusterEndpointIdentifier")
            if wanted:
                filters.setdefault("db-cluster-endpoint-id", set()).add(wanted.lower())

            items = []
            for cluster in clusters:
                items.append(builtin(cluster, "WRITER"))
                items.append(builtin(cluster, "READER"))
                items.extend(view(e) for e in reg.values() if e["cluster"] is cluster)

            def keep(item):
                checks = {
                    "db-cluster-endpoint-type": item["EndpointType"],
                    "db-cluster-endpoint-custom-type": item.get("CustomEndpointType"),
                    "db-cluster-endpoint-id": item.get("DBClusterEndpointIdentifier"),
                    "db-cluster-endpoint-status": item["Status"],
                }
                return all(
                    (checks[n] or "").lower() in values for n, values in filters.items()
                )

            items = [i for i in items if keep(i)]

            # MaxRecords: default 100, minimum 20, maximum 100; Marker pages on.
            max_records = p.get("MaxRecords")
            max_records = 100 if max_records in (None, "") else int(max_records)
            if not 20 <= max_records <= 100:
                raise InvalidParameterValue(
                    f"Invalid value {max_records} for MaxRecords: must be between 20 and 100."
                )
            marker = p.get("Marker")
            start = 0
            if marker:
                try:
                    start = int(marker)
                except ValueError:
                    raise InvalidParameterValue(f"Invalid Marker {marker!r}.")
            page = items[start : start + max_records]
            result = {"DBClusterEndpoints": page}
            if start + max_records < len(items):
                result["Marker"] = str(start + max_records)
            return ActionResult(result)

    def modify_db_cluster_endpoint(self):
        p = self.params
        backend = self.backend
        with _lock:
            reg = prune(backend)
            name = (p.get("DBClusterEndpointIdentifier") or "").lower()
            entry = reg.get(name)
            if entry is None:
                raise DBClusterEndpointNotFoundFault(name)
            cluster = entry["cluster"]
            ctype = entry["custom_type"]
            if p.get("EndpointType"):
                ctype = custom_type(p.get("EndpointType"))
            static = check_members(cluster, p.get("StaticMembers"), "StaticMembers")
            excluded = check_members(cluster, p.get("ExcludedMembers"), "ExcludedMembers")
            if static and excluded:
                raise InvalidParameterCombination(
                    "Specify either StaticMembers or ExcludedMembers, not both."
                )
            new_static, new_excluded = entry["static"], entry["excluded"]
            # Setting one list replaces it; a non-empty list of one kind switches
            # the endpoint to that kind ("You can also change an endpoint between a
            # static list and an exclusion list", Aurora user guide).
            if static is not None:
                new_static = static
                if static:
                    new_excluded = []
            if excluded is not None:
                new_excluded = excluded
                if excluded:
                    new_static = []
            entry.update(custom_type=ctype, static=new_static, excluded=new_excluded)
            return ActionResult(view(entry, "modifying"))

    def delete_db_cluster_endpoint(self):
        p = self.params
        backend = self.backend
        with _lock:
            reg = prune(backend)
            name = (p.get("DBClusterEndpointIdentifier") or "").lower()
            entry = reg.pop(name, None)
            if entry is None:
                raise DBClusterEndpointNotFoundFault(name)
            return ActionResult(view(entry, "deleting"))

    # ---- wiring -------------------------------------------------------------

    # BaseResponse.call_action looks the action up by name on the class at each
    # request (method_names_from_class), so new methods are routed at once; the
    # ActionResult is serialised from the botocore model (query protocol XML).
    RDSResponse.create_db_cluster_endpoint = create_db_cluster_endpoint
    RDSResponse.describe_db_cluster_endpoints = describe_db_cluster_endpoints
    RDSResponse.modify_db_cluster_endpoint = modify_db_cluster_endpoint
    RDSResponse.delete_db_cluster_endpoint = delete_db_cluster_endpoint

    # DBCluster.CustomEndpoints (DescribeDBClusters): the custom endpoints' DNS
    # names. Only a class attribute moto itself never sets.
    if "custom_endpoints" not in vars(DBCluster):
        def custom_endpoints(cluster):
            backend = getattr(cluster, "backend", None)
            if backend is None:
                return []
            with _lock:
                reg = backend.__dict__.get("_router_custom_endpoints") or {}
                return [e["endpoint"] for e in reg.values() if e["cluster"] is cluster]

        DBCluster.custom_endpoints = property(custom_endpoints)

    # moto serves each request on its own thread and its RDS backend has no lock:
    # serialise whole RDS requests (backend call and response serialisation, which
    # reads the models), so a DescribeDBClusters cannot see a half-deleted instance.
    original_call_action = RDSResponse.call_action

    @functools.wraps(original_call_action)
    def call_action(self, *args, **kwargs):
        with _lock:
            return original_call_action(self, *args, **kwargs)

    RDSResponse.call_action = call_action
    RDSResponse._router_cluster_endpoints = True
    return True


# True once the patch is in place (sitecustomize.py may check it).
APPLIED = False
try:
    if _install():
        print(
            "router-tests: moto RDS custom cluster endpoints emulated, RDS calls serialized",
            file=sys.stderr,
        )
    APPLIED = True
except Exception as e:  # moto missing or changed: moto keeps its own behaviour
    print(f"router-tests: moto RDS cluster endpoint patch NOT applied: {e!r}", file=sys.stderr)
