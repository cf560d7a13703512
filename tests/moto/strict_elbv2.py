"""Make moto 5.2.1's ELBv2 target handling behave as AWS documents it.

Import this module inside moto_server's process (tests/moto/sitecustomize.py does it). It
monkey-patches moto.elbv2.models; if moto is missing or has changed shape it prints a line on
stderr and patches nothing, so moto_server still starts.

Knobs for tests (both read inside moto_server's process):

* Environment variable ``MOTO_STRICT_TIME_SCALE`` (float, default 1.0, must be > 0): every
  emulated duration (deregistration delay, initial health checking) is multiplied by it.
  0.1 turns a 30 s deregistration delay into 3 s. Read once, when this module is imported.
* Target group tag ``strict-moto:unhealthy``: comma-separated list of ``IP`` or ``IP:PORT``
  entries. Those targets, once past ``initial`` and in use, report ``unhealthy`` /
  ``Target.FailedHealthChecks``. Remove or change the tag to make them ``healthy`` again
  (immediately: no healthy-threshold wait on the way back).

What changes compared with plain moto (AWS pages cited next to each rule below):

* targets are keyed by (Id, Port), Port defaulting to the target group's port;
* DeregisterTargets matches Id and Port and succeeds silently when nothing matches;
* a deregistered target is ``draining`` for deregistration_delay.timeout_seconds x scale, then
  gone; registering it again while draining cancels the drain (back to ``initial``);
* a new target is ``initial`` for HealthCheckIntervalSeconds x HealthyThresholdCount x scale,
  counted from registration or from the moment the group was first forwarded to by a listener
  (whichever is later), then ``healthy`` (or ``unhealthy`` with the tag above);
* ``unused`` / ``Target.NotInUse`` when no listener or rule forwards to the group, or when the
  target's subnet is in an AZ that none of the using load balancers has enabled;
* DescribeTargetHealth returns Target.AvailabilityZone (``all``, or the subnet's AZ);
* RegisterTargets enforces the AvailabilityZone rules of TargetDescription for IP targets;
* CreateListener refuses a 51st listener on one load balancer (TooManyListeners);
* RegisterTargets refuses to take a load balancer past its target quota (TooManyTargets):
  500 targets in all with cross-zone load balancing on, else 500 per enabled Availability
  Zone; a target registered in N groups the load balancer uses counts N times;
* ModifyListenerAttributes refuses a ``tcp.idle_timeout.seconds`` outside 60-6000.

States are computed from timestamps when DescribeTargetHealth is called; there are no
background threads. All patched entry points share one lock (moto_server serves requests on
threads).
"""

import functools
import ipaddress
import os
import sys
import threading
import time
from collections import OrderedDict

TIME_SCALE_ENV = "MOTO_STRICT_TIME_SCALE"
UNHEALTHY_TAG = "strict-moto:unhealthy"
# NLB quota "Listeners per load balancer: 50", not adjustable.
# https://docs.aws.amazon.com/elasticloadbalancing/latest/network/load-balancer-limits.html
LISTENERS_PER_LOAD_BALANCER = 50
# Same page: "Targets per Availability Zone per Network Load Balancer: 500" and, with
# cross-zone load balancing on, 500 per load balancer ("If a target is registered with N
# target groups, it counts as N targets toward this limit").
TARGETS_PER_LOAD_BALANCER = 500
# Same page: "Targets per Network Load Balancer: 3,000".
TARGETS_PER_NETWORK_LOAD_BALANCER = 3000
# NLB user guide, "Target group attributes": deregistration_delay.timeout_seconds defaults to 300.
DEFAULT_DEREGISTRATION_DELAY = 300


def _read_time_scale():
    raw = os.environ.get(TIME_SCALE_ENV, "")
    if not raw.strip():
        return 1.0
    try:
        value = float(raw)
        if value > 0 and value == value and value != float("inf"):
            return value
    except ValueError:
        pass
    print(
        f"strict_elbv2: ignoring {TIME_SCALE_ENV}={raw!r} (need a float > 0); using 1.0",
        file=sys.stderr,
    )
    return 1.0


TIME_SCALE = _read_time_scale()

