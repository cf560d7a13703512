"""DB instance lifecycle states for moto's RDS (moto 5.2.1 reports every instance `available`).

An instance tagged ``strict-moto:status`` reports that value as DBInstanceStatus (e.g.
``creating`` while Aurora Auto Scaling adds a reader, ``deleting`` while one is removed). A
``creating`` instance has no Endpoint yet: "The instance is being created. The instance is
inaccessible while it is being created" (RDS user guide, "Viewing Amazon RDS DB instance
status"), and DescribeDBInstances returns no Endpoint until RDS assigns one (RDS API
reference, DBInstance.Endpoint). Remove the tag to make it ``available`` with its endpoint.
"""
import sys

STATUS_TAG = "strict-moto:status"


def _install():
    from moto.rds.models import DBInstance

    if getattr(DBInstance, "_router_states", False):
        return False
    endpoint = DBInstance.endpoint

    def tagged_status(self):
        for tag in getattr(self, "tags", None) or []:
            if tag.get("Key") == STATUS_TAG:
                return tag.get("Value")
        return None

    DBInstance.db_instance_status = property(lambda self: tagged_status(self) or self.status)
    DBInstance.endpoint = property(
        lambda self: None if tagged_status(self) == "creating" else endpoint.fget(self)
    )
    DBInstance._router_states = True
    return True


APPLIED = False
try:
    _install()
    APPLIED = True
    print("router-tests: moto RDS instance states from tags applied", file=sys.stderr)
except Exception as e:  # moto missing or changed: moto keeps its own behaviour
    print(f"router-tests: moto RDS instance states NOT applied: {e!r}", file=sys.stderr)
