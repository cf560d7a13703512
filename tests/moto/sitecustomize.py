"""Loaded by every moto_server the test bed starts (through PYTHONPATH): makes moto as strict
as AWS where the router's rules depend on it. See tests/src/moto.rs.

1. DynamoDB: moto 5.2.1 serves requests on threads, and a cancelled TransactWriteItems "rolls
   back" by restoring a deep copy of the whole table taken when it began, erasing whatever other
   requests wrote meanwhile (routes, port records, counts). DynamoDB isolates transactions; to
   test our allocation rather than that race, every DynamoDB backend call runs under one lock
   (ELBv2 and EC2 stay concurrent).
2. ELBv2 target states, AZ echo, Id+Port matching: strict_elbv2.py.
3. RDS Aurora custom cluster endpoints: rds_cluster_endpoints.py.
4. RDS ModifyDBInstance DBPortNumber: rds_ports.py.
5. RDS instance states (creating without an endpoint, deleting): rds_states.py.
6. RDS Proxy endpoint names as AWS gives them, and added proxy endpoints: rds_proxies.py.
7. DescribeGlobalClusters of one global database, or GlobalClusterNotFoundFault:
   rds_global_clusters.py.
8. Blue/Green switchover renames an Aurora cluster's instances too: rds_blue_green.py.
"""
import functools, inspect, sys, threading
try:
    from moto.dynamodb.models import DynamoDBBackend
except Exception as e:  # moto missing: the fixture reports it
    DynamoDBBackend = None
if DynamoDBBackend is not None:
    _lock = threading.RLock()
    def _locked(f):
        @functools.wraps(f)
        def call(*args, **kwargs):
            with _lock:
                return f(*args, **kwargs)
        return call
    for _name, _f in list(vars(DynamoDBBackend).items()):
        if inspect.isfunction(_f) and not _name.startswith("_"):
            setattr(DynamoDBBackend, _name, _locked(_f))
    print("router-tests: moto DynamoDB backend calls serialized", file=sys.stderr)

# A patch that fails to load must not leave a kinder emulator behind silently: the error goes to
# moto's log and tests/tests/testbed.rs fails on the missing behaviour.
for _module in ("strict_elbv2", "rds_cluster_endpoints", "rds_ports", "rds_states", "rds_proxies", "rds_global_clusters",
                "rds_blue_green"):
    _patch = __import__(_module)
    if getattr(_patch, "APPLIED", True) is False:
        print("router-tests: " + _module + " did NOT apply: moto is kinder than AWS", file=sys.stderr)