try:
    from moto.elbv2 import models as _models
    from moto.elbv2.exceptions import ELBClientError as _ELBClientError
    from moto.elbv2.exceptions import TargetGroupNotFoundError as _TargetGroupNotFound
    from moto.elbv2.exceptions import TargetNotRunning as _TargetNotRunning

    _FakeTargetGroup = _models.FakeTargetGroup
    _FakeHealthStatus = _models.FakeHealthStatus
    _ELBv2Backend = _models.ELBv2Backend
    _elbv2_backends = _models.elbv2_backends
except Exception as _error:  # moto missing or changed: leave it alone, the fixture reports it
    print(f"strict_elbv2: moto ELBv2 not patched ({_error!r})", file=sys.stderr)
    _models = None

_lock = threading.RLock()


def _locked(f):
    @functools.wraps(f)
    def call(*args, **kwargs):
        with _lock:
            return f(*args, **kwargs)

    return call


def _now():
    return time.monotonic()


class _Target:
    """One registration: (Id, Port) plus what AWS would remember about it."""

    __slots__ = ("id", "port", "az", "registered_at", "draining_until")

    def __init__(self, target_id, port, az, now):
        self.id = target_id
        self.port = port
        self.az = az  # "all", an AZ name, or None (instance targets without an AZ)
        self.registered_at = now
        self.draining_until = None  # monotonic deadline while draining


if _models is not None:

    class _StrictError(_ELBClientError):
        """ELBv2 error with an explicit code, answered with HTTP 400 (Query protocol <Error>)."""

        def __init__(self, code, message):
            super().__init__(code, message)


def _validation_error(message):
    # AWS answers the AZ rules with Code "ValidationError", HTTP 400 (messages quoted in
    # aws-load-balancer-controller issues #561, #3084, #3714).
    return _StrictError("ValidationError", message)


def _int(value, default):
    try:
        return int(float(value))
    except (TypeError, ValueError):
        return default


def _records(tg):
    records = getattr(tg, "_strict_targets", None)
    if records is None:
        records = OrderedDict()
        tg._strict_targets = records
    return records


def _sync_moto_view(tg):
    """Keep moto's own Id-keyed dict roughly right for code we did not patch."""
    tg.targets = OrderedDict(
        (r.id, {"Id": r.id, "Port": r.port})
        for r in _records(tg).values()
        if r.draining_until is None
    )


def _purge(tg, now):
    records = _records(tg)
    for key in [k for k, r in records.items() if r.draining_until is not None and now >= r.draining_until]:
        del records[key]


def _port_of(tg, target):
    port = target.get("Port")
    if port is None or port == "":
        port = tg.port
    return _int(port, port)


def _backend_of(tg):
    return _elbv2_backends[tg.account_id][tg.region_name]


def _forwarded_arns(backend, action):
    data = getattr(action, "data", None)
    if data is None and isinstance(action, dict):
        data = action
    if not data:
        return []
    kind = data.get("Type", getattr(action, "type", None))
    if kind != "forward":
        return []
    arns = []
    if data.get("TargetGroupArn"):
        arns.append(data["TargetGroupArn"])
    for entry in (data.get("ForwardConfig") or {}).get("TargetGroups", []) or []:
        if entry.get("TargetGroupArn"):
            arns.append(entry["TargetGroupArn"])
    return arns


def _users(backend):
    """Target group ARN -> load balancers with a listener or rule forwarding to it."""
    users = {}
    for lb in list(backend.load_balancers.values()):
        for listener in list(lb.listeners.values()):
            for rule in list(listener.rules.values()):
                for action in list(rule.actions or []):
                    for arn in _forwarded_arns(backend, action):
                        lbs = users.setdefault(arn, [])
                        if lb not in lbs:
                            lbs.append(lb)
    return users


def _vpc_subnets(tg):
    ec2 = tg.ec2_backend
    out = []
    for subnets in list(ec2.subnets.values()):
        for subnet in list(subnets.values()):
            if subnet.vpc_id == tg.vpc_id:
                out.append(subnet)
    return out


def _subnet_for(tg, ip):
    for subnet in _vpc_subnets(tg):
        cidr = getattr(subnet, "cidr", None)
        if cidr is not None and cidr.version == ip.version and ip in cidr:
            return subnet
    return None


