"""ModifyDBInstance DBPortNumber for moto's RDS (moto 5.2.1 ignores it).

RDS API reference, ModifyDBInstance, DBPortNumber: "The port number on which the database
accepts connections. ... If you change the DBPortNumber value, your database restarts
regardless of the value of the ApplyImmediately parameter." DescribeDBInstances then reports
the new Endpoint.Port. The router must see a moved port to report it (issue #29, case 4).
"""
import functools
import sys


def _install():
    from moto.rds.models import RDSBackend

    if getattr(RDSBackend, "_router_db_port", False):
        return False
    original = RDSBackend.modify_db_instance

    @functools.wraps(original)
    def modify_db_instance(self, db_instance_identifier, db_kwargs):
        port = db_kwargs.get("DBPortNumber", db_kwargs.get("db_port_number"))
        database = original(self, db_instance_identifier, db_kwargs)
        if port is not None:
            database.port = int(port)  # applied at once, whatever ApplyImmediately says
        return database

    RDSBackend.modify_db_instance = modify_db_instance
    RDSBackend._router_db_port = True
    return True


APPLIED = False
try:
    _install()
    APPLIED = True
    print("router-tests: moto RDS ModifyDBInstance DBPortNumber applied", file=sys.stderr)
except Exception as e:  # moto missing or changed: moto keeps its own behaviour
    print(f"router-tests: moto RDS port patch NOT applied: {e!r}", file=sys.stderr)
