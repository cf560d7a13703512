"""DescribeGlobalClusters as AWS answers it, for moto 5.2.1 in server mode.

moto ignores `GlobalClusterIdentifier` and lists every global database. AWS describes only the
named one and answers `GlobalClusterNotFoundFault` (HTTP 404) for a name it does not know (RDS
API reference, DescribeGlobalClusters: "GlobalClusterIdentifier — The user-supplied DB cluster
identifier. If this parameter is specified, information from only the specific DB cluster is
returned"; Errors: GlobalClusterNotFoundFault). Global databases are described from any region
(moto keeps them in us-east-1, which this patch leaves as it is). Imported by
`sitecustomize.py`; a failure is reported on stderr and leaves moto untouched.
"""
import sys


def _install():
    from moto.core.responses import ActionResult
    from moto.rds.exceptions import RDSClientError
    from moto.rds.responses import RDSResponse

    if getattr(RDSResponse, "_router_global_clusters", False):
        return False

    class GlobalClusterNotFoundFault(RDSClientError):
        def __init__(self, name):
            super().__init__(
                "GlobalClusterNotFoundFault", f"Global cluster {name} not found."
            )

    def describe_global_clusters(self):
        wanted = (self.params.get("GlobalClusterIdentifier") or "").lower()
        clusters = self.global_backend.describe_global_clusters()
        if wanted:
            clusters = [c for c in clusters if c.global_cluster_identifier == wanted]
            if not clusters:
                raise GlobalClusterNotFoundFault(wanted)
        return ActionResult({"GlobalClusters": clusters})

    RDSResponse.describe_global_clusters = describe_global_clusters
    RDSResponse._router_global_clusters = True
    return True


APPLIED = False
try:
    _install()
    APPLIED = True
    print("router-tests: moto DescribeGlobalClusters filters by identifier", file=sys.stderr)
except Exception as e:  # moto missing or changed: moto keeps its own behaviour
    print(f"router-tests: moto global cluster patch NOT applied: {e!r}", file=sys.stderr)