def _in_vpc_cidrs(tg, ip):
    try:
        vpc = tg.ec2_backend.get_vpc(tg.vpc_id)
    except Exception:
        return False
    blocks = []
    try:
        blocks = [a.get("cidr_block") for a in vpc.get_cidr_block_association_set(ipv6=False)]
    except Exception:
        blocks = [getattr(vpc, "cidr_block", None)]
    for block in blocks:
        try:
            if block and ip in ipaddress.ip_network(block, strict=False):
                return True
        except ValueError:
            continue
    return False


def _region_zones(tg):
    try:
        return {z.name for z in tg.ec2_backend.describe_availability_zones()}
    except Exception:
        return set()


def _resolve_az(tg, target):
    """AZ to record for one RegisterTargets entry, or raise as AWS does.

    API_TargetDescription, AvailabilityZone: "If the target type is ip and the IP address is in a
    subnet of the VPC for the target group, the Availability Zone is automatically detected and
    this parameter is optional. If the IP address is outside the VPC, this parameter is
    required." The check is by subnet, not by VPC CIDR (aws-load-balancer-controller #3714: an IP
    inside a VPC CIDR block but in no subnet is refused without an AZ), and `all` is refused for
    an IP inside a subnet (aws-load-balancer-controller #561).
    """
    given = target.get("AvailabilityZone") or None
    if tg.target_type != "ip":
        return given
    raw = str(target["Id"])
    try:
        ip = ipaddress.ip_address(raw)
    except ValueError:
        raise _validation_error(f"The IP address '{raw}' is not a valid IPv4 address")
    subnet = _subnet_for(tg, ip)
    if subnet is not None:
        if given == "all":
            raise _validation_error(
                f"The IP address '{raw}' is within the VPC, and cannot have its Availability "
                f"Zone overridden to 'all' from '{subnet.availability_zone}'"
            )
        return subnet.availability_zone
    if given is None:
        if _in_vpc_cidrs(tg, ip):
            # Wording from aws-load-balancer-controller #3714 (IP in a VPC CIDR, no subnet).
            raise _validation_error(
                f"The Availability Zone is required for IP address '{raw}' because it is not "
                f"in the VPC"
            )
        # Wording from aws-load-balancer-controller #3084 (IP outside the VPC's CIDRs).
        raise _validation_error(
            f"You must specify a valid Availability Zone or select 'all' for all enabled "
            f"Availability zones, since the IP address '{raw}' is outside the VPC"
        )
    if given != "all":
        # Outside the VPC a specific AZ is allowed for NLB target groups (TargetDescription), but
        # it must be a real zone of the region.
        zones = _region_zones(tg)
        if zones and given not in zones:
            raise _validation_error(
                f"You must specify a valid Availability Zone or select 'all' for all enabled "
                f"Availability zones, since the IP address '{raw}' is outside the VPC"
            )
    return given


def _check_port(index, port):
    # API_TargetDescription: Port, valid range 1-65535.
    if isinstance(port, int) and not 1 <= port <= 65535:
        raise _validation_error(
            f"1 validation error detected: Value '{port}' at 'targets.{index}.member.port' "
            f"failed to satisfy constraint: Member must have value "
            f"{'less than or equal to 65535' if port > 65535 else 'greater than or equal to 1'}"
        )


def _register(self, targets):
    """RegisterTargets (API_RegisterTargets).

    * A target is (Id, Port); Port defaults to the group's port: "By default, the load balancer
      routes requests to registered targets using the protocol and port for the target group.
      Alternatively, you can override the port for a target when you register it. You can
      register each EC2 instance or IP address with the same target group multiple times using
      different ports." The same IP on two ports is two targets.
    * Registering a target that is already registered is a no-op: it keeps its state and age.
    * Registering a target that is draining cancels the deregistration: it is registered again
      and starts over in `initial` (NLB user guide, "Target health status": initial while the
      load balancer is registering the target or performing initial health checks).
    * The request is validated as a whole before anything changes.
    """
    now = _now()
    _purge(self, now)
    planned = []
    for index, target in enumerate(targets or [], start=1):
        target_id = target["Id"]
        if str(target_id).startswith("i-"):
            instance = self.ec2_backend.get_instance_by_id(target_id)
            if instance and instance.state != "running":
                raise _TargetNotRunning(instance_id=target_id)
        port = _port_of(self, target)
        _check_port(index, port)
        planned.append((target_id, port, _resolve_az(self, target)))
    _check_target_quota(self, planned, now)
    records = _records(self)
    for target_id, port, az in planned:
        key = (target_id, port)
        record = records.get(key)
        if record is None:
            records[key] = _Target(target_id, port, az, now)
        elif record.draining_until is not None:
            record.draining_until = None
            record.registered_at = now
            record.az = az
        # else: already registered and not draining: idempotent, nothing changes.
    _sync_moto_view(self)


