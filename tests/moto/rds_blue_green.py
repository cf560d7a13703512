"""Blue/Green switchover of an Aurora cluster's instances, for moto 5.2.1 in server mode.

moto's SwitchoverBlueGreenDeployment renames a cluster (blue `X` → `X-old1`, green → `X`) but
not its DB instances, and its SwitchoverDetails hold one pair (source, target). AWS renames
every member too — "the DB instances in the blue environment are renamed by appending -old1,
and the DB instances in the green environment take the names of the blue ones", so the
instance endpoints keep their names (RDS and Aurora user guides, "Switching a blue/green
deployment": "Switchover actions"; RDS API reference, SwitchoverDetail: SourceMember and
TargetMember, "a resource in the blue/green environment", one entry per database). This
module does both after moto's own switchover: each green member (`<blue member>-green-<id>`,
as moto names it) takes its blue member's name, the blue member gets `-old1`, and
SwitchoverDetails lists the cluster pair and every instance pair, by their ARNs after the
switchover. Imported by `sitecustomize.py`; a failure is reported on stderr and leaves moto
untouched.
"""
import sys


def _install():
    from moto.rds.models import BlueGreenDeployment, DBCluster, SwitchoverDetails

    if getattr(BlueGreenDeployment, "_router_members", False):
        return False
    original = BlueGreenDeployment.switchover

    def switchover(self):
        source = self._get_valid_instance_or_raise(self.source)
        target = self._get_valid_instance_or_raise(self.target)
        pairs = []
        if isinstance(source, DBCluster) and isinstance(target, DBCluster):
            greens = list(target.members)
            for blue in list(source.members):
                prefix = blue.db_instance_identifier + "-green-"
                green = next(
                    (g for g in greens if g.db_instance_identifier.startswith(prefix)), None
                )
                if green is not None:
                    pairs.append((blue, green))
        original(self)
        details = [SwitchoverDetails(self.source, self.target, self.status)]
        for blue, green in pairs:
            name = blue.db_instance_identifier
            blue = self.backend.modify_db_instance(
                db_instance_identifier=name,
                db_kwargs={"new_db_instance_identifier": f"{name}-old1"},
            )
            green = self.backend.modify_db_instance(
                db_instance_identifier=green.db_instance_identifier,
                db_kwargs={"new_db_instance_identifier": name},
            )
            details.append(
                SwitchoverDetails(blue.db_instance_arn, green.db_instance_arn, self.status)
            )
        self.switchover_details = details

    BlueGreenDeployment.switchover = switchover
    BlueGreenDeployment._router_members = True
    return True


APPLIED = False
try:
    _install()
    APPLIED = True
    print("router-tests: moto Blue/Green switchover renames cluster members", file=sys.stderr)
except Exception as e:  # moto missing or changed: moto keeps its own behaviour
    print(f"router-tests: moto Blue/Green member patch NOT applied: {e!r}", file=sys.stderr)