def _check_target_quota(tg, planned, now):
    """Refuse a registration that takes a load balancer using `tg` past its target quota.

    Counts every registration (draining ones too: they stay registered until the delay ends)
    in every target group the load balancer forwards to. With cross-zone load balancing on
    (load balancer attribute load_balancing.cross_zone.enabled) the quota is per load
    balancer; off, per enabled Availability Zone, where a target in zone `all` counts in
    every zone.
    """
    backend = _backend_of(tg)
    records = _records(tg)
    # A key repeated in one request is one registration (RegisterTargets is idempotent per
    # Id+Port), so it counts once.
    new = list({(t, p): a for t, p, a in planned if (t, p) not in records}.items())
    if not new:
        return
    users = _users(backend)
    for lb in users.get(tg.arn) or []:
        groups = [
            backend.target_groups.get(arn)
            for arn, lbs in users.items()
            if lb in lbs and backend.target_groups.get(arn) is not None
        ]
        for group in groups:
            _purge(group, now)
        zones = [z for z in (r.az for g in groups for r in _records(g).values())]
        zones += [az for _, az in new]
        cross = str((getattr(lb, "attrs", {}) or {}).get("load_balancing.cross_zone.enabled", "false")).lower() == "true"
        if cross:
            if len(zones) > TARGETS_PER_LOAD_BALANCER:
                raise _too_many_targets()
            continue
        # Off, there is also a total: "Targets per Network Load Balancer", 3,000 (a target in
        # zone `all` counts once here).
        if len(zones) > TARGETS_PER_NETWORK_LOAD_BALANCER:
            raise _too_many_targets()
        enabled = {s.availability_zone for s in (lb.subnets or [])}
        for zone in enabled:
            if sum(1 for z in zones if z in (zone, "all")) > TARGETS_PER_LOAD_BALANCER:
                raise _too_many_targets()


def _too_many_targets():
    # API_RegisterTargets, Errors: TooManyTargets, "You've reached the limit on the number of
    # targets", HTTP 400.
    return _StrictError("TooManyTargets", "You've reached the limit on the number of targets.")


def _deregistration_delay(tg):
    # NLB user guide, "Target group attributes" / "Deregistration delay":
    # deregistration_delay.timeout_seconds, 0-3600 seconds, default 300. Read when the
    # deregistration starts.
    value = tg.attributes.get("deregistration_delay.timeout_seconds", DEFAULT_DEREGISTRATION_DELAY)
    return max(0, _int(value, DEFAULT_DEREGISTRATION_DELAY))


def _start_draining(tg, keys, now):
    records = _records(tg)
    delay = _deregistration_delay(tg) * TIME_SCALE
    for key in keys:
        record = records.get(key)
        if record is None or record.draining_until is not None:
            continue  # unknown, or already draining: the first deadline stands
        if delay <= 0:
            del records[key]
        else:
            record.draining_until = now + delay


def _deregister(self, targets):
    """DeregisterTargets (API_DeregisterTargets).

    * Matches Id AND Port (Port defaulting to the group's port): "If you specified a port
      override when you registered a target, you must specify both the target ID and the port
      when you deregister it."
    * A target that is not registered (or only on another port) is not an error: "If the
      specified target does not exist, the action returns successfully." (moto raised
      InvalidTarget.)
    * The target is not removed at once: it is `draining` / `Target.DeregistrationInProgress`
      for the deregistration delay (NLB user guide, "Target health status" and "Target group
      attributes"), then gone.
    """
    now = _now()
    _purge(self, now)
    keys = [(t["Id"], _port_of(self, t)) for t in targets or []]
    _start_draining(self, keys, now)
    _sync_moto_view(self)


def _deregister_terminated_instances(self, instance_ids):
    # EC2 instance termination deregisters the instance, which then drains like any other.
    now = _now()
    _purge(self, now)
    wanted = set(instance_ids or [])
    keys = [k for k, r in _records(self).items() if r.id in wanted]
    _start_draining(self, keys, now)
    _sync_moto_view(self)


def _unhealthy_entries(backend, tg):
    try:
        tags = backend.tagging_service.get_tag_dict_for_resource(tg.arn) or {}
    except Exception:
        return set()
    raw = tags.get(UNHEALTHY_TAG) or ""
    return {entry.strip() for entry in raw.split(",") if entry.strip()}


def _health(backend, tg, record, users, unhealthy, now):
    """(State, Reason, Description) for one registered target.

    API_TargetHealth and NLB user guide, "Target health status":
      initial   / Elb.RegistrationInProgress   registration or initial health checks
      healthy   (no reason)
      unhealthy / Target.FailedHealthChecks
      unused    / Target.NotInUse              "The target group is not used by any load
                                               balancer or the target is in an Availability
                                               Zone that is not enabled for its load balancer."
      draining  / Target.DeregistrationInProgress
      unavailable / Target.HealthCheckDisabled
    Draining wins over everything; unused wins over initial/healthy/unhealthy.
    """
    if record.draining_until is not None:
        return ("draining", "Target.DeregistrationInProgress", "Target deregistration is in progress")
    lbs = users.get(tg.arn) or []
    if not lbs:
        return (
            "unused",
            "Target.NotInUse",
            "Target group is not configured to receive traffic from the load balancer",
        )
    if record.az not in (None, "all"):
        # "Availability Zones" (NLB user guide): a load balancer routes only to targets in its
        # enabled zones (its subnets' zones). `all` targets are reachable from every enabled zone.
        enabled = {s.availability_zone for lb in lbs for s in (lb.subnets or [])}
        if record.az not in enabled:
            return (
                "unused",
                "Target.NotInUse",
                "Target is in an Availability Zone that is not enabled for the load balancer",
            )
    if not getattr(tg, "health_check_enabled", True):
        return ("unavailable", "Target.HealthCheckDisabled", "Health checks are disabled")
    # Health checks start when the target is registered and the group is in use; a target needs
    # HealthyThresholdCount consecutive successes, one per HealthCheckIntervalSeconds, before it
    # is healthy (NLB user guide, "Health checks for Network Load Balancer target groups").
    started = max(record.registered_at, getattr(tg, "_strict_in_use_since", None) or 0.0)
    interval = _int(getattr(tg, "health_check_interval_seconds", 30), 30)
    threshold = _int(getattr(tg, "healthy_threshold_count", 5), 5)
    if now < started + interval * threshold * TIME_SCALE:
        return ("initial", "Elb.RegistrationInProgress", "Target registration is in progress")
    if str(record.id) in unhealthy or f"{record.id}:{record.port}" in unhealthy:
        return ("unhealthy", "Target.FailedHealthChecks", "Health checks failed")
    return ("healthy", None, None)


def _status(tg, target_id, port, az, state, reason, description):
    health_port = getattr(tg, "health_check_port", None)
    if health_port in (None, "traffic-port"):
        health_port = str(port)
    status = _FakeHealthStatus(target_id, port, health_port, state, reason, description)
    status.availability_zone = az
    return status


def _target_with_az(self):
    # DescribeTargetHealth: TargetHealthDescription.Target is a TargetDescription, whose
    # AvailabilityZone AWS fills in (moto dropped it).
    out = {"Id": self.instance_id, "Port": self.port}
    az = getattr(self, "availability_zone", None)
    if az:
        out["AvailabilityZone"] = az
    return out


def _describe_target_health(self, target_group_arn, targets, *args, **kwargs):
    """DescribeTargetHealth (API_DescribeTargetHealth), computed from timestamps now."""
    tg = self.target_groups.get(target_group_arn)
    if tg is None:
        raise _TargetGroupNotFound()
    now = _now()
    _purge(tg, now)
    _sync_moto_view(tg)
    users = _users(self)
    unhealthy = _unhealthy_entries(self, tg)
    records = _records(tg)

    def describe(record):
        state, reason, description = _health(self, tg, record, users, unhealthy, now)
        return _status(tg, record.id, record.port, record.az, state, reason, description)

    if not targets:
        return [describe(r) for r in list(records.values())]
    out = []
    for target in targets:
        target_id = target["Id"]
        port = target.get("Port")
        matched = [
            r
            for r in records.values()
            if r.id == target_id and (port in (None, "") or r.port == _int(port, port))
        ]
        if matched:
            out.extend(describe(r) for r in matched)
        else:
            # API_TargetHealth: unused / Target.NotRegistered for a target not in the group.
            out.append(
                _status(
                    tg,
                    target_id,
                    _port_of(tg, target),
                    None,
                    "unused",
                    "Target.NotRegistered",
                    "Target is not registered to the target group",
                )
            )
    return out


def _tracking_use(f):
    """Wrap a listener/rule/load balancer mutation: note when a group starts or stops being used.

    Health checks of a group's targets only start once a load balancer forwards to it, so a
    group that becomes used restarts `initial` for targets registered before that.
    """

    @functools.wraps(f)
    def call(self, *args, **kwargs):
        with _lock:
            before = set(_users(self))
            result = f(self, *args, **kwargs)
            after = set(_users(self))
            now = _now()
            for arn in after - before:
                tg = self.target_groups.get(arn)
                if tg is not None:
                    tg._strict_in_use_since = now
            for arn in before - after:
                tg = self.target_groups.get(arn)
                if tg is not None:
                    tg._strict_in_use_since = None
            return result

    return call


def _create_listener_quota(f):
    @functools.wraps(f)
    def call(self, load_balancer_arn, *args, **kwargs):
        balancer = self.load_balancers.get(load_balancer_arn)
        if balancer is not None and len(balancer.listeners) >= LISTENERS_PER_LOAD_BALANCER:
            # load-balancer-limits page: 50 listeners per NLB, not adjustable.
            raise _StrictError(
                "TooManyListeners",
                "You've reached the limit on the number of listeners per load balancer",
            )
        return f(self, load_balancer_arn, *args, **kwargs)

    return call


# https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_ModifyListenerAttributes.html
# API_ListenerAttribute: "tcp.idle_timeout.seconds - The tcp idle timeout value, in seconds.
# The valid range is 60-6000 seconds. The default is 350 seconds."
# https://docs.aws.amazon.com/elasticloadbalancing/latest/APIReference/API_ListenerAttribute.html
IDLE_TIMEOUT_RANGE = (60, 6000)


def _listener_attributes_range(f):
    @functools.wraps(f)
    def call(self, listener_arn, attrs, *args, **kwargs):
        for attr in attrs or []:
            if attr.get("Key") != "tcp.idle_timeout.seconds":
                continue
            low, high = IDLE_TIMEOUT_RANGE
            value = _int(attr.get("Value"), None)
            if value is None or not low <= value <= high:
                # API_ModifyListenerAttributes, Errors: InvalidConfigurationRequest, "The
                # requested configuration is not valid", HTTP 400 (no more precise text is
                # documented).
                raise _StrictError(
                    "InvalidConfigurationRequest",
                    f"The value of 'tcp.idle_timeout.seconds' must be between {low} and {high}",
                )
        return f(self, listener_arn, attrs, *args, **kwargs)

    return call


def _install():
    _FakeTargetGroup.register = _locked(_register)
    _FakeTargetGroup.deregister = _locked(_deregister)
    _FakeTargetGroup.deregister_terminated_instances = _locked(_deregister_terminated_instances)
    _FakeHealthStatus.target = property(_target_with_az)
    _ELBv2Backend.describe_target_health = _locked(_describe_target_health)
    if hasattr(_ELBv2Backend, "modify_listener_attributes"):
        _ELBv2Backend.modify_listener_attributes = _listener_attributes_range(
            _ELBv2Backend.modify_listener_attributes
        )
    for name in (
        "create_listener",
        "modify_listener",
        "delete_listener",
        "create_rule",
        "modify_rule",
        "delete_rule",
        "delete_load_balancer",
        "delete_target_group",
        "set_subnets",
    ):
        original = getattr(_ELBv2Backend, name, None)
        if original is None:
            continue
        if name == "create_listener":
            original = _create_listener_quota(original)
        setattr(_ELBv2Backend, name, _tracking_use(original))
    _ELBv2Backend._strict_elbv2 = True


if _models is not None and not getattr(_ELBv2Backend, "_strict_elbv2", False):
    try:
        _install()
        print(
            f"strict_elbv2: moto ELBv2 targets patched (time scale {TIME_SCALE})",
            file=sys.stderr,
        )
    except Exception as _error:  # never keep moto_server from starting
        print(f"strict_elbv2: patch failed ({_error!r})", file=sys.stderr)
